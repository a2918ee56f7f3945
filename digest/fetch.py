"""Stage 1: feeds -> FetchResults (their bytes), concurrently, politely, within hard limits.

Every feed gets a total deadline (a server that drips a byte a second is cut off), a body cap
counted after decompression (a gzip bomb stops at the cap), conditional GET, and redirects
followed by hand so that loops, non-http(s) targets and permanent moves are seen.
"""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx2

from digest import __version__
from digest.errors import FeedError
from digest.model import FetchResult

USER_AGENT = f"digest/{__version__} (+https://github.com/digest-ssg/digest)"
ACCEPT = ("application/atom+xml, application/rss+xml, application/feed+json, "
          "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")
REDIRECTS = (301, 302, 303, 307, 308)
THROTTLED = (429, 503)
# A throttled feed waits for the server's Retry-After (at most RETRY_AFTER_CAP); without one,
# BACKOFF_FIRST, doubled for each 429/503 in a row, at most BACKOFF_CAP.
RETRY_AFTER_CAP = timedelta(days=7)
BACKOFF_FIRST = timedelta(minutes=30)
BACKOFF_CAP = timedelta(hours=24)


@dataclass(frozen=True)
class Limits:
    deadline: float = 30.0  # seconds for a whole fetch, redirects and retries included
    max_bytes: int = 20 * 2**20  # after decompression
    max_redirects: int = 5
    max_retry_after: float = 10.0  # wait at most this long when a server asks us to


@dataclass(frozen=True)
class FetchRequest:
    """One feed to fetch: where, and the validators from the last run."""

    feed_slug: str
    url: str  # the configured URL: the base for relative links, so that ids stay stable
    location: str  # where to ask: the configured URL, or where it moved permanently
    etag: str = ""
    last_modified: str = ""


class Throttled(FeedError):
    """A 429 or 503: the server asks us to come back later, at `until` if it said when."""

    def __init__(self, message: str, *, key: str, hint: str, status: int,
                 until: datetime | None, header: str) -> None:
        super().__init__(message, key=key, hint=hint)
        self.status, self.until, self.header = status, until, header

    def __reduce__(self) -> tuple[Any, ...]:
        return (_throttled, (self.message, self.key, self.hint, self.status, self.until,
                             self.header))


def _throttled(message: str, key: str, hint: str, status: int, until: datetime | None,
               header: str) -> Throttled:
    return Throttled(message, key=key, hint=hint, status=status, until=until, header=header)


def next_ask(now: datetime, in_a_row: int, error: Throttled) -> tuple[datetime, str]:
    """When to ask a throttled feed again, and why (said to the editor): the server's
    Retry-After, at most 7 days on; without one, 30 min doubled for each 429/503 in a row
    (`in_a_row` counts this one), at most 24 h."""
    what = f"answered {error.status}"
    if error.until is not None:
        asked = f"{what} with Retry-After: {error.header}"
        if error.until - now > RETRY_AFTER_CAP:
            return now + RETRY_AFTER_CAP, f"{asked}; waiting the most we wait, 7 days"
        return max(now, error.until), asked
    wait = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** min(in_a_row - 1, 16))
    nth = f"{in_a_row} times in a row" if in_a_row > 1 else "once"
    return now + wait, (f"{what} without Retry-After ({nth}): backing off {_span(wait)}, "
                        f"doubled each time, at most {_span(BACKOFF_CAP)}")


