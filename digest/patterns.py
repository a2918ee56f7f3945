"""Editors' patterns: a word or phrase (whole words, any script, any case) or a /regex/."""

from __future__ import annotations

import re


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


class Matcher:
    """Several patterns, tried fast. A word or phrase is searched case-sensitively in the
    case-folded text (so the regex engine can scan for its literal start), and the character
    before a hit is checked for a word boundary by hand."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = tuple(p for p in patterns if p.strip())
        self.compiled: list[tuple[bool, re.Pattern[str]]] = []
        for p in self.patterns:
            if is_regex(p):
                self.compiled.append((False, compile_pattern(p)))
            else:
                words = r"\s+".join(re.escape(w.casefold()) for w in p.split())
                self.compiled.append((True, re.compile(words + r"(?!\w)")))

    def first(self, text: str, folded: str | None = None) -> str | None:
        """The first pattern that matches `text` (`folded` is text.casefold(), if known)."""
        folded = text.casefold() if folded is None else folded
        for pattern, (literal, compiled) in zip(self.patterns, self.compiled, strict=True):
            if not literal:
                if compiled.search(text):
                    return pattern
                continue
            for hit in compiled.finditer(folded):
                before = folded[hit.start() - 1] if hit.start() else " "
                if not (before.isalnum() or before == "_"):
                    return pattern
        return None

    def __bool__(self) -> bool:
        return bool(self.patterns)
