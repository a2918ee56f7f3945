"""Editors' patterns: a word or phrase (whole words, any script, any case) or a /regex/."""

from __future__ import annotations

import importlib
import re
import string
from typing import Any, NamedTuple

# The regex parser of the standard library (re._parser since 3.11), for `required`.
_sre_parser: Any = importlib.import_module("re._parser")
_LITERAL: Any = importlib.import_module("re._constants").LITERAL


def is_regex(pattern: str) -> bool:
    return len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """One pattern, case-insensitive; re.error for a bad /regex/."""
    if is_regex(pattern):
        return re.compile(pattern[1:-1], re.IGNORECASE)
    words = r"\s+".join(re.escape(w) for w in pattern.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


def check_pattern(pattern: str) -> str | None:
    """Why a pattern is unusable, or None."""
    if not pattern.strip():
        return "is empty"
    try:
        compile_pattern(pattern)
    except re.error as exc:
        return f"bad regular expression {pattern}: {exc}"
    return None


def any_of(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern matching any of `patterns` (None when there are none)."""
    parts = [compile_pattern(p).pattern for p in patterns if p.strip()]
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE) if parts else None


# Characters that only ever match themselves, in any case, and are the same when case-folded:
# ASCII letters but 'i' (re.IGNORECASE also matches 'İ' and 'ı' with it), digits, punctuation.
_PLAIN = frozenset(string.ascii_letters + string.digits + string.punctuation + " ") - {"i", "I"}


class Required(NamedTuple):
    """A case-folded piece of text that every match of a /regex/ contains, and how far
    before it each match starts: `before` characters, between `least` and `most` (None:
    no bound is known)."""

    text: str
    least: int
    most: int | None


# A match starting this far before its required text at most is looked for only there.
NEAR = 64


def required(pattern: str, shortest: int = 2) -> Required | None:
    """What every match of the /regex/ `pattern` contains: the longest run of plain
    characters (at least `shortest`) at the top level of the pattern; None when there is
    none. Lets the Matcher skip a regex for a text without it, and try it only where it may
    match in a text with it: a regex with no literal start (such as \\bGo\\b) is otherwise
    tried at every position of a 10 KB body."""
    try:
        parsed = _sre_parser.parse(pattern[1:-1], re.IGNORECASE)
    except (re.error, TypeError, ValueError, OverflowError, RecursionError):
        return None
    runs: list[tuple[int, str]] = []  # (where in the pattern it starts, the run)
    run, at = "", 0
    for n, (op, value) in enumerate(parsed.data):
        char = chr(value) if op is _LITERAL else ""
        if char in _PLAIN and char:
            at, run = (n, char) if not run else (at, run + char)
        else:
            runs.append((at, run))
            run = ""
    runs.append((at, run))
    at, best = max(runs, key=lambda r: len(r[1]))
    if len(best) < shortest:
        return None
    try:
        least, most = _sre_parser.SubPattern(parsed.state, parsed.data[:at]).getwidth()
    except (re.error, TypeError, ValueError, OverflowError, RecursionError):
        return Required(best.casefold(), 0, None)
    return Required(best.casefold(), least, most if most <= NEAR else None)


def required_literal(pattern: str) -> str | None:
    """A case-folded piece of text (3 characters or more) that every match of the /regex/
    `pattern` contains, or None (see `required`)."""
    found = required(pattern, 3)
    return found.text if found else None


class Matcher:
    """Several patterns, tried fast. A word or phrase is looked for (as a substring, then as
    a regex) in the case-folded text, and the character before a hit is checked for a word
    boundary by hand. A /regex/ is tried only in a text with its required text (`required`)
    and, in a text whose characters each case-fold to one (so that they are where they are
    in the folded text), only where a match with that text would start."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = tuple(p for p in patterns if p.strip())
        # (a word or phrase?, its regex, what each match contains)
        self.compiled: list[tuple[bool, re.Pattern[str], Required | None]] = []
        for p in self.patterns:
            if is_regex(p):
                self.compiled.append((False, compile_pattern(p), required(p)))
            else:
                folded = [w.casefold() for w in p.split()]
                words = r"\s+".join(re.escape(w) for w in folded)
                self.compiled.append((True, re.compile(words + r"(?!\w)"),
                                      Required(max(folded, key=len), 0, None)))

    def first(self, text: str, folded: str | None = None) -> str | None:
        """The first pattern that matches `text` (`folded` is text.casefold(), if known)."""
        folded = text.casefold() if folded is None else folded
        for pattern, (literal, compiled, needs) in zip(self.patterns, self.compiled,
                                                       strict=True):
            at = folded.find(needs.text) if needs else 0
            if at < 0:  # (a substring test is several times faster than a regex)
                continue
            if literal:
                for hit in compiled.finditer(folded):
                    before = folded[hit.start() - 1] if hit.start() else " "
                    if not (before.isalnum() or before == "_"):
                        return pattern
            elif needs and needs.most is not None and len(folded) == len(text):
                if _near(compiled, text, folded, needs, at):
                    return pattern
            elif compiled.search(text):
                return pattern
        return None

    def __bool__(self) -> bool:
        return bool(self.patterns)


def _near(compiled: re.Pattern[str], text: str, folded: str, needs: Required, at: int) -> bool:
    """Whether `compiled` matches `text`, tried only from where a match would start given
    each place of its required text in `folded`, the first of which is `at`. Each character
    of `text` must be where it is in `folded` (casefold makes no character longer)."""
    assert needs.most is not None
    match, tried = compiled.match, -1  # each start is tried once
    while at >= 0:
        for start in range(max(0, at - needs.most, tried + 1), at - needs.least + 1):
            if match(text, start):
                return True
        tried = max(tried, at - needs.least)
        at = folded.find(needs.text, at + 1)  # (the places may overlap: "aa" in "aaa")
    return False
