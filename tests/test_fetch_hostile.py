"""`digest fetch` on hostile feeds: entity bombs and external entities, script smuggled in
markup, links and titles, file names chosen by an attacker; and formulas that must survive
the sanitizer. Every feed here is a real file read by the real `digest fetch`."""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml
from click.testing import Result

Run = Callable[..., Result]
Project = Callable[..., Path]

SITE = """\
[site]
title = "Hostile"
base_url = "https://user.github.io/my-digest/"
language = "en"
timezone = "UTC"

[[feeds]]
slug = "evil"
title = "Evil"
url = "feeds/evil.xml"
homepage = "https://evil.example/"
"""
PASSWD = Path("/etc/passwd")
C0 = re.compile(r"[\x00-\x1f\x7f]")
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)),
                    *(f"lpt{n}" for n in range(10))}
ITEM_PATH = re.compile(r"^content/items/\d{4}/\d{2}/[a-z0-9]+(?:-[a-z0-9]+)*\.md$")


def items(root: Path) -> list[Path]:
    return sorted((root / "content" / "items").rglob("*.md"))


def front_matter(path: Path) -> dict[str, object]:
    head = path.read_text(encoding="utf-8")[4:].partition("\n---\n")[0]
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data


def body(path: Path) -> str:
    return path.read_text(encoding="utf-8")[4:].partition("\n---\n")[2]


def by_id_suffix(root: Path) -> dict[str, Path]:
    return {str(front_matter(p)["title"]): p for p in items(root)}


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def rss(items_xml: str, prolog: str = "") -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + prolog +
            '<rss version="2.0"><channel><title>Evil</title><link>https://evil.example/</link>'
            f"<description>d</description>{items_xml}</channel></rss>").encode()


def rss_item(guid: str, title: str, html: str = "<p>Text.</p>", link: str = "",
             date: str = "Tue, 10 Mar 2026 10:00:00 GMT") -> str:
    link_xml = f"<link>{escape(link)}</link>" if link else ""
    return (f'<item><guid isPermaLink="false">{escape(guid)}</guid><title>{escape(title)}</title>'
            f"{link_xml}<pubDate>{date}</pubDate>"
            f"<description>{escape(html)}</description></item>")


def atom(entries: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            '<title>Evil</title><id>urn:evil</id><link href="https://evil.example/"/>'
            f"<updated>2026-03-10T10:00:00Z</updated>{entries}</feed>").encode()


def json_feed(entries: list[dict[str, object]]) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Evil",
                       "home_page_url": "https://evil.example/", "items": entries}).encode()


def fetch(project: Project, run: Run, data: bytes, expect_ok: bool = True) -> tuple[Path, Result]:
    root = project(config=SITE, files={"feeds/evil.xml": data})
    result = run(root, "fetch")
    assert "Traceback" not in result.output
    if expect_ok:
        assert result.exit_code == 0, result.output
        assert error_lines(result) == []
    return root, result


def all_text(root: Path) -> str:
    """Everything fetch wrote that a reader or the site could see."""
    return "".join(p.read_text(encoding="utf-8") for p in items(root))


# --- XML entities ----------------------------------------------------------------------------

LAUGHS = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
BILLION_LAUGHS = (f'<!DOCTYPE rss [<!ENTITY lol0 "lol">{LAUGHS}]>\n',
                  rss_item("urn:lol", "Laugh &lol9;", "<p>&lol9;</p>").replace("&amp;lol9;",
                                                                               "&lol9;"))
EXTERNAL = ('<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
            rss_item("urn:xxe", "Secret &xxe;", "<p>&xxe;</p>").replace("&amp;xxe;", "&xxe;"))
PARAMETER = ('<!DOCTYPE rss [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n',
             rss_item("urn:p", "Parameter"))
# a comment holding "] >" ends a naive DOCTYPE match early; the declarations come after 64 KB
SMUGGLED = ('<!DOCTYPE rss [<!-- ] > -->' + "<!--" + "pad " * 20000 + "-->"
            f'<!ENTITY lol0 "lol">{LAUGHS}<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
            rss_item("urn:s", "Smuggled &xxe; &lol9;", "<p>&xxe;&lol9;</p>")
            .replace("&amp;xxe;", "&xxe;").replace("&amp;lol9;", "&lol9;"))
ENTITY_FEEDS = {"billion laughs": BILLION_LAUGHS, "external entity": EXTERNAL,
                "parameter entity": PARAMETER, "smuggled past the first 64 KB": SMUGGLED}


