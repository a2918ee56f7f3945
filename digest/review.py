"""The editor's desk: `<base path>_review/` in `digest serve` (never in `digest build`).

Every candidate of a week, as `digest select --explain` sees it, with buttons (and keys) that
write the editor's decision into the item's front matter (digest/frontedit.py: one key's
lines change, nothing else), an undo stack for this server run, and the week's introduction
with a live preview. The preview site rebuilds because the file changed (the watcher), never
because the desk asked.

Safety: POST only, with this run's random token; an item is named by its id, never by a path;
a file that changed since the page showed it is not written (409, with the diff).
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from babel.numbers import format_decimal
from babel.support import NullTranslations

from digest import frontedit
from digest.atomic import write_bytes
from digest.cache import RenderCache
from digest.config import Config, load_config
from digest.dates import Dates
from digest.errors import DigestError, DigestErrors
from digest.frontedit import FrontMatterError
from digest.load import load
from digest.markup import render_markdown
from digest.model import Decision, Selection
from digest.select import select
from digest.serve import AppRequest, AppResponse
from digest.slug import week_slug
from digest.store import scan_ids
from digest.theme import translations
from digest.weeks import is_week, window_start

DESK = Path(__file__).resolve().parent / "desk"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: "
       "data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HTML_HEADERS = (("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", CSP),
                ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"),
                ("X-Content-Type-Options", "nosniff"))
ASSETS = {"desk.js": "text/javascript; charset=utf-8", "desk.css": "text/css; charset=utf-8"}
SHOW = ("all", "selected", "out", "duplicates")
ABSENT = "absent"  # the "hash" of a file that does not exist
SEEN = 4096  # file versions remembered, to show what changed behind a page


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
    path: str  # relative to the project, for display
    title: str
    body: str
    sha: str
    preview: str  # sanitized HTML


@dataclass(frozen=True)
class Filters:
    show: str = "all"
    topic: str = ""
    source: str = ""

    def visible(self, row: Row) -> bool:
        shown = {"all": True, "selected": row.state == "selected",
                 "out": row.state != "selected", "duplicates": row.state == "duplicate"}
        return (shown[self.show] and (not self.topic or self.topic in dict(row.topics))
                and (not self.source or self.source in dict(row.sources)))

    def query(self) -> dict[str, str]:
        return {k: v for k, v in (("show", self.show), ("topic", self.topic),
                                  ("source", self.source)) if v and v != "all"}


@dataclass
class _Undo:
    path: Path
    before: bytes | None  # None: the desk created the file
    after: bytes
    label: str


class Refused(Exception):
    """A request the desk will not carry out: an HTTP status and a message for the editor."""

    def __init__(self, status: int, message: str, diff: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.diff = status, message, diff


@dataclass
class Desk:
    """The desk of one `digest serve` run: its token, its undo stack, what it has shown."""

    config_path: Path
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    undo: list[_Undo] = field(default_factory=list)
    seen: OrderedDict[str, bytes] = field(default_factory=OrderedDict)
    flashes: OrderedDict[str, str] = field(default_factory=OrderedDict)
    lock: threading.RLock = field(default_factory=threading.RLock)  # writes, and the memos
    envs: dict[str, tuple[jinja2.Environment, NullTranslations]] = field(default_factory=dict)

    # --- routing --------------------------------------------------------------------------

    def handle(self, request: AppRequest) -> AppResponse:
        """Answer one request under `<base>_review/`."""
        routes: dict[str, Callable[[AppRequest, Config], AppResponse]] = {
            "act": self._act, "undo": self._undo, "intro": self._intro,
            "preview": self._preview}
        if request.method == "GET" and request.path in ASSETS:
            return AppResponse(200, (DESK / "static" / request.path).read_bytes(),
                               (("Content-Type", ASSETS[request.path]),
                                ("X-Content-Type-Options", "nosniff")))
        try:
            config = load_config(self.config_path)
        except (DigestError, DigestErrors) as exc:
            return _text(500, _problems(exc, self.config_path.parent))
        env, tr = self._env(config.site.language)
        wants_json = "application/json" in request.headers.get("accept", "")
        try:
            if request.method == "GET" and request.path == "":
                return self._page(request, config, request.query)
            if request.path not in routes:
                raise Refused(404, tr.gettext("There is no such page on the desk."))
            if request.method != "POST":
                raise Refused(405, tr.gettext("This address takes POST requests only."))
            self._check_token(request, tr)
            return routes[request.path](request, config)
        except Refused as refusal:
            if wants_json:
                return _json(refusal.status, {"ok": False, "message": refusal.message,
                                              "diff": refusal.diff})
            page = env.get_template("refused.html").render(
                message=refusal.message, diff=refusal.diff, **self._common(request, config))
            return AppResponse(refusal.status, page.encode(), HTML_HEADERS)
        except (DigestError, DigestErrors) as exc:
            message = _problems(exc, config.root)
            if wants_json:
                return _json(500, {"ok": False, "message": message, "diff": ""})
            return _text(500, message)

    def _check_token(self, request: AppRequest, tr: NullTranslations) -> None:
        given = request.headers.get("x-digest-token") or _one(request.form, "token")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise Refused(403, tr.gettext("This request does not carry the desk's token: "
                                          "reload the desk and try again."))

    def _env(self, language: str) -> tuple[jinja2.Environment, NullTranslations]:
        if language not in self.envs:
            tr = translations([DESK], language)
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(DESK / "templates"), autoescape=True,
                undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"],
                trim_blocks=True, lstrip_blocks=True)
            env.install_gettext_translations(tr, newstyle=True)  # type: ignore[attr-defined]
            self.envs[language] = (env, tr)
        return self.envs[language]

    def _common(self, request: AppRequest, config: Config) -> dict[str, Any]:
        return {"lang": config.site.language, "base": request.base,
                "desk": request.base + "_review/", "site_title": config.site.title,
                "token": self.token, "topics": [(t.slug, t.title) for t in config.topics]}

    # --- the page -------------------------------------------------------------------------

    def _page(self, request: AppRequest, config: Config, params: dict[str, list[str]],
              intro: Intro | None = None) -> AppResponse:
        env, tr = self._env(config.site.language)
        selection = self._selection(config)
        week = _week_param(params, selection, tr)
        filters = _filters(params)
        rows = self._rows(config, selection, week, request.base)
        with self.lock:
            flash = self.flashes.pop(_one(params, "flash"), "")
        intro = intro or self._intro_of(config, week)
        weeks = sorted(set(selection.weeks) | {week})
        start = window_start(week, ZoneInfo(config.site.timezone), config.selection.week_starts)
        dates = Dates(config.site.language, config.site.timezone, config.site.date_format)
        page = env.get_template("desk.html").render(
            week=week, weeks=weeks, rows=rows, filters=filters, flash=flash, intro=intro,
            week_range=dates.range(start, start + timedelta(days=6)),
            issue_url=f"{request.base}issues/{week_slug(week)}/",
            prev_week=weeks[weeks.index(week) - 1] if weeks.index(week) > 0 else None,
            next_week=weeks[weeks.index(week) + 1] if week != weeks[-1] else None,
            sources=[(f.slug, f.title) for f in config.feeds],
            selected=sum(r.state == "selected" for r in rows),
            undo_label=self.undo[-1].label if self.undo else "", show_options=SHOW,
            **self._common(request, config))
        return AppResponse(200, page.encode(), HTML_HEADERS)

    def _selection(self, config: Config) -> Selection:
        return select(load(config, RenderCache(config.state_dir / "cache")), config)

    def _rows(self, config: Config, selection: Selection, week: str, base: str
              ) -> list[Row]:
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
            self._remember(data)
            position += d.selected
            rows.append(_row(d, data, meta, position if d.selected else 0, dates.datetime,
                             lambda s: str(format_decimal(s, "0.00", locale=locale)),
                             feeds, topics, titles, base))
        return rows

    def _remember(self, data: bytes) -> None:
        """Keep a version the page shows, to diff against should it change behind the page."""
        with self.lock:
            self.seen[_sha(data)] = data
            self.seen.move_to_end(_sha(data))
            while len(self.seen) > SEEN:
                self.seen.popitem(last=False)

    def _intro_of(self, config: Config, week: str) -> Intro:
        path = _issue_path(config, week)
        data = path.read_bytes() if path.is_file() else None
        if data is None:
            return Intro(_rel(path, config), "", "", ABSENT, "")
        self._remember(data)
        try:
            title = str(frontedit.get(data).get("title") or "")
            text = frontedit.body(data)
        except FrontMatterError:
            title, text = "", data.decode("utf-8", "replace")
        return Intro(_rel(path, config), title, text, _sha(data), _markdown(text))

    # --- actions --------------------------------------------------------------------------

    def _act(self, request: AppRequest, config: Config) -> AppResponse:
        """One decision about one item: one front matter key written."""
        _, tr = self._env(config.site.language)
        form = request.form
        if {"path", "file", "filename"} & form.keys():
            raise Refused(400, tr.gettext("The desk names an item by its id, never by a path."))
        item_id = _one(form, "id")
        if not item_id or len(item_id) > 200 or any(c in item_id for c in "/\\\0") \
                or item_id.endswith(".md") or ".." in item_id:
            raise Refused(400, tr.gettext("The desk names an item by its id, never by a path."))
        items = config.content_dir / "items"
        path = scan_ids(items).get(item_id)
        if path is None or not _inside(path, items):
            raise Refused(404, tr.gettext("No item has the id %(id)s.") % {"id": item_id})
        key, value, label = _edit(_one(form, "do"), form, config, tr)
        with self.lock:
            current = path.read_bytes()
            self._unchanged(current, _one(form, "sha"), path, config, tr)
            try:
                new = frontedit.set_key(current, key, value)
            except FrontMatterError as exc:
                raise Refused(422, f"{_rel(path, config)}: {exc}") from exc
            title = str(frontedit.get(current).get("title") or item_id)
            message = label % {"title": title, "week": value}
            if new != current:
                write_bytes(path, new, tmp_dir=config.state_dir / "tmp")
                self.undo.append(_Undo(path, current, new, message))
            self._remember(new)
        return self._done(request, config, message, item_id)

    def _unchanged(self, current: bytes | None, expected: str, path: Path, config: Config,
                   tr: NullTranslations) -> None:
        """Refuse (409, with the diff) when the file is not what the page showed."""
        now = _sha(current) if current is not None else ABSENT
        if hmac.compare_digest(now, expected):
            return
        before = self.seen.get(expected) if expected != ABSENT else b""
        raise Refused(409, tr.gettext(
            "%(file)s changed on disk after this page showed it: nothing was written. Reload "
            "the desk to see the file as it is now, then decide again.") % {
                "file": _rel(path, config)}, _diff(before, current, tr))

    def _undo(self, request: AppRequest, config: Config) -> AppResponse:
        _, tr = self._env(config.site.language)
        with self.lock:
            if not self.undo:
                raise Refused(409, tr.gettext("Nothing to undo."))
            entry = self.undo.pop()
            current = entry.path.read_bytes() if entry.path.is_file() else None
            if current != entry.after:
                raise Refused(409, tr.gettext(
                    "%(file)s changed on disk after the desk wrote it: not undone (and taken "
                    "off the undo list).") % {"file": _rel(entry.path, config)},
                    _diff(entry.after, current, tr))
            if entry.before is None:
                entry.path.unlink()
            else:
                write_bytes(entry.path, entry.before, tmp_dir=config.state_dir / "tmp")
                self._remember(entry.before)
        return self._done(request, config, tr.gettext("Undone: %(what)s") % {
            "what": entry.label}, None)

    def _intro(self, request: AppRequest, config: Config) -> AppResponse:
        """Save the week's introduction (or, without JavaScript, preview it)."""
        _, tr = self._env(config.site.language)
        form = request.form
        week = _one(form, "week").upper()
        if not is_week(week):
            raise Refused(400, tr.gettext("'%(week)s' is not an ISO week.") % {"week": week})
        title, text = _one(form, "title").strip(), _one(form, "body")
        path = _issue_path(config, week)
        if path.exists() and not _inside(path, config.content_dir / "issues"):
            raise Refused(403, tr.gettext("%(file)s leads out of the content folder: edit it "
                                          "by hand.") % {"file": _rel(path, config)})
        if _one(form, "do") == "preview":
            intro = Intro(_rel(path, config), title, text, _one(form, "sha"), _markdown(text))
            return self._page(request, config, {**form, "week": [week]}, intro=intro)
        with self.lock:
            current = path.read_bytes() if path.is_file() else None
            self._unchanged(current, _one(form, "sha"), path, config, tr)
            try:
                new = _intro_bytes(current, title, text)
            except FrontMatterError as exc:
                raise Refused(422, f"{_rel(path, config)}: {exc}") from exc
            message = tr.gettext("Introduction saved: %(file)s") % {"file": _rel(path, config)}
            if new == (current if current is not None else b"---\n---\n"):
                message = tr.gettext("The introduction is unchanged.")
            else:
                write_bytes(path, new, tmp_dir=config.state_dir / "tmp")
                self.undo.append(_Undo(path, current, new, message))
            self._remember(new)
        return self._done(request, config, message, None, intro_sha=_sha(new))

    def _preview(self, request: AppRequest, config: Config) -> AppResponse:
        """The introduction as the site will show it: digest's Markdown, sanitized."""
        return _json(200, {"ok": True, "html": _markdown(_one(request.form, "body"))})

    def _done(self, request: AppRequest, config: Config, message: str, item_id: str | None,
              intro_sha: str | None = None) -> AppResponse:
        """After a write: the week's rows as JSON for the page's script, else a redirect
        back to the desk (303), where the message waits."""
        form = request.form
        selection = self._selection(config)
        _, tr = self._env(config.site.language)
        week = _week_param(form, selection, tr)
        if "application/json" not in request.headers.get("accept", ""):
            nonce = secrets.token_hex(8)
            with self.lock:
                self.flashes[nonce] = message
                while len(self.flashes) > 100:
                    self.flashes.popitem(last=False)
            query = {"week": week, **_filters(form).query(), "flash": nonce}
            anchor = f"#{_anchor(item_id)}" if item_id else "#intro" if intro_sha else ""
            return AppResponse(303, b"", (("Location", f"{request.base}_review/?"
                                           f"{urlencode(query)}{anchor}"),))
        env, _ = self._env(config.site.language)
        rows = self._rows(config, selection, week, request.base)
        common = self._common(request, config)
        template = env.get_template("row.html")
        return _json(200, {
            "ok": True, "message": message, "undo": self.undo[-1].label if self.undo else "",
            "rows": [[r.id, template.render(r=r, week=week, filters=Filters(), **common)]
                     for r in rows],
            "summary": env.get_template("summary.html").render(
                selected=sum(r.state == "selected" for r in rows), rows=rows),
            "intro_sha": intro_sha or self._intro_of(config, week).sha})


