"""Stage 5: Corpus + rules -> Selection: which items are in which week's issue, and why. Pure."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from digest.config import Config, TopicConfig
from digest.markup import strip_tags
from digest.model import Corpus, Decision, Item, Selection


def select(corpus: Corpus, config: Config) -> Selection:
    """A decision for every item: its week, its topics, in or out, and the reason."""
    zone = ZoneInfo(config.site.timezone)
    matchers = [(t, _matcher(t)) for t in config.topics]
    decisions = []
    for item in corpus.items:
        week = item.issue or _iso_week(item, zone)
        topics = _topics(item, config, matchers)
        if item.status == "rejected":
            selected, reason = False, "rejected by the editor (status: rejected)"
        elif item.status == "selected":
            selected, reason = True, "selected by the editor (status: selected)"
        else:
            selected, reason = True, f"published in {week}"
        if item.issue:
            reason += f"; moved to {item.issue} by the editor (issue:)"
        decisions.append(Decision(item, week, topics, selected, reason))
    decisions.sort(key=lambda d: (d.week, not d.item.pinned, -d.item.published.timestamp(),
                                  d.item.slug))
    return Selection(tuple(decisions))


def _iso_week(item: Item, zone: ZoneInfo) -> str:
    """The week an item belongs to: that of its date, but never later than when it was first
    seen, so a source that rewrites its dates cannot push old posts into a new issue."""
    when = min(item.published, item.first_seen) if item.first_seen else item.published
    year, week, _ = when.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def _topics(item: Item, config: Config,
            matchers: list[tuple[TopicConfig, re.Pattern[str] | None]]) -> tuple[str, ...]:
    """The item's own topics, its feed's, and every topic whose keywords match it."""
    feed = config.feed(item.source)
    found = list(item.topics) + list(feed.topics if feed else ())
    text = "\n".join([item.title, *item.tags, strip_tags(item.html)])
    found += [t.slug for t, pattern in matchers if pattern is not None and pattern.search(text)]
    order = {t.slug: i for i, t in enumerate(config.topics)}
    return tuple(sorted(dict.fromkeys(found), key=lambda s: order.get(s, len(order))))


def _matcher(topic: TopicConfig) -> re.Pattern[str] | None:
    """One case-insensitive pattern for a topic's keywords: words with word boundaries,
    or `/regex/` as written."""
    parts = []
    for keyword in topic.keywords:
        if len(keyword) > 2 and keyword.startswith("/") and keyword.endswith("/"):
            parts.append(f"(?:{keyword[1:-1]})")
        elif keyword.strip():
            words = r"\s+".join(re.escape(w) for w in keyword.split())
            parts.append(rf"(?<!\w){words}(?!\w)")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None