@pytest.mark.parametrize("attack", list(ENTITY_FEEDS.values()), ids=list(ENTITY_FEEDS))
def test_entities_are_never_expanded(project: Project, run: Run, attack: tuple[str, str]) -> None:
    prolog, hostile = attack
    data = rss(hostile + rss_item("urn:normal", "A normal entry"), prolog=prolog)
    start = time.monotonic()
    root, result = fetch(project, run, data, expect_ok=False)
    assert time.monotonic() - start < 20
    # either the feed is refused with one line, or its entries are stored unexpanded
    if result.exit_code == 1:
        lines = error_lines(result)
        assert len(lines) == 1 and "feeds.evil" in lines[0], result.output
    else:
        assert result.exit_code == 0, result.output
        assert "A normal entry" in [front_matter(p)["title"] for p in items(root)]
    written = all_text(root)
    assert "lollollol" not in written
    assert "root:x:0:0" not in written and "/bin/" not in written
    secret = PASSWD.read_text(encoding="utf-8").splitlines()[0] if PASSWD.exists() else "root:"
    assert secret not in written
    assert sum(p.stat().st_size for p in items(root)) < 20_000


# --- script in markup, links and titles -------------------------------------------------------


def test_svg_links_and_forms_with_javascript_are_removed(project: Project, run: Run) -> None:
    svg = ('<p>Look:</p><svg><a xlink:href="javascript:alert(1)"><text x="0" y="15">Click</text>'
           '</a><animate attributeName="href" to="javascript:alert(2)"/></svg><p>after</p>')
    form = ('<p>Log in:</p><form action="javascript:alert(3)"><input type="submit" value="Go">'
            '<button formaction="javascript:alert(4)">Send</button></form><p>done</p>')
    root, _ = fetch(project, run, rss(rss_item("urn:svg", "Svg", svg) +
                                      rss_item("urn:form", "Form", form)))
    stored = by_id_suffix(root)
    svg_body, form_body = body(stored["Svg"]), body(stored["Form"])
    for text in (svg_body, form_body):
        assert "javascript:" not in text.lower()
        assert "alert(" not in text
    assert "<svg" not in svg_body and "xlink" not in svg_body
    assert "<p>Look:</p>" in svg_body and "<p>after</p>" in svg_body
    assert "<form" not in form_body and "<input" not in form_body
    assert "<p>Log in:</p>" in form_body and "<p>done</p>" in form_body


@pytest.mark.parametrize("link", ["javascript:alert(1)", " JaVaScRiPt:alert(1)",
                                  "data:text/html,<script>alert(1)</script>",
                                  "vbscript:msgbox(1)"])
def test_an_entry_link_with_another_scheme_is_dropped(project: Project, run: Run,
                                                      link: str) -> None:
    root, _ = fetch(project, run, rss(rss_item("urn:js", "A bad link", link=link)))
    meta = front_matter(items(root)[0])
    assert meta["link"] == "" or str(meta["link"]).startswith(("http://", "https://")), meta
    written = all_text(root).lower()
    assert "javascript:" not in written and "vbscript:" not in written
    assert "data:" not in written and "alert(1)" not in written
    # the site still builds, and its item page links nowhere dangerous
    result = run(root, "build")
    assert result.exit_code == 0, result.output
    page = next((root / "output" / "items").glob("*/index.html")).read_text(encoding="utf-8")
    assert "javascript:" not in page.lower() and "vbscript:" not in page.lower()
    assert "data:text/html" not in page


def test_markup_in_titles_is_not_stored(project: Project, run: Run) -> None:
    evil = "<img src=x onerror=alert(1)>Hello <b>world</b>"
    data = atom(
        '<entry><id>urn:atom-html</id><title type="html">'
        f"{escape(evil)}</title><updated>2026-03-10T10:00:00Z</updated>"
        '<link href="https://evil.example/1"/></entry>'
        '<entry><id>urn:atom-xhtml</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/'
        'xhtml"><img src="x" onerror="alert(1)"/>Hi <script>alert(2)</script>there</div></title>'
        '<updated>2026-03-10T10:00:00Z</updated><link href="https://evil.example/2"/></entry>')
    root, _ = fetch(project, run, data)
    titles = sorted(str(front_matter(p)["title"]) for p in items(root))
    assert titles == ["Hello world", "Hi there"]
    for path in items(root):
        assert "onerror" not in path.read_text(encoding="utf-8")


