"""Stage 7 (beside render): the site's own feeds, for the issues, the selected items, each
topic and each source, each written in every registered format (Atom, RSS 2.0, JSON Feed
1.1). Built with ElementTree and json, so every value is escaped by construction; dates come
from the data, so builds are reproducible.

A new format is one function `(site, channel, its own URL) -> bytes` and one line
`FORMATS.register(FeedFormat(label, media type, file name), name, priority)`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape

from digest.html.links import absolute_links
from digest.incremental.pagekeys import Fresh, Made, Reuse
from digest.model import IssueView, ItemView, Site
from digest.system.registry import Registry

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
    """One feed, whatever its format: the page it belongs to, what it is about, its
    entries."""

    kind: str  # "issues", "items", "topics" or "sources" ([site] feed_content's keys)
    page: str  # the route of the page it belongs to: "" for the site's, "topics/ai/" …
    stem: str  # "feed" -> feed.xml, rss.xml, feed.json; "items" -> items.xml …
    title: str
    description: str
    entries: tuple[FeedEntry, ...]


@dataclass(frozen=True)
class Feeds:
    """The site's feeds: its own two (the issues, every selected item), and each topic's
    and source's by the route of its page."""

    issues: Channel
    items: Channel
    pages: Mapping[str, Channel]

    def __iter__(self) -> Iterator[Channel]:
        yield self.issues
        yield self.items
        yield from self.pages.values()


Writer = Callable[[Site, Channel, str], bytes]  # (site, channel, the file's absolute URL)


@dataclass(frozen=True)
class FeedFormat:
    """A format every feed is written in."""

    label: str  # what a page calls it: "Atom"
    media_type: str  # "application/atom+xml"
    file: Callable[[str], str]  # the file's name from the feed's stem: "feed" -> "feed.xml"
    write: Writer


FORMATS: Registry[FeedFormat] = Registry()


def channels(site: Site, _: Callable[[str], str], reuse: Reuse | None = None) -> Feeds:
    """The feeds of a site; `_` translates the words they add ("Selected items").
    `reuse` (`digest serve`): what the last build made; an entry made of the same view, and
    a channel of the same entries, are that build's very objects."""
    made = _Made(site, reuse)
    full = site.settings.full_feeds
    other, by = _("Other"), site.author or site.title
    issue = made.table(("issue entry", site.urls, other, by))
    issues = tuple(issue.of(i, lambda i: _issue_entry(site, i, issue_html(site, i, other)))
                   for i in site.issues[:FEED_LENGTH])
    own = [made.channel("topics", t.url, "feed", f"{t.title} — {site.title}", t.description,
                        made.entries(t.items, "topics" in full)) for t in site.topics]
    own += [made.channel("sources", s.url, "feed", f"{s.title} — {site.title}", "",
                         made.entries(s.items, "sources" in full)) for s in site.sources]
    return Feeds(
        made.channel("issues", site.urls.HOME, "feed", site.title, site.description, issues),
        made.channel("items", site.urls.HOME, "items", f"{site.title}: {_('Selected items')}",
                     site.description, made.entries(site.items, "items" in full)),
        {c.page: c for c in own})


class _Made:
    """Entries and channels, made (or, in `digest serve`, taken from the last build)."""

    def __init__(self, site: Site, reuse: Reuse | None) -> None:
        self.site, self.reuse = site, reuse

    def table(self, kind: Hashable) -> Made:
        return self.reuse.table(kind) if self.reuse is not None else Fresh()

    def entries(self, views: Sequence[ItemView], full: bool) -> tuple[FeedEntry, ...]:
        """The entries of the newest of these items (each made once per view)."""
        site, made = self.site, self.table(("item entry", self.site.urls, full))
        return tuple(made.of(v, lambda v: _item_entry(site, v, full))
                     for v in views[:FEED_LENGTH])

    def channel(self, kind: str, page: str, stem: str, title: str, description: str,
                entries: tuple[FeedEntry, ...]) -> Channel:
        """The channel, the last build's object if the same in every part."""
        if self.reuse is None:
            return Channel(kind, page, stem, title, description, entries)
        return self.reuse.once(("channel", kind, page, stem), (title, description, entries),
                               lambda parts: Channel(kind, page, stem, *parts), _same_parts)


def _same_parts(a: tuple[str, str, tuple[FeedEntry, ...]],
                b: tuple[str, str, tuple[FeedEntry, ...]]) -> bool:
    """The same title and description, and entries that are the same objects or equal in
    every value a feed writes (a date, also in its offset)."""
    return a[0] == b[0] and a[1] == b[1] and len(a[2]) == len(b[2]) and all(
        x is y or (x == y and x.published.isoformat() == y.published.isoformat())
        for x, y in zip(a[2], b[2], strict=True))


def feed_path(site: Site, chan: Channel, name: str) -> str:
    """The route of a channel's file in the format registered as `name`."""
    return site.urls.feed(chan.page, FORMATS[name].file(chan.stem))


def feed_bytes(site: Site, chan: Channel, name: str) -> bytes:
    """A channel's file in the format registered as `name`."""
    return FORMATS[name].write(site, chan, site.urls.absolute(feed_path(site, chan, name)))


