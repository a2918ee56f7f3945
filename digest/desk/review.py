"""The editor's desk: `<base path>_review/` in `digest serve` (never in `digest build`).

Every candidate of a week, as `digest select --explain` sees it (digest/reviewpage.py makes
the page), with buttons (and keys) that write the editor's decision into the item's front
matter (digest/frontedit.py: one key's lines change, nothing else), an undo stack for this
server run (its last UNDO steps), and the week's introduction with a live preview. The
preview site rebuilds because the file changed (the watcher), never because the desk asked.

Safety: POST only, with this run's random token; an item is named by its id, never by a path;
a file that changed since the page showed it, or while the desk was writing it, is not
written (409, with the diff); undo never overwrites a save made after the desk's write.
"""

from __future__ import annotations

import difflib
import hmac
import json
import os
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.support import NullTranslations

from digest.config import Config, load_config
from digest.content import legacy
from digest.desk import frontedit
from digest.desk.frontedit import FrontMatterError
from digest.desk.reviewpage import (
    ABSENT,
    DESK,
    SHOW,
    Filters,
    Intro,
    Shown,
    Templates,
    anchor,
    intro_of,
    issue_path,
    markdown,
    moves,
    rel,
    render_page,
    render_rows,
    selection_of,
    sha,
    week_rows,
)
from digest.errors import DigestError
from digest.model import Selection
from digest.preview.serve import AppRequest, AppResponse
from digest.store import scan_ids
from digest.system.atomic import write_bytes
from digest.text.weeks import is_week

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: "
       "data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HTML_HEADERS = (("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", CSP),
                ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"),
                ("X-Content-Type-Options", "nosniff"))
ASSETS = {"desk.js": "text/javascript; charset=utf-8", "desk.css": "text/css; charset=utf-8"}
# Steps the desk can undo; older ones are dropped. A week's review is some 20 to 60 candidates,
# a few decisions each, so 100 covers a session; undo goes back one step at a time, so the
# 101st step back would first undo a hundred later ones, which nobody does. Each step keeps
# two versions of a file of a few kilobytes: the stack stays well under a few megabytes for
# a server left running for weeks.
UNDO = 100


@dataclass(frozen=True)
class _Version:
    """A file as the desk read (or wrote) it: its bytes (None: no file), and its device,
    inode, size and modification time (None: no file)."""

    data: bytes | None
    stamp: tuple[int, int, int, int] | None


