"""The editorial rules: what digest.toml says of them ([selection] and per-feed overrides
-> frozen Rules, validated), and the named rules that may leave an item out (RULES, in the
order they are tried). Weeks, topics, scores and caps are applied by select.py."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, TypedDict, cast

from digest.errors import did_you_mean
from digest.model import Item
from digest.system.registry import Registry
from digest.text.patterns import Matcher, check_pattern

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Rules:
    """The rules one item is judged by (the site's, with its feed's overrides)."""

    max_items: int | None = None  # per issue
    max_per_source: int | None = None
    max_per_topic: int | None = None
    min_words: int = 0
    require_topics: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Weights:
    """Points added to an item's score; items are ranked by score, caps cut in rank order."""

    sources: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    topics: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    keywords: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    recency: float = 1.0  # the newest item of a week gets this much, the oldest none


@dataclass(frozen=True)
class SelectionConfig:
    week_starts: int = 0  # 0 = Monday (ISO weeks) ... 6 = Sunday
    rules: Rules = field(default_factory=Rules)
    weights: Weights = field(default_factory=Weights)
    carry_over: bool = False


@dataclass(frozen=True)
class FeedRules:
    """A feed's own say in selection."""

    weight: float = 0.0
    select_all: bool = False  # select = "all": every item of the feed is in
    overrides: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def apply(self, rules: Rules) -> Rules:
        if not self.overrides:
            return rules
        return replace(rules, **cast(RuleValues, self.overrides))  # as rule_values made them


RULE_KEYS: dict[str, tuple[type, ...]] = {
    "max_items": (int,), "max_per_source": (int,), "max_per_topic": (int,),
    "min_words": (int,), "require_topics": (bool,), "include": (list,), "exclude": (list,),
}
SELECTION_KEYS: dict[str, tuple[type, ...]] = {
    **RULE_KEYS, "week_starts": (str,), "carry_over": (bool,), "weights": (dict,),
}
WEIGHT_KEYS: dict[str, tuple[type, ...]] = {
    "sources": (dict,), "topics": (dict,), "keywords": (dict,), "recency": (int, float),
}
FEED_RULE_KEYS: dict[str, tuple[type, ...]] = {
    **{k: v for k, v in RULE_KEYS.items() if k != "max_items"},
    "weight": (int, float), "select": (str,),
}


class Problems:
    """Where rule problems go: (key path, message, hint)."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str, str | None]] = []

    def add(self, key: str, message: str, hint: str | None = None) -> None:
        self.found.append((key, message, hint))


class RuleValues(TypedDict, total=False):
    """The rule keys a table of digest.toml sets, checked: fields of Rules."""

    max_items: int
    max_per_source: int
    max_per_topic: int
    min_words: int
    require_topics: bool
    include: tuple[str, ...]
    exclude: tuple[str, ...]


CAPS: tuple[Literal["max_items", "max_per_source", "max_per_topic"], ...] = (
    "max_items", "max_per_source", "max_per_topic")


def rule_values(data: Mapping[str, object], where: str, problems: Problems) -> RuleValues:
    """Checked values of the rule keys present in `data` (types checked by the caller)."""
    values: RuleValues = {}
    for key in CAPS:
        cap = data.get(key)
        if isinstance(cap, int):
            if cap < 1:
                problems.add(f"{where}.{key}", f"must be a positive integer, not {cap}")
            else:
                values[key] = cap
    min_words = data.get("min_words")
    if isinstance(min_words, int):
        if min_words < 0:
            problems.add(f"{where}.min_words", "must be 0 or more")
        else:
            values["min_words"] = min_words
    if isinstance(require := data.get("require_topics"), bool):
        values["require_topics"] = require
    if isinstance(include := data.get("include"), list):
        values["include"] = _patterns(include, f"{where}.include", problems)
    if isinstance(exclude := data.get("exclude"), list):
        values["exclude"] = _patterns(exclude, f"{where}.exclude", problems)
    return values


def selection(data: Mapping[str, object], topics: set[str], feeds: set[str],
              problems: Problems) -> SelectionConfig:
    """[selection], its types already checked."""
    week_starts = str(data.get("week_starts", "monday")).lower()
    if week_starts not in WEEKDAYS:
        problems.add("selection.week_starts", f"'{week_starts}' is not a weekday",
                     "e.g. monday or sunday")
        week_starts = "monday"
    weights = _weights(data.get("weights", {}), topics, feeds, problems)
    return SelectionConfig(
        week_starts=WEEKDAYS.index(week_starts),
        rules=Rules(**rule_values(data, "selection", problems)),
        weights=weights,
        carry_over=bool(data.get("carry_over", False)),
    )


def feed_rules(data: Mapping[str, object], where: str, problems: Problems) -> FeedRules:
    """A [[feeds]] table's selection keys, their types already checked."""
    select = data.get("select", "rules")
    if select not in ("all", "rules"):
        problems.add(f"{where}.select", f"'{select}' is not a choice", "use 'all' or 'rules'")
    overrides = rule_values(data, where, problems)
    weight = data.get("weight", 0)
    return FeedRules(float(weight) if isinstance(weight, int | float) else 0.0, select == "all",
                     MappingProxyType(dict(overrides)))


