"""Languages: an English post in a Russian digest is marked lang="en" wherever its own words
appear (issue, topic, source and item pages, the email edition, the site's feeds), so that a
screen reader reads it with an English voice and the browser hyphenates it as English.

Its language is the editor's `language:` in the item's front matter, else its feed's
`language` in digest.toml, else the language the feed declares (RSS <language>, Atom
xml:lang, JSON Feed `language`), kept per feed in .digest/state.json by `digest fetch`.
Where it is the site's language, nothing is added.

Real projects, the real CLI, feeds served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml
from click.testing import Result
from pytest_httpserver import HTTPServer

Run = Callable[..., Result]
Project = Callable[..., Path]

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

EN_TITLE = "Measuring alignment in small models"
EN_TEXT = "We measured how well small models follow the instructions they were given"
RU_TITLE = "Выравнивание маленьких моделей"
RU_TEXT = "Мы измерили, насколько хорошо маленькие модели следуют инструкциям"
WEEK = "issues/2026-w11/"



# --- feeds, in the three formats, each declaring its language (or not) -----------------------

def rss(language: str | None, title: str, text: str, guid: str = "1") -> bytes:
    declared = f"<language>{escape(language)}</language>" if language is not None else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Blog</title><link>https://blog.example/</link>{declared}"
            f"<item><guid>{guid}</guid><title>{escape(title)}</title>"
            f"<link>https://blog.example/{guid}</link>"
            f"<pubDate>Tue, 10 Mar 2026 10:00:00 GMT</pubDate>"
            f"<description>{escape(f'<p>{text}.</p>')}</description></item>"
            f"</channel></rss>").encode()


def atom(language: str | None, title: str, text: str, guid: str = "1") -> bytes:
    declared = f' xml:lang="{escape(language)}"' if language is not None else ""
    return (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<feed xmlns="http://www.w3.org/2005/Atom"{declared}><title>Blog</title>'
            f'<id>https://blog.example/</id><updated>2026-03-10T10:00:00Z</updated>'
            f'<link href="https://blog.example/"/>'
            f"<entry><id>{guid}</id><title>{escape(title)}</title>"
            f'<link rel="alternate" href="https://blog.example/{guid}"/>'
            f"<updated>2026-03-10T10:00:00Z</updated>"
            f'<content type="html">{escape(f"<p>{text}.</p>")}</content></entry>'
            f"</feed>").encode()


def json_feed(language: str | None, title: str, text: str, guid: str = "1") -> bytes:
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Blog",
            "home_page_url": "https://blog.example/",
            **({"language": language} if language is not None else {}),
            "items": [{"id": guid, "url": f"https://blog.example/{guid}", "title": title,
                       "content_html": f"<p>{text}.</p>",
                       "date_published": "2026-03-10T10:00:00Z"}]}
    return json.dumps(feed, ensure_ascii=False).encode()


FORMATS = {"rss": (rss, "application/rss+xml"), "atom": (atom, "application/atom+xml"),
           "json": (json_feed, "application/feed+json")}


def serve(server: HTTPServer, path: str, body: bytes, kind: str = "application/rss+xml"
          ) -> str:
    server.expect_request(path).respond_with_data(body, content_type=kind)
    return server.url_for(path)


def site(*feeds: tuple[str, str, str], language: str = "ru") -> str:
    """digest.toml: a site in `language` with (slug, url, extra TOML lines) feeds."""
    text = (f'[site]\ntitle = "Дайджест"\nbase_url = "https://user.github.io/my-digest/"\n'
            f'language = "{language}"\ntimezone = "Europe/Moscow"\nsearch = false\n\n'
            '[[topics]]\nslug = "ai"\ntitle = "ИИ"\n')
    for slug, url, extra in feeds:
        text += (f'\n[[feeds]]\nslug = "{slug}"\ntitle = "{slug.title()}"\nurl = "{url}"\n'
                 f'topics = ["ai"]\n{extra}')
    return text


def fetch_and_build(root: Path, run: Run) -> Path:
    fetched = run(root, "fetch")
    assert fetched.exit_code == 0, fetched.output
    built = run(root, "build")
    assert built.exit_code == 0, built.output
    return root / "output"


# --- what a screen reader would use for each piece of text -----------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class _Langs(HTMLParser):
    """Each text of a page's <body> with the language it is in: the `lang` of the nearest
    element that has one (as browsers and screen readers work it out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str]] = []
        self.texts: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        own = dict(attrs).get("lang")
        self.stack.append((tag, own if own is not None else
                           (self.stack[-1][1] if self.stack else "")))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if data.strip() and self.stack and "body" in (t for t, _ in self.stack):
            self.texts.append((" ".join(data.split()), self.stack[-1][1]))


