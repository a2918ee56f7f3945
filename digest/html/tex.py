"""TeX -> MathML with latex2mathml, checked (latex2mathml accepts broken TeX without a
word), drawn as MathML Core draws it (letter variants as their Unicode letters, display
limits under and over), with the TeX kept as its annotation; TeX that does not convert
stays visible as code. Used by digest/html/mathml.py."""

from __future__ import annotations

import html as html_lib
import re
import unicodedata

from lxml import etree

from digest.html.chtml import TOKENS, Element

TEX_ENCODING = "application/x-tex"


ERROR_CLASS = "tex-error"  # TeX that did not convert, shown as code (the theme adds a note)


# How many children a MathML element must have: latex2mathml builds short ones from bad TeX.
_ARITY = {"mfrac": 2, "msub": 2, "msup": 2, "mroot": 2, "munder": 2, "mover": 2,
          "msubsup": 3, "munderover": 3}


def tex_to_mathml(tex: str, display: bool) -> str | None:
    """TeX -> a `<math>` element with its TeX as annotation; None if the TeX is not valid."""
    math = _tex_element(tex, display)
    return None if math is None else etree.tostring(math, encoding="unicode", method="html")


def failed_tex(tex: str) -> str:
    """TeX that did not convert, as the code the author wrote (the theme adds a note)."""
    return f'<code class="{ERROR_CLASS}">{html_lib.escape(tex.strip(), quote=False)}</code>'


def _tex_element(tex: str, display: bool) -> Element | None:
    source = tex.strip()
    if not source or not _balanced(source):
        return None
    import latex2mathml.converter  # here: 60 ms to import, and most sites have no TeX

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
    return annotated(math, source, display)


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
        if el.tag in TOKENS and ("\\" in text or (el.tag == "mi" and text in ("{", "}"))):
            return False
        if el.tag in _ARITY and len(el) != _ARITY[el.tag]:
            return False
    return True


def annotated(math: Element, tex: str | None, display: bool) -> Element:
    """`math` cleaned for the page: display set, the TeX kept as an annotation."""
    core(math, display)
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


def core(math: Element, display: bool) -> None:
    """What MathML Core does not draw, said in what it does: letters of a mathvariant as
    their Unicode forms, and (in a displayed formula) `\\lim_x` with its limit below."""
    for el in math.iter():
        variant = _VARIANTS.get(el.get("mathvariant") or "")
        if variant and el.tag in TOKENS and el.text:
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


def math_or_code(tex: str, display: bool) -> Element:
    math = _tex_element(tex, display)
    if math is not None:
        return math
    code = etree.Element("code", {"class": ERROR_CLASS})
    code.text = tex.strip()
    return code