def _weights(data: Any, topics: set[str], feeds: set[str], problems: Problems) -> Weights:
    where = "selection.weights"
    if not isinstance(data, dict):
        return Weights()
    for key, value in data.items():
        if key not in WEIGHT_KEYS:
            problems.add(f"{where}.{key}", "unknown key",
                         did_you_mean(key, WEIGHT_KEYS) or f"known keys: {', '.join(WEIGHT_KEYS)}")
        elif not isinstance(value, WEIGHT_KEYS[key]) or isinstance(value, bool):
            problems.add(f"{where}.{key}", "has the wrong type",
                         "a table of numbers" if key != "recency" else "a number")
    tables: dict[str, dict[str, float]] = {}
    for name, known in (("sources", feeds), ("topics", topics), ("keywords", None)):
        table = data.get(name, {})
        tables[name] = {}
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            full = f"{where}.{name}.{key}"
            if not isinstance(value, int | float) or isinstance(value, bool):
                problems.add(full, "must be a number")
            elif known is not None and key not in known:
                kind = "feed" if name == "sources" else "topic"
                problems.add(full, f"unknown {kind} '{key}'")
            elif known is None and (reason := check_pattern(key)):
                problems.add(full, reason)
            else:
                tables[name][key] = float(value)
    recency = data.get("recency", 1.0)
    return Weights(MappingProxyType(tables["sources"]), MappingProxyType(tables["topics"]),
                   MappingProxyType(tables["keywords"]),
                   float(recency) if isinstance(recency, int | float) else 1.0)


def _patterns(value: list[object], where: str, problems: Problems) -> tuple[str, ...]:
    result = []
    for i, pattern in enumerate(value):
        if not isinstance(pattern, str):
            problems.add(f"{where}[{i}]", "must be a string")
        elif reason := check_pattern(pattern):
            problems.add(f"{where}[{i}]", reason)
        else:
            result.append(pattern)
    return tuple(result)


Fields = tuple[tuple[str, str, str], ...]  # (name, text, text casefolded) of what is matched


class Texts:
    """An item's text as the patterns see it: its title, tags, body (plain text) and author,
    each also case-folded. Worked out when a pattern is first tried (a selection with no
    keyword, weight or include/exclude pattern never strips a body of its tags)."""

    def __init__(self, item: Item) -> None:
        self.item = item

    @functools.cached_property
    def fields(self) -> Fields:
        # Imported here: markup brings Markdown and Pygments, which reading digest.toml
        # (and so a no-op `digest build`) does without.
        from digest.html.markup import strip_tags

        item = self.item
        body = html.unescape(strip_tags(item.html))
        return tuple((name, text, text.casefold()) for name, text in (
            ("title", item.title), ("tags", " · ".join(item.tags)), ("body", body),
            ("author", item.author)))

    @functools.cached_property
    def topical(self) -> tuple[str, str]:
        """The fields but the author, one a line (what topic keywords are matched in), and
        case-folded."""
        fields = self.fields[:3]
        return "\n".join(t for _, t, _ in fields), "\n".join(f for _, _, f in fields)

    @functools.cached_property
    def whole(self) -> tuple[str, str]:
        """Every field, one a line (what weighted keywords are matched in), and case-folded."""
        return "\n".join(t for _, t, _ in self.fields), "\n".join(f for _, _, f in self.fields)


@dataclass(frozen=True)
class Seen:
    """An item as a selection rule sees it."""

    item: Item
    topics: tuple[str, ...]  # the editor's, else the computed ones
    texts: Texts
    rules: Rules  # its feed's rules over [selection]'s
    matcher: Callable[[tuple[str, ...]], Matcher]  # patterns, compiled once a build

    @property
    def fields(self) -> Fields:
        """Its title, tags, body (plain text) and author: (name, text, text casefolded)."""
        return self.texts.fields


Rule = Callable[[Seen], str | None]  # why the rule leaves the item out, or None
RULES: Registry[Rule] = Registry()


def exclude(seen: Seen) -> str | None:
    """Out when any field matches an exclude pattern."""
    matcher = seen.matcher(seen.rules.exclude)
    for name, text, folded in seen.fields if matcher else ():
        if pattern := matcher.first(text, folded):
            return f"excluded: matches exclude {pattern} in {name}"
    return None


def include(seen: Seen) -> str | None:
    """With include patterns, out when no field matches one."""
    matcher = seen.matcher(seen.rules.include)
    if matcher and not any(matcher.first(t, f) for _, t, f in seen.fields):
        return "not included: matches none of the include patterns"
    return None


def min_words(seen: Seen) -> str | None:
    words, least = seen.item.words, seen.rules.min_words
    return f"too short: {words} words, min_words = {least}" if words < least else None


def require_topics(seen: Seen) -> str | None:
    if seen.rules.require_topics and not seen.topics:
        return "no topic matched (require_topics = true)"
    return None


RULES.register(exclude, "exclude", 40)
RULES.register(include, "include", 30)
RULES.register(min_words, "min_words", 20)
RULES.register(require_topics, "require_topics", 10)
