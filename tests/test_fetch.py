"""`digest fetch`: saved and served feeds become content files, once, safely, and one bad feed
never stops the others."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from digest.config import load_config
from digest.load import load
from digest.select import select
from digest.text.slug import item_slug
from tests.conftest import FIXTURES

Run = Callable[..., Result]
Project = Callable[..., Path]

FEEDS = FIXTURES / "feeds"
SITE = """\
[site]
title = "Fetch test"
base_url = "https://user.github.io/my-digest/"
language = "en"
timezone = "Europe/Moscow"

[[topics]]
slug = "releases"
title = "Releases"

[[topics]]
slug = "ai"
title = "AI"
"""
MACHINE_KEYS = {"content_format", "id", "title", "link", "source", "author", "published",
                "fetched", "tags"}
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
ITEM_PATH = re.compile(r"^content/items/(\d{4})/(\d{2})/[a-z0-9]+(?:-[a-z0-9]+)*\.md$")


def feed(slug: str, url: str, topics: tuple[str, ...] = (), homepage: str = "") -> str:
    lines = ["", "[[feeds]]", f'slug = "{slug}"', f'title = "{slug.title()}"', f'url = "{url}"',
             "topics = [" + ", ".join(f'"{t}"' for t in topics) + "]"]
    if homepage:
        lines.append(f'homepage = "{homepage}"')
    return "\n".join(lines) + "\n"


def config(*feeds: str) -> str:
    return SITE + "".join(feeds)


def fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def items(root: Path) -> list[Path]:
    return sorted((root / "content" / "items").rglob("*.md"))


def front_matter(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), path
    head, _, _ = text[4:].partition("\n---\n")
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data


def body(path: Path) -> str:
    return path.read_text(encoding="utf-8")[4:].partition("\n---\n")[2]


def by_title(root: Path, start: str) -> Path:
    found = [p for p in items(root) if str(front_matter(p)["title"]).startswith(start)]
    assert len(found) == 1, [p.name for p in items(root)]
    return found[0]


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in items(root)}


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def qemu_project(project: Project) -> Path:
    return project(config=config(feed("qemu", "feeds/qemu.atom", ("releases",),
                                      "https://www.qemu.org/")),
                   files={"feeds/qemu.atom": fixture("qemu.atom")})


def atom(entries: list[dict[str, str]]) -> bytes:
    """A small Atom feed; each entry gives id, title, link, updated."""
    body = "".join(
        f"<entry><id>{escape(e['id'])}</id><title type=\"text\">{escape(e['title'])}</title>"
        f"<link rel=\"alternate\" href=\"{escape(e['link'])}\"/>"
        f"<updated>{e.get('updated', '2026-03-10T10:00:00Z')}</updated>"
        f"<content type=\"html\">{escape(e.get('html', '<p>Text.</p>'))}</content></entry>"
        for e in entries)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Made up</title><id>urn:test:feed</id><link href=\"https://made.example/\"/>"
            f"<updated>2026-03-10T10:00:00Z</updated>{body}</feed>").encode()


# --- what a fetch writes ---------------------------------------------------------------------


def test_each_entry_becomes_one_file_in_its_month_folder(project: Project, run: Run) -> None:
    root = qemu_project(project)
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert error_lines(result) == []
    files = items(root)
    assert len(files) == 10
    moscow = ZoneInfo("Europe/Moscow")
    for path in files:
        found = ITEM_PATH.match(path.relative_to(root).as_posix())
        assert found, path
        published = datetime.fromisoformat(str(front_matter(path)["published"]))
        local = published.astimezone(moscow)
        assert (found.group(1), found.group(2)) == (f"{local:%Y}", f"{local:%m}"), path


def test_front_matter_has_the_documented_keys(project: Project, run: Run) -> None:
    root = qemu_project(project)
    assert run(root, "fetch").exit_code == 0
    for path in items(root):
        meta = front_matter(path)
        assert meta.keys() >= MACHINE_KEYS, (path, meta.keys())
        assert "topics" not in meta  # computed at build time; `topics:` is only the editor's
        assert meta["content_format"] == 2
        assert meta["source"] == "qemu"
    meta = front_matter(by_title(root, "QEMU version 10.1.0 released"))
    assert meta["tags"] == ["releases", "qemu 10.1"]
    assert meta["published"] == "2025-08-26T23:25:00+00:00"
    assert by_title(root, "QEMU version 10.1.0").parent.as_posix().endswith("items/2025/08")


def test_author_is_stored(project: Project, run: Run) -> None:
    root = project(config=config(feed("lw", "feeds/lw.xml")),
                   files={"feeds/lw.xml": fixture("lesswrong-3.xml")})
    assert run(root, "fetch").exit_code == 0
    meta = front_matter(by_title(root, "[Paper] When can we trust untrusted monitoring?"))
    assert meta["author"] == ("Nelson Gardner-Challis, Jonathan Bostock, Georgiy Kozhevnikov, "
                              "Morgan Sinclaire")


def test_dates_are_iso_8601_with_offset(project: Project, run: Run) -> None:
    root = project(config=config(feed("ins", "feeds/ins.xml")),
                   files={"feeds/ins.xml": fixture("rss_2.0_relurl_1.xml")})
    assert run(root, "fetch").exit_code == 0
    meta = front_matter(by_title(root, "Pareto-optimal compression"))
    for key in ("published", "fetched"):
        assert ISO_WITH_OFFSET.match(str(meta[key])), meta[key]
    # pubDate "Tue, 02 Mar 2021 23:39:15 +0100": the same instant, with its offset kept explicit
    assert datetime.fromisoformat(str(meta["published"])) == \
        datetime(2021, 3, 2, 22, 39, 15, tzinfo=UTC)


def test_entries_get_their_feeds_topics_at_build_time(project: Project, run: Run) -> None:
    root = project(config=config(feed("qemu", "feeds/qemu.atom", ("releases",)),
                                 feed("lw", "feeds/lw.xml", ("ai", "releases")),
                                 feed("ins", "feeds/ins.xml")),
                   files={"feeds/qemu.atom": fixture("qemu.atom"),
                          "feeds/lw.xml": fixture("lesswrong-3.xml"),
                          "feeds/ins.xml": fixture("rss_2.0_relurl_1.xml")})
    assert run(root, "fetch").exit_code == 0
    assert not [p for p in items(root) if "topics" in front_matter(p)]  # computed, not stored
    cfg = load_config(root / "digest.toml")
    topics = {d.item.source: d.topics for d in select(load(cfg), cfg).decisions}
    # in the order of [[topics]]
    assert topics == {"qemu": ("releases",), "lw": ("releases", "ai"), "ins": ()}


def test_fetched_items_pass_check_and_build(project: Project, run: Run) -> None:
    root = project(config=config(feed("qemu", "feeds/qemu.atom", ("releases",),
                                      "https://www.qemu.org/"),
                                 feed("lw", "feeds/lw.xml", ("ai",))),
                   files={"feeds/qemu.atom": fixture("qemu.atom"),
                          "feeds/lw.xml": fixture("lesswrong-3.xml")})
    assert run(root, "fetch").exit_code == 0
    check = run(root, "check")
    assert check.exit_code == 0, check.output
    assert "13 items" in check.output
    assert run(root, "build").exit_code == 0
    assert len(list((root / "output" / "items").glob("*/index.html"))) == 13


# --- fetching again --------------------------------------------------------------------------


def test_fetching_twice_changes_no_file(project: Project, run: Run) -> None:
    root = qemu_project(project)
    assert run(root, "fetch").exit_code == 0
    before = snapshot(root)
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert snapshot(root) == before


def test_editor_changes_survive_a_refetch(project: Project, run: Run) -> None:
    root = qemu_project(project)
    assert run(root, "fetch").exit_code == 0
    path = by_title(root, "QEMU version 10.1.0 released")
    text = path.read_text(encoding="utf-8")
    edited = text.replace("\n---\n", "\nstatus: rejected\nnote: Old news, see 10.2.\n---\n", 1)
    edited = edited.replace("title: QEMU version 10.1.0 released", "title: QEMU 10.1 is out")
    path.write_text(edited, encoding="utf-8")
    names = [p.name for p in items(root)]
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == edited
    assert [p.name for p in items(root)] == names
    assert run(root, "check").exit_code == 0


def test_a_post_moved_into_a_dot_folder_leaves_the_site_and_is_not_fetched_again(
        project: Project, run: Run) -> None:
    """Obsidian moves a deleted note into .trash/: the post is no content any more (the site
    drops it), but it is still the editor's, and a fetch that meets its entry again writes
    no new copy of it (digest/content/files.py)."""
    root = qemu_project(project)
    assert run(root, "fetch").exit_code == 0
    path = by_title(root, "QEMU version 10.1.0 released")
    trash = root / "content" / "items" / ".trash"
    trash.mkdir()
    path.rename(trash / path.name)
    assert run(root, "fetch").exit_code == 0
    assert not any("10-1-0" in p.name for p in items(root) if ".trash" not in p.parts)
    result = run(root, "build")
    assert result.exit_code == 0, result.output
    assert not any("QEMU version 10.1.0 released" in page.read_text(encoding="utf-8")
                   for page in (root / "output").rglob("*.html"))
    assert (trash / path.name).is_file()


def test_a_file_with_a_typo_is_neither_fetched_again_nor_touched(project: Project,
                                                                   run: Run) -> None:
    root = qemu_project(project)
    assert run(root, "fetch").exit_code == 0
    path = by_title(root, "QEMU version 10.1.0 released")
    broken = path.read_text(encoding="utf-8").replace(
        "\n---\n", "\nnote: Read this: it matters\n---\n", 1)
    path.write_text(broken, encoding="utf-8")
    assert run(root, "fetch").exit_code == 0
    assert len(items(root)) == 10, [p.name for p in items(root)]
    assert path.read_text(encoding="utf-8") == broken


def test_an_impossible_date_in_a_content_file_does_not_stop_fetch(project: Project,
                                                                   run: Run) -> None:
    mine = ("---\nid: mine\ntitle: Mine\nsource: qemu\npublished: 2026-02-30\n---\nText.\n")
    root = project(config=config(feed("qemu", "feeds/qemu.atom")),
                   files={"feeds/qemu.atom": fixture("qemu.atom"),
                          "content/items/2026/02/mine-aaaaaa.md": mine})
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert len(items(root)) == 11


def test_entries_without_guid_or_link_are_all_stored(project: Project, run: Run) -> None:
    rss = ("<?xml version='1.0'?><rss version='2.0'><channel><title>Notes</title>"
           "<link>https://notes.example/</link><description>d</description>"
           + "".join(f"<item><title>Note {n}</title><description>Text {n}</description>"
                     f"<pubDate>Tue, 10 Mar 2026 1{n}:00:00 GMT</pubDate></item>"
                     for n in range(3))
           + "</channel></rss>")
    root = project(config=config(feed("notes", "feeds/notes.xml")),
                   files={"feeds/notes.xml": rss})
    result = run(root, "fetch")
    assert result.exit_code == 0
    assert sorted(str(front_matter(p)["title"]) for p in items(root)) == \
        ["Note 0", "Note 1", "Note 2"]


# --- what the bodies keep and lose -----------------------------------------------------------


def test_mathjax_stylesheet_is_dropped_from_the_body(project: Project, run: Run) -> None:
    root = project(config=config(feed("lw", "feeds/lw.xml")),
                   files={"feeds/lw.xml": fixture("lesswrong-3.xml")})
    assert run(root, "fetch").exit_code == 0
    text = body(by_title(root, "Selectively reducing eval awareness"))
    for leaked in ("mjx-", "@font-face", "MathJax", "cdn.jsdelivr.net", "<style"):
        assert leaked not in text, leaked
    # the sentence around the formula is still there
    assert "[I silenced the witness]" in text


def test_no_style_or_script_survives_in_stored_bodies(project: Project, run: Run) -> None:
    root = project(config=config(feed("lw", "feeds/lw.xml"), feed("qemu", "feeds/qemu.atom"),
                                 feed("pap", "feeds/pap.atom")),
                   files={"feeds/lw.xml": fixture("lesswrong-3.xml"),
                          "feeds/qemu.atom": fixture("qemu.atom"),
                          "feeds/pap.atom": fixture("pappacoda.atom")})
    assert run(root, "fetch").exit_code == 0
    assert len(items(root)) == 16
    for path in items(root):
        text = body(path).lower()
        assert "<style" not in text and "<script" not in text, path


def test_footnote_links_stay_in_page(project: Project, run: Run) -> None:
    root = project(config=config(feed("lw", "feeds/lw.xml")),
                   files={"feeds/lw.xml": fixture("lesswrong-3.xml")})
    assert run(root, "fetch").exit_code == 0
    text = body(by_title(root, "Selectively reducing eval awareness"))
    assert 'href="#fn63zcdbyrmv8"' in text and 'id="fn63zcdbyrmv8"' in text
    assert 'href="#fnref63zcdbyrmv8"' in text


def test_relative_links_resolve_against_xml_base(project: Project, run: Run) -> None:
    root = project(config=config(feed("pap", "feeds/pap.atom")),
                   files={"feeds/pap.atom": fixture("pappacoda.atom")})
    assert run(root, "fetch").exit_code == 0
    path = by_title(root, "C su Windows")
    assert front_matter(path)["link"] == "https://andrea.pappacoda.it/blog/c_su_windows/"
    text = body(path)
    assert 'src="https://andrea.pappacoda.it/blog/c_su_windows/clangd_path.png"' in text
    assert 'src="clangd_path.png"' not in text


def test_root_relative_links_of_a_saved_feed_resolve_against_its_homepage(
    project: Project, run: Run
) -> None:
    root = qemu_project(project)
    assert run(root, "fetch").exit_code == 0
    links = sorted(str(front_matter(p)["link"]) for p in items(root))
    assert "https://www.qemu.org/2025/08/26/qemu-10-1-0/" in links
    assert all(link.startswith("https://www.qemu.org/") for link in links), links


def test_an_entry_whose_only_link_is_a_pdf_keeps_it(project: Project, run: Run) -> None:
    root = project(config=config(feed("pap", "feeds/pap.atom")),
                   files={"feeds/pap.atom": fixture("pappacoda.atom")})
    assert run(root, "fetch").exit_code == 0
    meta = front_matter(by_title(root, "Una nuova primitiva di creazione dei processi"))
    assert meta["link"] == "https://andrea.pappacoda.it/blog/tesi.pdf"


# --- over HTTP -------------------------------------------------------------------------------


def serve(httpserver: HTTPServer, path: str, name: str, content_type: str) -> str:
    httpserver.expect_request(path).respond_with_data(fixture(name), content_type=content_type)
    return httpserver.url_for(path)


def test_fetch_over_http_makes_links_absolute_against_the_feed_url(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    url = serve(httpserver, "/feeds/qemu.atom", "qemu.atom", "application/atom+xml")
    root = project(config=config(feed("qemu", url, ("releases",))))
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert len(items(root)) == 10
    meta = front_matter(by_title(root, "QEMU version 10.1.0 released"))
    assert meta["link"] == httpserver.url_for("/2025/08/26/qemu-10-1-0/")


def test_footnote_links_stay_in_page_over_http(project: Project, run: Run,
                                               httpserver: HTTPServer) -> None:
    url = serve(httpserver, "/lw.xml", "lesswrong-3.xml", "application/rss+xml")
    root = project(config=config(feed("lw", url)))
    assert run(root, "fetch").exit_code == 0
    text = body(by_title(root, "Selectively reducing eval awareness"))
    assert 'href="#fn63zcdbyrmv8"' in text


FAILURES = {
    "404": dict(response_data="Not here", status=404),
    "500": dict(response_data="Oops", status=500),
    "html page": dict(response_data="<!doctype html><html><head><title>Blog</title></head>"
                                    "<body><h1>Welcome</h1><p>No feed here.</p></body></html>",
                      status=200, content_type="text/html"),
}


@pytest.mark.parametrize("response", list(FAILURES.values()), ids=list(FAILURES))
def test_a_failing_feed_is_one_line_and_the_others_are_stored(
    project: Project, run: Run, httpserver: HTTPServer, response: dict[str, object]
) -> None:
    good = serve(httpserver, "/lw.xml", "lesswrong-3.xml", "application/rss+xml")
    httpserver.expect_request("/broken.xml").respond_with_data(**response)  # type: ignore[arg-type]
    bad = httpserver.url_for("/broken.xml")
    root = project(config=config(feed("broken", bad), feed("lw", good),
                                 feed("qemu", "feeds/qemu.atom")),
                   files={"feeds/qemu.atom": fixture("qemu.atom")})
    result = run(root, "fetch")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 1, result.output
    assert "feeds.broken" in lines[0] and bad in lines[0]
    assert sorted({str(front_matter(p)["source"]) for p in items(root)}) == ["lw", "qemu"]
    assert len(items(root)) == 13


def test_an_unreachable_server_is_one_line_and_the_others_are_stored(
    project: Project, run: Run
) -> None:
    root = project(config=config(feed("down", "http://127.0.0.1:1/feed.xml"),
                                 feed("qemu", "feeds/qemu.atom")),
                   files={"feeds/qemu.atom": fixture("qemu.atom")})
    result = run(root, "fetch")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 1, result.output
    assert "feeds.down" in lines[0] and "http://127.0.0.1:1/feed.xml" in lines[0]
    assert len(items(root)) == 10


def test_a_huge_response_is_refused(project: Project, run: Run, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/huge.xml").respond_with_data(
        b"<rss>" + b" " * (21 * 1024 * 1024), content_type="application/rss+xml")
    root = project(config=config(feed("huge", httpserver.url_for("/huge.xml"))))
    result = run(root, "fetch")
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 1 and "feeds.huge" in lines[0] and "MiB" in lines[0], result.output
    assert items(root) == []


NOT_FEEDS = {
    "empty body": b"",
    "a sitemap": (b'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns='
                  b'"http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://blog.example/'
                  b"</loc></url></urlset>"),
}


@pytest.mark.parametrize("data", list(NOT_FEEDS.values()), ids=list(NOT_FEEDS))
def test_xml_that_is_not_a_feed_is_an_error(project: Project, run: Run, httpserver: HTTPServer,
                                            data: bytes) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(data,
                                                             content_type="application/xml")
    root = project(config=config(feed("odd", httpserver.url_for("/feed.xml"))))
    result = run(root, "fetch")
    assert result.exit_code == 1, result.output
    lines = error_lines(result)
    assert len(lines) == 1 and "feeds.odd" in lines[0], result.output


def test_a_missing_feed_file_is_one_line_naming_it(project: Project, run: Run) -> None:
    root = project(config=config(feed("gone", "feeds/gone.xml"), feed("qemu", "feeds/qemu.atom")),
                   files={"feeds/qemu.atom": fixture("qemu.atom")})
    result = run(root, "fetch")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 1, result.output
    assert "feeds.gone" in lines[0] and "feeds/gone.xml" in lines[0]
    assert len(items(root)) == 10


# --- choosing feeds --------------------------------------------------------------------------


def test_feed_option_fetches_only_that_feed(project: Project, run: Run) -> None:
    root = project(config=config(feed("qemu", "feeds/qemu.atom"), feed("lw", "feeds/lw.xml"),
                                 feed("gone", "feeds/gone.xml")),
                   files={"feeds/qemu.atom": fixture("qemu.atom"),
                          "feeds/lw.xml": fixture("lesswrong-3.xml")})
    result = run(root, "fetch", "--feed", "lw")
    assert result.exit_code == 0, result.output
    assert {str(front_matter(p)["source"]) for p in items(root)} == {"lw"}
    assert "qemu" not in result.output and "gone" not in result.output


def test_unknown_feed_option_is_a_usage_error(project: Project, run: Run) -> None:
    root = qemu_project(project)
    result = run(root, "fetch", "--feed", "qemo")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 1
    assert "--feed" in lines[0] and "'qemo'" in lines[0] and "did you mean 'qemu'?" in lines[0]
    assert items(root) == []


# --- file names ------------------------------------------------------------------------------

HOSTILE_TITLES = [
    "../../etc/passwd",
    "..\\..\\windows\\system32\\config",
    "/etc/passwd",
    "~/.ssh/authorized_keys",
    "..",
    ".hidden",
    "CON",
    "name.md",
    "a\x00b",
    "",
    "🙂🙂🙂",
    "Заголовок новости: Python 3.14!",
    "word " * 400,
    "x" * 5000,
]


def test_hostile_titles_never_escape_content_items(project: Project, run: Run) -> None:
    entries = [{"id": f"urn:hostile:{n}", "title": title.replace("\x00", ""),
                "link": f"https://made.example/{n}"} for n, title in enumerate(HOSTILE_TITLES)]
    root = project(config=config(feed("made", "feeds/made.atom")),
                   files={"feeds/made.atom": atom(entries)})
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    written = items(root)
    assert len(written) == len(HOSTILE_TITLES)
    top = (root / "content" / "items").resolve()
    for path in written:
        assert path.resolve().is_relative_to(top)
        assert ITEM_PATH.match(path.relative_to(root).as_posix()), path
        assert len(path.name) <= 80, path.name
    # nothing but the items (and fetch's own state folder) appeared outside feeds/
    made = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    made -= {"digest.toml", "feeds/made.atom"}
    assert all(name.startswith(("content/items/", ".digest/")) for name in made), made
    assert len([name for name in made if name.startswith("content/")]) == len(HOSTILE_TITLES)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_item_slugs_are_safe_file_names_for_any_title(title: str) -> None:
    slug = item_slug(title, "0123456789abcdef")
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug), slug
    assert slug.endswith("-012345")
    assert len(slug) <= 70
