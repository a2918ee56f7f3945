"""A content file under content/items/ -> its Item, validated (its body and note still to
be rendered: digest/content/body.py). Every problem names the file, line and key.

What this module and those it imports compute is kept in the item store
(digest/incremental/itemstore.py), keyed by the fingerprint of exactly this code: an edit of
them is a new item format, an edit elsewhere in digest is not."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NoReturn

from digest.content import contentfile, legacy
from digest.errors import ContentError, did_you_mean
from digest.html.links import clean_link
from digest.model import Item
from digest.text.langtag import language_tag
from digest.text.weeks import is_week

ITEM_KEYS = {
    "id", "title", "link", "source", "author", "published", "fetched", "first_seen", "topics",
    "tags", "status", "pinned", "note", "issue", "undated", "enclosures", "language",
    legacy.FORMAT_KEY,
}


class Fields:
    """Typed access to one file's front matter, with errors that name the file and line."""

    def __init__(self, path: Path, meta: dict[str, object], known: set[str]) -> None:
        self.path, self.meta = path, meta
        for key in meta:
            if key not in known:
                self.fail(key, "unknown key", did_you_mean(str(key), known)
                          or f"known keys: {', '.join(sorted(known))}")

    def fail(self, key: str, message: str, hint: str | None = None) -> NoReturn:
        raise ContentError(message, path=self.path, line=contentfile.key_line(self.path, key),
                           key=key, hint=hint)

    def text(self, key: str, required: bool = False) -> str:
        value = self.meta.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.fail(key, "must be text", "put the value in quotes")
        return str(value)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.meta.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, "must be a list of strings", "e.g. [ai-safety, research]")
        return tuple(value)

    def boolean(self, key: str) -> bool:
        value = self.meta.get(key, False)
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
        return bool(value)

    def when(self, key: str, required: bool = False) -> datetime | None:
        value = self.meta.get(key)
        if value is None:
            if required:
                self.fail(key, "is required", "an ISO 8601 date, e.g. '2026-03-11T02:30:00+03:00'")
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(key, f"'{value}' is not a date",
                      "use ISO 8601, e.g. '2026-03-11T02:30:00+03:00'")
            raise
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Declared:
    """The feeds and topics digest.toml declares, in its order: what an item may name."""

    feeds: tuple[str, ...]
    topics: tuple[str, ...]

    def valid(self, source: str, topics: Iterable[str]) -> bool:
        return source in self._feeds and all(t in self._topics for t in topics)

    @functools.cached_property
    def _feeds(self) -> frozenset[str]:
        return frozenset(self.feeds)

    @functools.cached_property
    def _topics(self) -> frozenset[str]:
        return frozenset(self.topics)


def read_item(path: Path, text: tuple[dict[str, object], str], declared: Declared,
              data: bytes) -> tuple[Item, str, str]:
    """The item of a content file (its front matter and body, from `data`), validated; its
    body and note still to be rendered."""
    meta, body = text
    f = Fields(path, meta, ITEM_KEYS)
    version = meta.get(legacy.FORMAT_KEY, legacy.CONTENT_FORMAT)
    if version != legacy.CONTENT_FORMAT or isinstance(version, bool):
        f.fail(legacy.FORMAT_KEY, f"'{version}' is not a content format this digest reads",
               "a newer digest wrote it: upgrade digest"
               if isinstance(version, int) and version > legacy.CONTENT_FORMAT
               else f"use {legacy.CONTENT_FORMAT}, or remove the line")
    source = f.text("source", required=True)
    if not declared.valid(source, ()):
        f.fail("source", f"unknown source '{source}'",
               did_you_mean(source, declared.feeds) or "add it under [[feeds]]")
    topics = f.strings("topics")
    for topic in topics:
        if not declared.valid(source, (topic,)):
            f.fail("topics", f"unknown topic '{topic}'",
                   did_you_mean(topic, declared.topics)
                   or ("define it under [[topics]], or run `digest migrate` (an older fetch "
                       "may have written it)" if legacy.is_old(meta)
                       else "define it under [[topics]]"))
    status = f.text("status") or None
    if status not in (None, "selected", "rejected"):
        f.fail("status", f"'{status}' is not a status", "use 'selected' or 'rejected'")
    issue = f.text("issue") or None
    if issue is not None and not is_week(issue):
        f.fail("issue", f"'{issue}' is not an ISO week", "e.g. 2026-W11")
    link = clean_link(f.text("link"))
    if link and not link.startswith(("http://", "https://")):
        f.fail("link", f"'{link[:60]}' is not an http(s) URL", "the original's web address")
    published = f.when("published", required=True)
    assert published is not None
    language = f.text("language")
    if language and not language_tag(language):
        f.fail("language", f"unknown language '{language[:40]}'",
               "use a BCP 47 tag such as en, ru or pt-BR, or remove the key")
    item = Item(
        id=f.text("id", required=True),
        slug=path.stem,
        path=path,
        title=f.text("title", required=True),
        link=link,
        source=source,
        author=f.text("author"),
        published=published,
        fetched=f.when("fetched"),
        first_seen=f.when("first_seen"),
        topics=topics,
        tags=f.strings("tags"),
        status=status,  # type: ignore[arg-type]
        pinned=f.boolean("pinned"),
        note_html="",
        issue=issue,
        html="",
        words=0,
        old_topics=legacy.evidence(data) if legacy.is_old(meta) else (),
        language=language_tag(language) or "",
    )
    return item, body, f.text("note")
