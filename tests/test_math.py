"""Formulas survive: every renderer's output and every TeX delimiter becomes MathML.

The fixtures in tests/fixtures/math/ carry their expectation in their first comment: how many
formulas, how many TeX fragments that cannot convert, and the text a reader sees around them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import pytest
from click.testing import Result

from digest.html.markup import render_body, render_markdown
from digest.html.sanitize import clean_html
from tests.conftest import FIXTURES

MATH = FIXTURES / "math"
HTML_FIXTURES = sorted(p.name for p in MATH.glob("*.html"))
_HEADER = re.compile(r"<!-- formulas: (\d+); failed: (\d+); text: (.*?) -->", re.DOTALL)


@dataclass(frozen=True)
class Expected:
    formulas: int
    failed: int
    text: str


def expected(path: Path) -> Expected:
    m = _HEADER.search(path.read_text(encoding="utf-8"))
    assert m, f"{path.name} states no expectation"
    return Expected(int(m.group(1)), int(m.group(2)), m.group(3))


def tree(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(html, create_parent="div")


def text_outside_math(html: str) -> str:
    """What a reader sees between the formulas, white space removed."""
    root = tree(html)
    for math in list(root.iter("math")):
        math.drop_tree()
    return "".join(root.text_content().split())


def check(html: str, want: Expected) -> None:
    root = tree(html)
    assert len(list(root.iter("math"))) == want.formulas, html
    assert len(root.find_class("tex-error")) == want.failed, html
    assert not re.search(r"mjx-|katex|MathJax|<script|math/tex", html), html
    assert text_outside_math(html) == "".join(want.text.split())


@pytest.mark.parametrize("name", HTML_FIXTURES)
def test_every_formula_of_a_feed_body_becomes_one_math_element(name: str) -> None:
    path = MATH / name
    check(clean_html(path.read_text(encoding="utf-8")), expected(path))


def test_every_formula_of_an_editors_markdown_becomes_one_math_element() -> None:
    path = MATH / "markdown.md"
    body = path.read_text(encoding="utf-8").split("---\n", 2)[2]
    check(render_markdown(body), expected(path))


def test_mathjax3_without_its_mathml_is_rebuilt_from_its_elements_and_classes() -> None:
    out = clean_html((MATH / "mathjax3-chtml.html").read_text(encoding="utf-8"))
    # U+1D434 (the class mjx-c1D434) is the letter A; a one-letter <mi> is italic anyway.
    assert "<p>Let <math><mi>A</mi></math> be a set.</p>" in out
    # MathJax draws a superscript before its subscript; MathML wants base, sub, sup.
    assert "<msubsup><mi>H</mi><mi>n</mi><mi>T</mi></msubsup>" in out
    assert "<mroot><mi>y</mi><mn>3</mn></mroot>" in out  # base before index
    assert "<msqrt><mi>x</mi></msqrt>" in out  # the radical sign itself is not a token
    assert ('<math display="block"><mfrac><mrow><mi>a</mi><mo>+</mo><mi>b</mi></mrow>'
            "<mn>2</mn></mfrac></math>") in out
    # Display limits are laid out over / munder boxes; inline ones as scripts: both munderover.
    assert out.count("<munderover><mo>∑</mo><mrow><mi>i</mi><mo>=</mo><mn>1</mn></mrow>"
                     "<mi>n</mi></munderover>") == 2
    assert "<mover><mi>θ</mi><mo>ˆ</mo></mover>" in out
    assert ("<mtable><mtr><mtd><mn>1</mn></mtd><mtd><mn>0</mn></mtd></mtr><mtr><mtd><mn>0</mn>"
            "</mtd><mtd><mn>1</mn></mtd></mtr></mtable>") in out
    # Two glyphs in one operator, a text run, an upright capital Greek letter.
    assert '<mo>:=</mo><mtext>if&nbsp;</mtext><mi mathvariant="normal">Γ</mi>' in out
    # Stretchy braces name their code point on the stretchy box.
    assert "<mo>{</mo><mfrac><mn>1</mn><mi>n</mi></mfrac><mo>}</mo>" in out


def test_mathjax3_with_its_mathml_twin_uses_the_twin_and_drops_the_chtml() -> None:
    out = clean_html((MATH / "mathjax3-assistive.html").read_text(encoding="utf-8"))
    assert ('A prior <math><mi>P</mi><mo stretchy="false">(</mo><mi>H</mi>'
            '<mo stretchy="false">)</mo></math> and') in out
    assert out.count("<mfrac>") == 1 and out.count("∣") == 2  # each formula once


def test_mathjax2_keeps_the_tex_of_its_script_as_annotation() -> None:
    out = clean_html((MATH / "mathjax2-commonhtml.html").read_text(encoding="utf-8"))
    assert ('<math><semantics><mrow><mi>E</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn>'
            '</msup></mrow><annotation encoding="application/x-tex">E=mc^2</annotation>'
            "</semantics></math>") in out
    # mode=display in the script's type makes a block formula.
    assert ('<annotation encoding="application/x-tex">\\bar{x} = \\frac{1}{n} x_i'
            "</annotation>") in out
    assert out.count('<math display="block">') == 1
    # No twin and no script: the MathML serialized in data-mathml.
    assert "<math><mi>n</mi><mo>≥</mo><mn>1</mn></math>" in out
    # MathJax 2's server-side renderer: rebuilt, its TeX from the aria-label.
    assert ("<msub><mi>F</mi><mrow><mrow><mn>1</mn></mrow></mrow></msub></mrow>"
            '<annotation encoding="application/x-tex">F_{1}</annotation>') in out


def test_mathjax2_html_css_output_uses_its_twin_or_its_tex() -> None:
    out = clean_html((MATH / "mathjax2-htmlcss.html").read_text(encoding="utf-8"))
    assert ("<msub><mi>M</mi><mi>i</mi></msub></mrow>"
            '<annotation encoding="application/x-tex">M_i</annotation>') in out
    assert ('<math display="block"><semantics><mrow><mi>L</mi><mo>=</mo><mo>−</mo>'
            "<mi>log</mi><mi>p</mi></mrow>") in out


def test_katex_keeps_its_mathml_and_tex_and_drops_its_html_twin() -> None:
    out = clean_html((MATH / "katex.html").read_text(encoding="utf-8"))
    assert '<annotation encoding="application/x-tex">a^2 + b^2 = c^2</annotation>' in out
    assert '<math display="block">' in out and "\\int_0^1 x^2\\,dx" in out
    assert text_outside_math(out) == "ByPythagoras,andindisplay:."  # no "a2+b2=c2" again


def test_tex_scripts_convert_and_mode_display_makes_a_block() -> None:
    out = clean_html((MATH / "tex-scripts.html").read_text(encoding="utf-8"))
    assert ('<math><semantics><mrow><mi>α</mi><mo>+</mo><mi>β</mi></mrow>'
            '<annotation encoding="application/x-tex">\\alpha + \\beta</annotation>') in out
    assert '<math display="block"><semantics><mrow><msubsup><mo>∫</mo>' in out


@pytest.mark.parametrize("tex", ["\\frac{1}{", "\\sqrt{2", "x^", "\\frac{a}", "a}", "\\nosuch{x}",
                                 "\\left( x"])
def test_tex_that_does_not_convert_stays_visible_as_code(tex: str) -> None:
    for html in (clean_html(f"<p>See \\({tex}\\) here.</p>"),
                 clean_html(f'<p>See <script type="math/tex">{tex}</script> here.</p>'),
                 render_markdown(f"See \\({tex}\\) here.")):
        code = tree(html).find_class("tex-error")
        assert [c.text for c in code] == [tex], html
        assert "<math" not in html


def test_the_theme_adds_a_note_to_tex_that_did_not_convert() -> None:
    css = (Path(__file__).parent.parent / "themes/default/static/style.css").read_text("utf-8")
    assert re.search(r"code\.tex-error::after \{[^}]*content: \"[^\"]*TeX", css)
    assert re.search(r"code\.tex-error:lang\(ru\)::after \{ content: \"[^\"]*формул", css)
    assert re.search(r"math annotation[^{]*\{ display: none; \}", css)


def test_dollars_in_code_and_prices_are_left_alone() -> None:
    html = ("<p>It costs $5 or $10.</p><p><code>echo $$</code> and <kbd>$$x$$</kbd></p>"
            "<pre><code>$$a$$ \\(b\\) \\[c\\]</code></pre>")
    assert clean_html(html) == html.replace("<pre>", '<pre tabindex="0">')
    md = render_markdown("It costs $5 or $10, `$$x$$` too.\n\n```\n$$y$$ \\(z\\)\n```\n\n"
                         "    $$indented$$\n")
    assert "<math" not in md
    assert "<code>$$x$$</code>" in md and "$$y$$ \\(z\\)" in md and "$$indented$$" in md


def test_markdown_math_is_not_touched_by_emphasis_or_escapes() -> None:
    html = render_markdown("Both \\(a_1 * b_1\\) and $$c_2 * d_2$$ stay formulas.")
    assert html.count("<math") == 2
    assert "<em>" not in html
    assert '<annotation encoding="application/x-tex">a_1 * b_1</annotation>' in html


def test_mathml_survives_the_sanitizer_twice() -> None:
    """Fetch stores sanitized HTML and the build sanitizes it again: nothing may be lost."""
    once = clean_html("<p>A \\(\\hat{x} \\xrightarrow{f} \\begin{pmatrix}1\\\\2\\end{pmatrix}"
                      "\\quad \\left( y \\right)\\)</p>")
    assert clean_html(once) == once
    assert 'stretchy="true"' in once and 'accent="true"' in once
    assert '<mspace width="1em"></mspace>' in once


@pytest.mark.parametrize("hostile", [
    "\\(\\href{javascript:alert(1)}{x}\\)",
    "\\(\\url{javascript:alert(1)}\\)",
    "$$<img src=x onerror=alert(1)>$$",
    '<math href="javascript:alert(1)"><mi xlink:href="javascript:alert(2)">x</mi></math>',
    '<mjx-container><mjx-math><mjx-mi onclick="alert(1)"><mjx-c class="mjx-c78" '
    'style="background:url(javascript:alert(1))"></mjx-c></mjx-mi></mjx-math></mjx-container>',
    '<span class="katex"><math><mi style="x" onmouseover="alert(1)">x</mi></math></span>',
])
def test_formulas_carry_nothing_that_runs(hostile: str) -> None:
    """TeX may mention javascript: (as text, in an annotation or code); no element may act on it."""
    for html in (clean_html(hostile), render_markdown(hostile)):
        for el in tree(html).iter():
            for name, value in el.attrib.items():
                assert not name.startswith("on") and name not in ("style", "href", "src"), html
                assert "javascript" not in value.lower(), html


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Blog</title><link>https://blog.example/</link>
<description>d</description>
<item><title>Alignment math</title><link>https://blog.example/math</link>
<guid>urn:math:1</guid><pubDate>Tue, 10 Mar 2026 10:00:00 GMT</pubDate>
<description><![CDATA[{body}]]></description></item>
</channel></rss>
"""
OLD_STORED = """\
---
id: old-stored
title: Stored before digest knew MathML
link: https://blog.example/old
source: blog
published: '2026-03-11T10:00:00+00:00'
status: selected
---

<p>alignment: the loss <code class="tex">L = -\\log p</code> and \\(x^2\\) as stored.</p>
"""


