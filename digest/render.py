"""Stage 7: Site + theme -> Outputs (path, bytes). Templates only read ready data.

Which pages a site has is the registry PAGES: a new kind of page is one function
`(site, shared) -> pages` and one line `PAGES.register(function, name, priority)`."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial
from typing import TypeVar

import jinja2

from digest.email import email_edition
from digest.feeds import FORMATS, Channel, Feeds, channels, feed_bytes, feed_path
from digest.html.theme import FeedLink, Theme, environment, render_template, static_files
from digest.incremental.pagekeys import Fresh, Made, PageKeys, Reuse, reuse, same, theme_print
from digest.model import IssueView, ItemView, Output, Site, SourceView, TopicView, Urls
from digest.sitemap import machine_files
from digest.system.registry import Registry

T = TypeVar("T")


# The pages a pager links on each side of the current one (besides the first and the last).
PAGER_REACH = 2


@dataclass(frozen=True)
class Pager:
    number: int
    count: int
    prev: str | None
    next: str | None
    pages: tuple[tuple[int, str], ...]  # every page of the list: (number, URL)
    # What a page links: the first and last pages and PAGER_REACH pages on each side of
    # this one; None where pages are left out (an ellipsis). A list of 400 pages shows at
    # most nine, and its pages do not grow with it.
    window: tuple[tuple[int, str] | None, ...] = ()


@dataclass(frozen=True)
class Page:
    """One page to render: where it goes, with which template and variables."""

    url: str
    template: str
    context: dict[str, object]
    crumbs: tuple[tuple[str, str], ...] = ()
    updated: datetime | None = None  # for the sitemap
    own_feed: Channel | None = None  # a topic's or a source's own feed
    file: str = ""  # the file it is written to, when not its route's (an email edition)
    listed: bool = True  # in the sitemap
    email: bool = False  # an issue's email edition: its CSS inlined, its links absolute

    @property
    def path(self) -> str:
        return self.file or Urls.file(self.url)


@dataclass(frozen=True)
class Job:
    """One file to render: a page from a template, or one of a feed's files (`feed`: the
    channel and the name of its format in FORMATS)."""

    path: str
    page: Page | None
    feed: tuple[Channel, str] | None = None

    @property
    def email(self) -> bool:
        return self.page is not None and self.page.email


@dataclass(frozen=True)
class Plan:
    """Every file of the site: the templated ones still to render (each with the fingerprint
    of all it depends on, None when unknown, made when first asked for), and the rest
    already made."""

    env: jinja2.Environment
    site: Site
    jobs: tuple[Job, ...]
    keys: Keys
    files: tuple[Output, ...]
    site_feeds: tuple[FeedLink, ...]  # the site's own feeds, every page shows them


@dataclass(frozen=True)
class Shared:
    """What every kind of page may use besides the site: the theme's words and the feeds of
    topic and source pages (by their route)."""

    _: Callable[[str], str]
    feeds: Feeds
    reuse: Reuse | None = None  # `digest serve`: what the last build made

    @property
    def home(self) -> tuple[str, str]:
        """The first breadcrumb of every page but the home page."""
        return (self._("Home"), Urls.HOME)

    def made(self, kind: Hashable) -> Made:
        """The pages of one kind (`kind`: all they are made of but their source object),
        each by the object it is made of: in `digest serve`, the page the last build made
        of that very object (an unchanged item's view), else a new one."""
        return self.reuse.table(kind) if self.reuse is not None else Fresh()


Producer = Callable[[Site, Shared], Iterable[Page]]
PAGES: Registry[Producer] = Registry()


def plan(site: Site, theme: Theme) -> Plan:
    """What the site is made of; nothing is rendered from a template yet. In `digest
    serve` (inside pagekeys.kept), what is made of the same objects as in the last build
    (pages, feed entries, jobs) is that build's, and so are the keys of its jobs."""
    memo = reuse()
    if memo is not None:
        site = _steady(site, memo)
    feeds = channels(site, theme.translation.gettext, memo)
    issue_feeds, item_feeds = _links(site, feeds.issues), _links(site, feeds.items)
    env = environment(theme, site, issue_feeds, item_feeds)
    shared = Shared(theme.translation.gettext, feeds, memo)
    listed = [page for produce in PAGES for page in produce(site, shared)]
    by_page = shared.made("job")
    jobs = [by_page.of(p, lambda p: Job(p.path, p)) for p in listed]
    by_feed = [(name, shared.made(("feed job", name, site.urls))) for name in FORMATS.names()]
    jobs += [made.of(c, partial(_feed_job, site, name)) for c in feeds for name, made in by_feed]
    shown = [(p.url, p.updated) for p in listed if p.listed]
    files = list(machine_files(site.urls, shown, site.settings.cname) if memo is None else
                 memo.once("machine files", (site.urls, site.settings.cname, _days(shown)),
                           lambda _: machine_files(site.urls, shown, site.settings.cname)))
    # The theme's files: in `digest serve`, read again only when they changed (a build after
    # a theme change is a full one, but keeps this memo).
    files += static_files(theme.dirs) if memo is None else \
        memo.once("static files", (tuple(theme.dirs), theme_print(theme.dirs)),
                  lambda _: static_files(theme.dirs))
    return Plan(env, site, tuple(jobs), Keys(jobs, site, theme, env), tuple(files),
                tuple(issue_feeds + item_feeds))


def render_job(plan: Plan, job: Job) -> bytes:
    """The bytes of one templated file."""
    if job.feed is not None:
        return feed_bytes(plan.site, *job.feed)
    assert job.page is not None
    data = _render(plan, job.page)
    if job.email:
        data = email_edition(data, plan.site.urls.absolute(job.page.url))
    return data


def render(site: Site, theme: Theme) -> list[Output]:
    """Every file of the site, in memory; nothing is written here."""
    made = plan(site, theme)
    return [Output(j.path, render_job(made, j)) for j in made.jobs] + list(made.files)


class Keys(Mapping[str, str | None]):
    """Each job's key (digest/incremental/pagekeys.py): what it is made from. Every page
    shares `site`, the settings rendering uses and the site's feeds; a feed, the site's
    fields it shows. A key is made when first asked for: a rebuild asks for every file the
    output folder holds (is it fresh?), a cold build only where a file is rendered (in a
    worker process), so that fingerprinting 12,000 pages is shared between the cores."""

    def __init__(self, jobs: Sequence[Job], site: Site, theme_: Theme, env: jinja2.Environment
                 ) -> None:
        settings = (site.urls, site.language, site.timezone, site.settings)
        keys = PageKeys(settings, env, theme_.dirs, theme_.cache)
        self._pages = keys.templated({"site": site}, env.globals["site_feeds"])
        self._feeds = keys.plain(site.title, site.description, site.base_url, site.language,
                                 site.author)
        self._site = site
        self._jobs = {job.path: job for job in jobs}
        self._made: dict[str, str | None] = {}

    def __getitem__(self, path: str) -> str | None:
        if path in self._made:
            return self._made[path]
        job = self._jobs[path]
        page = job.page
        family = self._feeds if page is None else self._pages
        known, key = family.recall(job)  # a job of the last build: its key
        if known:
            pass
        elif page is None:
            key = self._feeds.key({}, job.feed, file=path, whole=job)
        else:
            own = _links(self._site, page.own_feed) if page.own_feed else []
            key = self._pages.key(page.context, job.email, page.url, page.template,
                                  page.crumbs, own, file=path, whole=job)
        self._made[path] = key
        return key

    def __iter__(self) -> Iterator[str]:
        return iter(self._jobs)

    def __len__(self) -> int:
        return len(self._jobs)


# --- the kinds of page, in the order they are made ----------------------------------------

def home(site: Site, shared: Shared) -> Iterator[Page]:
    """The latest issue (the archive, empty, before the first one)."""
    if site.latest is not None:
        yield Page(Urls.HOME, "issue.html", {"issue": site.latest, "is_home": True}, (),
                   site.updated)
    else:
        yield Page(Urls.HOME, "archive.html", {"years": []})


def issues(site: Site, shared: Shared) -> Iterator[Page]:
    crumbs = (shared.home, (shared._("Archive"), Urls.ISSUES))
    made = shared.made(("issue", crumbs))
    for issue in site.issues:
        yield made.of(issue, lambda issue: Page(
            issue.url, "issue.html", {"issue": issue, "is_home": False}, crumbs,
            _newest(issue.items)))


def archive(site: Site, shared: Shared) -> Iterator[Page]:
    yield Page(Urls.ISSUES, "archive.html", {"years": _years(site.issues)}, (shared.home,),
               site.updated)


def topics(site: Site, shared: Shared) -> Iterator[Page]:
    yield Page(Urls.TOPICS, "topics.html", {"topics": site.topics}, (shared.home,), site.updated)


def topic(site: Site, shared: Shared) -> Iterator[Page]:
    """Each topic's items, a page of them at a time."""
    crumbs = (shared.home, (shared._("Topics"), Urls.TOPICS))
    for t in site.topics:
        yield from _paged(site, shared, "topic.html", "topic", t, crumbs)


def sources(site: Site, shared: Shared) -> Iterator[Page]:
    yield Page(Urls.SOURCES, "sources.html", {"sources": site.sources}, (shared.home,),
               site.updated)


def source(site: Site, shared: Shared) -> Iterator[Page]:
    """Each source's items, a page of them at a time."""
    crumbs = (shared.home, (shared._("Sources"), Urls.SOURCES))
    for s in site.sources:
        yield from _paged(site, shared, "source.html", "source", s, crumbs)


def item(site: Site, shared: Shared) -> Iterator[Page]:
    archive = (shared._("Archive"), Urls.ISSUES)
    home = shared.home
    made = shared.made(("item", home, archive))
    for entry in site.items:
        yield made.of(entry, lambda entry: Page(
            entry.url, "item.html", {"entry": entry},
            (home, archive, (entry.issue.title, entry.issue.url)), entry.item.published))


def page(site: Site, shared: Shared) -> Iterator[Page]:
    """The free pages (content/pages/)."""
    for p in site.pages:
        yield Page(p.url, "page.html", {"page": p}, (shared.home,))


def search(site: Site, shared: Shared) -> Iterator[Page]:
    if site.settings.search:
        # the index's parts beyond the first, for its UI to search too (digest/search.py)
        more = tuple(Urls.search_part(n) for n in range(2, len(site.search_parts) + 1))
        yield Page(Urls.SEARCH, "search.html", {"more_bundles": more}, (shared.home,))


def not_found(site: Site, shared: Shared) -> Iterator[Page]:
    """Served for every missing address: no breadcrumbs, not in the sitemap."""
    yield Page(Urls.NOT_FOUND, "404.html", {}, listed=False)


def email(site: Site, shared: Shared) -> Iterator[Page]:
    """Each issue's email edition, at the issue's address (its links are absolute)."""
    made = shared.made("email")
    for i in site.issues:
        yield made.of(i, lambda i: Page(i.url, "email.html", {"issue": i},
                                          file=Urls.email(i.week), listed=False, email=True))


PAGES.register(home, "home", 120)
PAGES.register(issues, "issues", 110)
PAGES.register(archive, "archive", 100)
PAGES.register(topics, "topics", 90)
PAGES.register(topic, "topic", 80)
PAGES.register(sources, "sources", 70)
PAGES.register(source, "source", 60)
PAGES.register(item, "item", 50)
PAGES.register(page, "page", 40)
PAGES.register(search, "search", 30)
PAGES.register(not_found, "404", 20)
PAGES.register(email, "email", 10)


def _paged(site: Site, shared: Shared, template: str, name: str, owner: TopicView | SourceView,
           crumbs: tuple[tuple[str, str], ...]) -> list[Page]:
    """A topic's or a source's pages (`name`: "topic" or "source", its variable). In `digest
    serve`, the pages of a topic the last build had (see `_steady`) are that build's."""
    own = shared.feeds.pages.get(owner.url)

    def make(owner: TopicView | SourceView) -> list[Page]:
        return [Page(Urls.numbered(owner.url, pager.number), template,
                     {name: owner, "items": shown, "pager": pager}, crumbs, _newest(shown), own)
                for pager, shown in _paginate(owner.url, owner.items, site.settings.page_size)]

    made: list[Page] = shared.made((template, name, crumbs, site.settings.page_size)).of(
        owner, make, own)
    return made


def _steady(site: Site, memo: Reuse) -> Site:
    """The site with each topic and source the last build's object where it is the same
    in all a page can show of it (pagekeys.same: an item by the hash of its file), and
    their lists the last build's where they hold the same objects: the pages that show them
    all (topics/, sources/) and each one's own pages are made of the same objects again."""
    topics = _kept_views(memo, "topics", site.topics)
    sources = _kept_views(memo, "sources", site.sources)
    if topics is site.topics and sources is site.sources:
        return site
    return replace(site, topics=topics, sources=sources)


V = TypeVar("V", TopicView, SourceView)


def _kept_views(memo: Reuse, name: str, views: tuple[V, ...]) -> tuple[V, ...]:
    kept = tuple(memo.once((name, v.url), v, _itself, same) for v in views)
    found: tuple[V, ...] = memo.once(name, kept, _itself, _identical)
    return found


def _itself(value: T) -> T:
    return value


def _identical(a: Sequence[object], b: Sequence[object]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _feed_job(site: Site, name: str, chan: Channel) -> Job:
    return Job(feed_path(site, chan, name), None, feed=(chan, name))


def _days(shown: list[tuple[str, datetime | None]]) -> list[tuple[str, date | None]]:
    """What the sitemap shows of each page: its route and the day it last changed."""
    return [(url, changed.date() if changed is not None else None) for url, changed in shown]


def _newest(items: Sequence[ItemView]) -> datetime | None:
    return max((v.item.published for v in items), default=None)


def _links(site: Site, chan: Channel) -> list[FeedLink]:
    return [FeedLink(chan.title, feed_path(site, chan, name), f.media_type, f.label)
            for name, f in zip(FORMATS.names(), FORMATS, strict=True)]


def _render(plan: Plan, page: Page) -> bytes:
    own = _links(plan.site, page.own_feed) if page.own_feed else []
    return render_template(plan.env, page.template, page.context, page_url=page.url,
                           breadcrumbs=list(page.crumbs), feeds=[*plan.site_feeds, *own],
                           own_feeds=own).encode("utf-8")


def _paginate(url: str, items: Sequence[ItemView], size: int
              ) -> Iterator[tuple[Pager, tuple[ItemView, ...]]]:
    count = max(1, math.ceil(len(items) / size))
    links = tuple((n, Urls.numbered(url, n)) for n in range(1, count + 1))
    for n in range(1, count + 1):
        yield (Pager(n, count, links[n - 2][1] if n > 1 else None,
                     links[n][1] if n < count else None, links, _window(links, n)),
               tuple(items[(n - 1) * size: n * size]))


def _window(links: tuple[tuple[int, str], ...], n: int
            ) -> tuple[tuple[int, str] | None, ...]:
    """The links page `n` shows (see Pager.window): a gap of one page is that page's link,
    not an ellipsis, which would take the same room."""
    count = len(links)
    shown = sorted({1, count, *range(max(1, n - PAGER_REACH), min(count, n + PAGER_REACH) + 1)})
    window: list[tuple[int, str] | None] = []
    before = 0  # the last page shown
    for m in shown:
        if m - before == 2:
            window.append(links[m - 2])
        elif m - before > 2:
            window.append(None)
        window.append(links[m - 1])
        before = m
    return tuple(window)


def _years(issues: Sequence[IssueView]) -> list[tuple[int, list[IssueView]]]:
    years: dict[int, list[IssueView]] = {}
    for issue in issues:
        years.setdefault(int(issue.week[:4]), []).append(issue)
    return sorted(years.items(), reverse=True)
