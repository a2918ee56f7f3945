"""Frozen dataclasses passed between the stages; no I/O here.

FetchResult -> Entry -> content file -> Item/Corpus -> Selection -> Site -> Output
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

from digest.text.slug import week_slug

# --- ingestion: stages 1-3 -------------------------------------------------------------


@dataclass(frozen=True)
class FetchResult:
    """Stage 1: the raw bytes of one feed (empty for 304 Not Modified and 410 Gone)."""

    feed_slug: str
    url: str  # the configured URL: the base for the feed's relative links
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    status: int = 200
    final_url: str = ""  # where the bytes came from, after redirects
    moved_to: str | None = None  # the target of a permanent (301/308) redirect


@dataclass(frozen=True)
class Enclosure:
    """A file attached to an entry (a podcast episode, say)."""

    url: str
    type: str = ""
    length: int = 0


@dataclass(frozen=True)
class Entry:
    """Stage 2: one feed entry, parsed and sanitized, not yet stored."""

    source: str
    guid: str | None
    link: str
    title: str
    author: str
    published: datetime | None  # None: the feed gave no date
    tags: tuple[str, ...]
    html: str
    enclosures: tuple[Enclosure, ...] = ()


@dataclass(frozen=True)
class ParsedFeed:
    """Stage 2: a feed's entries and its home page."""

    home: str
    entries: tuple[Entry, ...]
    warning: str = ""  # why feedparser found the feed malformed (its entries are still here)
    dropped: int = 0  # entries with neither a link nor a body (nor a file): not kept
    language: str = ""  # the language the feed declares (BCP 47, checked), or ""


# --- building: stages 4-8 ----------------------------------------------------------------

Status = Literal["selected", "rejected"]


@dataclass(frozen=True)
class Item:
    """One content file under content/items/, loaded and validated."""

    id: str
    slug: str
    path: Path
    title: str
    link: str
    source: str
    author: str
    published: datetime
    fetched: datetime | None
    first_seen: datetime | None
    topics: tuple[str, ...]
    tags: tuple[str, ...]
    status: Status | None
    pinned: bool
    note_html: str
    issue: str | None
    html: str
    words: int
    excerpt: str = ""  # plain text, the first words
    digest: str = ""  # hash of the file's place and bytes: what every page showing it keys on
    # An old-format file (digest/legacy.py): the hashes that tell whose its `topics:` are,
    # and, once load compared them with what fetch wrote, whose they are.
    old_topics: tuple[str, ...] = ()
    topics_origin: str = ""  # "" (the editor's, when there are any), fetch, editor, unsure
    language: str = ""  # the editor's `language:` (BCP 47, checked), or ""


@dataclass(frozen=True)
class IssueFile:
    """One content/issues/YYYY-Www.md: the editor's title and introduction for a week."""

    week: str
    path: Path
    title: str
    intro_html: str
    draft: bool


@dataclass(frozen=True)
class PageFile:
    """One free page under content/pages/."""

    slug: str
    path: Path
    title: str
    html: str


@dataclass(frozen=True)
class Corpus:
    """Stage 4: everything under content/, read and validated."""

    items: tuple[Item, ...]
    issues: tuple[IssueFile, ...]
    pages: tuple[PageFile, ...]


@dataclass(frozen=True)
class Decision:
    """Stage 5: whether one item is in an issue, under which topics, and why."""

    item: Item
    week: str
    topics: tuple[str, ...]
    selected: bool
    reason: str  # one human sentence
    score: float = 0.0
    pinned: bool = False
    duplicate_of: str | None = None  # the id of the copy that won
    sources: tuple[str, ...] = ()  # every source the story came from, the winner's first
    topics_by_editor: bool = False  # `topics:` in its file replaced the computed ones

    @property
    def source_list(self) -> str:
        return ", ".join(self.sources or (self.item.source,))