def test_fetch_stores_mathml_and_build_shows_old_and_new_items_with_formulas(
        project: Callable[..., Path], run: Callable[..., Result]) -> None:
    body = (MATH / "mathjax3-chtml.html").read_text(encoding="utf-8").replace(
        "<p>Let", "<p>alignment. Let")
    root = project(files={"feeds/blog.xml": FEED.replace("{body}", body),
                          "content/items/2026/03/old-stored.md": OLD_STORED})
    assert run(root, "fetch").exit_code == 0
    stored = [p for p in (root / "content/items").rglob("*.md") if p.name != "old-stored.md"]
    assert len(stored) == 1
    text = stored[0].read_text(encoding="utf-8")
    assert text.count("<math") == 12 and "mjx-" not in text  # converted at fetch

    before = (root / "content/items/2026/03/old-stored.md").read_bytes()
    assert run(root, "build").exit_code == 0
    page = (root / "output/items/old-stored/index.html").read_text(encoding="utf-8")
    # Converted at load: a body stored before keeps its file and gains its formulas.
    assert page.count("<math") == 2
    assert '<annotation encoding="application/x-tex">L = -\\log p</annotation>' in page
    assert (root / "content/items/2026/03/old-stored.md").read_bytes() == before
    new_pages = [p for p in (root / "output/items").glob("*/index.html")
                 if "old-stored" not in str(p)]
    assert new_pages[0].read_text(encoding="utf-8").count("<math") == 12


