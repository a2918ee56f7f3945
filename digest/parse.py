"""Stage 2: FetchResult -> Entries: feedparser, dates, base URLs, sanitized bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import feedparser

from digest.errors import FeedError
from digest.model import Entry, FetchResult
from digest.sanitize import absolute_url, clean_html, clean_text


def parse(result: FetchResult) -> tuple[str, tuple[Entry, ...]]:
    """The feed's home page link and its entries; FeedError when it is not a feed at all."""
    headers = dict(result.headers)
    if result.url.startswith(("http:", "https:")):
        headers.setdefault("content-location", result.url)
    parsed = feedparser.parse(result.body, response_headers=headers, sanitize_html=False,
                              resolve_relative_uris=True)
    if parsed.bozo and not parsed.entries:
        reason = str(parsed.get("bozo_exception", "not a feed")).strip() or "not a feed"
        raise FeedError(f"{result.url}: cannot read the feed: {reason}",
                        key=f"feeds.{result.feed_slug}",
                        hint="check that the URL serves RSS or Atom")
    home = absolute_url(parsed.feed.get("link", "") or "", headers.get("content-location", "")) \
        or headers.get("content-location", "") or result.url
    entries = tuple(_entry(result, raw, home) for raw in parsed.entries)
    return home, entries


def _entry(result: FetchResult, raw: Any, home: str) -> Entry:
    link = absolute_url(raw.get("link", "") or "", home) or ""
    return Entry(
        source=result.feed_slug,
        guid=(raw.get("id") or None),
        link=link,
        title=_text(raw, "title") or link or "(untitled)",
        author=_text(raw, "author"),
        published=_date(raw),
        tags=tuple(dict.fromkeys(
            clean_text(t.get("term") or t.get("label") or "") for t in raw.get("tags", [])
            if (t.get("term") or t.get("label"))
        )),
        html=clean_html(_body(raw), link or home, same_page=(
            result.url, home, result.headers.get("content-location", ""))),
    )


def _text(raw: Any, key: str) -> str:
    """A plain-text field; markup only stripped when the feed says the field is HTML."""
    value = raw.get(key, "") or ""
    detail = raw.get(f"{key}_detail") or {}
    if "html" in (detail.get("type") or ""):
        return clean_text(value)
    return " ".join(value.split())


def _body(raw: Any) -> str:
    """The richest body the entry has: full content, else its summary."""
    contents = raw.get("content") or []
    html = [c.get("value", "") for c in contents if "html" in (c.get("type") or "")]
    if html:
        return str(max(html, key=len))
    if contents:
        return _plain_to_html(contents[0].get("value", ""))
    summary = raw.get("summary", "") or ""
    detail = raw.get("summary_detail") or {}
    if summary and "html" not in (detail.get("type") or "text/html"):
        return _plain_to_html(summary)
    return str(summary)  # HTML


def _plain_to_html(text: str) -> str:
    from html import escape

    return "".join(f"<p>{escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())


def _date(raw: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            year, month, day, hour, minute, second = value[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return None
