"""Stage 6: Selection -> Site: issues, topics, sources, items and pages with their URLs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from digest.config import Config
from digest.model import (
    Corpus,
    Decision,
    Health,
    IssueView,
    ItemView,
    PageView,
    Ref,
    Section,
    Selection,
    Site,
    SourceView,
    TopicView,
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
) -> Site:
    """Arrange the selected items into the site; rejected items, draft issues and weeks with
    no selected item (an introduction alone is no issue) stay out.

    `default_title` names an issue whose file gives no title ('2026-W11' -> 'Неделя 11, 2026').
    `declared`: the language each feed declared when last fetched (by feed slug).
    """
    files = {f.week: f for f in corpus.issues}
    hidden = {w for w, f in files.items() if f.draft and not drafts}
    chosen = [d for d in selection.decisions if d.selected and d.week not in hidden]
    by_week: dict[str, list[Decision]] = defaultdict(list)
    for d in chosen:
        by_week[d.week].append(d)
    weeks = sorted(by_week, reverse=True)  # an issue with no selected item is not published

    topic_order = {t.slug: i for i, t in enumerate(config.topics)}
    topic_refs = {t.slug: Ref(t.slug, t.title, f"topics/{t.slug}/") for t in config.topics}
    source_refs = {f.slug: Ref(f.slug, f.title, f"sources/{f.slug}/") for f in config.feeds}
    titles = {w: (files[w].title if w in files else "") or default_title(w) for w in weeks}
    issue_refs = {w: Ref(week_slug(w), titles[w], f"issues/{week_slug(w)}/") for w in weeks}

    feed_langs = {f.slug: f.language or (declared or {}).get(f.slug, "") for f in config.feeds}

    def view(d: Decision) -> ItemView:
        sources = tuple(source_refs[s] for s in (d.sources or (d.item.source,)))
        return ItemView(d.item, f"items/{d.item.slug}/", source_refs[d.item.source],
                        tuple(topic_refs[t] for t in d.topics), issue_refs[d.week],
                        sources=sources, lang=_lang(d.item.language or feed_langs[d.item.source],
                                                    config.site.language))

    zone = ZoneInfo(config.site.timezone)
    views: dict[str, ItemView] = {}
    issues = []
    for i, week in enumerate(weeks):
        sections = _sections([view(d) for d in by_week[week]], topic_order)
        ordered = [v for s in sections for v in s.items]
        for n, v in enumerate(ordered):
            views[v.item.id] = replace(
                v,
                prev=_ref(ordered[n - 1]) if n > 0 else None,
                next=_ref(ordered[n + 1]) if n + 1 < len(ordered) else None,
            )
        sections = [Section(s.topic, tuple(views[v.item.id] for v in s.items)) for s in sections]
        start = window_start(week, zone, config.selection.week_starts)
        f = files.get(week)
        issues.append(IssueView(
            week=week, slug=week_slug(week), url=issue_refs[week].url,
            title=titles[week], intro_html=f.intro_html if f else "",
            start=start, end=start + timedelta(days=6),
            items=tuple(views[v.item.id] for v in ordered), sections=tuple(sections),
            prev=issue_refs[weeks[i + 1]] if i + 1 < len(weeks) else None,
            next=issue_refs[weeks[i - 1]] if i > 0 else None,
        ))

    items = sorted(views.values(), key=lambda v: (-v.item.published.timestamp(), v.item.slug))
    by_topic: dict[str, list[ItemView]] = defaultdict(list)
    by_source: dict[str, list[ItemView]] = defaultdict(list)
    for v in items:  # newest first, as each topic and source lists them
        for r in dict.fromkeys(v.topics):
            by_topic[r.slug].append(v)
        for r in dict.fromkeys(v.sources):
            by_source[r.slug].append(v)
    topics = tuple(TopicView(t.slug, t.title, t.description, f"topics/{t.slug}/",
                             tuple(by_topic[t.slug])) for t in config.topics)
    sources = tuple(SourceView(f.slug, f.title, f"sources/{f.slug}/", f.homepage, f.url,
                               tuple(by_source[f.slug]), (health or {}).get(f.slug))
                    for f in config.feeds)
    pages = tuple(PageView(p.slug, p.title, f"pages/{p.slug}/", p.html) for p in corpus.pages)
    site = config.site
    return Site(
        title=site.title, description=site.description, base_url=site.base_url,
        language=site.language, timezone=site.timezone, author=site.author,
        issues=tuple(issues), topics=topics, sources=sources, items=tuple(items), pages=pages,
        updated=max((v.item.published for v in items), default=None),
    )


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