@dataclass
class _Undo:
    path: Path
    before: bytes | None  # None: the desk created the file
    after: _Version  # what the desk wrote
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
    undo: deque[_Undo] = field(default_factory=lambda: deque(maxlen=UNDO))
    shown: Shown = field(default_factory=Shown)
    flashes: OrderedDict[str, str] = field(default_factory=OrderedDict)
    lock: threading.RLock = field(default_factory=threading.RLock)  # writes, undo, flashes
    templates: Templates = field(default_factory=Templates)
    # A test hook, None otherwise: called with the file's path once the desk has read the file
    # and written its temp file, right before it reads the file again and replaces it; there a
    # test lands a text editor's save in the window the re-check closes.
    before_replace: Callable[[Path], None] | None = None

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
        except DigestError as exc:
            return _text(500, exc.format(self.config_path.parent))
        env, tr = self.templates(config.site.language)
        wants_json = "application/json" in request.headers.get("accept", "")
        try:
            if request.method == "GET" and request.path == "":
                return self._page(request, config, request.query)
            if request.path not in routes:
                raise Refused(404, tr.gettext("There is no such page on the desk."))
            if request.method != "POST":
                raise Refused(405, tr.gettext("This address takes POST requests only."))
            self._check_token(request, tr)
            _chosen_week(request.form, tr)  # a bad one is refused before anything is written
            return routes[request.path](request, config)
        except Refused as refusal:
            if wants_json:
                return _json(refusal.status, {"ok": False, "message": refusal.message,
                                              "diff": refusal.diff})
            page = env.get_template("refused.html").render(
                message=refusal.message, diff=refusal.diff, **self._context(request, config))
            return AppResponse(refusal.status, page.encode(), HTML_HEADERS)
        except DigestError as exc:
            message = exc.format(config.root)
            if wants_json:
                return _json(500, {"ok": False, "message": message, "diff": ""})
            return _text(500, message)

    def _check_token(self, request: AppRequest, tr: NullTranslations) -> None:
        given = request.headers.get("x-digest-token") or _one(request.form, "token")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise Refused(403, tr.gettext("This request does not carry the desk's token: "
                                          "reload the desk and try again."))

    def _context(self, request: AppRequest, config: Config) -> dict[str, Any]:
        """What every template of the desk gets."""
        return {"lang": config.site.language, "base": request.base,
                "desk": request.base + "_review/", "site_title": config.site.title,
                "token": self.token, "topics": [(t.slug, t.title) for t in config.topics]}

    def _page(self, request: AppRequest, config: Config, params: dict[str, list[str]],
              intro: Intro | None = None) -> AppResponse:
        env, tr = self.templates(config.site.language)
        selection = selection_of(config)
        week = _week_param(params, selection, tr)
        rows = week_rows(config, selection, week, request.base, self.shown)
        with self.lock:
            flash = self.flashes.pop(_one(params, "flash"), "")
            undo_label = self._undo_label()
        page = render_page(
            env, config, selection, week, rows, intro or intro_of(config, week, self.shown),
            filters=_filters(params), flash=flash, undo_label=undo_label,
            context=self._context(request, config))
        return AppResponse(200, page.encode(), HTML_HEADERS)

    def _undo_label(self) -> str:
        with self.lock:
            return self.undo[-1].label if self.undo else ""

    # --- actions --------------------------------------------------------------------------

    def _act(self, request: AppRequest, config: Config) -> AppResponse:
        """One decision about one item: one front matter key written."""
        _, tr = self.templates(config.site.language)
        form = request.form
        if {"path", "file", "filename"} & form.keys():
            raise Refused(400, tr.gettext("The desk names an item by its id, never by a path."))
        item_id = _one(form, "id")
        if not item_id or len(item_id) > 200 or any(c in item_id for c in "/\\\0") \
                or item_id.endswith(".md") or ".." in item_id:
            raise Refused(400, tr.gettext("The desk names an item by its id, never by a path."))
        items = config.content_dir / "items"
        path = scan_ids(items).get(item_id)
        if path is None:
            raise Refused(404, tr.gettext("No item has the id %(id)s.") % {"id": item_id})
        key, value, label = _edit(_one(form, "do"), form, config, tr)
        before = selection_of(config)  # to say what the action moves into or out of an issue
        with self.lock:
            _writable(path, items, config, tr)
            read = _read(path)
            current = read.data
            if current is None:  # gone since the scan
                raise Refused(404, tr.gettext("No item has the id %(id)s.") % {"id": item_id})
            self._unchanged(current, _one(form, "sha"), path, config, tr)
            try:
                new = _edited(current, key, value)
            except FrontMatterError as exc:
                raise Refused(422, f"{rel(path, config)}: {exc}") from exc
            title = str(frontedit.get(current).get("title") or item_id)
            message = label % {"title": title, "week": value}
            if new != current:
                written = self._replace(path, new, read, config, _saved_meanwhile(path, config,
                                                                                   tr))
                self.undo.append(_Undo(path, current, written, message))
            self.shown.remember(new)
        return self._done(request, config, message, item_id, before=before)

    def _unchanged(self, current: bytes | None, expected: str, path: Path, config: Config,
                   tr: NullTranslations) -> None:
        """Refuse (409, with the diff) when the file is not what the page showed."""
        if expected == (sha(current) if current is not None else ABSENT):
            return
        before = self.shown.get(expected) if expected != ABSENT else b""
        raise Refused(409, tr.gettext(
            "%(file)s changed on disk after this page showed it: nothing was written. Reload "
            "the desk to see the file as it is now, then decide again.") % {
                "file": rel(path, config)}, _diff(before, current, tr))

    def _replace(self, path: Path, new: bytes | None, read: _Version, config: Config,
                 refusal: str) -> _Version:
        """Write `new` to `path` (None: remove the file), unless the file is no longer `read`:
        then refuse (409, `refusal`, with the diff) and leave it as it is. What was written.

        The check runs as late as it can: `new` is already in its temp file, so what is left
        between the check and the replace is one read of the file, one fstat and one rename
        (microseconds, where the edit and the temp file took milliseconds). Two things can
        still slip through, and no check can close them: a save that lands inside those
        microseconds (POSIX has no rename-if-unchanged; Linux's renameat2 RENAME_EXCHANGE
        could swap and look, but the swap back would race in its turn), and an editor that
        saves in place and already had the file open when it was replaced, whose bytes then
        go to the file the desk replaced (editors take no lock the desk could wait for). The
        file's stat counts as well as its bytes, so a save of the same bytes is caught too:
        it may have been a person's decision to keep the file as it was.
        """
        def unchanged() -> None:
            if self.before_replace is not None:
                self.before_replace(path)
            now = _read(path)
            if now != read:
                _, tr = self.templates(config.site.language)
                raise Refused(409, refusal, _diff(read.data or b"", now.data, tr))

        if new is None:
            unchanged()
            path.unlink()
            return _Version(None, None)
        write_bytes(path, new, tmp_dir=config.state_dir / "tmp", check=unchanged)
        # What the desk wrote, as undo will compare it. A save that lands between the replace
        # and this stat leaves other bytes than `new`: undo sees them and refuses.
        return _Version(new, _stamp(os.stat(path)))

    def _undo(self, request: AppRequest, config: Config) -> AppResponse:
        """Put back the bytes of the last file the desk wrote, unless it changed since."""
        _, tr = self.templates(config.site.language)
        with self.lock:
            if not self.undo:
                raise Refused(409, tr.gettext("Nothing to undo."))
            entry = self.undo.pop()
            refusal = tr.gettext(
                "%(file)s changed on disk after the desk wrote it: not undone (and taken off "
                "the undo list).") % {"file": rel(entry.path, config)}
            now = _read(entry.path)
            if now != entry.after:
                raise Refused(409, refusal, _diff(entry.after.data, now.data, tr))
            written = self._replace(entry.path, entry.before, now, config, refusal)
            if entry.before is not None:
                self.shown.remember(entry.before)
            # The step before this one on the same file wrote what is back now, yet in a file
            # of its own (another inode, another time): it is the desk's, so undo may take it.
            earlier = next((e for e in reversed(self.undo) if e.path == entry.path), None)
            if earlier is not None and earlier.after.data == written.data:
                earlier.after = written
        return self._done(request, config, tr.gettext("Undone: %(what)s") % {
            "what": entry.label}, None)

    def _intro(self, request: AppRequest, config: Config) -> AppResponse:
        """Save the week's introduction (or, without JavaScript, preview it)."""
        _, tr = self.templates(config.site.language)
        form = request.form
        week = _chosen_week(form, tr)
        if not week:
            raise Refused(400, tr.gettext("'%(week)s' is not an ISO week.") % {"week": week})
        title, text = _one(form, "title").strip(), _one(form, "body")
        path = issue_path(config, week)
        if _one(form, "do") == "preview":
            intro = Intro(rel(path, config), title, text, _one(form, "sha"), markdown(text))
            return self._page(request, config, {**form, "week": [week]}, intro=intro)
        with self.lock:
            _writable(path, config.content_dir / "issues", config, tr)
            read = _read(path)
            current = read.data
            self._unchanged(current, _one(form, "sha"), path, config, tr)
            try:
                new = _intro_bytes(current, title, text)
            except FrontMatterError as exc:
                raise Refused(422, f"{rel(path, config)}: {exc}") from exc
            message = tr.gettext("Introduction saved: %(file)s") % {"file": rel(path, config)}
            if new == (current if current is not None else b"---\n---\n"):
                message = tr.gettext("The introduction is unchanged.")
            else:
                written = self._replace(path, new, read, config, _saved_meanwhile(path, config,
                                                                                   tr))
                self.undo.append(_Undo(path, current, written, message))
            self.shown.remember(new)
        return self._done(request, config, message, None, intro_sha=sha(new))

    def _preview(self, request: AppRequest, config: Config) -> AppResponse:
        """The introduction as the site will show it: digest's Markdown, sanitized."""
        return _json(200, {"ok": True, "html": markdown(_one(request.form, "body"))})

    def _done(self, request: AppRequest, config: Config, message: str, item_id: str | None,
              intro_sha: str | None = None, before: Selection | None = None) -> AppResponse:
        """After a write: the week's rows as JSON for the page's script, else a redirect
        back to the desk (303), where the message waits; it says which items the write moved
        into or out of an issue, and why."""
        form = request.form
        selection = selection_of(config)
        env, tr = self.templates(config.site.language)
        if before is not None:
            message = " ".join([message, *moves(before, selection, item_id, tr)])
        week = _week_param(form, selection, tr)
        if "application/json" not in request.headers.get("accept", ""):
            nonce = secrets.token_hex(8)
            with self.lock:
                self.flashes[nonce] = message
                while len(self.flashes) > 100:
                    self.flashes.popitem(last=False)
            query = {"week": week, **_filters(form).query(), "flash": nonce}
            where = f"#{anchor(item_id)}" if item_id else "#intro" if intro_sha else ""
            return AppResponse(303, b"", (("Location", f"{request.base}_review/?"
                                           f"{urlencode(query)}{where}"),))
        rows = week_rows(config, selection, week, request.base, self.shown)
        html, summary = render_rows(env, rows, week, self._context(request, config))
        return _json(200, {
            "ok": True, "message": message, "undo": self._undo_label(),
            "rows": html, "summary": summary,
            "intro_sha": intro_sha or intro_of(config, week, self.shown).sha})