# --- helpers -------------------------------------------------------------------------------


def _edit(op: str, form: dict[str, list[str]], config: Config, tr: NullTranslations
          ) -> tuple[str, frontedit.Value | None, str]:
    """(key, value or None to remove it, the message) for an action of the desk."""
    g = tr.gettext
    simple: dict[str, tuple[str, frontedit.Value | None, str]] = {
        "select": ("status", "selected", g("Selected: %(title)s")),
        "reject": ("status", "rejected", g("Rejected: %(title)s")),
        "unselect": ("status", None, g("No longer selected by hand: %(title)s")),
        "unreject": ("status", None, g("No longer rejected: %(title)s")),
        "pin": ("pinned", True, g("Pinned: %(title)s")),
        "unpin": ("pinned", None, g("Unpinned: %(title)s")),
    }
    if op in simple:
        return simple[op]
    if op == "note":
        note = _one(form, "note").replace("\r\n", "\n").replace("\r", "\n").strip()
        return ("note", note or None,
                g("Note saved: %(title)s") if note else g("Note removed: %(title)s"))
    if op == "topics":
        known = [t.slug for t in config.topics]
        chosen = form.get("topics", [])
        unknown = [t for t in chosen if t not in known]
        if unknown:
            raise Refused(400, g("Unknown topic: %(topic)s") % {"topic": unknown[0]})
        return "topics", [t for t in known if t in chosen], g("Topics saved: %(title)s")
    if op == "issue":
        week = _one(form, "issue").strip().upper()
        if week and not is_week(week):
            raise Refused(400, g("'%(week)s' is not an ISO week.") % {"week": week})
        return "issue", week or None, (g("Moved to %(week)s: %(title)s") if week
                                       else g("Back in the week of its date: %(title)s"))
    raise Refused(400, g("Unknown action."))


