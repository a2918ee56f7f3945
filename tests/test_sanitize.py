"""Nothing hostile from a feed reaches a reader: OWASP's payloads, alone and through the whole
fetch-and-build pipeline; what a reader needs (links, footnotes, code colours) survives."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.html.sanitize import clean_html
from tests.conftest import FIXTURES

Run = Callable[..., Result]
Project = Callable[..., Path]

PAYLOADS: list[str] = json.loads((FIXTURES / "xss-basic.json").read_text(encoding="utf-8"))
FORBIDDEN_TAGS = ("<script", "<iframe", "<object", "<embed", "<style", "<base", "<meta", "<svg",
                  "<form", "<input", "<link")
URL_ATTRIBUTES = {"href", "src", "srcset", "cite", "action", "formaction", "data", "poster",
                  "background", "xlink:href", "lowsrc", "dynsrc"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")


class Elements(HTMLParser):
    """Every element, attribute and script text of an HTML document, as a browser reads them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def squeezed(value: str) -> str:
    """An attribute value as a URL parser sees it: no whitespace or control characters."""
    return re.sub(r"[\x00-\x20\x7f]+", "", value).lower()


def assert_harmless_fragment(html: str) -> None:
    """A sanitized fragment: nothing that runs, loads a frame, restyles or redirects."""
    lowered = html.lower()
    for tag in FORBIDDEN_TAGS:
        assert tag not in lowered, (tag, html)
    assert "expression(" not in lowered, html
    found = Elements(html)
    for tag, name, value in found.attributes:
        assert not name.startswith("on"), (tag, name, html)
        assert name != "style", (tag, name, html)
        if name in URL_ATTRIBUTES:
            assert not squeezed(value).startswith(BAD_SCHEMES), (tag, name, value)


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"owasp-{n:02d}" for n in range(len(PAYLOADS))])
def test_clean_html_disarms_every_owasp_payload(payload: str) -> None:
    assert_harmless_fragment(clean_html(payload))


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"owasp-{n:02d}" for n in range(len(PAYLOADS))])
def test_clean_html_disarms_payloads_inside_ordinary_markup(payload: str) -> None:
    html = f"<p>Before <em>{payload}</em> after.</p><div>{payload}</div>"
    assert_harmless_fragment(clean_html(html, "https://blog.example/post/"))


SMALL_ATTACKS = {
    "data: image": '<img src="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">',
    "data: link": '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "vbscript: link": '<a href="vbscript:msgbox(1)">x</a>',
    "entity-split javascript:": '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "upper-case scheme": '<a href="JAVASCRIPT:alert(1)">x</a>',
    "srcset with javascript:": '<img srcset="javascript:alert(1) 1x">',
    "style attribute": '<p style="background:url(javascript:alert(1))">x</p>',
    "embed": '<embed src="https://evil.example/x.swf">',
    "form": '<form action="javascript:alert(1)"><button>go</button></form>',
    "math with href": '<math href="javascript:alert(1)"><mi>x</mi></math>',
    "noscript breakout": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "template": "<template><script>alert(1)</script></template>",
}


@pytest.mark.parametrize("html", list(SMALL_ATTACKS.values()), ids=list(SMALL_ATTACKS))
def test_clean_html_disarms_other_schemes_and_elements(html: str) -> None:
    assert_harmless_fragment(clean_html(html, "https://blog.example/post/"))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_no_text_ever_comes_out_with_a_script_tag(text: str) -> None:
    assert "<script" not in clean_html(text).lower()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["<", ">", "script", "SCRIPT", "/", " ", "<!--", "-->", "\"",
                                 "'", "=", "onerror", "<svg", "<scr", "ipt>", "&lt;", "\x00",
                                 "<![CDATA[", "]]>", "javascript:", "<a href=", "<img src=x "]),
                max_size=20).map("".join))
def test_no_tag_soup_ever_comes_out_with_a_script_tag(text: str) -> None:
    out = clean_html(text).lower()
    assert "<script" not in out
    assert not any(name.startswith("on") for _, name, _ in Elements(out).attributes)


# --- what survives ---------------------------------------------------------------------------


def test_relative_urls_become_absolute_against_the_base() -> None:
    html = '<a href="/about/">a</a> <a href="next/">b</a> <img src="img/pic.png" alt="pic">'
    out = clean_html(html, "https://blog.example/2026/post/")
    assert 'href="https://blog.example/about/"' in out
    assert 'href="https://blog.example/2026/post/next/"' in out
    assert 'src="https://blog.example/2026/post/img/pic.png"' in out
    assert 'alt="pic"' in out