# --- requests ----------------------------------------------------------------------------------


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
    if op in ("topics", "computed-topics"):
        # The editor's topics replace the computed ones; none chosen, or "computed": the key
        # goes, and the feed's and the rules' topics apply again.
        known = [t.slug for t in config.topics]
        chosen = form.get("topics", []) if op == "topics" else []
        unknown = [t for t in chosen if t not in known]
        if unknown:
            raise Refused(400, g("Unknown topic: %(topic)s") % {"topic": unknown[0]})
        if not chosen:
            return "topics", None, g("Topics are computed again: %(title)s")
        return "topics", [t for t in known if t in chosen], g("Topics saved: %(title)s")
    if op == "issue":
        week = _one(form, "issue").strip().upper()
        if week and not is_week(week):
            raise Refused(400, g("'%(week)s' is not an ISO week.") % {"week": week})
        return "issue", week or None, (g("Moved to %(week)s: %(title)s") if week
                                       else g("Back in the week of its date: %(title)s"))
    raise Refused(400, g("Unknown action."))


def _edited(current: bytes, key: str, value: frontedit.Value | None) -> bytes:
    """The file with one decision written. Topics go through legacy.set_topics: a file
    fetch wrote in the old format also gets its content format, so they read as the editor's."""
    if key == "topics" and not isinstance(value, str | bool | int):
        return legacy.set_topics(current, value)
    return frontedit.set_key(current, key, value)


