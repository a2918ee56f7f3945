"""What the editor's desk shows: a week's candidates as rows, its introduction, the filters,
rendered with the desk's templates in the site's language. Reads only; digest/review.py
answers the requests and writes the files.

It remembers the file versions it has shown (by their sha), so that a write refused because
the file changed behind the page can show what changed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

import jinja2
from babel.numbers import format_decimal
from babel.support import NullTranslations

from digest.config import Config
from digest.content import frontedit
from digest.content.frontedit import FrontMatterError
from digest.html.markup import render_markdown
from digest.html.sanitize import images
from digest.html.theme import translations
from digest.incremental.itemstore import ItemStore
from digest.incremental.paths import CachePaths
from digest.load import load
from digest.model import Decision, Selection, Urls
from digest.select import select
from digest.text.dates import Dates
from digest.text.weeks import is_week, window_start

DESK = Path(__file__).resolve().parent
SHOW = ("all", "selected", "out", "duplicates")
ABSENT = "absent"  # the "sha" of a file that does not exist
SEEN = 4096  # file versions remembered, to show what changed behind a page


class DeskContext(TypedDict):
    """What every template of the desk gets."""

    lang: str  # the site's language
    base: str  # the site's base path, e.g. "/digest/"
    desk: str  # the desk's path: base + "_review/"
    site_title: str
    token: str  # this server run's token, sent back with every action
    topics: list[tuple[str, str]]  # (slug, title) of each topic of digest.toml


@dataclass(frozen=True)
class Row:
    """One candidate as the desk shows it."""

    id: str
    anchor: str
    title: str
    link: str
    preview: str | None  # its page in the preview site, when selected
    sources: tuple[tuple[str, str], ...]  # (slug, title)
    date: str
    date_iso: str
    topics: tuple[tuple[str, str], ...]
    topics_by_editor: bool  # `topics:` in its file; else computed from its feed and the rules
    score: str
    reason: str
    excerpt: str
    state: str  # selected, out, duplicate
    position: int  # in the issue; 0 when not selected
    status: str  # the editor's status: selected, rejected, or ""
    pinned: bool
    note: str  # as written (Markdown)
    note_html: str  # as the site shows it (sanitized)
    issue: str
    sha: str


@dataclass(frozen=True)
class Intro:
    """The week's introduction as the desk shows (and edits) it."""

    path: str  # relative to the project, for display
    title: str
    body: str
    sha: str
    preview: str  # sanitized HTML


@dataclass(frozen=True)
class Filters:
    """Which rows are shown: by state, topic and source."""

    show: str = "all"
    topic: str = ""
    source: str = ""

    def visible(self, row: Row) -> bool:
        """Whether `row` passes every filter."""
        shown = {"all": True, "selected": row.state == "selected",
                 "out": row.state != "selected", "duplicates": row.state == "duplicate"}
        return (shown[self.show] and (not self.topic or self.topic in dict(row.topics))
                and (not self.source or self.source in dict(row.sources)))

    def query(self) -> dict[str, str]:
        """The filters that are set, as query parameters."""
        return {k: v for k, v in (("show", self.show), ("topic", self.topic),
                                  ("source", self.source)) if v and v != "all"}


class Shown:
    """The file versions the desk has shown (the newest SEEN), by sha; thread-safe."""

    def __init__(self) -> None:
        self._versions: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, data: bytes) -> str:
        """Keep `data` (a version a page shows); its sha."""
        key = sha(data)
        with self._lock:
            self._versions[key] = data
            self._versions.move_to_end(key)
            while len(self._versions) > SEEN:
                self._versions.popitem(last=False)
        return key

    def get(self, key: str) -> bytes | None:
        """The version with this sha, if it is still remembered."""
        with self._lock:
            return self._versions.get(key)


class Templates:
    """The desk's Jinja environment and translations for a language, made once; thread-safe."""

    def __init__(self) -> None:
        self._made: dict[str, tuple[jinja2.Environment, NullTranslations]] = {}
        self._lock = threading.Lock()

    def __call__(self, language: str) -> tuple[jinja2.Environment, NullTranslations]:
        with self._lock:
            if language not in self._made:
                tr = translations([DESK], language)
                env = jinja2.Environment(
                    loader=jinja2.FileSystemLoader(DESK / "templates"), autoescape=True,
                    undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"],
                    trim_blocks=True, lstrip_blocks=True)
                env.install_gettext_translations(tr, newstyle=True)  # type: ignore[attr-defined]
                self._made[language] = (env, tr)
            return self._made[language]


def selection_of(config: Config) -> Selection:
    """Every week's candidates and decisions, as `digest select --explain` sees them."""
    return select(load(config, ItemStore(CachePaths.of(config.state_dir))), config)


def week_rows(config: Config, selection: Selection, week: str, base: str, shown: Shown
              ) -> list[Row]:
    """The rows of `week`, in the selection's order; each file's version is remembered."""
    dates = Dates(config.site.language, config.site.timezone, config.site.date_format)
    locale = dates.locale
    feeds = {f.slug: f.title for f in config.feeds}
    topics = {t.slug: t.title for t in config.topics}
    titles = {d.item.id: d.item.title for d in selection.decisions}
    rows = []
    position = 0
    for d in selection.week(week):
        data = d.item.path.read_bytes()
        try:
            meta = frontedit.get(data)
        except FrontMatterError:
            meta = {}  # loaded fine, yet not editable here: an action will say why
        shown.remember(data)
        position += d.selected
        rows.append(_row(d, data, meta, position if d.selected else 0, dates.datetime,
                         lambda s: str(format_decimal(s, "0.00", locale=locale)),
                         feeds, topics, titles, base))
    return rows


