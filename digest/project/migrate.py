"""`digest migrate`: item files of the old content format lose the `topics:` an older
`digest fetch` wrote into them, when the evidence says fetch wrote them (digest/legacy.py);
nothing else in a file changes. Files where that cannot be told are left alone and listed."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from digest.config import Config
from digest.content import contentfile, legacy
from digest.content.files import item_files
from digest.content.frontedit import FrontMatterError
from digest.errors import ContentError
from digest.ingest import fetch_lock
from digest.system.atomic import write_bytes
from digest.system.state import read_state, write_state


@dataclass(frozen=True)
class Migration:
    """What `digest migrate` changed (or, with dry_run, would change) and what it left."""

    changed: tuple[tuple[Path, tuple[str, ...]], ...]  # file, the topics removed
    left: tuple[str, ...]  # one line each: an old file left alone, and what to do
    unreadable: tuple[str, ...]  # files that do not parse (`digest check` says why)


def migrate(config: Config, dry_run: bool = False) -> Migration:
    """Migrate every old item file whose topics fetch wrote; the fetch state follows, so that
    fetch still knows the files it wrote."""
    changed: list[tuple[Path, tuple[str, ...]]] = []
    left: list[str] = []
    unreadable: list[str] = []
    with fetch_lock(config):
        state = read_state(config.state_dir)
        written = dict(state.written)
        try:
            _each(config, dry_run, written, changed, left, unreadable)
        finally:  # also when interrupted: the state knows every file already migrated
            if changed and not dry_run:
                write_state(config.state_dir, replace(state, written=written))
    return Migration(tuple(changed), tuple(left), tuple(unreadable))


def _each(config: Config, dry_run: bool, written: dict[str, str],
          changed: list[tuple[Path, tuple[str, ...]]], left: list[str],
          unreadable: list[str]) -> None:
    failed: list[OSError] = []
    for path, *_ in item_files(config.content_dir / "items", config.root, failed=failed):
        name = path.relative_to(config.root).as_posix()
        try:
            data = path.read_bytes()
            meta, _ = contentfile.decode(data, path)
        except (ContentError, OSError):
            unreadable.append(name)
            continue
        if not legacy.is_old(meta):
            continue
        raw = meta.get("topics")
        topics = tuple(str(t) for t in raw) if isinstance(raw, list) else ()
        hashes = legacy.evidence(data)
        item_id = str(meta.get("id"))
        where = legacy.origin(hashes, written.get(item_id))
        if where != "fetch":
            feed = config.feed(str(meta.get("source")))
            left.append(legacy.advice(name, topics, where, str(meta.get("source")),
                                      feed.topics if feed else ()))
            continue
        try:
            new = legacy.migrated(data)
            after = legacy.written_after(data, hashes, written[item_id])
        except FrontMatterError as exc:
            left.append(f"{name}: {exc}")
            continue
        if not dry_run:
            write_bytes(path, new, tmp_dir=config.state_dir / "tmp")
            written[item_id] = after
        changed.append((path, topics))
    # a file it could not look at (a link to nowhere) is named with those it could not read
    unreadable.extend(sorted(Path(os.path.relpath(exc.filename, config.root)).as_posix()
                             for exc in failed if exc.filename))
