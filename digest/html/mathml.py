"""Math in untrusted HTML -> MathML, so that a formula reads without any script in the site.

Feeds publish math in the shape of the renderer their site uses: MathJax 3 CHTML
(`<mjx-container>`, glyphs only in CSS keyed by `mjx-cXXXX` classes, sometimes with an
`<mjx-assistive-mml>` twin), MathJax 2 (a frame, an `MJX_Assistive_MathML` twin and the TeX
left in `<script type="math/tex">`), KaTeX (MathML beside a `katex-html` twin), or plain TeX
between `\\( \\)`, `\\[ \\]` and `$$ $$`. Each becomes one `<math>` element; the TeX, when
known, stays inside it as `<annotation encoding="application/x-tex">` (search and copy). TeX
that does not convert stays visible as `<code class="tex-error">`, never dropped.

This runs before the sanitizer (digest/html/sanitize.py), which keeps the MathML it allows.
MathJax's CommonHTML is rebuilt in chtml.py; TeX is converted in tex.py.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator

import lxml.html
from lxml import etree
from markdown import Markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

from digest.html.chtml import Element, classes, flatten, rebuild
from digest.html.tex import (
    annotated,
    core,
    failed_tex,
    math_or_code,
    tex_to_mathml,
)

# Cheap test first: most bodies have no math and are returned untouched, unparsed.
_MARKERS = ("mjx-", "MathJax", "katex", "math/tex", "\\(", "\\[", "$$", 'class="tex"', "<math")
# Single $…$ is no delimiter: prose has too many prices.
_DELIMITED = re.compile(r"\$\$(.+?)\$\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# Where a TeX delimiter is text, not math.
_LITERAL = frozenset({"pre", "code", "kbd", "samp", "tt", "script", "style", "textarea",
                      "math", "title", "svg", "noscript", "template"})

# MathJax 2's frames; "mjx-chtml" alone is what its server-side renderer writes.
_MJ2_FRAME = frozenset({"MathJax", "MathJax_CHTML", "MathJax_SVG", "MathJax_PHTML",
                        "mjx-chtml"})
_MJ2_DISPLAY = frozenset({"MathJax_Display", "MJXc-display", "MathJax_SVG_Display"})


def convert_html(html: str) -> str:
    """Every formula of an HTML fragment as MathML; anything else as it was."""
    if not any(marker in html for marker in _MARKERS):
        return html
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return html  # nothing a parser can read: the sanitizer decides
    _katex(root)
    _mathjax3(root)
    _mathjax2(root)
    _tex_scripts(root)
    _stored_tex(root)
    _delimited(root)
    for math in root.iter("math"):  # MathML a feed wrote itself, or a stored body
        core(math, math.get("display") == "block")
    out = html_lib.escape(root.text or "", quote=False)
    return out + "".join(etree.tostring(child, encoding="unicode", method="html")
                         for child in root)






class MathExtension(Extension):
    """Python-Markdown: `\\( \\)`, `\\[ \\]` and `$$ $$` in an editor's Markdown -> MathML.

    An inline pattern, so code spans (matched first) and code blocks (never scanned for
    inline patterns) keep their dollars; it runs before backslash escapes, which would
    otherwise eat `\\(`."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.inlinePatterns.register(_TexPattern(_DELIMITED.pattern, md), "tex-math", 185)


class _TexPattern(InlineProcessor):
    def handleMatch(  # type: ignore[override]
            self, m: re.Match[str], data: str) -> tuple[str | None, int | None, int | None]:
        tex = m.group(1) or m.group(2) or m.group(3) or ""
        if not tex.strip():
            return None, None, None
        html = tex_to_mathml(tex, m.group(2) is None) or failed_tex(tex)
        return self.md.htmlStash.store(html), m.start(0), m.end(0)


# --- TeX ------------------------------------------------------------------------------------




















# --- the renderers' output ----------------------------------------------------------------


def _katex(root: Element) -> None:
    """KaTeX: `.katex` holds `.katex-mathml` (MathML with the TeX) and `.katex-html` (the
    same formula as styled letters): keep the first, drop the second."""
    for el in list(_with_class(root, "katex")):
        math = next(el.iter("math"), None)
        if math is None:
            continue  # KaTeX told to output HTML only: nothing better to show than its text
        display = math.get("display") == "block" or any(
            "katex-display" in classes(a) for a in el.iterancestors())
        _replace(el, annotated(math, None, display))
    for el in list(_with_class(root, "katex-display")):
        _unwrap(el)


def _mathjax3(root: Element) -> None:
    """MathJax 3: the assistive MathML twin if there is one, else the CHTML rebuilt."""
    for container in list(root.iter("mjx-container")):
        display = container.get("display") == "true"
        math = next(container.iter("math"), None)
        if math is None:
            chtml = next(container.iter("mjx-math"), None)
            if chtml is None:
                _remove(container)
                continue
            math = rebuild(chtml, mj3=True)
        _replace(container, annotated(math, None, display))


def _mathjax2(root: Element) -> None:
    """MathJax 2: a frame (CommonHTML, HTML-CSS or SVG output) with its assistive MathML,
    and the TeX it came from left in a script beside it."""
    for frame in list(_frames(root)):
        if root not in frame.iterancestors():
            continue  # inside a frame already replaced
        outer = frame
        parent = frame.getparent()
        if parent is not None and parent is not root and classes(parent) & _MJ2_DISPLAY:
            outer = parent
        display = outer is not frame
        script = _next_element(outer)
        tex = None
        if script is not None and _is_tex_script(script):
            tex = script.text or ""
            display = display or "mode=display" in (script.get("type") or "")
            _remove(script)
        preview = outer.getprevious()
        if preview is not None and "MathJax_Preview" in classes(preview):
            _remove(preview)
        _replace(outer, _mathjax2_math(frame, tex, display))