def test_render_body_of_an_html_body_converts_its_formulas() -> None:
    assert "<math" in render_body('<p>Old <script type="math/tex">x</script></p>')


def test_excerpts_and_word_counts_read_a_formula_once() -> None:
    from digest.html.markup import count_words, excerpt

    html = clean_html("<p>Energy \\(E = mc^2\\) is conserved.</p>")
    assert excerpt(html).split() == ["Energy", "E", "=", "m", "c", "2", "is", "conserved."]
    assert count_words(html) == count_words("<p>Energy E = m c 2 is conserved.</p>")


def test_what_mathml_core_does_not_draw_is_said_in_what_it_does() -> None:
    """Chromium draws mathvariant="normal" only: \\mathbb{R} would be a plain R."""
    out = clean_html('<span class="katex"><math><semantics><mrow><mi mathvariant="double-struck">'
                     'R</mi><mi mathvariant="script">L</mi><mi mathvariant="bold">x</mi>'
                     '<mi mathvariant="normal">d</mi></mrow></semantics></math></span>'
                     "<p>\\[\\lim_{n} a_n\\] and \\(\\lim_{n} a_n\\)</p>")
    assert '<mi>ℝ</mi><mi>ℒ</mi><mi>𝐱</mi><mi mathvariant="normal">d</mi>' in out
    assert "<munder><mo>lim</mo>" in out and "<msub><mo>lim</mo>" in out  # display, inline


def test_a_stored_body_with_mathml_is_brought_up_to_date_at_load() -> None:
    stored = '<p>The reals <math><mi mathvariant="double-struck">R</mi></math>.</p>'
    assert render_body(stored) == "<p>The reals <math><mi>ℝ</mi></math>.</p>"