def _intro_bytes(current: bytes | None, title: str, text: str) -> bytes:
    """The introduction file with its title and body replaced (a new one when None)."""
    data = current if current is not None else b"---\n---\n"
    if str(frontedit.get(data).get("title") or "") != title:
        data = frontedit.set_key(data, "title", title or None)
    return frontedit.set_body(data, text)


def _week_param(params: dict[str, list[str]], selection: Selection, tr: NullTranslations
                ) -> str:
    """The chosen week, else the newest week with candidates."""
    week = _chosen_week(params, tr)
    if week:
        return week
    weeks = selection.weeks
    if not weeks:
        raise Refused(404, tr.gettext("There are no items yet: run `digest fetch` first."))
    return max(weeks)


def _chosen_week(params: dict[str, list[str]], tr: NullTranslations) -> str:
    """The ISO week a request names, or "" when it names none; refused when it is no week."""
    week = _one(params, "week").strip().upper()
    if week and not is_week(week):
        raise Refused(400, tr.gettext("'%(week)s' is not an ISO week.") % {"week": week})
    return week


def _filters(params: dict[str, list[str]]) -> Filters:
    """The filters a request names; an unknown `show` shows all."""
    show = _one(params, "show")
    return Filters(show if show in SHOW else "all", _one(params, "topic"),
                   _one(params, "source"))


