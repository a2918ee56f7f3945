"""Runs stages 1-3 for every feed: fetch, parse, store. One bad feed never stops the rest."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from digest.config import Config, FeedConfig
from digest.errors import DigestError, FeedError
from digest.fetch import fetch
from digest.model import Entry, StoreReport
from digest.parse import parse
from digest.store import known_ids, store


@dataclass(frozen=True)
class FeedOutcome:
    """What happened to one feed: its report, or the error that stopped it."""

    feed: FeedConfig
    report: StoreReport | None
    error: DigestError | None


def ingest(
    config: Config,
    feeds: tuple[FeedConfig, ...] | None = None,
    jobs: int = 4,
    on_done: Callable[[FeedOutcome], None] | None = None,
) -> tuple[FeedOutcome, ...]:
    """Fetch and parse feeds in parallel, then store their new entries in config order."""
    chosen = config.feeds if feeds is None else feeds
    local = threading.local()

    def download(feed: FeedConfig) -> tuple[Entry, ...]:
        if not hasattr(local, "session"):
            local.session = requests.Session()  # one per worker: Session is not thread-safe
        try:
            return parse(fetch(feed, config.root, local.session))[1]
        except DigestError:
            raise
        except Exception as exc:  # a parser bug on one feed must not stop the others
            raise FeedError(f"{feed.url}: unexpected error: {exc!r}", key=f"feeds.{feed.slug}",
                            hint="run with --debug and report it") from exc

    known = known_ids(config.content_dir)
    outcomes: list[FeedOutcome] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [(feed, pool.submit(download, feed)) for feed in chosen]
        for feed, future in futures:
            try:
                entries = future.result()
                written = store(entries, content_dir=config.content_dir, topics=feed.topics,
                                timezone=config.site.timezone, known=known)
                outcome = FeedOutcome(feed, StoreReport(feed.slug, written,
                                                        len(entries) - len(written)), None)
            except DigestError as exc:
                outcome = FeedOutcome(feed, None, exc)
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    return tuple(outcomes)
