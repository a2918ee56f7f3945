"""Stage 7 (beside render): the email edition of an issue: one self-contained HTML file with
the CSS inlined (css-inline), for pasting into a newsletter tool."""

from __future__ import annotations

import css_inline

from digest.html.links import absolute_links

_INLINER = css_inline.CSSInliner(
    load_remote_stylesheets=False,  # never fetch anything while building
    keep_at_rules=True,  # @media (dark mode, narrow screens) stays in a <style> for clients
    resolve_css_variables=True,  # mail clients do not know var(--x)
)


def email_edition(html: bytes, page_url: str) -> bytes:
    """`html` (rendered from the theme's email.html) with its <style> inlined into style
    attributes, and any relative link (an editor's, in an introduction or a note) made
    absolute against the issue's address: a mail has no address of its own."""
    return _INLINER.inline(absolute_links(html.decode("utf-8"), page_url)).encode("utf-8")
