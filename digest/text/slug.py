"""Slugs for file names and URLs: ASCII, lowercase, stable. URLs are forever."""

from __future__ import annotations

import hashlib

from slugify import slugify


def item_id(source: str, guid: str | None, link: str, fallback: str = "") -> str:
    """A stable id for a feed entry: from its guid, else its link, within its source; an
    entry with neither is known by `fallback` (its title, date and text)."""
    key = f"{source}\n{guid or link or fallback}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def item_slug(title: str, id_: str) -> str:
    """`<title words>-<6 hex of id>`: readable, unique, safe as a file and URL name."""
    words = slugify(title, max_length=60, word_boundary=True, save_order=True) or "item"
    return f"{words}-{id_[:6]}"


def week_slug(week: str) -> str:
    """'2026-W11' -> '2026-w11' for URLs."""
    return week.lower()


def unique(slug: str, used: set[str]) -> str:
    """`slug`, or `slug-2`, `slug-3`… the first not in `used`; it is added to `used`."""
    candidate, n = slug, 2
    while candidate in used:
        candidate, n = f"{slug}-{n}", n + 1
    used.add(candidate)
    return candidate