def read_as(page: Path, text: str) -> list[str]:
    """The language of every piece of the page's visible text that contains `text`."""
    parser = _Langs()
    parser.feed(page.read_text(encoding="utf-8"))
    return [lang for words, lang in parser.texts if text in words]


def item_page(output: Path, title: str) -> Path:
    [page] = [p for p in (output / "items").glob("*/index.html")
              if f">{title}</h1>" in re.sub(r"<h1[^>]*>", ">", p.read_text(encoding="utf-8"))]
    return page


def atom_entries(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    return {e.findtext(f"{ATOM}title") or "": e for e in root.iter(f"{ATOM}entry")}


def assert_marked_everywhere(output: Path, source: str, lang: str = "en") -> None:
    """The English item's words are in `lang` on every page and feed that shows them; the
    Russian item's and the site's own words stay Russian."""
    pages = [output / "index.html", output / WEEK / "index.html",
             output / "topics" / "ai" / "index.html",
             output / "sources" / source / "index.html", item_page(output, EN_TITLE)]
    for page in pages:
        found = read_as(page, EN_TITLE)
        assert found and set(found) == {lang}, (page, found)
        assert set(read_as(page, RU_TITLE)) <= {"ru"}, page
    for page in (output / WEEK / "index.html", item_page(output, EN_TITLE)):
        assert set(read_as(page, EN_TEXT)) == {lang}, page  # the excerpt, the whole text
        assert set(read_as(page, RU_TEXT)) <= {"ru"}, page
    issue = (output / WEEK / "index.html")
    assert set(read_as(issue, " мин")) == {"ru"}  # the theme's words in the card, beside it
    assert set(read_as(item_page(output, EN_TITLE), "минут")) == {"ru"}  # the byline
    assert set(read_as(item_page(output, RU_TITLE), RU_TEXT)) == {"ru"}

    email = output / WEEK / "email.html"
    assert set(read_as(email, EN_TITLE)) == {lang} and set(read_as(email, EN_TEXT)) == {lang}
    assert set(read_as(email, RU_TITLE)) == {"ru"}
    assert set(read_as(email, "Читать на сайте")) == {"ru"}

    for feed in ("items.xml", "topics/ai/feed.xml", f"sources/{source}/feed.xml"):
        root = ET.parse(output / feed).getroot()
        assert root.get(XML_LANG) == "ru"
        entries = atom_entries(output / feed)
        english = entries[EN_TITLE]
        assert english.find(f"{ATOM}title").get(XML_LANG) == lang  # type: ignore[union-attr]
        assert english.find(f"{ATOM}summary").get(XML_LANG) == lang  # type: ignore[union-attr]
        assert f'<p lang="{lang}">{EN_TEXT}' in (english.findtext(f"{ATOM}content") or "")
        if RU_TITLE in entries:  # not in the English source's own feed
            russian = entries[RU_TITLE]
            assert russian.find(f"{ATOM}title").get(XML_LANG) is None  # type: ignore[union-attr]
            assert "lang=" not in (russian.findtext(f"{ATOM}content") or "")
        else:
            assert feed.startswith("sources/")
    items = json.loads((output / "items.json").read_text(encoding="utf-8"))
    assert items["language"] == "ru"
    by_title = {i["title"]: i for i in items["items"]}
    assert by_title[EN_TITLE]["language"] == lang and "language" not in by_title[RU_TITLE]
    issues = (output / "feed.xml").read_text(encoding="utf-8")  # the issue, one HTML document
    assert f'lang="{lang}"&gt;{EN_TITLE}' in issues


# --- the tests ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", FORMATS)
def test_a_feed_declaring_english_marks_its_items_in_a_russian_site(
        project: Project, run: Run, httpserver: HTTPServer, kind: str) -> None:
    make, mime = FORMATS[kind]
    en = serve(httpserver, "/en", make("en", EN_TITLE, EN_TEXT), mime)
    ru = serve(httpserver, "/ru", make("ru-RU", RU_TITLE, RU_TEXT, "2"), mime)
    root = project(config=site(("english", en, ""), ("russian", ru, "")))
    output = fetch_and_build(root, run)

    assert_marked_everywhere(output, "english")
    state = json.loads((root / ".digest" / "state.json").read_text(encoding="utf-8"))
    assert state["feeds"]["english"]["language"] == "en"
    assert state["feeds"]["russian"]["language"] == "ru-RU"  # the site's: nothing is marked
    # fetch writes no language into the content files: the build works it out
    for path in (root / "content" / "items").rglob("*.md"):
        assert "language:" not in path.read_text(encoding="utf-8")


def test_feeds_language_in_digest_toml_wins_over_the_feed(project: Project, run: Run,
                                                          httpserver: HTTPServer) -> None:
    # A feed that says Russian but writes English, and one that declares nothing.
    wrong = serve(httpserver, "/wrong", rss("ru", EN_TITLE, EN_TEXT))
    silent = serve(httpserver, "/silent", rss(None, RU_TITLE, RU_TEXT, guid="2"))
    root = project(config=site(("wrong", wrong, 'language = "en"\n'), ("silent", silent, "")))
    output = fetch_and_build(root, run)
    assert_marked_everywhere(output, "wrong")


def test_an_editors_language_wins_over_both_and_fetch_keeps_it(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    en = serve(httpserver, "/en", rss("en", EN_TITLE, EN_TEXT))
    ru = serve(httpserver, "/ru", rss("ru", RU_TITLE, RU_TEXT, guid="2"))
    root = project(config=site(("english", en, 'language = "en"\n'), ("russian", ru, "")))
    fetch_and_build(root, run)
    # The editor knows better: this "English" post is in German, and the Russian one English.
    de_file = next(p for p in (root / "content" / "items").rglob("*.md")
                   if EN_TITLE in p.read_text(encoding="utf-8"))
    en_file = next(p for p in (root / "content" / "items").rglob("*.md")
                   if RU_TITLE in p.read_text(encoding="utf-8"))
    for path, language in ((de_file, "de"), (en_file, "en")):
        path.write_text(path.read_text(encoding="utf-8").replace(
            "\ntitle:", f"\nlanguage: {language}\ntitle:", 1), encoding="utf-8")
    mine = {p: p.read_bytes() for p in (de_file, en_file)}

    # Upstream changes both texts; the files a person edited are kept as they are.
    httpserver.clear()
    serve(httpserver, "/en", rss("en", EN_TITLE, EN_TEXT + ", again"))
    serve(httpserver, "/ru", rss("ru", RU_TITLE, RU_TEXT + ", снова", guid="2"))
    output = fetch_and_build(root, run)
    assert {p: p.read_bytes() for p in mine} == mine
    assert yaml.safe_load(de_file.read_text(encoding="utf-8").split("---")[1])["language"] == "de"

    page = item_page(output, EN_TITLE)
    assert set(read_as(page, EN_TITLE)) == {"de"} and set(read_as(page, EN_TEXT)) == {"de"}
    page = item_page(output, RU_TITLE)
    assert set(read_as(page, RU_TITLE)) == {"en"} and set(read_as(page, RU_TEXT)) == {"en"}
    issue = output / WEEK / "index.html"
    assert set(read_as(issue, EN_TITLE)) == {"de"} and set(read_as(issue, RU_TITLE)) == {"en"}
    entries = atom_entries(output / "items.xml")
    assert entries[EN_TITLE].find(f"{ATOM}title").get(XML_LANG) == "de"  # type: ignore[union-attr]

    # The editor's `language: ru` (the site's) takes the mark away again.
    de_file.write_text(de_file.read_text(encoding="utf-8").replace(
        "language: de", "language: ru"), encoding="utf-8")
    assert run(root, "build").exit_code == 0
    assert set(read_as(item_page(output, EN_TITLE), EN_TEXT)) == {"ru"}
    assert 'lang="de"' not in (output / WEEK / "index.html").read_text(encoding="utf-8")


def test_nothing_is_marked_when_the_item_is_in_the_sites_language(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    en = serve(httpserver, "/en", atom("en-us", EN_TITLE, EN_TEXT))
    root = project(config=site(("english", en, ""), language="en"))
    output = fetch_and_build(root, run)
    for page in output.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert re.findall(r"\blang=\"([^\"]*)\"", text) in ([], ["en"]), page  # <html> only
    assert "xml:lang=\"en-US\"" not in (output / "items.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize("declared", ["English", 'en"><script>alert(1)</script>', "und",
                                      "x" * 80, ""])
def test_a_feeds_unknown_language_is_ignored(project: Project, run: Run,
                                             httpserver: HTTPServer, declared: str) -> None:
    en = serve(httpserver, "/en", rss(declared, EN_TITLE, EN_TEXT))
    root = project(config=site(("english", en, "")))
    output = fetch_and_build(root, run)
    state = json.loads((root / ".digest" / "state.json").read_text(encoding="utf-8"))
    assert "language" not in state["feeds"]["english"]
    page = item_page(output, EN_TITLE)
    assert set(read_as(page, EN_TEXT)) == {"ru"}
    assert "<script>alert" not in page.read_text(encoding="utf-8")


def test_a_hand_edited_state_cannot_put_a_bad_tag_into_pages(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    en = serve(httpserver, "/en", rss("en", EN_TITLE, EN_TEXT))
    root = project(config=site(("english", en, "")))
    output = fetch_and_build(root, run)
    path = root / ".digest" / "state.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    state["feeds"]["english"]["language"] = 'en" onmouseover="x'
    path.write_text(json.dumps(state), encoding="utf-8")
    assert run(root, "build").exit_code == 0
    page = item_page(output, EN_TITLE)
    assert "onmouseover" not in page.read_text(encoding="utf-8")
    assert set(read_as(page, EN_TEXT)) == {"ru"}


def test_a_feed_that_starts_declaring_its_language_marks_pages_built_before(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    """The language comes from the fetch state, not from the content files: a later fetch
    that learns it changes pages whose content did not change (incremental build)."""
    httpserver.expect_ordered_request("/en").respond_with_data(
        rss(None, EN_TITLE, EN_TEXT), content_type="application/rss+xml")
    httpserver.expect_ordered_request("/en").respond_with_data(
        rss("en", EN_TITLE, EN_TEXT), content_type="application/rss+xml")
    root = project(config=site(("english", httpserver.url_for("/en"), "")))
    output = fetch_and_build(root, run)
    page = item_page(output, EN_TITLE)
    assert set(read_as(page, EN_TEXT)) == {"ru"}
    files = {p: p.read_bytes() for p in (root / "content").rglob("*.md")}
    fetch_and_build(root, run)
    assert {p: p.read_bytes() for p in (root / "content").rglob("*.md")} == files
    assert set(read_as(page, EN_TEXT)) == {"en"}
    assert set(read_as(output / WEEK / "index.html", EN_TITLE)) == {"en"}


def test_changing_a_feeds_language_in_digest_toml_rebuilds_its_pages(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    en = serve(httpserver, "/en", rss(None, EN_TITLE, EN_TEXT))
    root = project(config=site(("english", en, "")))
    output = fetch_and_build(root, run)
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'topics = ["ai"]\n', 'topics = ["ai"]\nlanguage = "en-gb"\n'), encoding="utf-8")
    assert run(root, "build").exit_code == 0
    assert set(read_as(item_page(output, EN_TITLE), EN_TEXT)) == {"en-GB"}
    assert set(read_as(output / "topics" / "ai" / "index.html", EN_TITLE)) == {"en-GB"}


# --- bad input: one line naming where, exit 2, nothing changed ------------------------------

def test_an_unknown_language_in_digest_toml_is_one_error_naming_the_key(
        project: Project, run: Run) -> None:
    root = project(config=site(("blog", "feeds/blog.xml", 'language = "english"\n')),
                   files={"feeds/blog.xml": rss("en", EN_TITLE, EN_TEXT).decode()})
    result = run(root, "build")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    told = [line for line in lines if "feeds[0].language" in line]
    assert len(told) == 1 and "english" in told[0] and "digest.toml" in told[0], result.output
    assert "Traceback" not in result.output
    assert not (root / "output").exists()


def test_an_unknown_language_in_an_items_front_matter_names_the_file_and_key(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    en = serve(httpserver, "/en", rss("en", EN_TITLE, EN_TEXT))
    root = project(config=site(("english", en, "")))
    output = fetch_and_build(root, run)
    before = {p: p.read_bytes() for p in output.rglob("*") if p.is_file()}
    [path] = (root / "content" / "items").rglob("*.md")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "\ntitle:", "\nlanguage: Klingon\ntitle:", 1), encoding="utf-8")
    result = run(root, "build")
    assert result.exit_code != 0
    told = [line for line in result.output.splitlines() if "Klingon" in line]
    assert len(told) == 1 and path.name in told[0] and "language" in told[0], result.output
    assert {p: p.read_bytes() for p in output.rglob("*") if p.is_file()} == before
