"""`digest add URL`: a source added from its feed's address or from a site's page, through
the real CLI against a real HTTP server on 127.0.0.1; digest.toml keeps its comments, and a
refused add leaves it byte for byte as it was."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from tests.conftest import FIXTURES, MINIMAL_CONFIG

Project = Callable[..., Path]
Run = Callable[..., Result]

ATOM = (FIXTURES / "feeds" / "qemu.atom").read_bytes()
RSS = (FIXTURES / "feeds" / "lesswrong-3.xml").read_bytes()
CONFIG = "# my digest: keep this comment\n" + MINIMAL_CONFIG


def page(*links: str) -> str:
    head = "".join(links)
    return (f"<!doctype html><html><head><title>A blog</title>{head}</head>"
            "<body><p>Hello</p></body></html>")


def feeds_of(root: Path) -> list[dict[str, object]]:
    return list(tomllib.loads((root / "digest.toml").read_text("utf-8"))["feeds"])


def test_a_feed_url_is_added_with_its_title(project: Project, run: Run,
                                             httpserver: HTTPServer) -> None:
    httpserver.expect_request("/qemu.atom").respond_with_data(
        ATOM, content_type="application/atom+xml")
    root = project(config=CONFIG)
    result = run(root, "add", httpserver.url_for("/qemu.atom"), "--topic", "ai")
    assert result.exit_code == 0, result.output
    added = feeds_of(root)[-1]
    assert added["url"] == httpserver.url_for("/qemu.atom")
    assert added["slug"] == "qemu"
    assert added["topics"] == ["ai"]
    text = (root / "digest.toml").read_text("utf-8")
    assert text.startswith(CONFIG.rstrip("\n")), "the existing text must stay as it was"
    assert "Added feed 'qemu' (QEMU)" in result.output


def test_a_page_adds_the_first_feed_it_advertises_and_lists_the_others(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/blog/").respond_with_data(page(
        '<link rel="stylesheet" href="/s.css">',
        '<link rel="alternate" type="application/rss+xml" title="Posts" href="posts.xml">',
        '<link rel="alternate" type="application/atom+xml" href="/comments.atom">',
    ), content_type="text/html; charset=utf-8")
    httpserver.expect_request("/blog/posts.xml").respond_with_data(
        RSS, content_type="application/rss+xml")
    httpserver.expect_request("/comments.atom").respond_with_data(
        ATOM, content_type="application/atom+xml")
    root = project(config=CONFIG)
    result = run(root, "add", httpserver.url_for("/blog/"), "--slug", "lw")
    assert result.exit_code == 0, result.output
    added = feeds_of(root)[-1]
    assert (added["slug"], added["url"]) == ("lw", httpserver.url_for("/blog/posts.xml"))
    assert "also offers: " + httpserver.url_for("/comments.atom") in result.output


def test_a_page_without_links_is_searched_at_the_common_feed_paths(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/site/").respond_with_data(page(), content_type="text/html")
    httpserver.expect_request("/site/atom.xml").respond_with_data(
        ATOM, content_type="application/atom+xml")
    root = project(config=CONFIG)
    result = run(root, "add", httpserver.url_for("/site/"))
    assert result.exit_code == 0, result.output
    assert feeds_of(root)[-1]["url"] == httpserver.url_for("/site/atom.xml")


def test_an_advertised_link_that_is_no_feed_is_passed_over(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(page(
        '<link rel="alternate" type="application/rss+xml" href="/broken.xml">',
        '<link rel="alternate" type="application/rss+xml" href="/good.xml">',
    ), content_type="text/html")
    httpserver.expect_request("/broken.xml").respond_with_data("<html>not found</html>",
                                                               content_type="text/html")
    httpserver.expect_request("/good.xml").respond_with_data(RSS,
                                                             content_type="application/rss+xml")
    root = project(config=CONFIG)
    result = run(root, "add", httpserver.url_for("/"))
    assert result.exit_code == 0, result.output
    assert feeds_of(root)[-1]["url"] == httpserver.url_for("/good.xml")


@pytest.mark.parametrize("args, says", [
    (["feeds/blog.xml"], "already in digest.toml as feed 'blog'"),
    (["{url}", "--slug", "blog"], "a feed with slug 'blog' is already"),
    (["{url}", "--topic", "a1"], "no topic 'a1'"),
    (["{url}", "--slug", "Not A Slug"], "is not a slug"),
])
def test_a_refused_add_changes_nothing(project: Project, run: Run, httpserver: HTTPServer,
                                       args: list[str], says: str) -> None:
    httpserver.expect_request("/qemu.atom").respond_with_data(
        ATOM, content_type="application/atom+xml")
    root = project(config=CONFIG, files={"feeds/blog.xml": RSS})
    before = (root / "digest.toml").read_bytes()
    url = httpserver.url_for("/qemu.atom")
    result = run(root, "add", *[a.format(url=url) for a in args])
    assert result.exit_code == 2
    assert says in result.output
    assert "Traceback" not in result.output
    assert (root / "digest.toml").read_bytes() == before


def test_a_page_with_no_feed_is_an_error_and_changes_nothing(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(page(), content_type="text/html")
    root = project(config=CONFIG)
    before = (root / "digest.toml").read_bytes()
    result = run(root, "add", httpserver.url_for("/"))
    assert result.exit_code == 1
    assert "no feed found on this page" in result.output
    assert (root / "digest.toml").read_bytes() == before


def test_the_same_feed_found_behind_a_page_is_refused(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(page(
        '<link rel="alternate" type="application/atom+xml" href="/qemu.atom">'),
        content_type="text/html")
    httpserver.expect_request("/qemu.atom").respond_with_data(
        ATOM, content_type="application/atom+xml")
    root = project(config=CONFIG)
    assert run(root, "add", httpserver.url_for("/")).exit_code == 0
    before = (root / "digest.toml").read_bytes()
    again = run(root, "add", httpserver.url_for("/"))
    assert again.exit_code == 2
    assert "already in digest.toml" in again.output
    assert (root / "digest.toml").read_bytes() == before


def test_a_local_file_is_added_relative_to_digest_toml(project: Project, run: Run) -> None:
    root = project(config=CONFIG, files={"feeds/qemu.atom": ATOM})
    result = run(root, "add", str(root / "feeds" / "qemu.atom"))
    assert result.exit_code == 0, result.output
    assert feeds_of(root)[-1]["url"] == "feeds/qemu.atom"
    fetched = run(root, "fetch", "--feed", "qemu")
    assert fetched.exit_code == 0, fetched.output
    assert len(list((root / "content" / "items").rglob("*.md"))) == 10


@pytest.mark.parametrize("url, code, says", [
    ("http://127.0.0.1:9/feed.xml", 1, "URL: http://127.0.0.1:9/feed.xml: cannot connect"),
    ("ftp://example.org/feed.xml", 2, "URL: 'ftp://example.org/feed.xml' is not an http(s) URL"),
    ("feeds/none.xml", 1, "URL: feed file not found"),
])
def test_an_address_that_gives_no_feed_is_one_line_naming_it(
        project: Project, run: Run, url: str, code: int, says: str) -> None:
    root = project(config=CONFIG)
    before = (root / "digest.toml").read_bytes()
    result = run(root, "add", url)
    assert result.exit_code == code, result.output
    [line] = [x for x in result.output.splitlines() if x.strip()]
    assert says in line and "feeds.new" not in line and "Traceback" not in result.output
    assert (root / "digest.toml").read_bytes() == before
