"""Stage 6: Selection -> Site: issues, topics, sources, items and pages, each at its route."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from digest.config import Config
from digest.model import (
    Corpus,
    Decision,
    Health,
    IssueFile,
    IssueView,
    ItemView,
    PageView,
    Ref,
    Section,
    Selection,
    Site,
    SourceView,
    TopicView,
    Urls,
)
from digest.text.langtag import same_language
from digest.text.slug import week_slug
from digest.text.weeks import window_start


def group(
    selection: Selection,
    corpus: Corpus,
    config: Config,
    default_title: Callable[[str], str],
    drafts: bool = False,
    health: dict[str, Health] | None = None,
    declared: Mapping[str, str] | None = None,
    memo: Memo | None = None,
) -> Site:
    """Arrange the selected items into the site; rejected items, draft issues and weeks with
    no selected item (an introduction alone is no issue) stay out.

    `default_title` names an issue whose file gives no title ('2026-W11' -> 'Неделя 11, 2026').
    `declared`: the language each feed declared when last fetched (by feed slug).
    `memo`: what an earlier grouping with the same arguments made (`digest serve` keeps
    one): issues whose decisions and neighbours are unchanged are the same objects.
    """
    files = {f.week: f for f in corpus.issues}
    by_week = _weeks(selection, {w for w, f in files.items() if f.draft and not drafts})
    refs = _Refs.of(config, sorted(by_week, reverse=True), files, default_title, declared or {})
    memo = memo.of((config, default_title, drafts, health, declared)) if memo else None
    issues = _issues(by_week, refs, files, config, memo)
    if memo is not None and memo.issues == issues:  # the same objects: the same lists
        items, topics, sources = memo.lists
    else:
        ordered = sorted((v for i in issues for v in i.items),
                         key=lambda v: (-v.item.published.timestamp(), v.item.slug))
        items = tuple(ordered)
        topics, sources = _topics(config, items), _sources(config, items, health or {})
        if memo is not None:
            memo.issues, memo.lists = issues, (items, topics, sources)
    site, urls = config.site, config.site.urls
    return Site(
        title=site.title, description=site.description, urls=urls,
        language=site.language, timezone=site.timezone, author=site.author,
        issues=tuple(issues), topics=topics, sources=sources, items=items,
        pages=tuple(PageView(p.slug, p.title, urls.page(p.slug), p.html) for p in corpus.pages),
        updated=max((v.item.published for v in items), default=None), settings=site.settings,
        search_parts=_search_parts(items) if site.settings.search else (),
    )


# Item pages in one part of the search index: as many as memory allows, since every part
# costs a reader's search its own downloads (the part's metadata, then a chunk of its index
# for each word searched): on a mid-range phone (4x slower CPU, 1.6 Mbit/s), the first
# search of a 10,000-item site took 6.9 s in 10 parts, 4.3 s in 5, 2.4 s in one, and a
# later search 2.3, 1.3 and 0.7 s. A Pagefind run over 2,000 pages of 1,200 words holds
# about 680 MB (one over 10,000 took 3.4 GB). See digest/search.py.
ITEMS_PER_INDEX = 2000


def _search_parts(items: tuple[ItemView, ...]) -> tuple[tuple[str, ...], ...]:
    """The item pages (files of the site) of each part of the search index: the site's
    items (newest first) taken oldest first, ITEMS_PER_INDEX to a part, so that new items
    change only the last part. One part for a site of fewer items; none without items."""
    pages = [Urls.file(view.url) for view in reversed(items)]
    return tuple(tuple(pages[i:i + ITEMS_PER_INDEX])
                 for i in range(0, len(pages), ITEMS_PER_INDEX))


def _weeks(selection: Selection, hidden: set[str]) -> dict[str, list[Decision]]:
    """The selected decisions of each week that is published (not a hidden draft)."""
    by_week: dict[str, list[Decision]] = defaultdict(list)
    for d in selection.decisions:
        if d.selected and d.week not in hidden:
            by_week[d.week].append(d)
    return by_week


@dataclass(frozen=True)
class _Refs:
    """The links every view is made of: to each topic, source and issue (newest first)."""

    weeks: list[str]
    topics: dict[str, Ref]
    sources: dict[str, Ref]
    issues: dict[str, Ref]
    languages: dict[str, str]  # each feed's: digest.toml's, else the one it declared
    site_language: str
    urls: Urls

    @classmethod
    def of(cls, config: Config, weeks: list[str], files: Mapping[str, IssueFile],
           default_title: Callable[[str], str], declared: Mapping[str, str]) -> _Refs:
        urls = config.site.urls
        titles = {w: (files[w].title if w in files else "") or default_title(w) for w in weeks}
        return cls(
            weeks,
            {t.slug: Ref(t.slug, t.title, urls.topic(t.slug)) for t in config.topics},
            {f.slug: Ref(f.slug, f.title, urls.source(f.slug)) for f in config.feeds},
            {w: Ref(week_slug(w), titles[w], urls.issue(w)) for w in weeks},
            {f.slug: f.language or declared.get(f.slug, "") for f in config.feeds},
            config.site.language, urls)

    def view(self, d: Decision) -> ItemView:
        """A selected item as the site shows it (prev and next are set by its issue)."""
        item = d.item
        return ItemView(item, self.urls.item(item.slug), self.sources[item.source],
                        tuple(self.topics[t] for t in d.topics), self.issues[d.week],
                        sources=tuple(self.sources[s] for s in (d.sources or (item.source,))),
                        lang=_lang(item.language or self.languages[item.source],
                                   self.site_language))


class Memo:
    """What `group` keeps between the builds of one `digest serve`: each week's issue, by
    all it is made of (its decisions, its file, its title and its neighbours'), and the
    site's lists of items, topics and sources, by the issues they are made of. Only for
    the same arguments (config, drafts, health...): others forget it all."""

    def __init__(self) -> None:
        self._given: tuple[object, ...] = ()
        self._forget()

    def _forget(self) -> None:
        self._made: dict[str, tuple[tuple[object, ...], IssueView]] = {}
        self.issues: list[IssueView] = []
        self.lists: tuple[tuple[ItemView, ...], tuple[TopicView, ...],
                          tuple[SourceView, ...]] = ((), (), ())

    def of(self, given: tuple[object, ...]) -> Memo:
        """The memo, emptied unless `given` (the arguments of `group`) are the last ones."""
        if len(given) != len(self._given) or \
                any(a is not b and a != b for a, b in zip(given, self._given, strict=True)):
            self._forget()
            self._given = given
        return self

    def issue(self, week: str, made_of: tuple[object, ...],
              make: Callable[[Callable[[ItemView], ItemView]], IssueView]) -> IssueView:
        """The week's issue as it was, if made of the same; else made again, each of its
        item views that equals the last one's being that very object."""
        last = self._made.get(week)
        if last is not None and last[0] == made_of:
            return last[1]
        views = {v.item.id: v for v in last[1].items} if last is not None else {}

        def reuse(view: ItemView) -> ItemView:
            old = views.get(view.item.id)
            return old if old is not None and old == view else view

        issue = make(reuse)
        self._made[week] = (made_of, issue)
        return issue

    def keep_only(self, weeks: Iterable[str]) -> None:
        self._made = {w: self._made[w] for w in weeks if w in self._made}


def _issues(by_week: Mapping[str, list[Decision]], refs: _Refs,
            files: Mapping[str, IssueFile], config: Config, memo: Memo | None = None
            ) -> list[IssueView]:
    """Each week's issue, newest first, linked to the older and the newer one."""
    order = {t.slug: i for i, t in enumerate(config.topics)}
    zone = ZoneInfo(config.site.timezone)
    weeks = refs.weeks
    issues = []
    for i, week in enumerate(weeks):
        prev = refs.issues[weeks[i + 1]] if i + 1 < len(weeks) else None
        next_ = refs.issues[weeks[i - 1]] if i > 0 else None

        def make(reuse: Callable[[ItemView], ItemView] = lambda v: v, week: str = week,
                 prev: Ref | None = prev, next_: Ref | None = next_) -> IssueView:
            sections = [Section(s.topic, tuple(reuse(v) for v in s.items)) for s in
                        _chained(_sections([refs.view(d) for d in by_week[week]], order))]
            start = window_start(week, zone, config.selection.week_starts)
            f = files.get(week)
            return IssueView(
                week=week, slug=week_slug(week), url=refs.issues[week].url,
                title=refs.issues[week].title, intro_html=f.intro_html if f else "",
                start=start, end=start + timedelta(days=6),
                items=tuple(v for s in sections for v in s.items), sections=tuple(sections),
                prev=prev, next=next_)

        if memo is None:
            issues.append(make())
        else:
            made_of = (tuple(by_week[week]), refs.issues[week], prev, next_, files.get(week))
            issues.append(memo.issue(week, made_of, make))
    if memo is not None:
        memo.keep_only(weeks)
    return issues


def _chained(sections: list[Section]) -> list[Section]:
    """The sections with each item linked to the one before and after it in the issue."""
    ordered = [v for s in sections for v in s.items]
    linked = {v.item.id: replace(v, prev=_ref(ordered[n - 1]) if n > 0 else None,
                                 next=_ref(ordered[n + 1]) if n + 1 < len(ordered) else None)
              for n, v in enumerate(ordered)}
    return [Section(s.topic, tuple(linked[v.item.id] for v in s.items)) for s in sections]


def _topics(config: Config, items: Iterable[ItemView]) -> tuple[TopicView, ...]:
    """Each topic of digest.toml, in its order, with its items newest first."""
    by_topic = _by(items, lambda v: v.topics)
    urls = config.site.urls
    return tuple(TopicView(t.slug, t.title, t.description, urls.topic(t.slug),
                           tuple(by_topic[t.slug])) for t in config.topics)


def _sources(config: Config, items: Iterable[ItemView], health: Mapping[str, Health]
             ) -> tuple[SourceView, ...]:
    """Each feed of digest.toml, in its order, with every item it brought (newest first)."""
    by_source = _by(items, lambda v: v.sources)
    urls = config.site.urls
    return tuple(SourceView(f.slug, f.title, urls.source(f.slug), f.homepage, f.url,
                            tuple(by_source[f.slug]), health.get(f.slug))
                 for f in config.feeds)


def _by(items: Iterable[ItemView], refs: Callable[[ItemView], tuple[Ref, ...]]
        ) -> dict[str, list[ItemView]]:
    """The items under each slug their `refs` name, in the items' order."""
    found: dict[str, list[ItemView]] = defaultdict(list)
    for v in items:
        for r in dict.fromkeys(refs(v)):
            found[r.slug].append(v)
    return found


def _lang(language: str, site: str) -> str:
    """The tag an item's words are marked with: its language (the editor's, else its feed's
    in digest.toml, else the one its feed declares) where that is not the site's."""
    return language if language and not same_language(language, site) else ""


def _ref(v: ItemView) -> Ref:
    return Ref(v.item.slug, v.item.title, v.url, v.lang)


def _sections(views: list[ItemView], order: dict[str, int]) -> list[Section]:
    """Items by their first topic, in config order; a section with a pinned item comes first,
    and pinned items lead their section."""
    buckets: dict[str | None, list[ItemView]] = defaultdict(list)
    first: dict[str | None, ItemView] = {}
    for v in views:
        key = v.topics[0].slug if v.topics else None
        buckets[key].append(v)
        first.setdefault(key, v)
    for bucket in buckets.values():
        bucket.sort(key=lambda v: not v.item.pinned)  # stable: keeps the selection's order
    keys = sorted(buckets, key=lambda k: (not any(v.item.pinned for v in buckets[k]),
                                          order.get(k, len(order)) if k else len(order)))
    return [Section(first[k].topics[0] if k else None, tuple(buckets[k])) for k in keys]
