"""Stage 2: FetchResult -> ParsedFeed: feedparser (RSS, Atom, RDF) or our JSON Feed reader;
dates, base URLs, plain-text fields and sanitized bodies. Pure: bytes in, entries out."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from xml.sax import SAXParseException

import feedparser

from digest.errors import FeedError
from digest.html.sanitize import absolute_url, clean_html, clean_text, plain_text
from digest.model import Enclosure, Entry, FetchResult, ParsedFeed
from digest.text.langtag import language_tag

# An internal DTD subset is where entity bombs (billion laughs) and external entities live;
# feeds have no use for one. Removed before any XML parser sees the bytes.
_DOCTYPE = re.compile(  # only in the prolog: the same text inside an entry is just text
    rb"\A(\xef\xbb\xbf)?(\s*(?:<\?xml[^>]*\?>|<!--.*?-->))*\s*"
    rb"<!DOCTYPE\b[^\[>]*(?:\[.*?\]\s*)?>", re.IGNORECASE | re.DOTALL)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_MEDIA = re.compile(r"<(?:img|video|audio|iframe|math|svg)\b", re.IGNORECASE)


def parse(result: FetchResult, base_url: str) -> ParsedFeed:
    """The feed's entries; relative links resolve against `base_url` (the configured URL, so
    that ids stay stable when a feed moves). FeedError when the bytes are not a feed."""
    body = result.body
    where = result.final_url or result.url
    if not body.strip():
        raise _error(result, "the answer is empty", "check the feed's url")
    if _is_json(result):
        return _json_feed(result, base_url)
    body = _DOCTYPE.sub(lambda m: (m.group(1) or b"") + (m.group(2) or b""), body, count=1)
    if _ENTITY.search(body[:65536]):
        raise _error(result, "the feed declares XML entities, which are refused",
                     "this is not a normal feed")
    # Without a Content-Type, feedparser flags even a valid feed (and one with no entries yet
    # then looks broken): a feed is XML unless the server said otherwise.
    headers = {"content-type": result.headers.get("content-type") or "application/xml"}
    if base_url:
        headers["content-location"] = base_url
    # feedparser's own sanitizing and URL resolution re-parse every body (3x the cost);
    # nh3 does both in one pass, against the xml:base feedparser reports for each body.
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False,
                              resolve_relative_uris=False)
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        raise _not_a_feed(result, parsed, where)
    home = absolute_url(parsed.feed.get("link", "") or "", base_url) or base_url or where
    same_page = (result.url, home, base_url, where)
    entries = [_entry(result.feed_slug, raw, home, same_page) for raw in parsed.entries]
    # RSS <language> (or dc:language) and Atom xml:lang on <feed>, as feedparser reports them.
    language = language_tag(str(parsed.feed.get("language") or "")) or ""
    return _kept(home, entries, _malformed(parsed), language)


def _kept(home: str, entries: list[Entry], warning: str = "", language: str = ""
          ) -> ParsedFeed:
    """The entries a reader can use: one with neither a link, nor a body, nor a file is
    only a title (often what is left of an entry cut off in a broken feed)."""
    kept = tuple(e for e in entries if e.link or e.enclosures or _has_body(e.html))
    return ParsedFeed(home, kept, warning, len(entries) - len(kept), language)


def _has_body(html: str) -> bool:
    return bool(plain_text(html).strip()) or bool(_MEDIA.search(html))


def _malformed(parsed: Any) -> str:
    """feedparser's reason when it found the feed malformed (its entries were read by its
    lenient parser), else ''. A wrong Content-Type or a declared encoding that was not the
    real one changes nothing the reader sees: not reported."""
    if not parsed.bozo:
        return ""
    exc = parsed.get("bozo_exception")
    if isinstance(exc, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType):
        return ""
    if isinstance(exc, SAXParseException):
        return f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}: {exc.getMessage()}"
    return plain_text(str(exc or "")).strip()[:200] or type(exc).__name__


def _entry(source: str, raw: Any, home: str, same_page: tuple[str, ...]) -> Entry:
    link = _http(raw.get("link", ""), home) or _any_link(raw, home)
    body, base = _body(raw)
    base = absolute_url(base, home) or "" if base else ""
    return Entry(
        source=source,
        guid=(str(raw.get("id") or "").strip() or None),
        link=link,
        title=_text(raw, "title") or link or "(untitled)",
        author=_text(raw, "author"),
        published=_date(raw),
        tags=_tags(t.get("term") or t.get("label") or "" for t in raw.get("tags", [])),
        html=clean_html(body, base or link or home, same_page=same_page),
        enclosures=tuple(
            Enclosure(url, str(e.get("type", ""))[:100], _int(e.get("length")))
            for e in raw.get("enclosures", []) if (url := _http(e.get("href", ""), home))
        ),
    )


def _text(raw: Any, key: str) -> str:
    """A plain-text field; markup stripped when the feed says the field is HTML."""
    value = str(raw.get(key, "") or "")
    detail = raw.get(f"{key}_detail") or {}
    return clean_text(value) if "html" in (detail.get("type") or "") else plain_text(value)


def _tags(terms: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for t in (plain_text(str(x)) for x in terms) if t))


def _body(raw: Any) -> tuple[str, str]:
    """The richest body the entry has (full content, else its summary), and the xml:base
    in effect for it."""
    contents = raw.get("content") or []
    html = [c for c in contents if "html" in (c.get("type") or "")]
    if html:
        best = max(html, key=lambda c: len(str(c.get("value", ""))))
        return str(best.get("value", "")), str(best.get("base") or "")
    if contents:
        return (_plain_to_html(str(contents[0].get("value", ""))),
                str(contents[0].get("base") or ""))
    summary = str(raw.get("summary", "") or "")
    detail = raw.get("summary_detail") or {}
    if summary and "html" not in (detail.get("type") or "text/html"):
        return _plain_to_html(summary), str(detail.get("base") or "")
    return summary, str(detail.get("base") or "")


def _plain_to_html(text: str) -> str:
    from html import escape

    return "".join(f"<p>{escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())


def _date(raw: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            year, month, day, hour, minute, second = value[:6]
            try:
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except ValueError:
                continue
    return None


def _any_link(raw: Any, home: str) -> str:
    """An entry with no HTML alternate may still link to its content (a PDF, say)."""
    links = [x for x in raw.get("links", []) if x.get("rel", "alternate") == "alternate"]
    return next((url for x in links if (url := _http(x.get("href"), home))), "")


def _http(url: Any, base: str) -> str:
    """An absolute http(s) URL, or '' (a javascript: or data: link is dropped)."""
    if not str(url or "").strip():
        return ""
    found = absolute_url(str(url or ""), base) or ""
    return found if found.startswith(("http://", "https://")) else ""


def _int(value: Any) -> int:
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0


# --- JSON Feed 1.0/1.1: feedparser does not read it ---------------------------------------


def _is_json(result: FetchResult) -> bool:
    kind = result.headers.get("content-type", "")
    return "json" in kind or result.body.lstrip()[:1] == b"{"


def _json_feed(result: FetchResult, base_url: str) -> ParsedFeed:
    try:
        data = json.loads(result.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _error(result, f"invalid JSON: {exc}", "check that the URL serves a feed") from exc
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
            "https://jsonfeed.org/version/") or not isinstance(data.get("items"), list):
        raise _error(result, "JSON, but not a JSON Feed", "check that the URL serves a feed")
    home = _http(data.get("home_page_url"), base_url) or base_url
    same_page = (result.url, home, base_url)
    entries: list[Entry] = []
    for item in data["items"]:
        if not isinstance(item, dict):
            continue
        link = _http(item.get("url") or item.get("external_url"), home)
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        body = item.get("content_html") or _plain_to_html(str(item.get("content_text") or
                                                              item.get("summary") or ""))
        entries.append(Entry(
            source=result.feed_slug,
            guid=str(item.get("id") or "").strip() or None,
            link=link,
            title=plain_text(str(item.get("title") or "")) or link or "(untitled)",
            author=", ".join(plain_text(str(a.get("name", ""))) for a in authors
                             if isinstance(a, dict) and a.get("name")),
            published=_iso(item.get("date_published") or item.get("date_modified")),
            tags=_tags(item.get("tags") or []),
            html=clean_html(str(body), link or home, same_page=same_page),
            enclosures=tuple(
                Enclosure(url, str(a.get("mime_type", ""))[:100], _int(a.get("size_in_bytes")))
                for a in item.get("attachments") or []
                if isinstance(a, dict) and (url := _http(a.get("url"), home))
            ),
        ))
    return _kept(home, entries, language=language_tag(str(data.get("language") or "")) or "")


def _iso(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- not a feed --------------------------------------------------------------------------


class _FeedLinks(HTMLParser):
    """Collects <link rel="alternate" type="...rss/atom/json..." href> from an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        kind = a.get("type", "")
        if tag == "link" and "alternate" in a.get("rel", "").split() and (
                "rss" in kind or "atom" in kind or "feed+json" in kind) and a.get("href"):
            self.links.append(a["href"])


def _not_a_feed(result: FetchResult, parsed: Any, where: str) -> FeedError:
    head = result.body[:2048].lower()
    if b"<html" in head or b"<!doctype html" in head or "html" in result.headers.get(
            "content-type", ""):
        finder = _FeedLinks()
        finder.feed(result.body[:512 * 1024].decode("utf-8", "replace"))
        feeds = [u for u in (_http(h, where) for h in finder.links) if u]
        if feeds:
            return _error(result, "this is an HTML page, not a feed",
                          f"the page names its feed: use url = \"{feeds[0]}\"")
        return _error(result, "this is an HTML page, not a feed",
                      "find the site's RSS or Atom link and use that as url")
    reason = str(parsed.get("bozo_exception", "") or "no entries found").strip()
    return _error(result, f"cannot read the feed: {reason}",
                  "check that the URL serves RSS, Atom or JSON Feed")


def _error(result: FetchResult, message: str, hint: str | None = None) -> FeedError:
    where = result.final_url or result.url
    return FeedError(f"{where}: {message}", key=f"feeds.{result.feed_slug}", hint=hint)
