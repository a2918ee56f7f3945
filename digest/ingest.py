"""Runs stages 1-3 for every feed: fetch (async, concurrent), parse (in worker processes),
store (in order, in this process). One bad feed never stops the rest; the state records
validators, health and how long a server asked us to wait; a lock keeps two runs apart."""

from __future__ import annotations

import asyncio
import fcntl
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from digest.config import Config, FeedConfig
from digest.content.body import Body
from digest.errors import DigestError, FeedError
from digest.fetch import FetchRequest, Limits, Throttled, fetch_all, local_path, next_ask
from digest.html.cleanup import NO_RULES, Cleanup
from digest.incremental.bodies import render_all
from digest.incremental.itemstore import ItemStore
from digest.incremental.paths import CachePaths
from digest.load import Fresh, fresh, keep
from digest.model import Entry, FetchResult, ParsedFeed
from digest.parse import parse
from digest.store import NewFile, ReprocessReport, Store, StoreReport, new_files
from digest.system.atomic import clean_tmp
from digest.system.state import FeedState, State, read_state, write_state
from digest.system.workers import process_pool

DEAD_AFTER = 3  # consecutive failed runs before a feed is reported as dead
CHECKPOINT_SECONDS = 2.0
ITEMS_HELD = 32 * 2**20  # characters of rendered HTML held before the item store is saved


@dataclass(frozen=True)
class FeedOutcome:
    """What happened to one feed in this run."""

    feed: FeedConfig
    status: str  # "ok", "malformed", "not-modified", "failed", "gone", "skipped", "waiting"
    report: StoreReport | None = None
    error: DigestError | None = None
    moved_to: str | None = None
    failures: int = 0  # consecutive failed runs, this one included
    waiting_until: datetime | None = None  # not asked before then (a 429/503, now or before)
    wait_reason: str = ""
    warning: str = ""  # "malformed": feedparser's reason (the entries it read were stored)
    dropped: int = 0  # entries with neither a link nor a body: not stored

    @property
    def dead(self) -> bool:
        return self.failures >= DEAD_AFTER


def prepare(result: FetchResult, base: str, now: datetime, timezone: str,
            rules: Cleanup = NO_RULES) -> tuple[ParsedFeed, dict[str, NewFile]]:
    """The CPU-bound part of a feed, run in a worker process: parse, sanitize, and each
    entry's file should it be new (its feed's cleanup `rules` applied)."""
    parsed = parse(result, base)
    return parsed, new_files(parsed.entries, now, timezone, rules)