@dataclass(frozen=True)
class Selection:
    """Stage 5: a decision for every item: per week (oldest first), the selected in issue
    order, then the rest."""

    decisions: tuple[Decision, ...]

    def week(self, week: str) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.week == week)

    @property
    def weeks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.week for d in self.decisions))


@dataclass(frozen=True)
class Output:
    """Stage 7: one file of the site, relative to output/."""

    path: str
    data: bytes


# --- the site: stage 6 -------------------------------------------------------------------
# Every `url` below is a route, relative to the site root ("issues/2026-w11/", "" for the
# home page); templates turn it into a link with `url(...)` (sub-path aware) or `abs_url(...)`.


@dataclass(frozen=True)
class Urls:
    """Every address of the site, made from `base_url`: the one place a route is written.

    A route is site-relative ("items/some-post-1a2b3c/", "" for the home page): `link` makes
    it what a page writes (under the site's sub-path), `absolute` what a feed or a mail
    writes, `file` the file of output/ that serves it."""

    base_url: str  # absolute; "/" is added when it does not end with one

    # The lists' routes (ISSUES: the archive), and those of the files beside the pages.
    HOME, ISSUES, TOPICS, SOURCES, ITEMS, PAGES, SEARCH = (
        "", "issues/", "topics/", "sources/", "items/", "pages/", "search/")
    NOT_FOUND, SITEMAP, ROBOTS, OPML = "404.html", "sitemap.xml", "robots.txt", "feeds.opml"
    MEDIA, STATIC = "media/", "static/"  # mirrored images; the theme's files
    # The search index (Pagefind's bundle), and the folders of its parts after the first,
    # inside it (Site.search_parts).
    SEARCH_INDEX, SEARCH_PART = "pagefind/", "part-"

    def __post_init__(self) -> None:
        if not self.base_url.endswith("/"):
            object.__setattr__(self, "base_url", self.base_url + "/")

    @staticmethod  # the routes (static: the same whatever base_url is)
    def issue(week: str) -> str:
        return f"{Urls.ISSUES}{week_slug(week)}/"  # '2026-W11' -> 'issues/2026-w11/'

    @staticmethod
    def email(week: str) -> str:
        return f"{Urls.issue(week)}email.html"  # the issue's email edition

    @staticmethod
    def topic(slug: str) -> str:
        return f"{Urls.TOPICS}{slug}/"

    @staticmethod
    def source(slug: str) -> str:
        return f"{Urls.SOURCES}{slug}/"

    @staticmethod
    def search_part(n: int) -> str:
        """The folder of the search index's part `n` (from 1; the first is the index's)."""
        return Urls.SEARCH_INDEX if n == 1 else f"{Urls.SEARCH_INDEX}{Urls.SEARCH_PART}{n}/"

    @staticmethod
    def item(slug: str) -> str:
        return f"{Urls.ITEMS}{slug}/"

    @staticmethod
    def page(slug: str) -> str:
        return f"{Urls.PAGES}{slug}/"

    @staticmethod
    def numbered(route: str, number: int) -> str:
        """Page `number` of a list (a topic's items); the first is the list's own route."""
        return route if number == 1 else f"{route}page/{number}/"

    @staticmethod
    def feed(route: str, name: str) -> str:
        return route + name  # beside the page it belongs to: 'topics/ai/' + 'feed.xml'

    @staticmethod
    def media(file: str) -> str:
        return Urls.MEDIA + file

    @staticmethod
    def static(file: str) -> str:
        return Urls.STATIC + file

    @staticmethod
    def file(route: str) -> str:
        """The file of output/ that serves a route: 'topics/' -> 'topics/index.html'."""
        return f"{route}index.html" if route.endswith("/") or not route else route

    @property  # what a page, a feed, a mail or a browser writes
    def base_path(self) -> str:
        """The path part of base_url: '/digest/' (at least '/')."""
        return urlsplit(self.base_url).path or "/"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def link(self, route: str) -> str:
        """An internal link: '/digest/topics/' (404.html is served anywhere: no '../')."""
        return self.base_path + route

    def absolute(self, route: str) -> str:
        """The absolute URL of a route (by concatenation: urljoin's parsing was a tenth of a
        rebuild of 10,000 items); anything else ('https://…', '/x', '../x') as a browser
        resolves it."""
        if route.startswith(("/", ".")) or ":" in route.split("/", 1)[0]:
            return urljoin(self.base_url, route)
        return self.base_url + route

    def route(self, path: str) -> str | None:
        """The route of a link's path ('/digest/topics/' -> 'topics/'); None outside."""
        return path[len(self.base_path):] if path.startswith(self.base_path) else None

    def served(self, host: str, port: int) -> str:
        """Where `digest serve` shows the site: 'http://127.0.0.1:8000/digest/'."""
        return f"http://{f'[{host}]' if ':' in host else host}:{port}{self.base_path}"


