"""Frozen dataclasses passed between the stages; no I/O here.

FetchResult -> Entry -> content file -> Item/Corpus -> Selection -> Site -> Output
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

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
# Every `url` below is relative to the site root ("issues/2026-w11/", "" for the home page);
# templates turn it into a link with `url(...)` (sub-path aware) or `abs_url(...)`.


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
    base_url: str
    language: str
    timezone: str
    author: str
    issues: tuple[IssueView, ...]
    topics: tuple[TopicView, ...]
    sources: tuple[SourceView, ...]
    items: tuple[ItemView, ...]
    pages: tuple[PageView, ...]
    updated: datetime | None

    @property
    def latest(self) -> IssueView | None:
        return self.issues[0] if self.issues else None
