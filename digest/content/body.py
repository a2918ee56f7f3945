"""An item's body (HTML or Markdown) or note (Markdown) -> what its pages show: safe HTML,
its word count and excerpt, and whether it has images (which the build points at their
mirrored copies, sanitize.images, since the mirror changes without the body changing).

What this module and those it imports compute is kept in the item store
(digest/incremental/itemstore.py), keyed by the fingerprint of exactly this code and of the
libraries it runs (nh3, Markdown, Pygments, lxml, latex2mathml): an upgrade of one of them, or
an edit of this code, is a new renderer; an edit elsewhere in digest is not."""

from __future__ import annotations

from typing import Literal

from digest.html.markup import count_words, excerpt, render_body, render_markdown
from digest.html.sanitize import images

Kind = Literal["body", "note"]
Body = tuple[str, int, str, bool]  # (safe HTML, words, excerpt, has images)


def render(kind: Kind, text: str) -> Body:
    """A body or a note, rendered."""
    html = render_body(text) if kind == "body" else render_markdown(text)
    return html, count_words(html), excerpt(html), images(html, _nowhere) is not html


def _nowhere(url: str) -> None:
    return None
