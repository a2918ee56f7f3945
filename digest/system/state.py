"""The fetch state in .digest/state.json: per feed HTTP validators, health and how long the
server asked us to wait, per item the hash of what digest wrote. Written atomically;
committed by the weekly workflow."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path

from digest.errors import DigestError
from digest.model import Health
from digest.system.atomic import write_text
from digest.text.langtag import language_tag

VERSION = 1


@dataclass(frozen=True)
class FeedState:
    """What the last runs learned about one feed."""

    configured: str = ""  # the url in digest.toml when this was recorded
    url: str = ""  # where the feed now lives, after permanent redirects
    etag: str = ""
    last_modified: str = ""
    last_attempt: str = ""
    last_success: str = ""
    last_status: str = ""  # "200", "304", "error: …"
    failures: int = 0  # consecutive failed runs
    last_new_item: str = ""
    gone: bool = False  # answered 410 Gone: not fetched again
    throttled: int = 0  # 429/503 answers since the last success
    wait_until: str = ""  # not asked before this time (UTC), unless `fetch --force`
    wait_reason: str = ""  # why: the server's Retry-After, or our back-off
    warning: str = ""  # why feedparser found the feed malformed on its last success
    language: str = ""  # the language the feed declared on its last success (BCP 47), or ""

    def waiting_until(self, now: datetime) -> datetime | None:
        """The time this feed is not asked before, if it is still to come."""
        try:
            until = datetime.fromisoformat(str(self.wait_until))
        except ValueError:
            return None  # empty, or broken by hand: asking is the safe side
        until = until if until.tzinfo else until.replace(tzinfo=UTC)
        return until if until > now else None

    @classmethod
    def from_json(cls, data: object) -> FeedState:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names}) if isinstance(data, dict) \
            else cls()


@dataclass(frozen=True)
class State:
    feeds: dict[str, FeedState] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)  # item id -> sha256 of its file

    def feed(self, slug: str) -> FeedState:
        return self.feeds.get(slug, FeedState())

    def with_feed(self, slug: str, feed: FeedState) -> State:
        return replace(self, feeds={**self.feeds, slug: feed})


def source_health(state: State) -> dict[str, Health]:
    """Each feed's health, as the sources page shows it."""
    return {
        slug: Health(datetime.fromisoformat(f.last_success) if f.last_success else None,
                     f.last_status, f.failures, str(f.warning))
        for slug, f in state.feeds.items()
    }


def feed_languages(state: State) -> dict[str, str]:
    """The language each feed declared, checked again: state.json may be edited by hand."""
    return {slug: tag for slug, f in state.feeds.items()
            if (tag := language_tag(str(f.language or "")))}


def state_path(state_dir: Path) -> Path:
    return state_dir / "state.json"


def read_state(state_dir: Path) -> State:
    """The saved state; an empty one when there is none yet."""
    path = state_path(state_dir)
    if not path.exists():
        return State()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DigestError("the fetch state is not valid JSON", path=path,
                          hint="restore it from git, or delete it to start afresh") from exc
    feeds = {k: FeedState.from_json(v) for k, v in (data.get("feeds") or {}).items()}
    written = {str(k): str(v) for k, v in (data.get("written") or {}).items()}
    return State(feeds, written)


def write_state(state_dir: Path, state: State) -> None:
    """Save atomically, keys sorted, so that the file diffs well in git."""
    data = {
        "version": VERSION,
        "feeds": {k: {n: v for n, v in asdict(f).items() if v not in ("", 0, False)}
                  for k, f in sorted(state.feeds.items())},
        "written": dict(sorted(state.written.items())),
    }
    write_text(state_path(state_dir),
               json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n",
               tmp_dir=state_dir / "tmp")
