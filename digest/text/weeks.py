"""Issue weeks: named after ISO weeks ('2026-W11'), opening on the configured weekday."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


def is_week(text: str) -> bool:
    """'2026-W11' names a real ISO week."""
    found = WEEK_RE.fullmatch(text)  # not match: "$" also matches before a final newline
    if not found:
        return False
    try:
        date.fromisocalendar(int(found.group(1)), int(found.group(2)), 1)
    except ValueError:
        return False
    return True


def week_of(when: datetime, zone: ZoneInfo, starts: int) -> str:
    """The issue week of a moment: its window opens on weekday `starts` (0 = Monday); it is
    named after the ISO week of the Monday inside it."""
    local = when.astimezone(zone).date()
    start = local - timedelta(days=(local.weekday() - starts) % 7)
    monday = start + timedelta(days=(7 - start.weekday()) % 7)
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


def window_start(week: str, zone: ZoneInfo, starts: int) -> datetime:
    """Midnight, in `zone`, of the day the week's window opens: on or before its Monday."""
    monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
    return datetime.combine(monday - timedelta(days=(7 - starts) % 7), time(), zone)


def next_week(week: str) -> str:
    monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1) + timedelta(days=7)
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"