def _mathjax2_math(frame: Element, tex: str | None, display: bool) -> Element:
    twin = next((m for el in _with_class(frame, "MJX_Assistive_MathML")
                 for m in el.iter("math")), None)
    if twin is not None:
        return annotated(twin, tex, display)
    if tex is not None and tex.strip():
        return math_or_code(tex, display)
    serialized = frame.get("data-mathml")
    if serialized:
        try:
            parsed = lxml.html.fragment_fromstring(serialized)
        except (etree.ParserError, ValueError):
            parsed = None
        if parsed is not None and parsed.tag == "math":
            return annotated(parsed, None, display)
    chtml = next(_with_class(frame, "mjx-math"), None)
    if chtml is not None:  # the server-side renderer keeps the TeX in an aria-label
        return annotated(rebuild(chtml, mj3=False), chtml.get("aria-label"), display)
    return annotated(flatten(frame), None, display)


def _tex_scripts(root: Element) -> None:
    """`<script type="math/tex">` with no rendering beside it (the page was never typeset)."""
    for script in list(root.iter("script")):
        if not _is_tex_script(script):
            continue
        preview = script.getprevious()
        if preview is not None and "MathJax_Preview" in classes(preview):
            _remove(preview)
        display = "mode=display" in (script.get("type") or "")
        if (script.text or "").strip():
            _replace(script, math_or_code(script.text or "", display))
        else:
            _remove(script)


def _stored_tex(root: Element) -> None:
    """`<code class="tex">`: how digest stored a MathJax 2 script before it knew MathML."""
    for code in list(root.iter("code")):
        if code.get("class") == "tex" and len(code) == 0 and (code.text or "").strip():
            _replace(code, math_or_code(code.text or "", False))


def _delimited(root: Element) -> None:
    """TeX between `\\( \\)`, `\\[ \\]` or `$$ $$` in text, outside code and math."""
    places: list[tuple[Element, bool]] = []  # (element, its text?) or (child, its tail?)
    for el in root.iter():
        if not isinstance(el.tag, str) or _literal(el):
            continue
        if el.text and _DELIMITED.search(el.text):
            places.append((el, True))
        for child in el:
            if child.tail and _DELIMITED.search(child.tail):
                places.append((child, False))
    for el, is_text in places:
        text = el.text if is_text else el.tail
        pieces = list(_split(text))
        head = pieces[0] if isinstance(pieces[0], str) else ""
        nodes: list[Element] = []
        for piece in pieces[1 if isinstance(pieces[0], str) else 0:]:
            if isinstance(piece, str):
                nodes[-1].tail = (nodes[-1].tail or "") + piece
            else:
                nodes.append(piece)
        if is_text:
            el.text = head
            for i, node in enumerate(nodes):
                el.insert(i, node)
        else:
            el.tail = head
            parent = el.getparent()
            at = parent.index(el) + 1
            for i, node in enumerate(nodes):
                parent.insert(at + i, node)


def _split(text: str) -> Iterator[str | Element]:
    at = 0
    for m in _DELIMITED.finditer(text):
        tex = m.group(1) or m.group(2) or m.group(3) or ""
        if not tex.strip():
            continue
        yield text[at:m.start()]
        yield math_or_code(tex, m.group(2) is None)
        at = m.end()
    yield text[at:]


# --- rebuilding MathJax's CHTML as MathML ---------------------------------------------------
























# --- tree helpers ---------------------------------------------------------------------------




def _with_class(root: Element, name: str) -> Iterator[Element]:
    return (el for el in root.iter() if name in classes(el))


def _frames(root: Element) -> Iterator[Element]:
    for el in root.iter():
        if classes(el) & _MJ2_DISPLAY:
            continue  # the box around a displayed formula's frame
        if classes(el) & _MJ2_FRAME or (
                isinstance(el.tag, str) and (el.get("id") or "").startswith("MathJax-Element-")
                and (el.get("id") or "").endswith("-Frame")):
            yield el


def _is_tex_script(el: Element) -> bool:
    kind = (el.get("type") or "").replace(" ", "").lower()
    return el.tag == "script" and (kind == "math/tex" or kind.startswith("math/tex;"))


def _literal(el: Element) -> bool:
    return any(a.tag in _LITERAL for a in [el, *el.iterancestors()]) or (
        "tex-error" in classes(el))


def _next_element(el: Element) -> Element | None:
    """The next sibling element, if only white space stands between them."""
    if (el.tail or "").strip():
        return None
    following = el.getnext()
    while following is not None and not isinstance(following.tag, str):
        following = following.getnext()  # a comment
    return following


def _replace(old: Element, new: Element) -> None:
    new.tail = old.tail
    old.getparent().replace(old, new)


def _remove(el: Element) -> None:
    """`el` out of the tree, the text after it kept."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail or ""
    previous = el.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(el)


def _unwrap(el: Element) -> None:
    """`el` replaced by its children."""
    parent = el.getparent()
    if parent is None:
        return
    at = parent.index(el)
    previous = el.getprevious()
    text = el.text or ""
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent.text = (parent.text or "") + text
    children = list(el)
    for i, child in enumerate(children):
        parent.insert(at + i, child)
    last = children[-1] if children else (parent[at - 1] if at > 0 else None)
    tail = el.tail or ""
    if last is not None:
        last.tail = (last.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(el)
