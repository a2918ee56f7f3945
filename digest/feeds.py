"""Stage 7 (beside render): the site's own feeds, Atom, RSS 2.0 and JSON Feed 1.1, for the
issues, the selected items, each topic and each source. Built with ElementTree and json, so
every value is escaped by construction; dates come from the data, so builds are reproducible."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from urllib.parse import urljoin

from digest.html.links import absolute_links
from digest.model import IssueView, ItemView, Output, Site

ATOM = "http://www.w3.org/2005/Atom"
XML = "http://www.w3.org/XML/1998/namespace"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FEED_LENGTH = 50


@dataclass(frozen=True)
class FeedEntry:
    url: str  # absolute; also the entry's id
    title: str
    published: datetime
    author: str
    summary: str  # plain text
    html: str  # full content, absolute links
    categories: tuple[str, ...] = ()
    lang: str = ""  # the language of the title, summary and text, where not the site's


@dataclass(frozen=True)
class Channel:
    """One feed in three formats: where they go, what they are about, their entries."""

    folder: str  # "" for the site, "topics/ai/" …
    stem: str  # "feed" -> feed.xml, rss.xml, feed.json; "items" -> items.xml …
    title: str
    page: str  # the page the feed belongs to, site-relative
    description: str
    entries: tuple[FeedEntry, ...]

    @property
    def atom(self) -> str:
        return f"{self.folder}{self.stem}.xml"

    @property
    def rss(self) -> str:
        name = "rss" if self.stem == "feed" else f"{self.stem}-rss"
        return f"{self.folder}{name}.xml"

    @property
    def json(self) -> str:
        return f"{self.folder}{self.stem}.json"


def channels(site: Site, full: Callable[[str], bool], issue_html: Callable[[IssueView], str],
             items_title: str) -> list[Channel]:
    """The feeds of a site; `full(kind)` says whether a kind of feed carries whole texts."""
    issues = tuple(_issue_entry(site, i, issue_html(i)) for i in site.issues[:FEED_LENGTH])
    result = [Channel("", "feed", site.title, "", site.description, issues),
              Channel("", "items", f"{site.title}: {items_title}", "", site.description,
                      _entries(site, site.items, full("items")))]
    result += [Channel(t.url, "feed", f"{t.title} — {site.title}", t.url, t.description,
                       _entries(site, t.items, full("topics"))) for t in site.topics]
    result += [Channel(s.url, "feed", f"{s.title} — {site.title}", s.url, "",
                       _entries(site, s.items, full("sources"))) for s in site.sources]
    return result


def issue_html(site: Site, issue: IssueView, other: str) -> str:
    """An issue as one HTML document for a feed reader: introduction, then each section's
    items with their notes. `other` names the section of items without a topic."""
    parts = [issue.intro_html]
    for section in issue.sections:
        parts.append(f"<h2>{escape(section.topic.title if section.topic else other)}</h2><ul>")
        for v in section.items:
            sources = ", ".join(escape(s.title) for s in v.sources or (v.source,))
            parts.append(f'<li><a href="{escape(site.base_url + v.url)}"{_lang_attr(v.lang)}>'
                         f"{escape(v.item.title)}</a> — {sources}{v.item.note_html}</li>")
        parts.append("</ul>")
    return "\n".join(p for p in parts if p)


FORMATS = ("atom", "rss", "json")


def write_feeds(site: Site, chans: list[Channel]) -> list[Output]:
    return [Output(feed_path(chan, kind), feed_bytes(site, chan, kind))
            for chan in chans for kind in FORMATS]


def feed_path(chan: Channel, kind: str) -> str:
    return {"atom": chan.atom, "rss": chan.rss, "json": chan.json}[kind]


def feed_bytes(site: Site, chan: Channel, kind: str) -> bytes:
    """One of a channel's three files: kind is "atom", "rss" or "json"."""
    return {"atom": _atom, "rss": _rss, "json": _json}[kind](site, chan)


def _entries(site: Site, views: Sequence[ItemView], full: bool) -> tuple[FeedEntry, ...]:
    # base_url ends with "/" (config) and views' URLs are site-relative paths: joining them
    # is concatenation, and urljoin's parsing was a tenth of a rebuild of 10,000 items.
    return tuple(
        FeedEntry(
            url=site.base_url + v.url, title=v.item.title, published=v.item.published,
            author=v.item.author or ", ".join(s.title for s in v.sources or (v.source,)),
            summary=v.item.excerpt,
            html=absolute_links(
                v.item.note_html + (_in_lang(v.item.html, v.lang) if full else
                                    f"<p{_lang_attr(v.lang)}>{escape(v.item.excerpt)}</p>"),
                site.base_url + v.url),
            categories=tuple(t.title for t in v.topics),
            lang=v.lang,
        )
        for v in views[:FEED_LENGTH]
    )


