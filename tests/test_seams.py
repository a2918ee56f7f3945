"""The seams where digest is extended: selection rules (rules.RULES), kinds of page
(render.PAGES) and feed formats (feeds.FORMATS). Each is an ordered registry; adding to one is
one function and one line, and a real build then shows it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from digest.feeds import FORMATS, Channel, FeedFormat
from digest.model import Site
from digest.render import PAGES, Page, Shared
from digest.rules import RULES, Seen

ITEM = """\
    ---
    id: {id}
    title: {title}
    link: https://example.org/{id}
    source: blog
    published: '2026-03-{day}T10:00:00+00:00'
    ---

    A post about alignment, with enough words to be an item.
    """

POSTS = {
    "content/items/2026/03/plain-aaaaaa.md": ITEM.format(id="a1", title="Alignment notes",
                                                        day="10"),
    "content/items/2026/03/asked-bbbbbb.md": ITEM.format(id="b2", title="Is alignment hard?",
                                                        day="11"),
    "feeds/blog.xml": "",
}


def test_the_registries_hold_digests_own_parts_in_order() -> None:
    assert RULES.names() == ["exclude", "include", "min_words", "require_topics"]
    assert PAGES.names() == ["home", "issues", "archive", "topics", "topic", "sources",
                             "source", "item", "page", "search", "404", "email"]
    assert FORMATS.names() == ["atom", "rss", "json"]


# --- a new rule ---------------------------------------------------------------------------

def no_questions(seen: Seen) -> str | None:
    return "a question, not an answer" if seen.item.title.endswith("?") else None


@pytest.fixture
def rule() -> Iterator[None]:
    RULES.register(no_questions, "no_questions", 5)
    yield
    RULES.deregister("no_questions")


@pytest.mark.usefixtures("rule")
def test_a_registered_rule_leaves_items_out_with_its_reason(
        project: Callable[..., Path], run: Callable[..., Result]) -> None:
    root = project(POSTS)
    assert RULES.names()[-1] == "no_questions"
    result = run(root, "select", "--issue", "2026-W11", "--format", "json")
    assert result.exit_code == 0, result.output
    reasons = {d["title"]: d["reason"] for d in json.loads(result.output)["candidates"]}
    assert reasons["Is alignment hard?"].startswith("a question, not an answer")
    assert reasons["Alignment notes"].startswith("selected")
    assert run(root, "build").exit_code == 0
    issue = (root / "output" / "issues" / "2026-w11" / "index.html").read_text("utf-8")
    assert "Alignment notes" in issue and "Is alignment hard?" not in issue


# --- a new kind of page -------------------------------------------------------------------

def numbers(site: Site, shared: Shared) -> Iterator[Page]:
    yield Page("numbers/", "numbers.html", {"count": len(site.items)}, (shared.home,),
               site.updated)


@pytest.fixture
def page_kind() -> Iterator[None]:
    PAGES.register(numbers, "numbers", 35)  # after the free pages, before search
    yield
    PAGES.deregister("numbers")


@pytest.mark.usefixtures("page_kind")
def test_a_registered_page_kind_is_rendered_listed_and_linked(
        project: Callable[..., Path], run: Callable[..., Result]) -> None:
    root = project({**POSTS, "theme/templates/numbers.html": (
        '{% extends "base.html" %}{% block title %}Numbers{% endblock %}'
        "{% block main %}<p>{{ count }} items</p>{% endblock %}")})
    config = root / "digest.toml"
    config.write_text(config.read_text("utf-8").replace("[site]\n", '[site]\ntheme = "theme"\n'),
                      encoding="utf-8")
    result = run(root, "build")
    assert result.exit_code == 0, result.output
    page = (root / "output" / "numbers" / "index.html").read_text("utf-8")
    assert "<p>2 items</p>" in page
    assert 'href="/my-digest/static/style.css"' in page  # the default theme's frame, sub-path
    sitemap = (root / "output" / "sitemap.xml").read_text("utf-8")
    assert "<loc>https://user.github.io/my-digest/numbers/</loc>" in sitemap


# --- a new feed format --------------------------------------------------------------------

def titles(site: Site, chan: Channel, url: str) -> bytes:
    return "".join(f"{e.title}\n" for e in chan.entries).encode()


@pytest.fixture
def feed_format() -> Iterator[None]:
    FORMATS.register(FeedFormat("Titles", "text/plain", "{}.txt".format, titles), "txt", 5)
    yield
    FORMATS.deregister("txt")


@pytest.mark.usefixtures("feed_format")
def test_a_registered_feed_format_is_written_for_every_feed_and_advertised(
        project: Callable[..., Path], run: Callable[..., Result]) -> None:
    root = project(POSTS)
    assert run(root, "build").exit_code == 0
    out = root / "output"
    assert (out / "items.txt").read_text("utf-8").splitlines() == [
        "Is alignment hard?", "Alignment notes"]
    assert (out / "topics" / "ai" / "feed.txt").is_file()
    assert (out / "sources" / "blog" / "feed.txt").is_file()
    assert (out / "feed.txt").read_text("utf-8").startswith("Неделя 11, 2026")
    home = (out / "index.html").read_text("utf-8")
    assert 'type="text/plain" title="Test digest: выпуски (Titles)"' in home
    assert 'href="/my-digest/feed.txt" type="text/plain">Titles</a>' in home  # the footer
    assert (out / "feed.xml").is_file() and (out / "rss.xml").is_file()  # the others stay