def test_protocol_relative_links_get_the_base_scheme() -> None:
    out = clean_html('<a href="//cdn.example/x">x</a>', "https://blog.example/")
    assert 'href="https://cdn.example/x"' in out


def test_footnote_links_and_targets_survive() -> None:
    html = ('<p>Claim<sup class="footnote-ref" id="fnref1"><a href="#fn1">1</a></sup></p>'
            '<div class="footnotes"><ol><li id="fn1">Source. <a href="#fnref1" '
            'class="footnote-backref">↩</a></li></ol></div>')
    out = clean_html(html, "https://blog.example/post/")
    for kept in ('href="#fn1"', 'id="fn1"', 'href="#fnref1"', 'id="fnref1"',
                 'class="footnote-ref"', 'class="footnotes"'):
        assert kept in out, (kept, out)


def test_footnote_links_resolved_against_the_feed_become_in_page_again() -> None:
    html = '<a href="https://feed.example/rss.xml#fn1">1</a>'
    out = clean_html(html, "https://blog.example/post/", same_page=("https://feed.example/rss.xml",))
    assert 'href="#fn1"' in out


def test_pygments_classes_on_code_survive() -> None:
    html = ('<div class="codehilite"><pre><span></span><code><span class="kn">import</span> '
            '<span class="nn">os</span></code></pre></div>'
            '<div class="highlight"><pre><span class="k">def</span></pre></div>')
    out = clean_html(html)
    for kept in ('class="codehilite"', 'class="kn"', 'class="nn"', 'class="highlight"',
                 'class="k"'):
        assert kept in out, (kept, out)


def test_other_classes_are_dropped() -> None:
    html = ('<p class="lead">a</p><div class="visually-hidden">b</div>'
            '<span class="site-header">c</span><pre class="language-python">d</pre>')
    out = clean_html(html)
    assert "class=" not in out, out
    assert "a" in out and "b" in out and "c" in out and "d" in out


def test_short_theme_classes_are_dropped() -> None:
    out = clean_html('<div class="toc">a</div><span class="row">b</span>')
    assert "class=" not in out, out


def test_theme_ids_are_dropped_but_anchor_ids_kept() -> None:
    out = clean_html('<div id="main">a</div><h2 id="results">b</h2>')
    assert 'id="main"' not in out
    assert 'id="results"' in out


# --- through the whole pipeline --------------------------------------------------------------

SITE = """\
[site]
title = "Sanitize test"
base_url = "https://user.github.io/my-digest/"
language = "en"
timezone = "UTC"

[[feeds]]
slug = "evil"
title = "Evil"
url = "feeds/evil.atom"
"""


def hostile_feed() -> bytes:
    """One Atom entry per payload, the payload in its title, author, category, body; a
    javascript: link."""
    entries = "".join(
        f"<entry><id>urn:evil:{n}</id><title type=\"text\">{escape(p)}</title>"
        f"<link rel=\"alternate\" href=\"javascript:alert({n})\"/>"
        f"<updated>2026-03-{10 + n % 5}T10:00:00Z</updated>"
        f"<author><name>{escape(p)}</name></author><category term={quoteattr(p)}/>"
        f"<content type=\"html\">{escape('<p>Intro.</p>' + p)}</content></entry>"
        for n, p in enumerate(PAYLOADS))
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>Evil</title><id>urn:evil</id>'
            f'<updated>2026-03-11T10:00:00Z</updated>{entries}</feed>').encode()


@pytest.fixture
def hostile_site(project: Project, run: Run) -> Path:
    """A project whose one feed carries every payload, fetched and built: its output/."""
    root = project(config=SITE, files={"feeds/evil.atom": hostile_feed()})
    fetched = run(root, "fetch")
    assert fetched.exit_code == 0, fetched.output
    built = run(root, "build")
    assert built.exit_code == 0, built.output
    return root / "output"


