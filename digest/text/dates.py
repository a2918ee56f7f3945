"""Dates in the site's language and time zone, through Babel (never the OS locale)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime as DateTime
from functools import cached_property
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_decimal

# Patterns chosen per language; a site can set its own with [site] date_format.
_DATETIME = {"ru": "d MMMM y, HH:mm", "uk": "d MMMM y, HH:mm", "en": "MMMM d, y, HH:mm"}
_DATE = {"ru": "d MMMM y", "uk": "d MMMM y", "en": "MMMM d, y"}


@dataclass(frozen=True)
class Dates:
    """Formatting for one site: its locale, its zone, its patterns."""

    language: str
    timezone: str
    datetime_pattern: str | None = None

    @cached_property  # parsed once: every date of a build's pages asks for it
    def locale(self) -> Locale:
        return Locale.parse(self.language.replace("-", "_"))

    def local(self, value: DateTime) -> DateTime:
        return value.astimezone(ZoneInfo(self.timezone))

    def datetime(self, value: DateTime) -> str:
        lang = self.locale.language
        pattern = self.datetime_pattern or _DATETIME.get(lang, "d MMMM y, HH:mm")
        return format_datetime(self.local(value), pattern, locale=self.locale)

    def date(self, value: DateTime) -> str:
        pattern = _DATE.get(self.locale.language, "d MMMM y")
        return format_date(self.local(value).date(), pattern, locale=self.locale)

    def day(self, value: DateTime) -> str:
        """The day without the year, for a date inside a dated week: '10 марта', 'March 10'."""
        return str(format_skeleton("MMMMd", self.local(value), locale=self.locale))

    def range(self, start: DateTime, end: DateTime) -> str:
        """A week as readers write it: '9–15 марта 2026', 'March 9–15, 2026'."""
        a, b = self.local(start).date(), self.local(end).date()
        loc = self.locale
        month_first = loc.language == "en"
        if (a.year, a.month) == (b.year, b.month):
            if month_first:
                return f"{format_date(a, 'MMMM d', locale=loc)}–{b.day}, {b.year}"
            return f"{a.day}–{format_date(b, _DATE.get(loc.language, 'd MMMM y'), locale=loc)}"
        first = "MMMM d" if month_first else "d MMMM"
        if a.year != b.year:
            first = _DATE.get(loc.language, "d MMMM y")
        return f"{format_date(a, first, locale=loc)} – {self.date(end)}"

    def number(self, value: float) -> str:
        return str(format_decimal(value, locale=self.locale))
