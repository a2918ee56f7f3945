"""Stage 7 (beside render): the email edition of an issue: one self-contained HTML file with
the CSS inlined (css-inline), for pasting into a newsletter tool."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import urljoin

import css_inline

_INLINER = css_inline.CSSInliner(
    load_remote_stylesheets=False,  # never fetch anything while building
    keep_at_rules=True,  # @media (dark mode, narrow screens) stays in a <style> for clients
    resolve_css_variables=True,  # mail clients do not know var(--x)
)


def email_edition(html: bytes, page_url: str) -> bytes:
    """`html` (rendered from the theme's email.html) with its <style> inlined into style
    attributes, and any relative link (an editor's, in an introduction or a note) made
    absolute against the issue's address: a mail has no address of its own."""
    def absolute(match: re.Match[str]) -> str:
        url = urljoin(page_url, html_lib.unescape(match.group(2)))
        return f'{match.group(1)}="{html_lib.escape(url)}"'

    return _INLINER.inline(_RELATIVE.sub(absolute, html.decode("utf-8"))).encode("utf-8")


_RELATIVE = re.compile(r'\b(href|src)="(?![a-zA-Z][a-zA-Z0-9+.-]*:|#)([^"]*)"')
