"""Markdown and HTML bodies -> safe HTML (Python-Markdown, Pygments, then nh3)."""

from __future__ import annotations

import html as html_lib
import re

import markdown
from markdown.extensions.codehilite import CodeHiliteExtension
from markdown.extensions.toc import TocExtension, slugify_unicode
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from digest.html.mathml import MathExtension
from digest.html.sanitize import clean_html

_TAG = re.compile(r"<[^>]+>")
# A formula's TeX, kept for search and copy, would read as its letters twice in plain text.
_ANNOTATION = re.compile(r"<annotation\b[^>]*>.*?</annotation>", re.DOTALL)
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


def render_markdown(text: str) -> str:
    """Markdown -> sanitized HTML. A new converter per document: Markdown is stateful."""
    md = markdown.Markdown(
        extensions=[
            "fenced_code",
            "tables",
            "footnotes",
            "sane_lists",
            TocExtension(slugify=slugify_unicode, permalink=False),
            CodeHiliteExtension(guess_lang=False, css_class="codehilite"),
            MathExtension(),
        ],
        output_format="html",
    )
    # Raw HTML and javascript: links pass through Markdown, so sanitize after rendering.
    return under_the_title(clean_html(md.convert(text), keep_relative=True))


def looks_like_html(body: str) -> bool:
    """Fetched bodies are HTML; a body a person writes is Markdown unless it opens with a tag."""
    return body.lstrip().startswith("<")


def render_body(body: str) -> str:
    """A content file's body -> safe HTML, whichever format it is in."""
    if looks_like_html(body):
        safe = clean_html(body)
        highlighted, count = _CODE_BLOCK.subn(_highlight, safe)
        # Pygments' markup is cleaned too (its classes and spans pass the allow-list).
        return under_the_title(clean_html(highlighted) if count else safe)
    return render_markdown(body)


# An opening or closing heading tag of sanitized HTML (where no attribute or text holds a raw
# '<': nh3 escapes them), so a pattern finds exactly the elements.
_HEADING = re.compile(r"<(/?)h([1-6])\b")


def under_the_title(html: str) -> str:
    """A body's headings as sections of the page it is shown on, whose own title is the h1:
    the body's highest heading becomes an h2, and no heading is more than one level below
    the one before it (an author's <h1> or a feed's <h3> after the title skipped levels)."""
    tags = list(_HEADING.finditer(html))
    if not tags:
        return html
    ranks = {level: 2 + i for i, level in
             enumerate(sorted({int(m.group(2)) for m in tags if not m.group(1)}))}
    out: list[str] = []
    opened: list[int] = []  # the levels given to the headings open at this point
    last, previous = 0, 1
    for m in tags:
        if m.group(1):  # a closing tag: the level its opening tag got
            level = opened.pop() if opened else min(6, ranks.get(int(m.group(2)), 2))
        else:
            level = min(6, ranks[int(m.group(2))], previous + 1)
            previous = level
            opened.append(level)
        out.append(html[last:m.start()] + f"<{m.group(1)}h{level}")
        last = m.end()
    return "".join(out) + html[last:]


# Fenced code from feeds: <pre><code class="language-python">…</code></pre> (already sanitized)
_CODE_BLOCK = re.compile(
    r'<pre[^>]*>\s*<code class="language-([a-z0-9_+#-]+)">(.*?)</code>\s*</pre>', re.DOTALL)


def _highlight(match: re.Match[str]) -> str:
    """Pygments colours for a feed's code block whose language it names."""
    try:
        lexer = get_lexer_by_name(match.group(1))
    except ClassNotFound:
        return match.group(0)
    code = html_lib.unescape(_TAG.sub("", match.group(2)))
    formatter = HtmlFormatter(cssclass="codehilite")
    return str(highlight(code, lexer, formatter))


def strip_tags(html: str) -> str:
    """The text of an HTML fragment, for matching and counting (entities left as they are)."""
    return _TAG.sub(" ", _ANNOTATION.sub(" ", html))


def count_words(html: str) -> int:
    return len(_WORD.findall(html_lib.unescape(strip_tags(html))))


def excerpt(html: str, words: int = 50) -> str:
    """The first `words` words of an HTML fragment, as plain text."""
    text = html_lib.unescape(strip_tags(re.sub(r"<(pre|table|figure)[\s>].*?</\1>", " ", html,
                                                flags=re.DOTALL | re.IGNORECASE)))
    found = text.split()
    return " ".join(found[:words]) + ("…" if len(found) > words else "")
