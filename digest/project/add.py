"""`digest add URL`: a new source in digest.toml, found from a feed's or a site's address.

The URL is fetched as a feed would be (same limits, redirects checked). If the answer is a
feed, that is the source; if it is an HTML page, its advertised feeds (`<link
rel="alternate">`) are tried in order, then the paths sites commonly use. The first that
parses as a feed is added as a `[[feeds]]` table at the end of digest.toml, which keeps its
comments and layout; nothing is written unless the new file loads as a valid configuration."""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from slugify import slugify

from digest.config import Config, load_config
from digest.errors import ConfigError, DigestError, FeedError, did_you_mean
from digest.fetch import FetchRequest, Limits, fetch_all, local_path
from digest.model import FetchResult
from digest.parse import parse
from digest.project.editconfig import toml_string
from digest.system.atomic import write_text
from digest.text.slug import unique

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json",
              "application/json", "application/rdf+xml", "application/xml", "text/xml")
COMMON_PATHS = ("feed", "rss.xml", "atom.xml", "index.xml", "feed.xml")


@dataclass(frozen=True)
class Added:
    """What `digest add` wrote, and the other feeds the page offered."""

    slug: str
    title: str
    url: str
    others: tuple[str, ...]  # further feeds the page advertises, not added


def add_feed(config: Config, url: str, topics: tuple[str, ...] = (),
             slug: str | None = None, limits: Limits | None = None) -> Added:
    """Find the feed at or behind `url`, then append it to digest.toml."""
    url = _as_source(url.strip(), config.root)
    _check_topics(config, topics)
    if slug is not None:
        _check_slug(config, slug)
    _check_new_url(config, url)
    limits = limits or Limits()
    first = _fetch(config.root, [url], limits)[0]
    if isinstance(first, DigestError):  # said of the URL typed, not of a feed's key
        raise FeedError(first.message, path=first.path, key="URL", hint=first.hint)
    title = _feed_title(first)
    others: tuple[str, ...] = ()
    feed_url = url
    if title is None:
        advertised = _advertised(first)
        feed_url, title = _first_feed(config, first, advertised, limits)
        others = tuple(u for u in advertised if u != feed_url)
        _check_new_url(config, feed_url)
    chosen = slug if slug is not None else _free_slug(config, title, feed_url)
    _append(config.path, _block(chosen, title, feed_url, topics))
    return Added(chosen, title, feed_url, others)


def _as_source(url: str, root: Path) -> str:
    """An http(s) URL as it is; a local path (typed relative to the current folder) as
    digest.toml holds it: relative to digest.toml's folder when it lies inside it."""
    if urlsplit(url).scheme in ("http", "https", "file"):
        return url
    if "://" in url:
        raise ConfigError(f"'{url}' is not an http(s) URL or the path of a feed file",
                          key="URL", hint="e.g. https://example.org/ or feeds/blog.xml")
    path = Path(url).expanduser().resolve()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _check_topics(config: Config, topics: tuple[str, ...]) -> None:
    known = [t.slug for t in config.topics]
    for topic in topics:
        if topic not in known:
            raise ConfigError(f"no topic '{topic}' in {config.path.name}", key="--topic",
                              hint=did_you_mean(topic, known) or
                              "add a [[topics]] table first, or leave --topic out")


def _check_slug(config: Config, slug: str) -> None:
    if slug != slugify(slug) or not slug:
        raise ConfigError(f"'{slug}' is not a slug", key="--slug",
                          hint=f"use lower-case letters, digits and hyphens, e.g. "
                               f"'{slugify(slug) or 'my-feed'}'")
    if config.feed(slug) is not None:
        raise ConfigError(f"a feed with slug '{slug}' is already in {config.path.name}",
                          key="--slug", hint="choose another --slug")


def _check_new_url(config: Config, url: str) -> None:
    for feed in config.feeds:
        if _same_url(feed.url, url):
            raise ConfigError(f"{url} is already in {config.path.name} as feed "
                              f"'{feed.slug}'", key="feeds", hint="nothing to add")


def _same_url(a: str, b: str) -> bool:
    pa, pb = urlsplit(a.strip()), urlsplit(b.strip())
    return (pa.scheme.lower(), pa.netloc.lower(), pa.path.rstrip("/") or "/", pa.query) == \
        (pb.scheme.lower(), pb.netloc.lower(), pb.path.rstrip("/") or "/", pb.query)