def test_markup_in_an_rss_title_is_not_stored(project: Project, run: Run) -> None:
    root, _ = fetch(project, run, rss(rss_item("urn:t", "<img src=x onerror=alert(1)>Hello")))
    meta = front_matter(items(root)[0])
    assert meta["title"] == "Hello"
    assert "onerror" not in all_text(root)


def test_a_path_traversal_guid_stays_under_content_items(project: Project, run: Run) -> None:
    before = PASSWD.stat().st_mtime_ns if PASSWD.exists() else None
    guids = ["../../../../etc/passwd", "/etc/passwd", "..\\..\\..\\windows\\win.ini",
             "content/../../../digest.toml"]
    data = rss("".join(rss_item(g, g) for g in guids))
    root, _ = fetch(project, run, data)
    written = items(root)
    assert len(written) == len(guids)
    for path in written:
        assert ITEM_PATH.match(path.relative_to(root).as_posix()), path
    made = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert {m for m in made if not m.startswith(("content/items/", ".digest/"))} == \
        {"digest.toml", "feeds/evil.xml"}
    assert (root / "digest.toml").read_text(encoding="utf-8") == SITE
    if before is not None:
        assert PASSWD.stat().st_mtime_ns == before


def test_a_600_character_title_gets_a_short_file_name(project: Project, run: Run) -> None:
    title = ("Averyveryverylongword " * 30)[:600]
    assert len(title) == 600
    root, _ = fetch(project, run, rss(rss_item("urn:long", title)))
    path = items(root)[0]
    assert len(path.name) <= 80, path.name
    assert len(str(path.relative_to(root))) <= 120
    assert front_matter(path)["title"] == title.strip()  # the title itself is kept whole


@pytest.mark.parametrize("title", ["CON", "aux", "nul", "COM1", "lpt9", "con.txt", "PRN.md"])
def test_reserved_device_names_never_are_a_file_name(project: Project, run: Run,
                                                     title: str) -> None:
    root, _ = fetch(project, run, rss(rss_item(f"urn:{title}", title)))
    path = items(root)[0]
    assert path.stem.split(".")[0].lower() not in WINDOWS_RESERVED, path.name
    assert front_matter(path)["title"] == title


def test_titles_differing_in_case_or_normalisation_get_distinct_files(project: Project,
                                                                      run: Run) -> None:
    nfc = unicodedata.normalize("NFC", "Café résumé")
    nfd = unicodedata.normalize("NFD", "Café résumé")
    assert nfc != nfd
    titles = ["Hello World", "HELLO WORLD", "hello world", nfc, nfd]
    # the same published time too, so that nothing but the guid tells them apart
    data = rss("".join(rss_item(f"urn:title:{n}", t) for n, t in enumerate(titles)))
    root, _ = fetch(project, run, data)
    written = items(root)
    assert len(written) == len(titles)
    assert len({p.name.lower() for p in written}) == len(titles)  # case-insensitive disks too
    stored = [str(front_matter(p)["title"]) for p in written]
    assert sorted(unicodedata.normalize("NFC", t) for t in stored) == \
        sorted(unicodedata.normalize("NFC", t) for t in titles)
    # a second fetch clobbers nothing and adds nothing
    before = {p: p.read_bytes() for p in written}
    assert run(root, "fetch").exit_code == 0
    assert {p: p.read_bytes() for p in items(root)} == before


def test_control_characters_are_removed_from_titles(project: Project, run: Run) -> None:
    evil = "Bell\x07 and\x1b[31m red\x00 and\x7f del\x08"
    data = json_feed([{"id": "c0", "url": "https://evil.example/c0", "title": evil,
                       "content_html": "<p>Body\x01 text\x1b</p>",
                       "date_published": "2026-03-10T10:00:00Z"}])
    root, _ = fetch(project, run, data)
    path = items(root)[0]
    meta = front_matter(path)
    assert not C0.search(str(meta["title"])), repr(meta["title"])
    assert meta["title"] == "Bell and[31m red and del"
    assert not C0.search(body(path).replace("\n", "")), repr(body(path))
    assert run(root, "check").exit_code == 0


def test_control_characters_in_an_rss_title_are_removed(project: Project, run: Run) -> None:
    data = rss(rss_item("urn:c0", "Tab\tline\x0bform\x0cend")).replace(
        b"Tab", b"\x01Tab\x02")
    root, result = fetch(project, run, data, expect_ok=False)
    # Control characters make the XML malformed: a warning (not a failure) names the feed and
    # feedparser's reason, and the entry it could read is stored without them.
    assert result.exit_code == 0, result.output
    assert "malformed feed (line 2, column 161: not well-formed (invalid token))" in \
        result.output
    title = str(front_matter(items(root)[0])["title"])
    assert not C0.search(title), repr(title)
    assert title == "Tab lineformend"


