"""What a request to the editor's desk asks, read and checked: its week, its filters, the item
it names and the decision it makes; a request the desk will not carry out is `Refused`."""

from __future__ import annotations

from babel.support import NullTranslations

from digest.config import Config
from digest.content import frontedit
from digest.desk.reviewpage import SHOW, Filters
from digest.model import Selection
from digest.text.weeks import is_week

Params = dict[str, list[str]]  # a query or a POSTed form
Edit = tuple[str, frontedit.Value | None, str]  # key, value (None: remove it), the message


class Refused(Exception):
    """A request the desk will not carry out: an HTTP status and a message for the editor."""

    def __init__(self, status: int, message: str, diff: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.diff = status, message, diff


def one(params: Params, name: str) -> str:
    """The first value of a query or form parameter ("" when it is absent)."""
    values = params.get(name) or [""]
    return values[0]


def item_id(form: Params, tr: NullTranslations) -> str:
    """The id of the item a decision is about; refused when the form names a path instead."""
    named = one(form, "id")
    if {"path", "file", "filename"} & form.keys() or not named or len(named) > 200 \
            or any(c in named for c in "/\\\0") or named.endswith(".md") or ".." in named:
        raise Refused(400, tr.gettext("The desk names an item by its id, never by a path."))
    return named


def chosen_week(params: Params, tr: NullTranslations) -> str:
    """The ISO week a request names, or "" when it names none; refused when it is no week."""
    week = one(params, "week").strip().upper()
    if week and not is_week(week):
        raise Refused(400, tr.gettext("'%(week)s' is not an ISO week.") % {"week": week})
    return week


def week_param(params: Params, selection: Selection, tr: NullTranslations) -> str:
    """The chosen week, else the newest week with candidates."""
    week = chosen_week(params, tr)
    if week:
        return week
    weeks = selection.weeks
    if not weeks:
        raise Refused(404, tr.gettext("There are no items yet: run `digest fetch` first."))
    return max(weeks)


def filters(params: Params) -> Filters:
    """The filters a request names; an unknown `show` shows all."""
    show = one(params, "show")
    return Filters(show if show in SHOW else "all", one(params, "topic"), one(params, "source"))


def edit(op: str, form: Params, config: Config, tr: NullTranslations) -> Edit:
    """(key, value or None to remove it, the message) for an action of the desk."""
    g = tr.gettext
    simple: dict[str, Edit] = {
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
        note = one(form, "note").replace("\r\n", "\n").replace("\r", "\n").strip()
        return ("note", note or None,
                g("Note saved: %(title)s") if note else g("Note removed: %(title)s"))
    if op in ("topics", "computed-topics"):
        return _topics(form.get("topics", []) if op == "topics" else [], config, tr)
    if op == "issue":
        return _issue(one(form, "issue").strip().upper(), tr)
    raise Refused(400, g("Unknown action."))


def _topics(chosen: list[str], config: Config, tr: NullTranslations) -> Edit:
    """The editor's topics replace the computed ones; none chosen (or "computed"): the key
    goes, and the feed's and the rules' topics apply again."""
    known = [t.slug for t in config.topics]
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise Refused(400, tr.gettext("Unknown topic: %(topic)s") % {"topic": unknown[0]})
    if not chosen:
        return "topics", None, tr.gettext("Topics are computed again: %(title)s")
    return "topics", [t for t in known if t in chosen], tr.gettext("Topics saved: %(title)s")


def _issue(week: str, tr: NullTranslations) -> Edit:
    """The item moved to another week's issue ("": back in the week of its date)."""
    if week and not is_week(week):
        raise Refused(400, tr.gettext("'%(week)s' is not an ISO week.") % {"week": week})
    return "issue", week or None, (tr.gettext("Moved to %(week)s: %(title)s") if week
                                   else tr.gettext("Back in the week of its date: %(title)s"))