def _span(wait: timedelta) -> str:
    minutes = int(wait.total_seconds()) // 60
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def local_path(url: str, root: Path) -> Path | None:
    """The file a feed `url` names (a path relative to digest.toml, or file:), else None."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return None
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    return (root / url).resolve()


async def fetch_all(
    requests: list[FetchRequest],
    root: Path,
    jobs: int,
    limits: Limits,
    on_result: Callable[[FetchRequest, FetchResult | FeedError], Awaitable[None]],
) -> None:
    """Fetch every request, at most `jobs` at once; hand each result (or error) on as it
    arrives, so parsing overlaps with downloading."""
    gate = asyncio.Semaphore(max(1, jobs))
    async with http_client(jobs) as client:

        async def one(request: FetchRequest) -> None:
            async with gate:
                try:
                    result: FetchResult | FeedError = await fetch_one(client, request, root,
                                                                      limits)
                except FeedError as exc:
                    result = exc
            await on_result(request, result)

        await asyncio.gather(*(one(r) for r in requests))


@asynccontextmanager
async def http_client(jobs: int, accept: str = ACCEPT) -> AsyncIterator[httpx2.AsyncClient]:
    """The client for `jobs` requests at once: no automatic redirects (`fetch_one` follows
    them itself, within its limits)."""
    async with httpx2.AsyncClient(
        timeout=httpx2.Timeout(10.0),
        follow_redirects=False,
        limits=httpx2.Limits(max_connections=max(4, jobs * 2)),
        headers={"User-Agent": USER_AGENT, "Accept": accept,
                 "Accept-Encoding": "gzip, deflate"},
    ) as client:
        yield client


async def fetch_one(client: httpx2.AsyncClient, request: FetchRequest, root: Path,
                    limits: Limits) -> FetchResult:
    """One feed, within the deadline; FeedError with the URL and what to do when it fails."""
    path = local_path(request.location, root)
    if path is not None:
        return _read_file(request, path, limits)
    try:
        async with asyncio.timeout(limits.deadline):
            return await _get(client, request, limits)
    except TimeoutError as exc:
        raise _error(request, f"no complete answer within {limits.deadline:.0f} s",
                     "the server is too slow; it will be tried again on the next run") from exc
    except httpx2.HTTPError as exc:
        raise _error(request, _describe(exc), "is the server up and the URL right?") from exc


def _read_file(request: FetchRequest, path: Path, limits: Limits) -> FetchResult:
    try:
        if path.stat().st_size > limits.max_bytes:
            raise _error(request, f"file larger than {limits.max_bytes // 2**20} MiB")
        body = path.read_bytes()
    except FileNotFoundError as exc:
        raise FeedError("feed file not found", path=path, key=f"feeds.{request.feed_slug}",
                        hint="fix the feed's url in digest.toml") from exc
    except OSError as exc:
        raise FeedError(f"cannot read the feed file: {exc.strerror}", path=path,
                        key=f"feeds.{request.feed_slug}") from exc
    return FetchResult(request.feed_slug, request.url, body, {}, 200, final_url=path.as_uri())


async def _get(client: httpx2.AsyncClient, request: FetchRequest, limits: Limits
               ) -> FetchResult:
    url, seen = request.location, [request.location]
    moved_to: str | None = None
    permanent, retried = True, False
    while True:
        headers = {}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        async with client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in REDIRECTS:
                target = _redirect_target(request, url, response.headers.get("location"))
                if target in seen:
                    raise _error(request, "redirect loop: " + " → ".join([*seen, target]),
                                 "tell the site's owner, or remove the feed")
                if len(seen) > limits.max_redirects:
                    raise _error(request, f"more than {limits.max_redirects} redirects")
                if status in (301, 308) and permanent:
                    moved_to = target
                else:
                    permanent = False
                seen.append(target)
                url = target
                continue
            if status in THROTTLED:
                header = (response.headers.get("retry-after") or "").strip()
                until = retry_after(header, datetime.now(UTC))
                wait = (until - datetime.now(UTC)).total_seconds() if until else None
                if not retried and wait is not None and wait <= limits.max_retry_after:
                    retried = True
                    await asyncio.sleep(max(0.0, wait))
                    continue
                raise Throttled(
                    f"{request.location}: HTTP {status} {response.reason_phrase}".rstrip(),
                    key=f"feeds.{request.feed_slug}", hint=_status_hint(status),
                    status=status, until=until, header=header[:60])
            if status == 304 or status == 410:
                return FetchResult(request.feed_slug, request.url, b"", {}, status,
                                   final_url=url, moved_to=moved_to)
            if status >= 400:
                raise _error(request, f"HTTP {status} {response.reason_phrase}".rstrip(),
                             _status_hint(status))
            body = await _read_capped(response, limits.max_bytes, request)
            kept = {k.lower(): v for k, v in response.headers.items()
                    if k.lower() in ("content-type", "etag", "last-modified")}
            return FetchResult(request.feed_slug, request.url, body, kept, status,
                               final_url=url, moved_to=moved_to)


async def _read_capped(response: httpx2.Response, cap: int, request: FetchRequest) -> bytes:
    """The decoded body; stop as soon as it grows past `cap` (a gzip bomb stops here)."""
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise _error(request, f"the answer is larger than {cap // 2**20} MiB "
                                  "(after decompression)", "this does not look like a feed")
        chunks.append(chunk)
    return b"".join(chunks)


def _redirect_target(request: FetchRequest, url: str, location: str | None) -> str:
    if not location:
        raise _error(request, "a redirect without a Location header")
    target = urljoin(url, location.strip())
    if urlsplit(target).scheme not in ("http", "https"):
        raise _error(request, f"refused a redirect to a non-http(s) URL: {target[:80]}")
    return target


def retry_after(value: str, now: datetime) -> datetime | None:
    """When a Retry-After header (delta-seconds or an HTTP date) says to come back; None
    when there is none or it cannot be read."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        return now + timedelta(seconds=min(int(value[:12]), 10**9))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _status_hint(status: int) -> str:
    if status in (401, 403):
        return "the server refuses us; the feed may be private"
    if status == 404:
        return "the feed is not there; check its url in digest.toml"
    if status in THROTTLED:
        return "the server asks us to come back later"
    return "the server failed; it will be tried again on the next run"


def _describe(exc: httpx2.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE" in text.upper() or "SSL" in text.upper() or "TLS" in text.upper():
        return f"TLS error: {text}"
    if isinstance(exc, httpx2.RemoteProtocolError):
        return f"the server did not answer in HTTP ({text})"
    if isinstance(exc, httpx2.ConnectError):
        return f"cannot connect: {text}"
    if isinstance(exc, httpx2.ReadError):
        return f"connection broken while reading: {text or 'reset by peer'}"
    if isinstance(exc, httpx2.TimeoutException):
        return "the server stopped answering"
    if isinstance(exc, httpx2.DecodingError):
        return f"cannot decompress the answer: {text}"
    return text


def _error(request: FetchRequest, message: str, hint: str | None = None) -> FeedError:
    return FeedError(f"{request.location}: {message}", key=f"feeds.{request.feed_slug}",
                     hint=hint)
