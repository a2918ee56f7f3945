"""Stage 5: Corpus + rules -> Selection. Which items are in which week's issue, and why.

Pure: no I/O, no formatting of dates. For every item, one decision with one reason:
  1. week and topics (the editor's `issue:` and `topics:` win over computed ones; topics an
     older fetch wrote into a file are not the editor's: digest/legacy.py tells them apart);
  2. duplicates (same link without tracking parameters, or the same title within a week)
     fold into one;
  3. per week: the editor's overrides, then the rules' filters (RULES, in order: the first
     that leaves an item out gives the reason), then ranking by score and the caps applied
     in rank order.

A new filter is one function `(Seen) -> reason or None` in rules.py and one line
`RULES.register(function, name, priority)`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from digest.config import Config
from digest.content import legacy
from digest.html.links import canonical
from digest.model import Corpus, Decision, Item, Selection
from digest.rules import RULES, Rules, Seen, Texts
from digest.text.patterns import Matcher
from digest.text.weeks import next_week, week_of, window_start

# Two items with the same title are one story when published at most this far apart.
TITLE_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class _Candidate:
    item: Item
    week: str
    when: datetime  # the item's date for issue purposes: never after first_seen
    natural: str  # the week of `when` ("" when the editor's `issue:` says the week)
    topics: tuple[str, ...]
    topics_by_editor: bool
    topics_note: str  # said in the reason when an old file's topics are read by a guess
    refusal: str | None  # why the rules leave it out (None: they don't)
    base_score: float
    score_parts: tuple[str, ...]


def select(corpus: Corpus, config: Config, memo: Memo | None = None) -> Selection:
    """A decision for every item in the corpus. `memo`: what an earlier selection of the
    same config worked out (`digest serve` keeps one): the result is the same, sooner."""
    if memo is None:
        judge = _Judge(config)
        candidates = [judge.candidate(item) for item in corpus.items]
        keys = [_keys(c.item) for c in candidates]
    else:
        judge = memo.judge(config)
        candidates, keys = memo.candidates(judge, corpus.items)
    winners, losers = _fold_duplicates(candidates, keys)
    decisions: list[Decision] = list(losers)
    by_week: dict[str, list[tuple[_Candidate, tuple[str, ...]]]] = defaultdict(list)
    for cand, sources in winners:
        by_week[cand.week].append((cand, sources))
    carried: list[tuple[_Candidate, tuple[str, ...]]] = []
    for week in sorted(by_week):
        # Items cut by a cap last week compete again (carry_over), if this week follows it.
        pool = by_week[week] + [(replace(c, week=week), s) for c, s in carried
                                if next_week(c.week) == week]
        chosen, rest, carried = memo.week(judge, week, pool) if memo else judge.week(week, pool)
        decisions += chosen + rest
    order = {w: i for i, w in enumerate(sorted({d.week for d in decisions}))}
    position = {id(d): i for i, d in enumerate(decisions)}
    decisions.sort(key=lambda d: (order[d.week], not d.selected, position[id(d)]))
    return Selection(tuple(decisions))


Pool = list[tuple["_Candidate", tuple[str, ...]]]  # a week's candidates, with their sources
Weighed = tuple[list[Decision], list[Decision], Pool]  # what _Judge.week returns


class Memo:
    """What `select` keeps between the builds of one `digest serve`: each item's candidate
    (its week, topics, base score and the rules' verdict: most of the work), by the item
    object (serve keeps an item's object while its file is unchanged), and each week's
    decisions, by the candidates the week weighed. A selection with a memo equals one
    without: only pure functions of those inputs are remembered."""

    def __init__(self) -> None:
        self._config: Config | None = None
        self._judge: _Judge | None = None
        self._candidates: dict[int, tuple[Item, _Candidate, tuple[str, str]]] = {}
        self._weeks: dict[str, tuple[Pool, Weighed]] = {}
        self._weeks_now: dict[str, tuple[Pool, Weighed]] = {}

    def judge(self, config: Config) -> _Judge:
        """The judge of `config`; another config object forgets everything."""
        if self._judge is None or self._config is not config:
            self._config, self._judge = config, _Judge(config)
            self._candidates, self._weeks, self._weeks_now = {}, {}, {}
        if self._weeks_now:  # the last selection's weeks are the ones to compare with
            self._weeks, self._weeks_now = self._weeks_now, {}
        return self._judge

    def candidates(self, judge: _Judge, items: tuple[Item, ...]
                   ) -> tuple[list[_Candidate], list[tuple[str, str]]]:
        """Each item's candidate and duplicate keys, worked out once per item object."""
        known, kept = self._candidates, {}
        candidates, keys = [], []
        for item in items:
            entry = known.get(id(item))
            if entry is None or entry[0] is not item:
                cand = judge.candidate(item)
                entry = (item, cand, _keys(item))
            kept[id(item)] = entry  # holds the item: its id stays its own
            candidates.append(entry[1])
            keys.append(entry[2])
        self._candidates = kept
        return candidates, keys

    def week(self, judge: _Judge, week: str, pool: Pool) -> Weighed:
        """`judge.week(week, pool)`, or what it gave for an equal pool last time."""
        last = self._weeks.get(week)
        done = last[1] if last is not None and last[0] == pool else judge.week(week, pool)
        self._weeks_now[week] = (pool, done)
        return done


class _Judge:
    """The rules of one config, applied."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.zone = ZoneInfo(config.site.timezone)
        self.sel = config.selection
        self.feeds = {f.slug: f for f in config.feeds}
        self.keywords = [(t.slug, Matcher(t.keywords)) for t in config.topics if t.keywords]
        self.by_tag: dict[str, list[str]] = defaultdict(list)  # a tag's topics
        for t in config.topics:
            for tag in dict.fromkeys(tag.casefold() for tag in t.tags):
                self.by_tag[tag].append(t.slug)
        self.weeks: dict[date, str] = {}  # the week of a day in the site's time zone
        self.weights = [(k, Matcher((k,)), w) for k, w in self.sel.weights.keywords.items()]
        self.order = {t.slug: i for i, t in enumerate(config.topics)}
        self.matchers: dict[tuple[str, ...], Matcher] = {}
        self.by_feed = {f.slug: f.rules.apply(self.sel.rules) for f in config.feeds}
        self.filtering = tuple(RULES)  # in order, as they were when this judge was made

    def rules(self, item: Item) -> Rules:
        return self.by_feed.get(item.source, self.sel.rules)

    def matcher(self, patterns: tuple[str, ...]) -> Matcher:
        if patterns not in self.matchers:
            self.matchers[patterns] = Matcher(patterns)
        return self.matchers[patterns]

    def candidate(self, item: Item) -> _Candidate:
        when = min(item.published, item.first_seen) if item.first_seen else item.published
        natural = "" if item.issue else self.week_of(when)
        week = item.issue or natural
        texts = Texts(item)
        topics, by_editor = self.topics(item, texts)
        note = ""
        if item.topics_origin == "unsure":
            note = ("; topics from the front matter of an old file (see `digest check`)"
                    if by_editor else "; computed topics: the old file's topics equal its "
                    "feed's, as an older fetch wrote them (see `digest check`)")
        elif by_editor:
            note = "; topics from the front matter"
        score, parts = self.base_score(item, topics, texts)
        refusal = self.filters(item, topics, texts)
        return _Candidate(item, week, when, natural, topics, by_editor, note, refusal, score, parts)

    def week_of(self, when: datetime) -> str:
        day = when.astimezone(self.zone).date()
        week = self.weeks.get(day)
        if week is None:
            week = self.weeks[day] = week_of(when, self.zone, self.sel.week_starts)
        return week

    def topics(self, item: Item, texts: Texts) -> tuple[tuple[str, ...], bool]:
        """The editor's `topics:` when the file has them (legacy.editors: not those an older
        fetch wrote); else the feed's plus every topic whose tags or keywords match."""
        feed = self.feeds.get(item.source)
        feed_topics = feed.topics if feed else ()
        if legacy.editors(item.topics, item.topics_origin, feed_topics):
            return item.topics, True
        found = list(feed_topics)
        for tag in item.tags:
            found += self.by_tag.get(tag.casefold(), ())
        found += [slug for slug, matcher in self.keywords
                  if slug not in found and matcher.first(*texts.topical)]
        if len(found) > 1:
            found = sorted(dict.fromkeys(found), key=lambda s: self.order.get(s, len(self.order)))
        return tuple(found), False

    def base_score(self, item: Item, topics: tuple[str, ...],
                   texts: Texts) -> tuple[float, tuple[str, ...]]:
        w = self.sel.weights
        parts: list[tuple[str, float]] = []
        feed = self.feeds.get(item.source)
        if item.source in w.sources:
            parts.append((f"source {item.source}", w.sources[item.source]))
        if feed and feed.rules.weight:
            parts.append((f"feed weight {item.source}", feed.rules.weight))
        parts += [(f"topic {t}", w.topics[t]) for t in topics if t in w.topics]
        parts += [(f"keyword {k}", weight) for k, matcher, weight in self.weights
                  if matcher.first(*texts.whole)]
        return sum(v for _, v in parts), tuple(f"{name} {v:+g}" for name, v in parts)

    def week(self, week: str, pool: list[tuple[_Candidate, tuple[str, ...]]]
             ) -> tuple[list[Decision], list[Decision], list[tuple[_Candidate, tuple[str, ...]]]]:
        """One issue: (selected in issue order, the rest, the candidates to carry over)."""
        start = window_start(week, self.zone, self.sel.week_starts)
        forced: list[Decision] = []
        eligible: list[tuple[_Candidate, tuple[str, ...], float, float]] = []
        rest: list[Decision] = []
        for cand, sources in pool:
            score, recency = self.score(cand, start)
            verdict = self.override(cand)
            if verdict is not None:
                selected, reason = verdict
                (forced if selected else rest).append(
                    self.decide(cand, sources, selected, reason, score))
                continue
            if cand.refusal is not None:
                rest.append(self.decide(cand, sources, False, cand.refusal, score))
            else:
                eligible.append((cand, sources, score, recency))
        eligible.sort(key=lambda e: (-e[2], -e[0].when.timestamp(), e[0].item.id))
        chosen, cut = self.caps(forced, eligible)
        carry = [(c, s) for c, s, _ in cut if self.sel.carry_over and not c.item.issue
                 and c.week == c.natural]  # carried once at most
        rest += [self.decide(c, s, False, reason, self.score(c, start)[0]) for c, s, reason in cut]
        chosen.sort(key=lambda d: (not d.pinned, -d.score, -d.item.published.timestamp(),
                                   d.item.id))
        return chosen, rest, carry

    def score(self, cand: _Candidate, start: datetime) -> tuple[float, float]:
        """Base score plus recency (the week's newest item gets `weights.recency`), and the
        recency."""
        position = (cand.when - start) / timedelta(days=7)
        recency = self.sel.weights.recency * min(1.0, max(0.0, position))
        return round(cand.base_score + recency, 4), recency

    def override(self, cand: _Candidate) -> tuple[bool, str] | None:
        """The editor's word (or a feed's select = "all"), which no rule overrules."""
        item = cand.item
        if item.status == "rejected":
            return False, "rejected by the editor (status: rejected)"
        if item.pinned:
            return True, "selected: pinned by the editor (pinned: true)"
        if item.status == "selected":
            return True, "selected by the editor (status: selected)"
        feed = self.feeds.get(item.source)
        if feed and feed.rules.select_all:
            return True, f'selected: every item of {item.source} is (select = "all")'
        return None

    def filters(self, item: Item, topics: tuple[str, ...], texts: Texts) -> str | None:
        """Why the first of the RULES that leaves an item out does, or None."""
        seen = Seen(item, topics, texts, self.rules(item), self.matcher)
        for rule in self.filtering:
            if (why := rule(seen)) is not None:
                return why
        return None

    def caps(self, forced: list[Decision],
             eligible: list[tuple[_Candidate, tuple[str, ...], float, float]]
             ) -> tuple[list[Decision], list[tuple[_Candidate, tuple[str, ...], str]]]:
        """Caps applied in rank order; forced items fill slots first but are never cut."""
        per_source: dict[str, int] = defaultdict(int)
        per_topic: dict[str, int] = defaultdict(int)
        chosen = list(forced)
        for d in forced:
            per_source[d.item.source] += 1
            if d.topics:
                per_topic[d.topics[0]] += 1
        cut = []
        for rank, (cand, sources, score, recency) in enumerate(eligible, 1):
            rules = self.rules(cand.item)
            topic = cand.topics[0] if cand.topics else None
            reason = None
            if rules.max_items is not None and len(chosen) >= rules.max_items:
                reason = f"cut: max_items = {rules.max_items}"
            elif rules.max_per_source is not None and \
                    per_source[cand.item.source] >= rules.max_per_source:
                reason = f"cut: max_per_source = {rules.max_per_source} for {cand.item.source}"
            elif topic and rules.max_per_topic is not None and \
                    per_topic[topic] >= rules.max_per_topic:
                reason = f"cut: max_per_topic = {rules.max_per_topic} for {topic}"
            if reason is not None:
                cut.append((cand, sources, f"{reason} (rank {rank}, score {score:g})"))
                continue
            per_source[cand.item.source] += 1
            if topic:
                per_topic[topic] += 1
            why = ", ".join([*cand.score_parts, f"recency {recency:+.2f}"])
            chosen.append(self.decide(cand, sources, True,
                                      f"selected: rank {rank}, score {score:g} ({why})", score))
        return chosen, cut

    def decide(self, cand: _Candidate, sources: tuple[str, ...], selected: bool, reason: str,
               score: float) -> Decision:
        if cand.item.issue:
            reason += f"; in {cand.week} by the editor (issue: {cand.item.issue})"
        elif cand.week != cand.natural:
            reason += f"; carried over from {cand.natural}"
        return Decision(cand.item, cand.week, cand.topics, selected, reason + cand.topics_note,
                        score, cand.item.pinned and selected, None, sources,
                        cand.topics_by_editor)


def _fold_duplicates(candidates: list[_Candidate], keys: list[tuple[str, str]]
                     ) -> tuple[list[tuple[_Candidate, tuple[str, ...]]], list[Decision]]:
    """Copies of one story (same clean link, or same title) become one: the editor's choice
    wins, then the higher score, then the first published, then the smaller id."""
    parent = list(range(len(candidates)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[str, int] = {}
    by_title: dict[str, list[int]] = defaultdict(list)
    for i, (link, title) in enumerate(keys):
        if link:
            if link in seen:
                parent[find(i)] = find(seen[link])
            else:
                seen[link] = i
        if len(title) >= 12:  # "Links", "Update" clash
            by_title[title].append(i)
    # The same title is the same story only when the copies are near in time: a recurring
    # "Monthly open thread" is a new post each month.
    for copies in by_title.values():
        copies.sort(key=lambda i: candidates[i].when)
        for a, b in itertools.pairwise(copies):
            if candidates[b].when - candidates[a].when <= TITLE_WINDOW:
                parent[find(b)] = find(a)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(candidates)):
        groups[find(i)].append(i)
    winners: list[tuple[_Candidate, tuple[str, ...]]] = []
    losers: list[Decision] = []
    for members in groups.values():
        if len(members) == 1:  # the commonest case by far: no copy
            winners.append((candidates[members[0]], (candidates[members[0]].item.source,)))
            continue
        members.sort(key=lambda i: _precedence(candidates[i]))
        first, link = candidates[members[0]], keys[members[0]][0]
        group = [candidates[i] for i in members]
        sources = tuple(dict.fromkeys(c.item.source for c in group))
        winners.append((first, sources))
        for i in members[1:]:
            other = candidates[i]
            why = _why_first(first, other)
            same = "same link" if link and keys[i][0] == link else "same title"
            reason = (f"duplicate of {first.item.id} from {first.item.source} ({same}); "
                      f"that copy is kept: {why}")
            losers.append(Decision(other.item, first.week, other.topics, False, reason,
                                   other.base_score, False, first.item.id, (),
                                   other.topics_by_editor))
    return winners, losers


def _precedence(c: _Candidate) -> tuple[int, float, float, str]:
    status = c.item.status
    editor = 2 if status == "rejected" else 0 if (status == "selected" or c.item.pinned) else 1
    return (editor, -c.base_score, c.when.timestamp(), c.item.id)


def _why_first(first: _Candidate, other: _Candidate) -> str:
    a, b = _precedence(first), _precedence(other)
    if a[0] != b[0]:
        return "the editor chose it" if a[0] == 0 else "this copy was rejected"
    if a[1] != b[1]:
        return "it scores higher"
    if a[2] != b[2]:
        return "it was published first"
    return "its id comes first"


def _keys(item: Item) -> tuple[str, str]:
    """What tells copies of one story apart: the clean link, and the title's key."""
    return canonical(item.link) if item.link else "", _title_key(item.title)


def _title_key(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())
