"""MathJax's CommonHTML output (version 3's `mjx-*` elements, version 2's frames) rebuilt as
MathML from its element structure and the code points of its `mjx-cXXXX` classes, for
formulas that came without their MathML twin. Used by digest/html/mathml.py."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from lxml import etree

Element = Any  # lxml elements (lxml ships no type information)


_MATHML = frozenset({
    "math", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "msup", "msub", "msubsup",
    "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd",
    "mstyle", "mpadded", "mphantom", "menclose", "merror", "mmultiscripts", "semantics",
})


TOKENS = frozenset({"mi", "mo", "mn", "ms", "mtext"})


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


def rebuild(chtml: Element, mj3: bool) -> Element:
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
        names = [c[4:] for c in classes(el) if c.startswith("mjx-")]
    for name in names:
        name = _RENAMED.get(name, name)
        if name in _MATHML and name != "math":
            return name
    return None


def _role(el: Element, mj3: bool) -> str | None:
    if mj3:
        return _ROLES_MJ3.get(el.tag)
    return next((_ROLES_MJ2[c] for c in classes(el) if c in _ROLES_MJ2), None)


def _node(el: Element, kind: str, mj3: bool) -> Element:
    if kind in TOKENS:
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
            if classes(child) & {"mjx-copytext", "MJX_Assistive_MathML"}:
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
            if "mjx-char" in classes(node):
                out.append(node.text_content())
            continue
        point = next((m.group(1) for c in classes(node) if (m := _CODE_POINT.match(c))), None)
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
        return "mjx-n" in classes(el)
    return any("TeX-main-R" in c for node in el.iter() for c in classes(node))


def flatten(frame: Element) -> Element:
    """MathJax 2 HTML-CSS output with neither its MathML nor its TeX: its tokens in order
    (the layout is absolutely positioned boxes, which say little of the structure)."""
    math = etree.Element("math")
    row = etree.SubElement(math, "mrow")
    for el in frame.iter():
        if not isinstance(el.tag, str):
            continue
        kinds = classes(el) & TOKENS
        if kinds:
            token = etree.SubElement(row, sorted(kinds)[0])
            token.text = el.text_content()
    return math


def classes(el: Element) -> set[str]:
    value = el.get("class") if isinstance(el.tag, str) else None
    return set(value.split()) if value else set()