def issue_html(site: Site, issue: IssueView, other: str) -> str:
    """An issue as one HTML document for a feed reader: introduction, then each section's
    items with their notes. `other` names the section of items without a topic."""
    parts = [issue.intro_html]
    for section in issue.sections:
        parts.append(f"<h2>{escape(section.topic.title if section.topic else other)}</h2><ul>")
        for v in section.items:
            sources = ", ".join(escape(s.title) for s in v.sources or (v.source,))
            parts.append(f'<li><a href="{escape(site.urls.absolute(v.url))}"'
                         f"{_lang_attr(v.lang)}>{escape(v.item.title)}</a> — {sources}"
                         f"{v.item.note_html}</li>")
        parts.append("</ul>")
    return "\n".join(p for p in parts if p)


def _item_entry(site: Site, v: ItemView, full: bool) -> FeedEntry:
    url = site.urls.absolute(v.url)
    text = _in_lang(v.item.html, v.lang) if full else \
        f"<p{_lang_attr(v.lang)}>{escape(v.item.excerpt)}</p>"
    return FeedEntry(
        url=url, title=v.item.title, published=v.item.published,
        author=v.item.author or ", ".join(s.title for s in v.sources or (v.source,)),
        summary=v.item.excerpt, html=absolute_links(v.item.note_html + text, url),
        categories=tuple(t.title for t in v.topics), lang=v.lang)


def _lang_attr(lang: str) -> str:
    return f' lang="{escape(lang)}"' if lang else ""


def _in_lang(html: str, lang: str) -> str:
    """An item's text marked with its language inside the entry's HTML, which may also hold
    the editor's note (in the site's language): RSS has no other place for it."""
    return f'<div lang="{escape(lang)}">{html}</div>' if lang else html


def _issue_entry(site: Site, issue: IssueView, html: str) -> FeedEntry:
    newest = max((v.item.published for v in issue.items), default=issue.end)
    url = site.urls.absolute(issue.url)
    return FeedEntry(url, issue.title, newest, site.author or site.title,
                     f"{len(issue.items)}", absolute_links(html, url))


def _updated(chan: Channel) -> datetime:
    return max((e.published for e in chan.entries), default=EPOCH)


# --- the formats ------------------------------------------------------------------------

def atom(site: Site, chan: Channel, url: str) -> bytes:
    """Atom 1.0 (RFC 4287)."""
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed", {f"{{{XML}}}lang": site.language})
    _sub(root, "title", chan.title)
    if chan.description:
        _sub(root, "subtitle", chan.description)
    _sub(root, "id", url)
    _sub(root, "link", rel="self", type="application/atom+xml", href=url)
    _sub(root, "link", rel="alternate", type="text/html", href=site.urls.absolute(chan.page))
    _sub(root, "updated", _updated(chan).isoformat())
    _sub(_sub(root, "author"), "name", site.author or site.title)
    _sub(root, "generator", "digest", uri="https://github.com/digest-ssg/digest")
    for e in chan.entries:
        _atom_entry(_sub(root, "entry"), e)
    return _xml(root)


def _atom_entry(entry: ET.Element, e: FeedEntry) -> None:
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


def rss(site: Site, chan: Channel, url: str) -> bytes:
    """RSS 2.0, with an atom:link to itself."""
    ET.register_namespace("atom", ATOM)
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    _plain(channel, "title", chan.title)
    _plain(channel, "link", site.urls.absolute(chan.page))
    _plain(channel, "description", chan.description or chan.title)
    _plain(channel, "language", site.language)
    _plain(channel, "lastBuildDate", format_datetime(_updated(chan).astimezone(UTC), usegmt=True))
    ET.SubElement(channel, f"{{{ATOM}}}link", rel="self", type="application/rss+xml", href=url)
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


def json_feed(site: Site, chan: Channel, url: str) -> bytes:
    """JSON Feed 1.1."""
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": chan.title,
        "home_page_url": site.urls.absolute(chan.page),
        "feed_url": url,
        "language": site.language,
        "authors": [{"name": site.author or site.title}],
        "items": [_json_item(e) for e in chan.entries],
    }
    if chan.description:
        feed["description"] = chan.description
    return (json.dumps(feed, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _json_item(e: FeedEntry) -> dict[str, object]:
    return {
        "id": e.url, "url": e.url, "title": e.title, "content_html": e.html,
        "summary": e.summary, "date_published": e.published.isoformat(),
        **({"language": e.lang} if e.lang else {}),
        **({"authors": [{"name": e.author}]} if e.author else {}),
        **({"tags": list(e.categories)} if e.categories else {}),
    }


def _rss_file(stem: str) -> str:
    """rss.xml beside feed.xml; items-rss.xml beside items.xml."""
    return "rss.xml" if stem == "feed" else f"{stem}-rss.xml"


FORMATS.register(FeedFormat("Atom", "application/atom+xml", "{}.xml".format, atom), "atom", 30)
FORMATS.register(FeedFormat("RSS", "application/rss+xml", _rss_file, rss), "rss", 20)
FORMATS.register(FeedFormat("JSON Feed", "application/feed+json", "{}.json".format, json_feed),
                 "json", 10)


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
