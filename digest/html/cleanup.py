"""A feed's cleanup rules: elements removed by CSS selector, text replaced by pattern.

The rules see an item's body as it is stored: already sanitized (classes and styles are
gone), so a selector names tags, ids, links (`a[href$="#comments"]`), position or `:has()`.
Selectors run on lexbor's HTML5 tree (selectolax); a replace pattern runs on each text node
alone (never on tags or attribute values), under a time budget (the `regex` module's
timeout), and its result is text: the serializer escapes it. The result is sanitized again,
so nothing a rule does can let through what the sanitizer drops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from digest.errors import DigestError
from digest.text.patterns import check_pattern, compile_pattern

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

# selectolax, regex and the sanitizer are imported where they are used: loading the config
# of a project without cleanup rules costs nothing.

ErrorSink = Callable[[str, str, str | None], None]  # (key, message, hint)
# Time one item's text may take under all of a feed's replace rules.
BUDGET_SECONDS = 1.0


@dataclass(frozen=True)
class Replace:
    pattern: str  # a word or phrase, or a /regex/ (any case), as elsewhere in digest.toml
    with_: str = ""  # the replacement text; \1 or \g<name> for a group, \\ for a backslash


@dataclass(frozen=True)
class Cleanup:
    """One feed's rules; empty (false) when the feed has none."""

    remove: tuple[str, ...] = ()
    replace: tuple[Replace, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.remove or self.replace)


NO_RULES = Cleanup()


class CleanupTimeout(DigestError):
    """A replace pattern that took too long on an item: the feed's rule must change."""


def check_selector(selector: str) -> str | None:
    """Why the engine cannot use `selector`, or None."""
    from selectolax.lexbor import LexborHTMLParser, SelectolaxError

    if not selector.strip():
        return "is empty"
    try:
        LexborHTMLParser("").css(selector)
    except SelectolaxError:
        return f"'{selector}' is not a CSS selector the engine can read"
    return None


def check_replace(pattern: str, with_: str) -> tuple[str, str] | None:
    """(`pattern` or `with`, why it is unusable), or None."""
    import regex

    if reason := check_pattern(pattern):
        return "pattern", reason
    try:
        compiled = _compiled(pattern)
    except regex.error as exc:
        return "pattern", f"bad regular expression {pattern}: {exc}"
    try:
        # A match with the pattern's groups (the empty alternative always matches), so
        # that a group the template names but the pattern lacks is found now.
        probe = regex.compile(compiled.pattern + "\n|", compiled.flags).match("")
    except regex.error:
        probe = None
    try:
        if probe is not None:
            probe.expand(with_)
        compiled.sub(with_, "")
    except (regex.error, IndexError) as exc:
        return "with", f"bad replacement '{with_}': {exc}"
    return None


def parse_rules(data: Mapping[str, object], where: str, error: ErrorSink) -> Cleanup:
    """A [[feeds]] table's `remove` and `replace` (their list types already checked);
    `error(key, message, hint)` gets one call per bad value."""
    return Cleanup(_removals(_listed(data, "remove"), f"{where}.remove", error),
                   _replacements(_listed(data, "replace"), f"{where}.replace", error))


def _listed(data: Mapping[str, object], key: str) -> list[object]:
    value = data.get(key, [])
    return value if isinstance(value, list) else []


def _removals(selectors: list[object], where: str, error: ErrorSink) -> tuple[str, ...]:
    remove: list[str] = []
    for j, selector in enumerate(selectors):
        key = f"{where}[{j}]"
        if not isinstance(selector, str):
            error(key, "must be a string (a CSS selector)", None)
        elif reason := check_selector(selector):
            error(key, reason, 'e.g. a[href$="#comments"]; see "Cleanup rules" in README.md')
        else:
            remove.append(selector)
    return tuple(remove)


def _replacements(rules: list[object], where: str, error: ErrorSink) -> tuple[Replace, ...]:
    replace: list[Replace] = []
    for j, rule in enumerate(rules):
        key = f"{where}[{j}]"
        if not isinstance(rule, dict):
            error(key, "must be a table", '{pattern = "/regex/", with = "text"}')
            continue
        bad = False
        for name in rule.keys() - {"pattern", "with"}:
            error(f"{key}.{name}", "unknown key", "known keys: pattern, with")
            bad = True
        pattern, with_ = rule.get("pattern"), rule.get("with", "")
        if not isinstance(pattern, str):
            error(f"{key}.pattern", "is required (a string)" if pattern is None
                  else "must be a string", None)
            continue
        if not isinstance(with_, str):
            error(f"{key}.with", "must be a string", None)
            continue
        if problem := check_replace(pattern, with_):
            error(f"{key}.{problem[0]}", problem[1], None)
        elif not bad:
            replace.append(Replace(pattern, with_))
    return tuple(replace)


def apply(html: str, rules: Cleanup, where: str = "") -> str:
    """`html` (a sanitized body) with the rules applied, sanitized again; unchanged when
    there are no rules. CleanupTimeout (naming `where`) when a pattern runs too long."""
    if not rules:
        return html
    from selectolax.lexbor import LexborHTMLParser

    from digest.html.sanitize import clean_html

    tree = LexborHTMLParser(html)
    body = tree.body
    if body is None:
        return html
    _remove(body, rules.remove)
    if rules.replace:
        _replace(body, rules.replace, where)
    return clean_html((body.inner_html or "").strip())


def _remove(body: LexborNode, selectors: tuple[str, ...]) -> None:
    """Every match of every selector is found first (so that one rule may name the
    neighbour of another's match), then removed, with the line break after it."""
    found: dict[int, LexborNode] = {}
    for selector in selectors:
        for node in body.css(selector):
            found.setdefault(node.mem_id, node)
    for node in found.values():
        if _inside(node, found):
            continue  # goes with its ancestor
        after = node.next
        if after is not None and after.is_text_node and "\n" in (after.text_content or "") \
                and not (after.text_content or "").strip():
            after.decompose()
        node.decompose()


def _inside(node: LexborNode, found: dict[int, LexborNode]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id in found:
            return True
        parent = parent.parent
    return False


def _replace(body: LexborNode, rules: tuple[Replace, ...], where: str) -> None:
    deadline = time.monotonic() + BUDGET_SECONDS
    compiled = [_compiled(rule.pattern) for rule in rules]
    for node in [n for n in body.traverse(include_text=True) if n.is_text_node]:
        text = new = node.text_content or ""
        for j, (rule, pattern) in enumerate(zip(rules, compiled, strict=True)):
            try:
                new = pattern.sub(rule.with_, new,
                                  timeout=max(deadline - time.monotonic(), 0.001))
            except TimeoutError as exc:
                raise CleanupTimeout(
                    f"the pattern {rule.pattern} took over {BUDGET_SECONDS:g} s on one item",
                    key=f"{where}.replace[{j}]" if where else f"replace[{j}]",
                    hint="make it simpler (no nested repeats such as (a|aa)+)") from exc
        if new != text:
            node.replace_with(new)  # a text node: the serializer escapes what it holds


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    """`pattern` as digest's other patterns read it, compiled by `regex` (for its timeout)."""
    import regex

    return regex.compile(compile_pattern(pattern).pattern, regex.IGNORECASE | regex.VERSION0)
