"""The editor's files as the desk reads and writes them: each read with its stat, refused when
it changed since the page showed it (or while the desk wrote it), replaced atomically, and
each write kept as an undo step.

A person's save always wins: every refusal leaves the file as it is and says why, with the
diff.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from babel.support import NullTranslations

from digest.config import Config
from digest.content import frontedit, legacy
from digest.desk.forms import Refused
from digest.desk.reviewpage import ABSENT, Shown, rel, sha
from digest.system.atomic import write_bytes

# Steps the desk can undo; older ones are dropped. A week's review is some 20 to 60 candidates,
# a few decisions each, so 100 covers a session; undo goes back one step at a time, so the
# 101st step back would first undo a hundred later ones, which nobody does. Each step keeps
# two versions of a file of a few kilobytes: the stack stays well under a few megabytes for
# a server left running for weeks.
UNDO = 100
EMPTY = b"---\n---\n"  # an introduction file that does not exist yet


@dataclass(frozen=True)
class Version:
    """A file as the desk read (or wrote) it: its bytes (None: no file), and its device,
    inode, size and modification time (None: no file)."""

    data: bytes | None
    stamp: tuple[int, int, int, int] | None


@dataclass
class Step:
    """One write the desk can undo."""

    path: Path
    before: bytes | None  # None: the desk created the file
    after: Version  # what the desk wrote
    label: str


def read(path: Path) -> Version:
    """The file's bytes and, from the same open file, its stat (None, None: no file)."""
    try:
        with path.open("rb") as f:
            return Version(f.read(), _stamp(os.fstat(f.fileno())))
    except FileNotFoundError:
        return Version(None, None)


def _stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def writable(path: Path, folder: Path, config: Config, tr: NullTranslations) -> None:
    """Refuse a symbolic link, or a path that leads out of `folder`: an atomic write would
    replace the link (or write elsewhere), not edit the file the editor sees."""
    if path.is_symlink() or not path.resolve().is_relative_to(folder.resolve()):
        raise Refused(403, tr.gettext("%(file)s is a symbolic link or leads out of the content "
                                      "folder: edit it by hand.") % {"file": rel(path, config)})


def as_shown(current: bytes | None, expected: str, shown: Shown, path: Path, config: Config,
             tr: NullTranslations) -> None:
    """Refuse (409, with the diff) when the file is not what the page showed (`expected`,
    its sha)."""
    if expected == (sha(current) if current is not None else ABSENT):
        return
    before = shown.get(expected) if expected != ABSENT else b""
    raise Refused(409, tr.gettext(
        "%(file)s changed on disk after this page showed it: nothing was written. Reload "
        "the desk to see the file as it is now, then decide again.") % {
            "file": rel(path, config)}, diff(before, current, tr))


def saved_meanwhile(path: Path, config: Config, tr: NullTranslations) -> str:
    """The refusal when the file changed while the desk was writing it."""
    return tr.gettext(
        "%(file)s was saved by something else while the desk was writing it: nothing was "
        "written, the file keeps that save. Reload the desk to see the file as it is now, "
        "then decide again.") % {"file": rel(path, config)}


def replace(path: Path, new: bytes | None, was: Version, tmp_dir: Path, refusal: str,
            tr: NullTranslations, hook: Callable[[Path], None] | None = None) -> Version:
    """Write `new` to `path` (None: remove the file), unless the file is no longer `was`:
    then refuse (409, `refusal`, with the diff) and leave it as it is. What was written.
    `hook` (tests only) runs right before the last look at the file.

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
        if hook is not None:
            hook(path)
        now = read(path)
        if now != was:
            raise Refused(409, refusal, diff(was.data or b"", now.data, tr))

    if new is None:
        unchanged()
        path.unlink()
        return Version(None, None)
    write_bytes(path, new, tmp_dir=tmp_dir, check=unchanged)
    # What the desk wrote, as undo will compare it. A save that lands between the replace
    # and this stat leaves other bytes than `new`: undo sees them and refuses.
    return Version(new, _stamp(os.stat(path)))


def diff(before: bytes | None, after: bytes | None, tr: NullTranslations) -> str:
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


def edited(current: bytes, key: str, value: frontedit.Value | None) -> bytes:
    """The file with one decision written. Topics go through legacy.set_topics: a file
    fetch wrote in the old format also gets its content format, so they read as the editor's."""
    if key == "topics" and not isinstance(value, str | bool | int):
        return legacy.set_topics(current, value)
    return frontedit.set_key(current, key, value)


def intro_bytes(current: bytes | None, title: str, text: str) -> bytes:
    """The introduction file with its title and body replaced (a new one when None)."""
    data = current if current is not None else EMPTY
    if str(frontedit.get(data).get("title") or "") != title:
        data = frontedit.set_key(data, "title", title or None)
    return frontedit.set_body(data, text)