@dataclass(frozen=True)
class Settings:
    """The [site] settings rendering needs besides the data (config.py: defaults, checks)."""

    page_size: int  # items on each page of a topic or a source
    item_text: str  # what an issue page shows of each item: "excerpt" or "full"
    excerpts: str  # how much of an excerpt an issue shows: "short" or "long"
    date_format: str | None  # a Babel pattern, else the language's own
    search: bool  # the site has a search page and index
    full_feeds: tuple[str, ...]  # the kinds of feed that carry whole texts ("issues", …)
    cname: str | None  # a custom domain for GitHub Pages


@dataclass(frozen=True)
class Ref:
    """A link to a topic, a source, an issue or an item: its title and its URL."""

    slug: str
    title: str
    url: str
    lang: str = ""  # an item's: its language where it is not the site's (see ItemView.lang)


@dataclass(frozen=True)
class ItemView:
    """An item as the site shows it."""

    item: Item
    url: str
    source: Ref
    topics: tuple[Ref, ...]
    issue: Ref
    prev: Ref | None = None
    next: Ref | None = None
    sources: tuple[Ref, ...] = ()  # every source the story came from, `source` first
    lang: str = ""  # the item's language where it is not the site's (BCP 47), else ""


@dataclass(frozen=True)
class Section:
    """The items of one topic within an issue (topic None: items with no topic)."""

    topic: Ref | None
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class IssueView:
    week: str
    slug: str
    url: str
    title: str
    intro_html: str
    start: datetime
    end: datetime
    items: tuple[ItemView, ...]
    sections: tuple[Section, ...]
    prev: Ref | None = None
    next: Ref | None = None


@dataclass(frozen=True)
class TopicView:
    slug: str
    title: str
    description: str
    url: str
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class Health:
    """How a source's feed has been doing, from the fetch state."""

    last_success: datetime | None
    last_status: str  # "200", "304", "410", "error: ..."
    failures: int  # consecutive failed runs
    warning: str = ""  # why feedparser found the feed malformed, as it said it


@dataclass(frozen=True)
class SourceView:
    slug: str
    title: str
    url: str
    homepage: str
    feed_url: str
    items: tuple[ItemView, ...]
    health: Health | None = None


@dataclass(frozen=True)
class PageView:
    slug: str
    title: str
    url: str
    html: str


@dataclass(frozen=True)
class Site:
    """Stage 6: everything a theme needs, computed; templates only read it."""

    title: str
    description: str
    urls: Urls
    language: str
    timezone: str
    author: str
    issues: tuple[IssueView, ...]
    topics: tuple[TopicView, ...]
    sources: tuple[SourceView, ...]
    items: tuple[ItemView, ...]
    pages: tuple[PageView, ...]
    updated: datetime | None
    settings: Settings
    # The files of the item pages each part of the search index holds, in the order of the
    # parts (group.ITEMS_PER_INDEX to a part, oldest first); () with search off.
    search_parts: tuple[tuple[str, ...], ...] = ()

    @property
    def base_url(self) -> str:
        return self.urls.base_url

    @property
    def latest(self) -> IssueView | None:
        return self.issues[0] if self.issues else None
