"""How a fetch run reads on the console: live progress, then a summary table and warnings.
Formatting only; the CLI decides what to print and the exit code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from digest.ingest import DEAD_AFTER, FeedOutcome
from digest.model import Decision


class FetchProgress:
    """A progress bar on a terminal; one plain line per failed feed everywhere."""

    def __init__(self, console: Console, total: int, quiet: bool, verbose: bool) -> None:
        self.console, self.quiet, self.verbose = console, quiet, verbose
        self.bar: Progress | None = None
        if console.is_terminal and not quiet:
            self.bar = Progress(TextColumn("fetching"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=console, transient=True)
            self.task = self.bar.add_task("fetch", total=total)

    def __enter__(self) -> FetchProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def done(self, outcome: FeedOutcome) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)
        if outcome.status == "failed" and outcome.error is not None:
            self.console.print(f"[red]error:[/] {escape(outcome.error.format(Path.cwd()))}",
                               soft_wrap=True)
        elif self.verbose and outcome.report is not None:
            for path in outcome.report.new:
                self.console.print(f"  + {escape(str(path))}", soft_wrap=True)


@dataclass(frozen=True)
class FetchSummary:
    table: Table
    warnings: tuple[str, ...]
    line: str
    failed: int


def fetch_summary(outcomes: tuple[FeedOutcome, ...], cwd: Path, timezone: str,
                  now: datetime) -> FetchSummary:
    """The table, the warnings and the last line of a fetch run; times in `timezone` (the
    site's, so that a scheduled run on a UTC machine says what the editor reads)."""
    table = Table("feed", "result", "new", "updated", "unchanged", "note", box=None,
                  show_edge=False, pad_edge=False)
    warnings: list[str] = []
    for o in outcomes:
        r = o.report
        note = o.error.message if o.error is not None else o.warning
        where = f"feeds.{o.feed.slug}: {o.feed.url}"
        if o.waiting_until is not None:
            until = f"waiting until {clock(o.waiting_until, timezone, now)}"
            note = note or until
            warnings.append(f"{where}: {until}: the server {o.wait_reason}; "
                            "`digest fetch --force` asks anyway")
        if o.warning:
            warnings.append(f"{where}: malformed feed ({o.warning}); the entries feedparser "
                            "could read were stored; tell the site's owner if it lasts")
        if o.dropped:
            warnings.append(f"{where}: skipped {o.dropped} "
                            f"{'entry' if o.dropped == 1 else 'entries'} with neither a link "
                            "nor a body")
        if o.moved_to:
            warnings.append(f"{o.feed.slug}: moved permanently to {o.moved_to}; update its url "
                            "in digest.toml, or run `digest fetch --update-config`")
        if o.dead:
            warnings.append(f"{o.feed.slug}: failed {o.failures} runs in a row: is the feed "
                            f"dead? (reported after {DEAD_AFTER})")
        if o.status in ("gone", "skipped") and o.error is not None:
            warnings.append(o.error.format(cwd))
        if r is not None and r.kept:
            for path in r.kept:
                warnings.append(f"{_rel(path, cwd)}: changed upstream, but edited here: "
                                "kept your version")
        table.add_row(o.feed.slug, o.status, str(len(r.new)) if r else "-",
                      str(len(r.updated)) if r else "-", str(r.unchanged) if r else "-",
                      escape(note[:80]))
    new = sum(len(o.report.new) for o in outcomes if o.report)
    updated = sum(len(o.report.updated) for o in outcomes if o.report)
    failed = sum(1 for o in outcomes if o.status == "failed")
    waiting = sum(1 for o in outcomes if o.status == "waiting")
    migrated = sum(len(o.report.migrated) for o in outcomes if o.report)
    line = (f"{new} new, {updated} updated from {len(outcomes) - failed - waiting} of "
            f"{len(outcomes)} feeds" + (f"; {failed} failed" if failed else "")
            + (f"; {waiting} waiting" if waiting else "")
            + (f"; {migrated} unedited old files lost the `topics:` an older fetch wrote "
               "(their topics are computed; `digest check` lists what is left)"
               if migrated else ""))
    return FetchSummary(table, tuple(warnings), line, failed)


def clock(when: datetime, timezone: str, now: datetime) -> str:
    """'14:05 (Europe/Moscow)', rounded up to the minute; with the date when it is not
    today there."""
    zone = ZoneInfo(timezone)
    local = when.astimezone(zone)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = "" if local.date() == now.astimezone(zone).date() else f"{local:%Y-%m-%d} "
    return f"{day}{local:%H:%M} ({timezone})"


def _rel(path: Path, cwd: Path) -> str:
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)


def selection_json(week: str, decisions: tuple[Decision, ...], root: Path) -> str:
    """The documented, stable JSON of `digest select --format json`."""
    candidates = [{
        "id": d.item.id,
        "path": _rel(d.item.path, root),
        "source": d.item.source,
        "title": d.item.title,
        "topics": list(d.topics),
        "selected": d.selected,
        "pinned": d.pinned,
        "score": d.score,
        "reason": d.reason,
        "duplicate_of": d.duplicate_of,
    } for d in decisions]
    return json.dumps({"issue": week, "candidates": candidates}, ensure_ascii=False, indent=2)


def selection_table(week: str, decisions: tuple[Decision, ...], explain: bool) -> Table:
    """The issue in order; with `explain`, every candidate and its reason."""
    chosen = [d for d in decisions if d.selected]
    table = Table(title=f"{week}: {len(chosen)} selected of {len(decisions)} candidates",
                  title_justify="left", box=None, show_edge=False, pad_edge=False)
    for name in ("#", "score", "source", "title", "topics"):
        table.add_column(name, overflow="fold")
    if explain:
        table.add_column("why", overflow="fold")
    rows = decisions if explain else tuple(chosen)
    for n, d in enumerate(rows, 1):
        mark = ("📌 " if d.pinned else "") + (str(n) if d.selected else "–")
        cells = [mark, f"{d.score:.2f}", d.source_list, escape(d.item.title), ", ".join(d.topics)]
        if explain:
            cells.append(escape(d.reason))
        table.add_row(*cells, style=None if d.selected else "dim")
    return table
