"""The editor's desk: `<base path>_review/` in `digest serve` (never in `digest build`).

Every candidate of a week, as `digest select --explain` sees it (digest/desk/reviewpage.py
makes the page), with buttons (and keys) that write the editor's decision into the item's
front matter (digest/content/frontedit.py: one key's lines change, nothing else), an undo stack
for this server run (its last UNDO steps), and the week's introduction with a live preview.
The preview site rebuilds because the file changed (the watcher), never because the desk
asked. This module routes the requests and carries out the actions; digest/desk/forms.py
reads what a request asks, digest/desk/files.py reads and writes the editor's files.

Safety: POST only, with this run's random token; an item is named by its id, never by a path;
a file that changed since the page showed it, or while the desk was writing it, is not
written (409, with the diff); undo never overwrites a save made after the desk's write.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from babel.support import NullTranslations

from digest.config import Config, load_config
from digest.content import frontedit
from digest.content.frontedit import FrontMatterError
from digest.desk import files, forms
from digest.desk.files import UNDO
from digest.desk.forms import Refused
from digest.desk.reviewpage import (
    DESK,
    DeskContext,
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

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: "
       "data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HTML_HEADERS = (("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", CSP),
                ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"),
                ("X-Content-Type-Options", "nosniff"))
ASSETS = {"desk.js": "text/javascript; charset=utf-8", "desk.css": "text/css; charset=utf-8"}
Route = Callable[[AppRequest, Config], AppResponse]


@dataclass
class Desk:
    """The desk of one `digest serve` run: its token, its undo stack, what it has shown."""

    config_path: Path
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    undo: deque[files.Step] = field(default_factory=lambda: deque(maxlen=UNDO))
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
        if request.method == "GET" and request.path in ASSETS:
            return AppResponse(200, (DESK / "static" / request.path).read_bytes(),
                               (("Content-Type", ASSETS[request.path]),
                                ("X-Content-Type-Options", "nosniff")))
        try:
            config = load_config(self.config_path)
        except DigestError as exc:
            return _text(500, exc.format(self.config_path.parent))
        try:
            return self._route(request, config)
        except Refused as refusal:
            return self._refused(request, config, refusal)
        except DigestError as exc:
            if _wants_json(request):
                return _json(500, {"ok": False, "message": exc.format(config.root), "diff": ""})
            return _text(500, exc.format(config.root))

    def _route(self, request: AppRequest, config: Config) -> AppResponse:
        """The page for a GET of the desk itself; an action for a POST with the token."""
        routes: dict[str, Route] = {"act": self._act, "undo": self._undo,
                                    "intro": self._intro, "preview": self._preview}
        if request.method == "GET" and request.path == "":
            return self._page(request, config, request.query)
        _, tr = self.templates(config.site.language)
        if request.path not in routes:
            raise Refused(404, tr.gettext("There is no such page on the desk."))
        if request.method != "POST":
            raise Refused(405, tr.gettext("This address takes POST requests only."))
        self._check_token(request, tr)
        forms.chosen_week(request.form, tr)  # a bad one is refused before anything is written
        return routes[request.path](request, config)

    def _refused(self, request: AppRequest, config: Config, refusal: Refused) -> AppResponse:
        """Why the desk did nothing: as JSON for the page's script, else as a page."""
        if _wants_json(request):
            return _json(refusal.status, {"ok": False, "message": refusal.message,
                                          "diff": refusal.diff})
        env, _ = self.templates(config.site.language)
        page = env.get_template("refused.html").render(
            message=refusal.message, diff=refusal.diff, **self._context(request, config))
        return AppResponse(refusal.status, page.encode(), HTML_HEADERS)

    def _check_token(self, request: AppRequest, tr: NullTranslations) -> None:
        given = request.headers.get("x-digest-token") or forms.one(request.form, "token")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise Refused(403, tr.gettext("This request does not carry the desk's token: "
                                          "reload the desk and try again."))

    def _context(self, request: AppRequest, config: Config) -> DeskContext:
        """What every template of the desk gets."""
        return {"lang": config.site.language, "base": request.base,
                "desk": request.base + "_review/", "site_title": config.site.title,
                "token": self.token, "topics": [(t.slug, t.title) for t in config.topics]}

    def _page(self, request: AppRequest, config: Config, params: forms.Params,
              intro: Intro | None = None) -> AppResponse:
        env, tr = self.templates(config.site.language)
        selection = selection_of(config)
        week = forms.week_param(params, selection, tr)
        rows = week_rows(config, selection, week, request.base, self.shown)
        with self.lock:
            flash = self.flashes.pop(forms.one(params, "flash"), "")
            undo_label = self._undo_label()
        page = render_page(
            env, config, selection, week, rows, intro or intro_of(config, week, self.shown),
            filters=forms.filters(params), flash=flash, undo_label=undo_label,
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
        item_id = forms.item_id(form, tr)
        items = config.content_dir / "items"
        path = scan_ids(items).get(item_id)
        if path is None:
            raise Refused(404, _no_item(item_id, tr))
        key, value, label = forms.edit(forms.one(form, "do"), form, config, tr)
        before = selection_of(config)  # to say what the action moves into or out of an issue
        with self.lock:
            files.writable(path, items, config, tr)
            was = files.read(path)
            if was.data is None:  # gone since the scan
                raise Refused(404, _no_item(item_id, tr))
            files.as_shown(was.data, forms.one(form, "sha"), self.shown, path, config, tr)
            try:
                new = files.edited(was.data, key, value)
            except FrontMatterError as exc:
                raise Refused(422, f"{rel(path, config)}: {exc}") from exc
            title = str(frontedit.get(was.data).get("title") or item_id)
            message = label % {"title": title, "week": value}
            self._write(path, was, new, config, tr, message)
        return self._done(request, config, message, item_id, before=before)

    def _intro(self, request: AppRequest, config: Config) -> AppResponse:
        """Save the week's introduction (or, without JavaScript, preview it)."""
        _, tr = self.templates(config.site.language)
        form = request.form
        week = forms.chosen_week(form, tr)
        if not week:
            raise Refused(400, tr.gettext("'%(week)s' is not an ISO week.") % {"week": week})
        title, text = forms.one(form, "title").strip(), forms.one(form, "body")
        path = issue_path(config, week)
        if forms.one(form, "do") == "preview":
            intro = Intro(rel(path, config), title, text, forms.one(form, "sha"), markdown(text))
            return self._page(request, config, {**form, "week": [week]}, intro=intro)
        with self.lock:
            files.writable(path, config.content_dir / "issues", config, tr)
            was = files.read(path)
            files.as_shown(was.data, forms.one(form, "sha"), self.shown, path, config, tr)
            try:
                new = files.intro_bytes(was.data, title, text)
            except FrontMatterError as exc:
                raise Refused(422, f"{rel(path, config)}: {exc}") from exc
            saved = tr.gettext("Introduction saved: %(file)s") % {"file": rel(path, config)}
            message = saved if self._write(path, was, new, config, tr, saved) \
                else tr.gettext("The introduction is unchanged.")
        return self._done(request, config, message, None, intro_sha=sha(new))

    def _write(self, path: Path, was: files.Version, new: bytes, config: Config,
               tr: NullTranslations, label: str) -> bool:
        """Replace the file, read as `was`, with `new`, and keep the step for undo; False
        when the file holds `new` already. Either way `new` is what the page shows next."""
        changed = new != (was.data if was.data is not None else files.EMPTY)
        if changed:
            written = files.replace(path, new, was, config.state_dir / "tmp",
                                    files.saved_meanwhile(path, config, tr), tr,
                                    self.before_replace)
            self.undo.append(files.Step(path, was.data, written, label))
        self.shown.remember(new)
        return changed

    def _undo(self, request: AppRequest, config: Config) -> AppResponse:
        """Put back the bytes of the last file the desk wrote, unless it changed since."""
        _, tr = self.templates(config.site.language)
        with self.lock:
            if not self.undo:
                raise Refused(409, tr.gettext("Nothing to undo."))
            step = self.undo.pop()  # off the list even when refused: it can never overwrite
            self._put_back(step, config, tr)
        return self._done(request, config, tr.gettext("Undone: %(what)s") % {
            "what": step.label}, None)

    def _put_back(self, step: files.Step, config: Config, tr: NullTranslations) -> None:
        """The file as it was before `step`, unless it changed since the desk wrote it."""
        refusal = tr.gettext(
            "%(file)s changed on disk after the desk wrote it: not undone (and taken off "
            "the undo list).") % {"file": rel(step.path, config)}
        now = files.read(step.path)
        if now != step.after:
            raise Refused(409, refusal, files.diff(step.after.data, now.data, tr))
        written = files.replace(step.path, step.before, now, config.state_dir / "tmp", refusal,
                                tr, self.before_replace)
        if step.before is not None:
            self.shown.remember(step.before)
        # The step before this one on the same file wrote what is back now, yet in a file
        # of its own (another inode, another time): it is the desk's, so undo may take it.
        earlier = next((e for e in reversed(self.undo) if e.path == step.path), None)
        if earlier is not None and earlier.after.data == written.data:
            earlier.after = written

    def _preview(self, request: AppRequest, config: Config) -> AppResponse:
        """The introduction as the site will show it: digest's Markdown, sanitized."""
        return _json(200, {"ok": True, "html": markdown(forms.one(request.form, "body"))})

    def _done(self, request: AppRequest, config: Config, message: str, item_id: str | None,
              intro_sha: str | None = None, before: Selection | None = None) -> AppResponse:
        """After a write: the week's rows as JSON for the page's script, else a redirect
        back to the desk (303), where the message waits; it says which items the write moved
        into or out of an issue, and why."""
        selection = selection_of(config)
        env, tr = self.templates(config.site.language)
        if before is not None:
            message = " ".join([message, *moves(before, selection, item_id, tr)])
        week = forms.week_param(request.form, selection, tr)
        if not _wants_json(request):
            where = f"#{anchor(item_id)}" if item_id else "#intro" if intro_sha else ""
            return self._back(request, week, message, where)
        rows = week_rows(config, selection, week, request.base, self.shown)
        html, summary = render_rows(env, rows, week, self._context(request, config))
        return _json(200, {
            "ok": True, "message": message, "undo": self._undo_label(),
            "rows": html, "summary": summary,
            "intro_sha": intro_sha or intro_of(config, week, self.shown).sha})

    def _back(self, request: AppRequest, week: str, message: str, where: str) -> AppResponse:
        """A redirect to the desk's page, where `message` waits (once) under a nonce."""
        nonce = secrets.token_hex(8)
        with self.lock:
            self.flashes[nonce] = message
            while len(self.flashes) > 100:
                self.flashes.popitem(last=False)
        query = {"week": week, **forms.filters(request.form).query(), "flash": nonce}
        return AppResponse(303, b"", (("Location", f"{request.base}_review/?"
                                       f"{urlencode(query)}{where}"),))


def _no_item(item_id: str, tr: NullTranslations) -> str:
    return tr.gettext("No item has the id %(id)s.") % {"id": item_id}


def _wants_json(request: AppRequest) -> bool:
    """Whether the page's script asks (a plain form gets pages and redirects)."""
    return "application/json" in request.headers.get("accept", "")


def _json(status: int, data: dict[str, object]) -> AppResponse:
    return AppResponse(status, json.dumps(data, ensure_ascii=False).encode(),
                       (("Content-Type", "application/json; charset=utf-8"),
                        ("X-Content-Type-Options", "nosniff")))


def _text(status: int, message: str) -> AppResponse:
    return AppResponse(status, message.encode(), (("Content-Type", "text/plain; charset=utf-8"),
                                                  ("X-Content-Type-Options", "nosniff")))