def _row(d: Decision, data: bytes, meta: dict[str, Any], position: int,
         when: Callable[[Any], str], number: Callable[[float], str], feeds: dict[str, str],
         topics: dict[str, str], titles: dict[str, str], base: str) -> Row:
    item = d.item
    state = "selected" if d.selected else "duplicate" if d.duplicate_of else "out"
    reason = d.reason
    if d.duplicate_of and d.duplicate_of in titles:
        reason = reason.replace(d.duplicate_of, f"“{titles[d.duplicate_of]}”", 1)
    return Row(
        id=item.id, anchor=anchor(item.id), title=item.title, link=item.link,
        preview=base + Urls.item(item.slug) if d.selected else None,
        sources=tuple((s, feeds.get(s, s)) for s in (d.sources or (item.source,))),
        date=when(item.published), date_iso=item.published.isoformat(),
        topics=tuple((t, topics.get(t, t)) for t in d.topics),
        topics_by_editor=d.topics_by_editor, score=number(d.score),
        reason=reason, excerpt=item.excerpt, state=state, position=position,
        status=item.status or "", pinned=item.pinned, note=str(meta.get("note") or ""),
        note_html=item.note_html, issue=str(meta.get("issue") or ""), sha=sha(data))


def moves(before: Selection, after: Selection, item_id: str | None, tr: NullTranslations,
          most: int = 5) -> list[str]:
    """One sentence for each item that a write moved into or out of an issue, with the rule
    that did it: the item acted on first (a topic that trips a cap moves others too)."""
    was = {d.item.id: d for d in before.decisions}
    said = []
    for d in sorted(after.decisions, key=lambda d: d.item.id != item_id):
        old = was.get(d.item.id)
        then = old.week if old is not None and old.selected else None
        now = d.week if d.selected else None
        if then == now:
            continue
        values = {"title": d.item.title, "week": now or then, "reason": d.reason}
        said.append(tr.gettext("“%(title)s” is now in the issue of %(week)s: %(reason)s.")
                    % values if now else
                    tr.gettext("“%(title)s” left the issue of %(week)s: %(reason)s.") % values)
    if len(said) > most:
        more = len(said) - most
        said[most:] = [tr.ngettext("And %(n)d more item.", "And %(n)d more items.", more)
                       % {"n": more}]
    return said


def intro_of(config: Config, week: str, shown: Shown) -> Intro:
    """The week's introduction as it is on disk (empty when the week has none)."""
    path = issue_path(config, week)
    data = path.read_bytes() if path.is_file() else None
    if data is None:
        return Intro(rel(path, config), "", "", ABSENT, "")
    shown.remember(data)
    try:
        title = str(frontedit.get(data).get("title") or "")
        text = frontedit.body(data)
    except FrontMatterError:
        title, text = "", data.decode("utf-8", "replace")
    return Intro(rel(path, config), title, text, sha(data), markdown(text))


def render_page(env: jinja2.Environment, config: Config, selection: Selection, week: str,
                rows: list[Row], intro: Intro, *, filters: Filters, flash: str,
                undo_label: str, context: DeskContext) -> str:
    """The desk's page for `week`; `context` holds what every desk template gets."""
    weeks = sorted(set(selection.weeks) | {week})
    at = weeks.index(week)
    start = window_start(week, ZoneInfo(config.site.timezone), config.selection.week_starts)
    dates = Dates(config.site.language, config.site.timezone, config.site.date_format)
    return env.get_template("desk.html").render(
        week=week, weeks=weeks, rows=rows, filters=filters, flash=flash, intro=intro,
        week_range=dates.range(start, start + timedelta(days=6)),
        issue_url=context["base"] + Urls.issue(week),
        prev_week=weeks[at - 1] if at > 0 else None,
        next_week=weeks[at + 1] if at + 1 < len(weeks) else None,
        sources=[(f.slug, f.title) for f in config.feeds],
        selected=sum(r.state == "selected" for r in rows),
        undo_label=undo_label, show_options=SHOW, **context)


def render_rows(env: jinja2.Environment, rows: list[Row], week: str, context: DeskContext
                ) -> tuple[list[list[str]], str]:
    """Each row's HTML as [id, html] (for the page's script to swap in), and the summary."""
    template = env.get_template("row.html")
    html = [[r.id, template.render(r=r, week=week, filters=Filters(), **context)]
            for r in rows]
    summary = env.get_template("summary.html").render(
        selected=sum(r.state == "selected" for r in rows), rows=rows)
    return html, summary


def anchor(item_id: str | None) -> str:
    """The HTML id of an item's row."""
    return "item-" + hashlib.sha1((item_id or "").encode()).hexdigest()[:12]


def sha(data: bytes) -> str:
    """The sha256 of a file version, in hex: what a page sends back to name it."""
    return hashlib.sha256(data).hexdigest()


def issue_path(config: Config, week: str) -> Path:
    """content/issues/YYYY-Www.md for a week."""
    assert is_week(week)  # a name made of digits and 'W': it cannot leave content/issues/
    return config.content_dir / "issues" / f"{week}.md"


def rel(path: Path, config: Config) -> str:
    """`path` relative to the project, for messages."""
    try:
        return path.relative_to(config.root).as_posix()
    except ValueError:
        return str(path)


def markdown(text: str) -> str:
    """Markdown as the site renders it (sanitized); empty for blank text."""
    return images(render_markdown(text), lambda url: None) if text.strip() else ""