def _row(d: Decision, data: bytes, meta: dict[str, Any], position: int,
         when: Callable[[Any], str], number: Callable[[float], str], feeds: dict[str, str],
         topics: dict[str, str], titles: dict[str, str], base: str) -> Row:
    item = d.item
    state = "selected" if d.selected else "duplicate" if d.duplicate_of else "out"
    reason = d.reason
    if d.duplicate_of and d.duplicate_of in titles:
        reason = reason.replace(d.duplicate_of, f"“{titles[d.duplicate_of]}”", 1)
    return Row(
        id=item.id, anchor=_anchor(item.id), title=item.title, link=item.link,
        preview=f"{base}items/{item.slug}/" if d.selected else None,
        sources=tuple((s, feeds.get(s, s)) for s in (d.sources or (item.source,))),
        date=when(item.published), date_iso=item.published.isoformat(),
        topics=tuple((t, topics.get(t, t)) for t in d.topics), score=number(d.score),
        reason=reason, excerpt=item.excerpt, state=state, position=position,
        status=item.status or "", pinned=item.pinned, note=str(meta.get("note") or ""),
        note_html=item.note_html, issue=str(meta.get("issue") or ""), sha=_sha(data))


def _intro_bytes(current: bytes | None, title: str, text: str) -> bytes:
    data = current if current is not None else b"---\n---\n"
    if str(frontedit.get(data).get("title") or "") != title:
        data = frontedit.set_key(data, "title", title or None)
    return frontedit.set_body(data, text)


