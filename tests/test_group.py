"""Stage 6, group: Selection -> Site. A short specification, on a real project in a temp
folder run through the real load and select: what is published, at which route, in which
order, linked to what."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from digest.config import load_config
from digest.group import group
from digest.load import load
from digest.model import Site
from digest.select import select

CONFIG = """\
[site]
title = "Group test"
description = "d"
base_url = "https://user.github.io/sub"
language = "en"
timezone = "UTC"
page_size = 7

[[feeds]]
slug = "blog"
title = "A blog"
url = "feeds/blog.xml"

[[feeds]]
slug = "mirror"
title = "A mirror"
url = "feeds/mirror.xml"
language = "de"

[[topics]]
slug = "safety"
title = "Safety"
description = "Safe things"
keywords = ["safety"]

[[topics]]
slug = "rust"
title = "Rust"
description = ""
keywords = ["rust"]
"""


def post(id_: str, title: str, day: int, source: str = "blog", extra: str = "",
         link: str = "") -> str:
    return (f"---\nid: {id_}\ntitle: {title}\nlink: {link or 'https://example.org/' + id_}\n"
            f"source: {source}\npublished: '2026-03-{day:02d}T10:00:00+00:00'\n{extra}---\n\n"
            f"{title}, told in a few words.\n")


FILES = {
    "content/items/a.md": post("a1", "Rust in the kernel", 9),
    "content/items/b.md": post("b2", "Safety cases", 10),
    "content/items/c.md": post("c3", "Gardening", 11),
    "content/items/d.md": post("d4", "More rust", 12, extra="pinned: true\n"),
    "content/items/e.md": post("e5", "Rejected safety", 12, extra="status: rejected\n"),
    "content/items/f.md": post("f6", "Safety cases", 11, source="mirror",
                               link="https://example.org/b2"),  # the same story again
    "content/items/g.md": post("g7", "Next week's safety", 17),
    "content/issues/2026-W11.md": "---\ntitle: The eleventh\n---\nHello.\n",
    "content/issues/2026-W12.md": "---\nstatus: draft\n---\nNot yet.\n",
    "content/pages/about.md": "---\ntitle: About\n---\nUs.\n",
}


def site_of(project: Callable[..., Path], drafts: bool = False) -> Site:
    config = load_config(project(FILES, config=CONFIG) / "digest.toml")
    corpus = load(config)
    return group(select(corpus, config), corpus, config, lambda week: f"Week of {week}",
                 drafts=drafts)


def test_every_route_is_site_relative_and_every_url_comes_from_base_url(
        project: Callable[..., Path]) -> None:
    site = site_of(project)
    assert site.base_url == "https://user.github.io/sub/"  # a missing "/" is added
    assert site.urls.link("topics/") == "/sub/topics/"
    issue = site.issues[0]
    assert issue.url == "issues/2026-w11/"
    assert [t.url for t in site.topics] == ["topics/safety/", "topics/rust/"]
    assert [s.url for s in site.sources] == ["sources/blog/", "sources/mirror/"]
    assert {v.url for v in site.items} == {f"items/{v.item.slug}/" for v in site.items}
    assert [p.url for p in site.pages] == ["pages/about/"]


def test_rejected_items_duplicates_and_draft_issues_stay_out(
        project: Callable[..., Path]) -> None:
    site = site_of(project)
    assert [i.week for i in site.issues] == ["2026-W11"]  # W12 is a draft
    titles = [v.item.title for v in site.items]
    assert "Rejected safety" not in titles
    assert titles.count("Safety cases") == 1
    assert [i.week for i in site_of(project, drafts=True).issues] == ["2026-W12", "2026-W11"]


def test_an_issue_has_the_files_title_else_the_default_one(project: Callable[..., Path]) -> None:
    site = site_of(project, drafts=True)
    assert [i.title for i in site.issues] == ["Week of 2026-W12", "The eleventh"]
    assert site.issues[1].intro_html == "<p>Hello.</p>"
    assert site.issues[0].prev is not None and site.issues[0].prev.url == "issues/2026-w11/"
    assert site.issues[1].next is not None and site.issues[1].next.title == "Week of 2026-W12"


def test_sections_follow_the_topics_order_pinned_first_and_other_last(
        project: Callable[..., Path]) -> None:
    issue = site_of(project).issues[0]
    sections = [(s.topic.slug if s.topic else None, [v.item.title for v in s.items])
                for s in issue.sections]
    assert sections == [("rust", ["More rust", "Rust in the kernel"]),  # a pinned item leads
                        ("safety", ["Safety cases"]),
                        (None, ["Gardening"])]
    assert [v.item.title for v in issue.items] == [t for _, ts in sections for t in ts]


def test_items_link_to_their_neighbours_in_the_issue(project: Callable[..., Path]) -> None:
    items = site_of(project).issues[0].items
    assert items[0].prev is None and items[-1].next is None
    for before, after in itertools.pairwise(items):
        assert before.next is not None and before.next.url == after.url
        assert after.prev is not None and after.prev.url == before.url


def test_topics_and_sources_list_their_items_newest_first(project: Callable[..., Path]) -> None:
    site = site_of(project)
    rust, safety = site.topics[1], site.topics[0]
    assert [v.item.title for v in rust.items] == ["More rust", "Rust in the kernel"]
    assert [v.item.title for v in safety.items] == ["Safety cases"]
    mirror = site.sources[1]
    assert [v.item.title for v in mirror.items] == ["Safety cases"]  # its copy was folded
    kept = safety.items[0]
    assert [s.slug for s in kept.sources] == [kept.source.slug, "mirror"]
    assert [v.item.published for v in site.items] == sorted(
        (v.item.published for v in site.items), reverse=True)


def test_the_settings_rendering_needs_travel_in_the_site(project: Callable[..., Path]) -> None:
    site = site_of(project)
    assert site.settings.page_size == 7
    assert site.settings.full_feeds == ("issues",)
    assert site.settings.search is True
    assert site.updated == max(v.item.published for v in site.items)
