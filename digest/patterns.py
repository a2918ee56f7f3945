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