def _week_param(params: dict[str, list[str]], selection: Selection, tr: NullTranslations
                ) -> str:
    """The chosen week, else the newest week with candidates."""
    week = _one(params, "week").strip().upper()
    if week:
        if not is_week(week):
            raise Refused(400, tr.gettext("'%(week)s' is not an ISO week.") % {"week": week})
        return week
    weeks = selection.weeks
    if not weeks:
        raise Refused(404, tr.gettext("There are no items yet: run `digest fetch` first."))
    return max(weeks)


def _filters(params: dict[str, list[str]]) -> Filters:
    show = _one(params, "show")
    return Filters(show if show in SHOW else "all", _one(params, "topic"),
                   _one(params, "source"))


def _one(params: dict[str, list[str]], name: str) -> str:
    values = params.get(name) or [""]
    return values[0]


def _anchor(item_id: str | None) -> str:
    return "item-" + hashlib.sha1((item_id or "").encode()).hexdigest()[:12]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _issue_path(config: Config, week: str) -> Path:
    assert is_week(week)  # a name made of digits and 'W': it cannot leave content/issues/
    return config.content_dir / "issues" / f"{week}.md"


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _rel(path: Path, config: Config) -> str:
    try:
        return path.relative_to(config.root).as_posix()
    except ValueError:
        return str(path)


