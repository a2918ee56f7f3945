"""Stage 1: a feed's URL or path -> FetchResult (its bytes), with timeouts and a size cap."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

from digest import __version__
from digest.config import FeedConfig
from digest.errors import FeedError
from digest.model import FetchResult

USER_AGENT = f"digest/{__version__} (+https://github.com/digest-ssg/digest)"
MAX_BYTES = 20 * 1024 * 1024
DEADLINE = 30.0  # seconds for a whole fetch, however slowly the server drips


def feed_location(feed: FeedConfig, root: Path) -> str | Path:
    """An http(s) URL, or the local path a feed's `url` names (relative to digest.toml)."""
    parts = urlsplit(feed.url)
    if parts.scheme in ("http", "https"):
        return feed.url
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    return (root / feed.url).resolve()


def fetch(feed: FeedConfig, root: Path, session: requests.Session) -> FetchResult:
    """Read one feed; raise FeedError with the URL and what to do when that fails."""
    where = feed_location(feed, root)
    if isinstance(where, Path):
        return _read_file(feed, where)
    return _download(feed, where, session)


def _read_file(feed: FeedConfig, path: Path) -> FetchResult:
    try:
        body = path.read_bytes()
    except FileNotFoundError as exc:
        raise FeedError("feed file not found", path=path, key=f"feeds.{feed.slug}",
                        hint="fix the feed's url in digest.toml") from exc
    except OSError as exc:
        raise FeedError(f"cannot read feed file: {exc.strerror}", path=path,
                        key=f"feeds.{feed.slug}") from exc
    # A saved copy of a remote feed has lost its address: the feed's homepage stands in as the
    # base for its relative links, as Content-Location would over HTTP.
    headers = {"content-location": feed.homepage} if feed.homepage else {}
    return FetchResult(feed.slug, path.as_uri(), body, headers)


def _download(feed: FeedConfig, url: str, session: requests.Session) -> FetchResult:
    start = time.monotonic()
    key = f"feeds.{feed.slug}"
    try:
        with session.get(url, timeout=(10, 10), stream=True,
                         headers={"User-Agent": USER_AGENT}) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise FeedError(f"{url}: larger than {MAX_BYTES // 2**20} MiB", key=key,
                                    hint="check the URL; it does not look like a feed")
                if time.monotonic() - start > DEADLINE:
                    raise FeedError(f"{url}: took longer than {DEADLINE:.0f} s", key=key,
                                    hint="the server is too slow; try again later")
                chunks.append(chunk)
            if response.status_code >= 400:
                raise FeedError(f"{url}: HTTP {response.status_code} {response.reason}",
                                key=key, hint="check the feed's url in digest.toml")
            headers = {k.lower(): v for k, v in response.headers.items()}
            return FetchResult(feed.slug, response.url, b"".join(chunks), headers,
                               response.status_code)
    except requests.RequestException as exc:
        reason = type(exc).__name__
        raise FeedError(f"{url}: {reason}", key=key, hint="is the server up and the URL right?") \
            from exc