def _fetch(root: Path, urls: list[str], limits: Limits) -> list[FetchResult | DigestError]:
    """Each URL fetched once, concurrently; the results in the order of `urls`."""
    results: dict[str, FetchResult | DigestError] = {}

    async def seen(request: FetchRequest, result: FetchResult | FeedError) -> None:
        results[request.location] = result

    requests = [FetchRequest("new", u, u) for u in urls]
    asyncio.run(fetch_all(requests, root, 8, limits, seen))
    return [results[u] for u in urls]


def _feed_title(result: FetchResult) -> str | None:
    """The feed's title (or its host) if the answer is a feed; None if it is not one."""
    if _looks_like_html(result):
        return None
    try:
        parse(result, result.final_url or result.url)
    except FeedError:
        return None
    import feedparser

    title = str(feedparser.parse(result.body).feed.get("title", "") or "").strip()
    return " ".join(title.split()) or urlsplit(result.final_url or result.url).netloc or "Feed"


def _looks_like_html(result: FetchResult) -> bool:
    kind = result.headers.get("content-type", "").split(";")[0].strip().lower()
    head = result.body[:1024].lstrip().lower()
    return kind in ("text/html", "application/xhtml+xml") or head.startswith(
        (b"<!doctype html", b"<html"))


class _Links(HTMLParser):
    """The `<link rel="alternate" type="(a feed type)" href>` of a page, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a"):
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").split(";")[0].strip().lower()
        if tag == "link" and "alternate" in rels and kind in FEED_TYPES and values.get("href"):
            self.found.append(values["href"].strip())


def _advertised(page: FetchResult) -> list[str]:
    """The feeds a page advertises, as absolute http(s) URLs, without repeats."""
    parser = _Links()
    parser.feed(page.body.decode("utf-8", "replace"))
    base = page.final_url or page.url
    urls = [urljoin(base, href) for href in parser.found]
    return list(dict.fromkeys(u for u in urls if urlsplit(u).scheme in ("http", "https")))


def _common(page_url: str) -> list[str]:
    """The usual feed paths beside the page (for a site under a sub-path) and at the root."""
    parts = urlsplit(page_url)
    if parts.scheme not in ("http", "https"):
        return []
    folder = page_url if parts.path.endswith("/") else urljoin(page_url, ".")
    bases = [folder, urljoin(page_url, "/")]
    return list(dict.fromkeys(urljoin(b, p) for b in bases for p in COMMON_PATHS))


def _first_feed(config: Config, page: FetchResult, advertised: list[str], limits: Limits
                ) -> tuple[str, str]:
    """The first advertised feed that answers with a feed, else the first common path that
    does; ConfigError naming what was tried when none does."""
    page_url = page.final_url or page.url
    for group in (advertised, [u for u in _common(page_url) if u not in advertised]):
        if not group:
            continue
        for candidate, result in zip(group, _fetch(config.root, group, limits), strict=True):
            if isinstance(result, FetchResult) and (title := _feed_title(result)):
                return candidate, title
    tried = len(advertised) + len(_common(page_url))
    raise FeedError(f"{page.url}: no feed found on this page ({tried} addresses tried)",
                    key="URL", hint="give the feed's own address (look for an RSS or Atom "
                    "link on the site)")


def _free_slug(config: Config, title: str, url: str) -> str:
    used = {f.slug for f in config.feeds}
    path = local_path(url, config.root)
    base = (slugify(title, max_length=40) or
            slugify(path.stem if path else urlsplit(url).netloc.removeprefix("www.")) or "feed")
    return unique(base, used)


def _block(slug: str, title: str, url: str, topics: tuple[str, ...]) -> str:
    listed = ", ".join(toml_string(t) for t in topics)
    return (f"[[feeds]]\nslug = {toml_string(slug)}\ntitle = {toml_string(title)}\n"
            f"url = {toml_string(url)}\ntopics = [{listed}]\n")


def _append(path: Path, block: str) -> None:
    """Add `block` at the end of digest.toml, only if the result loads as a configuration
    (checked on a copy beside it, so relative feed paths mean the same)."""
    text = path.read_text(encoding="utf-8")
    new = text.rstrip("\n") + "\n\n" + block.strip("\n") + "\n"
    fd, name = tempfile.mkstemp(prefix=".digest-add-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new)
        load_config(Path(name))
    finally:
        Path(name).unlink(missing_ok=True)
    write_text(path, new)