def _one(params: dict[str, list[str]], name: str) -> str:
    """The first value of a query or form parameter ("" when it is absent)."""
    values = params.get(name) or [""]
    return values[0]


# --- files -------------------------------------------------------------------------------------


def _read(path: Path) -> _Version:
    """The file's bytes and, from the same open file, its stat (None, None: no file)."""
    try:
        with path.open("rb") as f:
            return _Version(f.read(), _stamp(os.fstat(f.fileno())))
    except FileNotFoundError:
        return _Version(None, None)


def _stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _saved_meanwhile(path: Path, config: Config, tr: NullTranslations) -> str:
    """The refusal when the file changed while the desk was writing it."""
    return tr.gettext(
        "%(file)s was saved by something else while the desk was writing it: nothing was "
        "written, the file keeps that save. Reload the desk to see the file as it is now, "
        "then decide again.") % {"file": rel(path, config)}


# --- answers -----------------------------------------------------------------------------------


def _writable(path: Path, folder: Path, config: Config, tr: NullTranslations) -> None:
    """Refuse a symbolic link, or a path that leads out of `folder`: an atomic write would
    replace the link (or write elsewhere), not edit the file the editor sees."""
    if path.is_symlink() or not path.resolve().is_relative_to(folder.resolve()):
        raise Refused(403, tr.gettext("%(file)s is a symbolic link or leads out of the content "
                                      "folder: edit it by hand.") % {"file": rel(path, config)})


def _diff(before: bytes | None, after: bytes | None, tr: NullTranslations) -> str:
    """What changed from the version the page (or the desk) had to the file on disk."""
    def lines(data: bytes | None) -> list[str]:
        return [] if data is None else data.decode("utf-8", "replace").splitlines(keepends=True)

    if before is not None and before == after:
        return tr.gettext("(the file was saved again meanwhile, with the same bytes)")
    if before is None:
        return tr.gettext("(the version this page showed is no longer known: the file now "
                          "reads)") + "\n" + (after or b"").decode("utf-8", "replace")
    text = "".join(difflib.unified_diff(
        lines(before), lines(after), tr.gettext("as the desk showed it"),
        tr.gettext("on disk now"), n=2))
    return "\n".join(line[:400] for line in text.splitlines()[:400])


def _json(status: int, data: dict[str, Any]) -> AppResponse:
    return AppResponse(status, json.dumps(data, ensure_ascii=False).encode(),
                       (("Content-Type", "application/json; charset=utf-8"),
                        ("X-Content-Type-Options", "nosniff")))


def _text(status: int, message: str) -> AppResponse:
    return AppResponse(status, message.encode(), (("Content-Type", "text/plain; charset=utf-8"),
                                                  ("X-Content-Type-Options", "nosniff")))