def _lang_attr(lang: str) -> str:
    return f' lang="{escape(lang)}"' if lang else ""


def _in_lang(html: str, lang: str) -> str:
    """An item's text marked with its language inside the entry's HTML, which may also hold
    the editor's note (in the site's language): RSS has no other place for it."""
    return f'<div lang="{escape(lang)}">{html}</div>' if lang else html


def _issue_entry(site: Site, issue: IssueView, html: str) -> FeedEntry:
    newest = max((v.item.published for v in issue.items), default=issue.end)
    url = urljoin(site.base_url, issue.url)
    return FeedEntry(url, issue.title, newest, site.author or site.title,
                     f"{len(issue.items)}", absolute_links(html, url))


def _updated(chan: Channel) -> datetime:
    return max((e.published for e in chan.entries), default=EPOCH)


def _atom(site: Site, chan: Channel) -> bytes:
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed", {f"{{{XML}}}lang": site.language})
    _sub(root, "title", chan.title)
    if chan.description:
        _sub(root, "subtitle", chan.description)
    _sub(root, "id", urljoin(site.base_url, chan.atom))
    _sub(root, "link", rel="self", type="application/atom+xml",
         href=urljoin(site.base_url, chan.atom))
    _sub(root, "link", rel="alternate", type="text/html", href=urljoin(site.base_url, chan.page))
    _sub(root, "updated", _updated(chan).isoformat())
    author = _sub(root, "author")
    _sub(author, "name", site.author or site.title)
    _sub(root, "generator", "digest", uri="https://github.com/digest-ssg/digest")
    for e in chan.entries:
        entry = _sub(root, "entry")
        # xml:lang on the entry's own words, not on the entry: its categories (the site's
        # topics) and the editor's note inside its content are in the site's language.
        lang = {f"{{{XML}}}lang": e.lang} if e.lang else {}
        _sub(entry, "title", e.title, **lang)
        _sub(entry, "id", e.url)
        _sub(entry, "link", rel="alternate", type="text/html", href=e.url)
        _sub(entry, "published", e.published.isoformat())
        _sub(entry, "updated", e.published.isoformat())
        if e.author:
            _sub(_sub(entry, "author"), "name", e.author)
        for c in e.categories:
            _sub(entry, "category", term=c)
        _sub(entry, "summary", e.summary, **lang)
        _sub(entry, "content", e.html, type="html")
    return _xml(root)


def _rss(site: Site, chan: Channel) -> bytes:
    ET.register_namespace("atom", ATOM)
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    _plain(channel, "title", chan.title)
    _plain(channel, "link", urljoin(site.base_url, chan.page))
    _plain(channel, "description", chan.description or chan.title)
    _plain(channel, "language", site.language)
    _plain(channel, "lastBuildDate", format_datetime(_updated(chan).astimezone(UTC), usegmt=True))
    ET.SubElement(channel, f"{{{ATOM}}}link", rel="self", type="application/rss+xml",
                  href=urljoin(site.base_url, chan.rss))
    _plain(channel, "generator", "digest")
    for e in chan.entries:
        item = ET.SubElement(channel, "item")
        _plain(item, "title", e.title)
        _plain(item, "link", e.url)
        ET.SubElement(item, "guid", isPermaLink="true").text = e.url
        _plain(item, "pubDate", format_datetime(e.published.astimezone(UTC), usegmt=True))
        for c in e.categories:
            _plain(item, "category", c)
        _plain(item, "description", e.html)
    return _xml(root)


def _json(site: Site, chan: Channel) -> bytes:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": chan.title,
        "home_page_url": urljoin(site.base_url, chan.page),
        "feed_url": urljoin(site.base_url, chan.json),
        "language": site.language,
        "authors": [{"name": site.author or site.title}],
        "items": [{
            "id": e.url, "url": e.url, "title": e.title, "content_html": e.html,
            "summary": e.summary, "date_published": e.published.isoformat(),
            **({"language": e.lang} if e.lang else {}),
            **({"authors": [{"name": e.author}]} if e.author else {}),
            **({"tags": list(e.categories)} if e.categories else {}),
        } for e in chan.entries],
    }
    if chan.description:
        feed["description"] = chan.description
    return (json.dumps(feed, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _plain(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
