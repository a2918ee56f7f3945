"""Math in untrusted HTML -> MathML, so that a formula reads without any script in the site.

Feeds publish math in the shape of the renderer their site uses: MathJax 3 CHTML
(`<mjx-container>`, glyphs only in CSS keyed by `mjx-cXXXX` classes, sometimes with an
`<mjx-assistive-mml>` twin), MathJax 2 (a frame, an `MJX_Assistive_MathML` twin and the TeX
left in `<script type="math/tex">`), KaTeX (MathML beside a `katex-html` twin), or plain TeX
between `\\( \\)`, `\\[ \\]` and `$$ $$`. Each becomes one `<math>` element; the TeX, when
known, stays inside it as `<annotation encoding="application/x-tex">` (search and copy). TeX
that does not convert stays visible as `<code class="tex-error">`, never dropped.

This runs before the sanitizer (digest/sanitize.py), which keeps the MathML it allows.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import latex2mathml.converter
import lxml.html
from lxml import etree
from markdown import Markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

Element = Any  # lxml elements (lxml ships no type information)

TEX_ENCODING = "application/x-tex"
ERROR_CLASS = "tex-error"  # TeX that did not convert, shown as code (the theme adds a note)

# Cheap test first: most bodies have no math and are returned untouched, unparsed.
_MARKERS = ("mjx-", "MathJax", "katex", "math/tex", "\\(", "\\[", "$$", 'class="tex"', "<math")
# Single $…$ is no delimiter: prose has too many prices.
_DELIMITED = re.compile(r"\$\$(.+?)\$\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# Where a TeX delimiter is text, not math.
_LITERAL = frozenset({"pre", "code", "kbd", "samp", "tt", "script", "style", "textarea",
                      "math", "title", "svg", "noscript", "template"})

_MATHML = frozenset({
    "math", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "msup", "msub", "msubsup",
    "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd",
    "mstyle", "mpadded", "mphantom", "menclose", "merror", "mmultiscripts", "semantics",
})
_TOKENS = frozenset({"mi", "mo", "mn", "ms", "mtext"})
_RENAMED = {"texatom": "mrow", "mlabeledtr": "mtr", "mmultiscripts": "mrow"}
# The layout boxes that tell which part of a script, fraction or root a node is.
_ROLES_MJ3 = {"mjx-script": "script", "mjx-over": "over", "mjx-under": "under",
              "mjx-base": "base", "mjx-num": "num", "mjx-den": "den", "mjx-root": "root",
              "mjx-box": "box", "mjx-surd": "surd"}
_ROLES_MJ2 = {"mjx-sup": "sup", "mjx-sub": "sub", "mjx-base": "base", "mjx-op": "base",
              "mjx-numerator": "num", "mjx-denominator": "den", "mjx-root": "root",
              "mjx-box": "box", "mjx-surd": "surd", "mjx-over": "over", "mjx-under": "under"}
_DROPPED = frozenset({"mjx-line", "mjx-nstrut", "mjx-dstrut", "mjx-tstrut", "mjx-labels",
                      "mjx-assistive-mml", "mjx-mark"})
_SPACERS = frozenset({"mjx-spacer", "mjx-sp"})
_CODE_POINT = re.compile(r"^mjx-c([0-9A-Fa-f]{1,6})$")
# How many children a MathML element must have: latex2mathml builds short ones from bad TeX.
_ARITY = {"mfrac": 2, "msub": 2, "msup": 2, "mroot": 2, "munder": 2, "mover": 2,
          "msubsup": 3, "munderover": 3}
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
        _core(math, math.get("display") == "block")
    out = html_lib.escape(root.text or "", quote=False)
    return out + "".join(etree.tostring(child, encoding="unicode", method="html")
                         for child in root)


def tex_to_mathml(tex: str, display: bool) -> str | None:
    """TeX -> a `<math>` element with its TeX as annotation; None if the TeX is not valid."""
    math = _tex_element(tex, display)
    return None if math is None else etree.tostring(math, encoding="unicode", method="html")


def failed_tex(tex: str) -> str:
    """TeX that did not convert, as the code the author wrote (the theme adds a note)."""
    return f'<code class="{ERROR_CLASS}">{html_lib.escape(tex.strip(), quote=False)}</code>'


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


def _tex_element(tex: str, display: bool) -> Element | None:
    source = tex.strip()
    if not source or not _balanced(source):
        return None
    try:
        converted = latex2mathml.converter.convert(source,
                                                   display="block" if display else "inline")
        math = etree.fromstring(converted.encode())
    except Exception:  # latex2mathml raises bare Exceptions (and worse) on bad TeX
        return None
    for el in math.iter():
        el.tag = etree.QName(el).localname
    etree.cleanup_namespaces(math)
    if not _valid(math):
        return None
    return _annotated(math, source, display)


def _balanced(tex: str) -> bool:
    """Braces that close what they open (latex2mathml closes a missing one silently)."""
    depth = 0
    for m in re.finditer(r"\\.|[{}]", tex, re.DOTALL):
        depth += {"{": 1, "}": -1}.get(m.group(), 0)
        if depth < 0:
            return False
    return depth == 0


def _valid(math: Element) -> bool:
    """latex2mathml turns what it does not know into text: an unknown `\\command` or a stray
    brace becomes an `<mi>`, a `\\frac` with one argument an `<mfrac>` with one child."""
    for el in math.iter():
        text = el.text or ""
        if el.tag in _TOKENS and ("\\" in text or (el.tag == "mi" and text in ("{", "}"))):
            return False
        if el.tag in _ARITY and len(el) != _ARITY[el.tag]:
            return False
    return True


def _annotated(math: Element, tex: str | None, display: bool) -> Element:
    """`math` cleaned for the page: display set, the TeX kept as an annotation."""
    _core(math, display)
    for name in list(math.attrib):
        if name != "display":
            del math.attrib[name]
    if display:
        math.set("display", "block")
    elif math.get("display") != "block":
        math.attrib.pop("display", None)
    if not tex:
        return math
    children = list(math)
    if len(children) == 1 and children[0].tag == "semantics":
        semantics = children[0]
        if any(a.tag == "annotation" and a.get("encoding") == TEX_ENCODING for a in semantics):
            return math
        semantics.append(_annotation(tex))
        return math
    semantics = etree.SubElement(math, "semantics")
    row = children[0] if len(children) == 1 and children[0].tag == "mrow" else None
    if row is None:
        row = etree.SubElement(semantics, "mrow")
        row.text, math.text = math.text, None
        for child in children:
            row.append(child)
    else:
        semantics.append(row)
    semantics.append(_annotation(tex))
    return math


# MathML Core draws only mathvariant="normal": other variants become the Unicode letters.
_VARIANTS = {"bold": "BOLD", "italic": "ITALIC", "bold-italic": "BOLD ITALIC",
             "double-struck": "DOUBLE-STRUCK", "script": "SCRIPT", "bold-script": "BOLD SCRIPT",
             "fraktur": "FRAKTUR", "bold-fraktur": "BOLD FRAKTUR", "sans-serif": "SANS-SERIF",
             "monospace": "MONOSPACE"}
_LETTERLIKE = {"FRAKTUR": "BLACK-LETTER"}  # the letters Unicode had before (ℭ, ℜ, …)
_LIMITS = frozenset({"lim", "max", "min", "sup", "inf", "limsup", "liminf", "argmax", "argmin",
                     "det", "gcd", "Pr"})


def _core(math: Element, display: bool) -> None:
    """What MathML Core does not draw, said in what it does: letters of a mathvariant as
    their Unicode forms, and (in a displayed formula) `\\lim_x` with its limit below."""
    for el in math.iter():
        variant = _VARIANTS.get(el.get("mathvariant") or "")
        if variant and el.tag in _TOKENS and el.text:
            el.text = "".join(_styled(ch, variant) for ch in el.text)
            del el.attrib["mathvariant"]
        if (display and el.tag == "msub" and len(el) == 2 and el[0].tag == "mo"
                and (el[0].text or "").strip() in _LIMITS):
            el.tag = "munder"


def _styled(ch: str, variant: str) -> str:
    if ch.isdigit():
        name = f"DIGIT {unicodedata.name(ch).split()[-1]}"
    elif ch.isascii() and ch.isalpha():
        name = f"{'CAPITAL' if ch.isupper() else 'SMALL'} {ch.upper()}"
    else:
        return ch
    for full in (f"MATHEMATICAL {variant} {name}", f"{_LETTERLIKE.get(variant, variant)} {name}"):
        try:
            return unicodedata.lookup(full)
        except KeyError:
            continue
    return ch


def _annotation(tex: str) -> Element:
    annotation = etree.Element("annotation", encoding=TEX_ENCODING)
    annotation.text = tex.strip()
    return annotation


def _math_or_code(tex: str, display: bool) -> Element:
    math = _tex_element(tex, display)
    if math is not None:
        return math
    code = etree.Element("code", {"class": ERROR_CLASS})
    code.text = tex.strip()
    return code


# --- the renderers' output ----------------------------------------------------------------


def _katex(root: Element) -> None:
    """KaTeX: `.katex` holds `.katex-mathml` (MathML with the TeX) and `.katex-html` (the
    same formula as styled letters): keep the first, drop the second."""
    for el in list(_with_class(root, "katex")):
        math = next(el.iter("math"), None)
        if math is None:
            continue  # KaTeX told to output HTML only: nothing better to show than its text
        display = math.get("display") == "block" or any(
            "katex-display" in _classes(a) for a in el.iterancestors())
        _replace(el, _annotated(math, None, display))
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
            math = _rebuild(chtml, mj3=True)
        _replace(container, _annotated(math, None, display))


def _mathjax2(root: Element) -> None:
    """MathJax 2: a frame (CommonHTML, HTML-CSS or SVG output) with its assistive MathML,
    and the TeX it came from left in a script beside it."""
    for frame in list(_frames(root)):
        if root not in frame.iterancestors():
            continue  # inside a frame already replaced
        outer = frame
        parent = frame.getparent()
        if parent is not None and parent is not root and _classes(parent) & _MJ2_DISPLAY:
            outer = parent
        display = outer is not frame
        script = _next_element(outer)
        tex = None
        if script is not None and _is_tex_script(script):
            tex = script.text or ""
            display = display or "mode=display" in (script.get("type") or "")
            _remove(script)
        preview = outer.getprevious()
        if preview is not None and "MathJax_Preview" in _classes(preview):
            _remove(preview)
        _replace(outer, _mathjax2_math(frame, tex, display))


def _mathjax2_math(frame: Element, tex: str | None, display: bool) -> Element:
    twin = next((m for el in _with_class(frame, "MJX_Assistive_MathML")
                 for m in el.iter("math")), None)
    if twin is not None:
        return _annotated(twin, tex, display)
    if tex is not None and tex.strip():
        return _math_or_code(tex, display)
    serialized = frame.get("data-mathml")
    if serialized:
        try:
            parsed = lxml.html.fragment_fromstring(serialized)
        except (etree.ParserError, ValueError):
            parsed = None
        if parsed is not None and parsed.tag == "math":
            return _annotated(parsed, None, display)
    chtml = next(_with_class(frame, "mjx-math"), None)
    if chtml is not None:  # the server-side renderer keeps the TeX in an aria-label
        return _annotated(_rebuild(chtml, mj3=False), chtml.get("aria-label"), display)
    return _annotated(_flatten(frame), None, display)


def _tex_scripts(root: Element) -> None:
    """`<script type="math/tex">` with no rendering beside it (the page was never typeset)."""
    for script in list(root.iter("script")):
        if not _is_tex_script(script):
            continue
        preview = script.getprevious()
        if preview is not None and "MathJax_Preview" in _classes(preview):
            _remove(preview)
        display = "mode=display" in (script.get("type") or "")
        if (script.text or "").strip():
            _replace(script, _math_or_code(script.text or "", display))
        else:
            _remove(script)


def _stored_tex(root: Element) -> None:
    """`<code class="tex">`: how digest stored a MathJax 2 script before it knew MathML."""
    for code in list(root.iter("code")):
        if code.get("class") == "tex" and len(code) == 0 and (code.text or "").strip():
            _replace(code, _math_or_code(code.text or "", False))


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
        yield _math_or_code(tex, m.group(2) is None)
        at = m.end()
    yield text[at:]


# --- rebuilding MathJax's CHTML as MathML ---------------------------------------------------


def _rebuild(chtml: Element, mj3: bool) -> Element:
    """MathML from the element structure of MathJax's CHTML output (MathJax 3: elements
    named `mjx-mi`, `mjx-msup`, …; MathJax 2 CommonHTML: spans with those classes)."""
    math = etree.Element("math")
    for child in _children(chtml, "mrow", mj3)[1]:
        math.append(child)
    return math


def _kind(el: Element, mj3: bool) -> str | None:
    """The MathML element a MathJax node stands for, or None for a layout box."""
    if mj3:
        tag = el.tag if isinstance(el.tag, str) else ""
        name = tag[4:] if tag.startswith("mjx-") else ""
        names = [name]
    else:
        names = [c[4:] for c in _classes(el) if c.startswith("mjx-")]
    for name in names:
        name = _RENAMED.get(name, name)
        if name in _MATHML and name != "math":
            return name
    return None


def _role(el: Element, mj3: bool) -> str | None:
    if mj3:
        return _ROLES_MJ3.get(el.tag)
    return next((_ROLES_MJ2[c] for c in _classes(el) if c in _ROLES_MJ2), None)


def _node(el: Element, kind: str, mj3: bool) -> Element:
    if kind in _TOKENS:
        out = etree.Element(kind)
        text = _glyphs(el, mj3)
        if kind == "mi" and len(text) == 1:
            plain = _plain_italic(text)
            if plain != text:
                text = plain
            elif text.isalpha() and _upright(el, mj3):
                out.set("mathvariant", "normal")
        out.text = text
        return out
    kind, children = _children(el, kind, mj3)
    out = etree.Element(kind)
    for child in children:
        out.append(child)
    return out


_BASE = ("base", "box")
# Which layout boxes hold each child of a scripted element, in MathML's order.
_ORDER: dict[str, tuple[tuple[str, ...], ...]] = {
    "msub": (_BASE, ("script", "sub")),
    "msup": (_BASE, ("script", "sup")),
    "msubsup": (_BASE, ("script2", "sub"), ("script", "sup")),
    "munder": (_BASE, ("under", "script", "sub")),
    "mover": (_BASE, ("over", "script", "sup")),
    "munderover": (_BASE, ("under", "script2", "sub"), ("over", "script", "sup")),
    "mfrac": (("num",), ("den",)),
    "mroot": (_BASE, ("root",)),
}
# MathJax 2 draws a lone subscript as an msubsup with no superscript, and so on.
_FEWER = {("msubsup", 1): "msup", ("msubsup", 2): "msub",
          ("munderover", 1): "mover", ("munderover", 2): "munder"}


def _children(el: Element, kind: str, mj3: bool) -> tuple[str, list[Element]]:
    """The MathML children of a node, in MathML's order (MathJax lays some out otherwise:
    a superscript before its subscript, an overscript before its base)."""
    parts: list[tuple[str, Element]] = []

    def walk(node: Element, role: str) -> None:
        for child in node:
            if not isinstance(child.tag, str) or child.tag in _DROPPED:
                continue
            if _classes(child) & {"mjx-copytext", "MJX_Assistive_MathML"}:
                continue
            if child.tag in _SPACERS:
                role = "script2" if role == "script" else role
                continue
            name = _kind(child, mj3)
            # A display munderover is drawn as an over box and a box holding an munder.
            layout = (name in ("munder", "mover", "munderover") and kind in _ORDER
                      and node.tag == "mjx-box")
            if name is not None and not layout:
                parts.append((role, _node(child, name, mj3)))
                continue
            inner = _role(child, mj3)
            if inner != "surd":
                walk(child, inner or role)

    walk(el, "base")
    if kind not in _ORDER:
        return kind, [node for _, node in parts]
    groups = [[node for role, node in parts if role in roles] for roles in _ORDER[kind]]
    for missing in (2, 1):
        if len(groups) == 3 and not groups[missing] and (kind, missing) in _FEWER:
            kind = _FEWER[(kind, missing)]
            groups.pop(missing)
    return kind, [group[0] if len(group) == 1 else _row(group) for group in groups]


def _row(nodes: list[Element]) -> Element:
    row = etree.Element("mrow")
    for node in nodes:
        row.append(node)
    return row


def _glyphs(el: Element, mj3: bool) -> str:
    """A token's characters: MathJax 3 names each one in a class (`mjx-c1D434` is U+1D434,
    drawn by a CSS rule); MathJax 2 writes them as text."""
    out: list[str] = []
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        if not mj3:
            if "mjx-char" in _classes(node):
                out.append(node.text_content())
            continue
        point = next((m.group(1) for c in _classes(node) if (m := _CODE_POINT.match(c))), None)
        if point is not None:
            out.append(chr(int(point, 16)))
        elif node.tag in ("mjx-utext", "mjx-c") and node.text:
            out.append(node.text)
    return "".join(out)


def _plain_italic(ch: str) -> str:
    """A mathematical italic letter (U+1D434…) as its plain letter: a one-letter `<mi>` is
    italic anyway, and search and copy find the letter."""
    if "MATHEMATICAL ITALIC" in unicodedata.name(ch, "") or ch == "\u210e":
        return unicodedata.normalize("NFKC", ch)
    return ch


def _upright(el: Element, mj3: bool) -> bool:
    """A one-letter identifier MathJax set upright (`\\mathrm{d}`, `\\Gamma`)."""
    if mj3:
        return "mjx-n" in _classes(el)
    return any("TeX-main-R" in c for node in el.iter() for c in _classes(node))


def _flatten(frame: Element) -> Element:
    """MathJax 2 HTML-CSS output with neither its MathML nor its TeX: its tokens in order
    (the layout is absolutely positioned boxes, which say little of the structure)."""
    math = etree.Element("math")
    row = etree.SubElement(math, "mrow")
    for el in frame.iter():
        if not isinstance(el.tag, str):
            continue
        kinds = _classes(el) & _TOKENS
        if kinds:
            token = etree.SubElement(row, sorted(kinds)[0])
            token.text = el.text_content()
    return math


# --- tree helpers ---------------------------------------------------------------------------


def _classes(el: Element) -> set[str]:
    value = el.get("class") if isinstance(el.tag, str) else None
    return set(value.split()) if value else set()


def _with_class(root: Element, name: str) -> Iterator[Element]:
    return (el for el in root.iter() if name in _classes(el))


def _frames(root: Element) -> Iterator[Element]:
    for el in root.iter():
        if _classes(el) & _MJ2_DISPLAY:
            continue  # the box around a displayed formula's frame
        if _classes(el) & _MJ2_FRAME or (
                isinstance(el.tag, str) and (el.get("id") or "").startswith("MathJax-Element-")
                and (el.get("id") or "").endswith("-Frame")):
            yield el


def _is_tex_script(el: Element) -> bool:
    kind = (el.get("type") or "").replace(" ", "").lower()
    return el.tag == "script" and (kind == "math/tex" or kind.startswith("math/tex;"))


def _literal(el: Element) -> bool:
    return any(a.tag in _LITERAL for a in [el, *el.iterancestors()]) or (
        "tex-error" in _classes(el))


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
