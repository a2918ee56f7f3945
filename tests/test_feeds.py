"""Stage 7, feeds: the site's own feeds. A short specification, on a real project in a temp
folder (load, select and group real): which feeds a site has, where each file goes, and
what its entries carry, in each registered format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import feedparser

from digest.config import load_config
from digest.feeds import FORMATS, Feeds, channels, feed_bytes, feed_path
from digest.group import group
from digest.load import load
from digest.model import Site
from digest.select import select

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

CONFIG = """\
[site]
title = "Feeds test"
description = "What we read"
base_url = "https://user.github.io/sub/"
language = "ru"
timezone = "UTC"
author = "The editor"
{extra}

[[feeds]]
slug = "blog"
title = "A blog"
url = "feeds/blog.xml"
topics = ["notes"]
language = "en"

[[topics]]
slug = "notes"
title = "Notes"
description = "Notes on things"
keywords = []
"""

POST = """\
---
id: a1
title: Tags <b> & ampersands
link: https://example.org/a
source: blog
published: '2026-03-10T10:00:00+00:00'
note: Read this one
---

The whole text, with [a relative link](/elsewhere/) in it.
"""


def site_of(project: Callable[..., Path], extra: str = "") -> Site:
    root = project({"content/items/a.md": POST}, config=CONFIG.format(extra=extra))
    config = load_config(root / "digest.toml")
    corpus = load(config)
    return group(select(corpus, config), corpus, config, lambda week: f"Week {week}")


def feeds_of(site: Site) -> Feeds:
    return channels(site, {"Selected items": "Every item", "Other": "Other"}.__getitem__)


def test_a_site_has_its_issues_feed_its_items_feed_and_one_per_topic_and_source(
        project: Callable[..., Path]) -> None:
    site = site_of(project)
    feeds = feeds_of(site)
    assert (feeds.issues.title, feeds.items.title) == ("Feeds test", "Feeds test: Every item")
    assert list(feeds.pages) == ["topics/notes/", "sources/blog/"]
    assert feeds.pages["topics/notes/"].title == "Notes — Feeds test"
    assert [c.kind for c in feeds] == ["issues", "items", "topics", "sources"]


def test_each_feed_is_written_in_every_format_beside_its_page(
        project: Callable[..., Path]) -> None:
    site = site_of(project)
    feeds = feeds_of(site)
    paths = {name: [feed_path(site, c, name) for c in feeds] for name in FORMATS.names()}
    assert paths == {
        "atom": ["feed.xml", "items.xml", "topics/notes/feed.xml", "sources/blog/feed.xml"],
        "rss": ["rss.xml", "items-rss.xml", "topics/notes/rss.xml", "sources/blog/rss.xml"],
        "json": ["feed.json", "items.json", "topics/notes/feed.json",
                 "sources/blog/feed.json"]}


def test_atom_names_itself_and_its_page_and_escapes_every_value(
        project: Callable[..., Path]) -> None:
    site = site_of(project)
    topic = feeds_of(site).pages["topics/notes/"]
    root = ET.fromstring(feed_bytes(site, topic, "atom"))
    assert root.find(f"{ATOM}id").text == "https://user.github.io/sub/topics/notes/feed.xml"
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"self": "https://user.github.io/sub/topics/notes/feed.xml",
                     "alternate": "https://user.github.io/sub/topics/notes/"}
    (entry,) = root.findall(f"{ATOM}entry")
    title = entry.find(f"{ATOM}title")
    assert title.text == "Tags <b> & ampersands"  # text, as written: escaped in the file
    assert title.get(XML_LANG) == "en"  # the item's language is not the site's
    assert entry.find(f"{ATOM}id").text == "https://user.github.io/sub/items/a/"


def test_item_feeds_carry_a_summary_and_the_issues_feed_whole_texts(
        project: Callable[..., Path]) -> None:
    site = site_of(project)
    feeds = feeds_of(site)
    item = json.loads(feed_bytes(site, feeds.items, "json"))["items"][0]
    assert "Read this one" in item["content_html"]  # the editor's note leads
    assert '<p lang="en">The whole text' in item["content_html"]  # the excerpt, plain
    assert "<a " not in item["content_html"]
    assert item["summary"].startswith("The whole text")
    assert item["language"] == "en"
    issue = feedparser.parse(feed_bytes(site, feeds.issues, "rss")).entries[0]
    assert issue.link == "https://user.github.io/sub/issues/2026-w11/"
    assert 'href="https://user.github.io/sub/items/a/"' in issue.description


def test_feed_content_full_puts_whole_texts_with_absolute_links_in_a_kind_of_feed(
        project: Callable[..., Path]) -> None:
    site = site_of(project, "feed_content = { items = \"full\" }")
    item = json.loads(feed_bytes(site, feeds_of(site).items, "json"))["items"][0]
    # resolved against the item's page, as a reader of that page would
    assert '<a href="https://user.github.io/elsewhere/"' in item["content_html"]
    assert '<div lang="en">' in item["content_html"]


def test_every_format_parses_and_dates_come_from_the_data(project: Callable[..., Path]) -> None:
    site = site_of(project)
    items = feeds_of(site).items
    for name in ("atom", "rss"):
        data = feed_bytes(site, items, name)
        assert data == feed_bytes(site, items, name)
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0, (name, parsed.get("bozo_exception"))
        assert parsed.feed.updated_parsed[:4] == (2026, 3, 10, 10)  # the newest entry's
        assert parsed.entries[0].published_parsed[:4] == (2026, 3, 10, 10)
    data = json.loads(feed_bytes(site, items, "json"))
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["feed_url"] == "https://user.github.io/sub/items.json"
    assert data["items"][0]["date_published"] == "2026-03-10T10:00:00+00:00"