@contextmanager
def fetch_lock(config: Config) -> Iterator[None]:
    """One `digest fetch` at a time; the kernel drops the lock if the process dies."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    path = config.state_dir / "fetch.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DigestError("another `digest fetch` is running in this project", path=path,
                              hint="wait for it to finish") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def reprocess(config: Config, feeds: tuple[FeedConfig, ...] | None = None
              ) -> dict[str, ReprocessReport]:
    """`fetch --reprocess`: each feed's cleanup rules applied again to its stored items whose
    files nobody edited, from the stored bodies (no network: items gone from the feed too)."""
    chosen = config.feeds if feeds is None else feeds
    with fetch_lock(config):
        tmp = config.state_dir / "tmp"
        clean_tmp(tmp)
        state = read_state(config.state_dir)
        store = Store(config.content_dir, config.site.timezone, tmp, dict(state.written))
        try:
            return store.reprocess({f.slug: f.cleanup for f in chosen})
        finally:
            if store.written != state.written:
                write_state(config.state_dir, replace(state, written=store.written))


def ingest(
    config: Config,
    feeds: tuple[FeedConfig, ...] | None = None,
    jobs: int = 4,
    limits: Limits | None = None,
    on_done: Callable[[FeedOutcome], None] | None = None,
    now: datetime | None = None,
    force: bool = False,
) -> tuple[FeedOutcome, ...]:
    """Fetch, parse and store `feeds` (all by default); return one outcome per feed, in
    config order. A feed whose server asked us to wait is skipped until then, unless
    `force`."""
    chosen = config.feeds if feeds is None else feeds
    now = now or datetime.now(UTC)
    with fetch_lock(config):
        tmp = config.state_dir / "tmp"
        clean_tmp(tmp)
        state = read_state(config.state_dir)
        store = Store(config.content_dir, config.site.timezone, tmp, dict(state.written))
        run = _Run(config, state, store, now, on_done, force)
        try:
            run.go(chosen, jobs, limits or Limits())
        finally:
            write_state(config.state_dir, replace(run.state, written=store.written))
            run.items.save()
        order = {f.slug: i for i, f in enumerate(chosen)}
        return tuple(sorted(run.outcomes, key=lambda o: order[o.feed.slug]))


class _Run:
    """One fetch run: turns each fetch result into an outcome and a new feed state."""

    def __init__(self, config: Config, state: State, store: Store, now: datetime,
                 on_done: Callable[[FeedOutcome], None] | None, force: bool = False) -> None:
        self.config, self.state, self.store, self.now = config, state, store, now
        self.on_done, self.force = on_done, force
        self.outcomes: list[FeedOutcome] = []
        self.stamp = now.replace(microsecond=0).isoformat()
        self.zone = config.site.timezone
        self.saved_at = time.monotonic()
        # What `load` needs of each file this run writes, rendered here (in the worker
        # processes) so that the next build renders no body: see incremental/itemstore.py.
        self.items = ItemStore(CachePaths.of(config.state_dir), adding=True)
        self.wrote: list[Path] = []
        store.on_write = lambda path, text: self.wrote.append(path)

    def go(self, feeds: tuple[FeedConfig, ...], jobs: int, limits: Limits) -> None:
        requests = []
        for feed in feeds:
            saved = self._saved(feed)
            if saved.gone:
                self._finish(FeedOutcome(feed, "skipped", error=FeedError(
                    f"{feed.url}: answered 410 Gone on {saved.last_attempt[:10]}; not fetched",
                    key=f"feeds.{feed.slug}", hint="remove the feed from digest.toml")), saved)
                continue
            until = saved.waiting_until(self.now)
            if until is not None and not self.force:
                self._finish(FeedOutcome(feed, "waiting", failures=saved.failures,
                                         waiting_until=until, wait_reason=saved.wait_reason),
                             saved)
                continue
            requests.append(FetchRequest(feed.slug, feed.url, saved.url or feed.url, saved.etag,
                                         saved.last_modified))
        workers = min(jobs, os.cpu_count() or 1, len(requests))
        # Workers come from a fork server, not from this process: a plain fork would hand
        # them the fetch lock, and orphans of a killed run would hold it for ever.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["digest.ingest"])
        pool: Executor | None = process_pool(workers, context) if workers > 1 else None
        # Writing files waits on the disk: one thread does it, off the event loop, in order.
        self.writer = ThreadPoolExecutor(1)
        try:
            asyncio.run(fetch_all(requests, self.config.root, jobs, limits,
                                  lambda req, res: self._handle(req, res, pool)))
        finally:
            self.writer.shutdown()
            if pool is not None:
                pool.shutdown(cancel_futures=True)

    async def _handle(self, request: FetchRequest, result: FetchResult | FeedError,
                      pool: Executor | None) -> None:
        feed = self.config.feed(request.feed_slug)
        assert feed is not None
        saved = self._saved(feed)
        if isinstance(result, Throttled):
            self._throttle(feed, saved, result)
            return
        if isinstance(result, FeedError):
            self._fail(feed, saved, result, None)
            return
        # Until digest.toml names the new address, every run reports the move.
        moved = result.moved_to or (saved.url if saved.url and saved.url != feed.url else None)
        result = replace(result, moved_to=moved)
        if result.status == 410:
            error = FeedError(f"{request.location}: 410 Gone; the feed will not be fetched again",
                              key=f"feeds.{feed.slug}", hint="remove it from digest.toml")
            self._finish(FeedOutcome(feed, "gone", error=error),
                         replace(saved, gone=True, last_attempt=self.stamp, last_status="410"))
            return
        if result.status == 304:
            self._succeed(feed, saved, result, "not-modified", None)
            return
        base = self._base(feed)
        try:
            loop = asyncio.get_running_loop()
            if pool is None:
                parsed, texts = prepare(result, base, self.now, self.zone, feed.cleanup)
            else:
                parsed, texts = await loop.run_in_executor(pool, prepare, result, base,
                                                           self.now, self.zone, feed.cleanup)
            report, done = await loop.run_in_executor(self.writer, self._put, parsed.entries,
                                                      feed, texts)
        except DigestError as exc:
            self._fail(feed, saved, exc, moved)
            return
        except Exception as exc:  # a parser bug on one feed must not stop the others
            error = FeedError(f"{request.location}: unexpected error: {exc!r}",
                              key=f"feeds.{feed.slug}", hint="run with --debug and report it")
            error.__cause__ = exc
            self._fail(feed, saved, error, moved)
            return
        # Stored. What follows saves the next build some work, and holds nothing it need not.
        del texts
        parsed, result = replace(parsed, entries=()), replace(result, body=b"")
        await self._remember(done, pool)
        self._succeed(feed, saved, result, "malformed" if parsed.warning else "ok", report,
                      parsed)

    async def _remember(self, done: Fresh, pool: Executor | None) -> None:
        """Render the bodies of the files just written (in the worker processes) and put
        them into the item store, so that the next build renders none of them. A failure
        here loses nothing: the build renders them (and reports what it cannot)."""
        if not done.entries:
            return
        loop = asyncio.get_running_loop()
        try:
            results = (render_all(done.work) if pool is None or not done.work else
                       await loop.run_in_executor(pool, render_all, done.work))
            await loop.run_in_executor(self.writer, self._keep, done, results)
        except Exception:  # deliberate: see above
            pass

    def _put(self, entries: tuple[Entry, ...], feed: FeedConfig,
             texts: dict[str, NewFile]) -> tuple[StoreReport, Fresh]:
        """Store one feed's entries (in the writer thread), and read the files written as
        `load` does; save the state every few seconds, so that a killed run loses little of
        what it learned."""
        report = self.store.put(entries, self.now, texts, feed.topics, feed.cleanup)
        wrote, self.wrote = self.wrote, []
        done = fresh(self.config, self.items, wrote)
        if time.monotonic() - self.saved_at > CHECKPOINT_SECONDS:
            snapshot = replace(self.state, written=dict(self.store.written))
            write_state(self.config.state_dir, snapshot)
            self.saved_at = time.monotonic()
        return report, done

    def _keep(self, done: Fresh, results: list[Body]) -> None:
        """Put files just written into the item store (in the writer thread); save it when
        it holds many bodies, so that a fetch of thousands of items never holds them all."""
        keep(self.items, done, results)
        if self.items.pending > ITEMS_HELD:
            self.items.save()

    def _saved(self, feed: FeedConfig) -> FeedState:
        """The feed's state; a fresh one if the editor changed its url since."""
        saved = self.state.feed(feed.slug)
        if saved.configured and saved.configured != feed.url:
            return FeedState(configured=feed.url)
        return replace(saved, configured=feed.url)

    def _base(self, feed: FeedConfig) -> str:
        """Relative links resolve against the configured URL; a saved local copy of a remote
        feed has lost its address, so its homepage stands in."""
        if local_path(feed.url, self.config.root) is not None:
            return feed.homepage
        return feed.url

    def _succeed(self, feed: FeedConfig, saved: FeedState, result: FetchResult, status: str,
                 report: StoreReport | None, parsed: ParsedFeed | None = None) -> None:
        new = replace(
            saved,
            url=result.moved_to or saved.url,
            etag=result.headers.get("etag", saved.etag if status == "not-modified" else ""),
            last_modified=result.headers.get(
                "last-modified", saved.last_modified if status == "not-modified" else ""),
            last_attempt=self.stamp, last_success=self.stamp, last_status=str(result.status),
            failures=0, throttled=0, wait_until="", wait_reason="",
            last_new_item=self.stamp if report and report.new else saved.last_new_item,
            warning=parsed.warning if parsed else saved.warning,
            language=parsed.language if parsed else saved.language,
        )
        self._finish(FeedOutcome(feed, status, report, moved_to=result.moved_to,
                                 warning=new.warning if parsed else "",
                                 dropped=parsed.dropped if parsed else 0), new)

    def _fail(self, feed: FeedConfig, saved: FeedState, error: DigestError,
              moved: str | None, until: datetime | None = None) -> None:
        failures = saved.failures + 1
        new = replace(saved, last_attempt=self.stamp, failures=failures,
                      last_status=f"error: {error.message}"[:300])
        self._finish(FeedOutcome(feed, "failed", error=error, moved_to=moved,
                                 failures=failures, waiting_until=until,
                                 wait_reason=saved.wait_reason if until else ""), new)

    def _throttle(self, feed: FeedConfig, saved: FeedState, error: Throttled) -> None:
        """A 429 or 503: a failure, and a time before which the feed is not asked again
        (the server's, or our back-off); the wait is kept until a successful answer."""
        throttled = saved.throttled + 1
        until, why = next_ask(self.now, throttled, error)
        self._fail(feed, replace(saved, throttled=throttled, wait_reason=why,
                                 wait_until=_ceil_second(until).isoformat()), error, None,
                   until)

    def _finish(self, outcome: FeedOutcome, feed_state: FeedState) -> None:
        self.state = self.state.with_feed(outcome.feed.slug, feed_state)
        self.outcomes.append(outcome)
        if self.on_done is not None:
            self.on_done(outcome)


def _ceil_second(when: datetime) -> datetime:
    """`when` in UTC, rounded up: never ask a second too early."""
    return (when.astimezone(UTC) + timedelta(microseconds=999_999)).replace(microsecond=0)


def reachable(config: Config, limits: Limits | None = None) -> list[DigestError]:
    """Every feed asked once (nothing stored, no state kept): the ones that do not answer."""
    errors: list[DigestError] = []

    async def seen(request: FetchRequest, result: FetchResult | FeedError) -> None:
        if isinstance(result, FeedError):
            errors.append(result)
        elif result.status == 410:
            errors.append(FeedError(f"{request.location}: 410 Gone",
                                    key=f"feeds.{request.feed_slug}"))

    requests = [FetchRequest(f.slug, f.url, f.url) for f in config.feeds]
    asyncio.run(fetch_all(requests, config.root, 32, limits or Limits(), seen))
    return errors