# --- formulas, images, links -----------------------------------------------------------------

MATHJAX3 = (
    '<style>.mjx-chtml{display:inline-block} mjx-container[jax="CHTML"]{line-height:0}'
    "@font-face{font-family:MJXZERO;src:url(https://cdn.jsdelivr.net/x.woff)}</style>"
    '<p>Let <mjx-container class="MathJax" jax="CHTML"><mjx-math class="MJX-TEX">'
    '<mjx-mi class="mjx-i"><mjx-c class="mjx-c1D465 TEX-I"></mjx-c></mjx-mi>'
    '<mjx-mo class="mjx-n"><mjx-c class="mjx-c3D"></mjx-c></mjx-mo></mjx-math>'
    '<mjx-assistive-mml unselectable="on" display="inline">'
    '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi><mo>=</mo><mn>2</mn></math>'
    "</mjx-assistive-mml></mjx-container> hold.</p>"
)
MATHJAX2 = ('<p>Energy <script type="math/tex">x^2</script> and '
            '<script type="math/tex; mode=display">\\int_0^1 f(x)\\,dx < 1</script>.</p>'
            '<script>alert("not tex")</script>')
MEDIA = ('<p><img src="/pic.png" alt="A picture" onerror="alert(1)"> '
         '<a href="https://other.example/page">elsewhere</a> '
         '<a href="/local">relative</a> <a href="javascript:alert(1)">bad</a></p>')


def mathjax_project(project: Project, run: Run) -> tuple[Path, dict[str, Path]]:
    data = rss(rss_item("urn:mj3", "MathJax three", MATHJAX3, link="https://evil.example/mj3")
               + rss_item("urn:mj2", "MathJax two", MATHJAX2, link="https://evil.example/mj2")
               + rss_item("urn:media", "Media", MEDIA, link="https://evil.example/post/media"))
    root, _ = fetch(project, run, data)
    return root, by_id_suffix(root)


def test_mathjax_3_keeps_the_mathml_formula_and_drops_its_css(project: Project,
                                                              run: Run) -> None:
    _, stored = mathjax_project(project, run)
    text = body(stored["MathJax three"])
    assert "<math" in text and "<mi>x</mi><mo>=</mo><mn>2</mn></math>" in text
    assert "<p>Let " in text and " hold.</p>" in text
    for leaked in ("<style", "mjx", "MathJax", "@font-face", "display:inline-block",
                   "cdn.jsdelivr.net"):
        assert leaked not in text, leaked


def test_mathjax_2_keeps_the_tex_visible(project: Project, run: Run) -> None:
    _, stored = mathjax_project(project, run)
    text = body(stored["MathJax two"])
    assert "<script" not in text and 'alert("not tex")' not in text
    assert "x^2" in text
    assert "\\int_0^1 f(x)\\,dx &lt; 1" in text


def test_formulas_reach_the_built_page(project: Project, run: Run) -> None:
    root, stored = mathjax_project(project, run)
    assert run(root, "build").exit_code == 0
    pages = root / "output" / "items"
    three = (pages / stored["MathJax three"].stem / "index.html").read_text(encoding="utf-8")
    assert "<mi>x</mi><mo>=</mo><mn>2</mn>" in three
    assert "mjx-c1D465" not in three
    two = (pages / stored["MathJax two"].stem / "index.html").read_text(encoding="utf-8")
    assert "x^2" in two and "alert(" not in two


def test_images_are_lazy_and_links_are_absolute_and_noopener(project: Project,
                                                             run: Run) -> None:
    _, stored = mathjax_project(project, run)
    text = body(stored["Media"])
    img = re.search(r"<img [^>]*>", text)
    assert img, text
    assert 'loading="lazy"' in img.group(0)
    assert 'src="https://evil.example/pic.png"' in img.group(0)
    assert "onerror" not in text
    links = re.findall(r"<a [^>]*>", text)
    assert len(links) == 3, links
    for tag in links:
        rel = re.search(r'rel="([^"]*)"', tag)
        assert rel and {"noopener", "noreferrer"} <= set(rel.group(1).split()), tag
    assert 'href="https://other.example/page"' in text
    assert 'href="https://evil.example/local"' in text
    assert "javascript:" not in text