def _markdown(text: str) -> str:
    return render_markdown(text) if text.strip() else ""


def _diff(before: bytes | None, after: bytes | None, tr: NullTranslations) -> str:
    """What changed from the version the page (or the desk) had to the file on disk."""
    def lines(data: bytes | None) -> list[str]:
        return [] if data is None else data.decode("utf-8", "replace").splitlines(keepends=True)

    if before is None:
        return tr.gettext("(the version this page showed is no longer known: the file now "
                          "reads)") + "\n" + (after or b"").decode("utf-8", "replace")
    text = "".join(difflib.unified_diff(
        lines(before), lines(after), tr.gettext("as the desk showed it"),
        tr.gettext("on disk now"), n=2))
    return "\n".join(line[:400] for line in text.splitlines()[:400])


def _problems(exc: DigestError | DigestErrors, root: Path) -> str:
    errors = exc.errors if isinstance(exc, DigestErrors) else [exc]
    return "\n".join(e.format(root) for e in errors)


def _json(status: int, data: dict[str, Any]) -> AppResponse:
    return AppResponse(status, json.dumps(data, ensure_ascii=False).encode(),
                       (("Content-Type", "application/json; charset=utf-8"),
                        ("X-Content-Type-Options", "nosniff")))


def _text(status: int, message: str) -> AppResponse:
    return AppResponse(status, message.encode(), (("Content-Type", "text/plain; charset=utf-8"),
                                                  ("X-Content-Type-Options", "nosniff")))