def assert_harmless_page(html: str) -> None:
    """A whole page: the theme's own markup is fine, nothing of the payloads runs."""
    found = Elements(html)
    for tag in ("iframe", "object", "embed", "base"):
        assert tag not in found.tags, tag
    # The theme's one form is its search box (GET to our own search page, one text input).
    forms = [(name, value) for tag, name, value in found.attributes if tag == "form"]
    assert all(name != "action" or value.endswith("/search/") for name, value in forms), forms
    assert found.tags.count("form") <= 1 and found.tags.count("input") <= 1
    for script in found.scripts:
        assert "alert" not in script.lower() and "xss" not in script.lower(), script
    for tag, name, value in found.attributes:
        assert not name.startswith("on"), (tag, name, value)
        if name == "style":
            assert "expression(" not in value.lower() and "url(" not in value.lower(), value
        if tag == "meta":
            assert "refresh" not in value.lower(), value
        if name in URL_ATTRIBUTES:
            schemes = BAD_SCHEMES[:2] if tag == "link" else BAD_SCHEMES  # a data: favicon is fine
            assert not squeezed(value).startswith(schemes), (tag, name, value)


def test_every_built_page_is_harmless(hostile_site: Path) -> None:
    pages = sorted(hostile_site.rglob("*.html"))
    items = [p for p in pages if p.parent.parent.name == "items"]
    assert len(items) == len(PAYLOADS)
    for page in pages:
        assert_harmless_page(page.read_text(encoding="utf-8"))


def test_hostile_titles_never_become_markup(hostile_site: Path) -> None:
    for page in (hostile_site / "items").glob("*/index.html"):
        html = page.read_text(encoding="utf-8")
        for element in ("title", "h1"):
            found = re.search(rf"<{element}[^>]*>(.*?)</{element}>", html, re.DOTALL)
            assert found, (page, element)
            assert "<" not in found.group(1), (page, found.group(1))


def test_angle_brackets_in_titles_and_authors_are_escaped(project: Project, run: Run) -> None:
    entry = ('<entry><id>urn:text:1</id><title type="text">Generics: List&lt;T&gt; &amp; '
             'Map&lt;K, V&gt;</title><link href="https://blog.example/generics"/>'
             "<updated>2026-03-10T10:00:00Z</updated><author><name>Tom &amp; Jerry "
             "&lt;tj@blog.example&gt;</name></author><content type=\"html\">&lt;p&gt;Text."
             "&lt;/p&gt;</content></entry>")
    feed = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>T</title><id>urn:text</id><updated>2026-03-10T10:00:00Z</updated>{entry}"
            "</feed>")
    root = project(config=SITE, files={"feeds/evil.atom": feed})
    assert run(root, "fetch").exit_code == 0
    assert run(root, "build").exit_code == 0
    [page] = (root / "output" / "items").glob("*/index.html")
    html = page.read_text(encoding="utf-8")
    assert "Generics: List&lt;T&gt; &amp; Map&lt;K, V&gt;" in html
    assert "Tom &amp; Jerry &lt;tj@blog.example&gt;" in html


def test_javascript_entry_links_are_not_linked(hostile_site: Path) -> None:
    for page in (hostile_site / "items").glob("*/index.html"):
        hrefs = [v for _, n, v in Elements(page.read_text(encoding="utf-8")).attributes
                 if n == "href"]
        assert not any("alert(" in href for href in hrefs), (page, hrefs)


def test_site_feed_content_is_escaped_html_without_payloads(hostile_site: Path) -> None:
    atom = "{http://www.w3.org/2005/Atom}"
    tree = ET.parse(hostile_site / "feed.xml")
    contents = list(tree.getroot().iter(f"{atom}content"))
    assert contents
    for content in contents:
        assert content.get("type") == "html"
        assert list(content) == [], "type=html content must be escaped text, not elements"
        assert_harmless_page(content.text or "")


def test_markdown_written_by_an_editor_is_sanitized_too(project: Project, run: Run) -> None:
    note = ("---\nid: mine\ntitle: My own item\nsource: evil\n"
            "published: 2026-03-10T10:00:00+00:00\n---\n\n"
            "Hello <script>alert('md')</script> [click](javascript:alert('md')) "
            "<img src=x onerror=alert('md')>\n\n<iframe src=\"https://evil.example\"></iframe>\n")
    root = project(config=SITE, files={"content/items/2026/03/my-own-item-aaaaaa.md": note})
    result = run(root, "build")
    assert result.exit_code == 0, result.output
    page = (root / "output" / "items" / "my-own-item-aaaaaa" / "index.html").read_text("utf-8")
    assert_harmless_page(page)
    assert "Hello" in page and "click" in page
