"""Editors' patterns: a word or phrase (whole words, any script, any case) or a /regex/."""

from __future__ import annotations

import importlib
import re
import string
from typing import Any

# The regex parser of the standard library (re._parser since 3.11), for required_literal.
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


def required_literal(pattern: str) -> str | None:
    """A case-folded piece of text that every match of the /regex/ `pattern` contains (at
    least 3 plain characters in a row at the top level of the pattern), or None. Lets the
    Matcher skip a regex for a text without it: a regex with no literal start is otherwise
    tried at every position of a 10 KB body."""
    try:
        parsed = _sre_parser.parse(pattern[1:-1], re.IGNORECASE)
    except (re.error, TypeError, ValueError, OverflowError, RecursionError):
        return None
    runs, run = [], ""
    for op, value in parsed.data:
        char = chr(value) if op is _LITERAL else ""
        if char in _PLAIN and char:
            run += char
        else:
            runs.append(run)
            run = ""
    runs.append(run)
    best = max(runs, key=len)
    return best.casefold() if len(best) >= 3 else None


class Matcher:
    """Several patterns, tried fast. A word or phrase is searched case-sensitively in the
    case-folded text (so the regex engine can scan for its literal start), and the character
    before a hit is checked for a word boundary by hand."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = tuple(p for p in patterns if p.strip())
        self.compiled: list[tuple[bool, re.Pattern[str], str | None]] = []
        for p in self.patterns:
            if is_regex(p):
                self.compiled.append((False, compile_pattern(p), required_literal(p)))
            else:
                words = r"\s+".join(re.escape(w.casefold()) for w in p.split())
                self.compiled.append((True, re.compile(words + r"(?!\w)"), None))

    def first(self, text: str, folded: str | None = None) -> str | None:
        """The first pattern that matches `text` (`folded` is text.casefold(), if known)."""
        folded = text.casefold() if folded is None else folded
        for pattern, (literal, compiled, needs) in zip(self.patterns, self.compiled,
                                                       strict=True):
            if not literal:
                if (needs is None or needs in folded) and compiled.search(text):
                    return pattern
                continue
            for hit in compiled.finditer(folded):
                before = folded[hit.start() - 1] if hit.start() else " "
                if not (before.isalnum() or before == "_"):
                    return pattern
        return None

    def __bool__(self) -> bool:
        return bool(self.patterns)
