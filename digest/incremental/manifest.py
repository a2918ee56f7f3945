"""The output manifest: what the last build left in output/, so that the next one knows what
it need not make again, and which files are its own to replace or remove.

One JSON file per output folder (paths.py names it). For each file of the site it remembers
the key of what the file was made from (pagekeys.py; None for a file not made from a
template), the hash of its bytes, and its size and mtime as the build left them. Beside the
files: the stamp of the build's inputs (stamps.py), whether the search index lags behind
the pages and which pages each of its parts holds, and the site's counts for the report of
a build that had nothing to do.

A build writes ahead: before it changes output/, it notes the files it is about to put
there that the manifest does not list (`announce`), in a file beside the manifest that
`save` removes. A build stopped between the two (Ctrl-C, kill -9, a power cut, a full disk
when the manifest is saved; `digest serve` killed before it saved) leaves that note, and
the next build reads those files as its own (`read`), to make again: it never refuses a
file a build wrote, nor takes one it did not."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from digest.system.atomic import write_bytes

MANIFEST_FORMAT = 2
# Entries of output/ that belong to the user, not to the build: a git worktree of a
# gh-pages branch, and the placeholder that keeps output/ in the repository.
KEEP_PREFIX = ".git"

Stat = tuple[int, int]  # size, mtime in ns


@dataclass(frozen=True)
class Written:
    """One file a build left in output/."""

    key: str | None  # the key of what the file was made from (None: not known)
    sha: str  # of its bytes ("" for the search index's files, never compared)
    size: int
    mtime_ns: int  # 0 until the file is in output/


@dataclass
class Manifest:
    """What the last build wrote, and the stamp of the inputs it was made from."""

    path: Path
    files: dict[str, Written] = field(default_factory=dict)
    inputs: str = ""
    saved_ns: int = 0
    search_stale: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    racy: dict[str, str] = field(default_factory=dict)  # input files changed just before
    # the pages of each part of the search index (Site.search_parts); [] for one made whole
    search_parts: list[list[str]] = field(default_factory=list)
    # the print of each part's pages when it was made (route -> print; see build.py)
    search_made: dict[str, str] = field(default_factory=dict)
    # and the print of its files when it was installed (route -> print)
    search_files: dict[str, str] = field(default_factory=dict)
    recorded: bool = False  # read from disk: `files` are what a build wrote there
    unfinished: bool = False  # a build changed output/ and stopped before it saved this

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """The manifest at `path`; an empty one when there is none, or a damaged one (then
        everything is made again). With the files a build `announce`d and did not record,
        when one stopped half-way: as files of unknown bytes, which nothing keeps."""
        made = cls._read(path)
        noted = _noted(made.intent)
        if noted:
            made.files.update({p: UNKNOWN for p in noted if p not in made.files})
            made.unfinished = True
        return made

    @classmethod
    def _read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != MANIFEST_FORMAT:
                return cls(path)
            files = {k: Written(*v) for k, v in data["files"].items()}
            search = (data.get("search_parts", []), data.get("search_made", {}),
                      data.get("search_files", {}))
            if not (isinstance(search[0], list) and all(
                    isinstance(part, list) and all(isinstance(p, str) for p in part)
                    for part in search[0]) and all(
                    isinstance(d, dict) and all(isinstance(v, str) for v in d.values())
                    for d in search[1:])):
                raise ValueError("search parts")  # damaged: everything is made again
            return cls(path, files, data["inputs"], data["saved_ns"], data["search_stale"],
                       data["counts"], data["racy"], *search, recorded=True)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(path)

    def save(self, saved_ns: int) -> None:
        self.saved_ns = saved_ns
        data = {"format": MANIFEST_FORMAT, "inputs": self.inputs, "saved_ns": saved_ns,
                "search_stale": self.search_stale, "counts": self.counts, "racy": self.racy,
                "search_parts": self.search_parts, "search_made": self.search_made,
                "search_files": self.search_files,
                "files": {k: [e.key, e.sha, e.size, e.mtime_ns]
                          for k, e in sorted(self.files.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(self.path, json.dumps(data, separators=(",", ":")).encode(),
                    tmp_dir=self.path.parent)
        self.intent.unlink(missing_ok=True)  # what it noted is recorded now
        self.unfinished = False

    @property
    def intent(self) -> Path:
        """The note of the files a build is putting into output/ (`announce`)."""
        return self.path.with_name(self.path.stem + "-writing.json")

    def announce(self, paths: Iterable[str]) -> None:
        """Before a build puts `paths` into output/: note those this manifest does not list
        (with those a build noted before and no `save` recorded yet: `serve` saves its
        manifest later), so that the next build knows them as a build's, whatever stops
        this one before its `save`. Written only when there is something new to note."""
        new = {p for p in paths if p not in self.files}
        if not new:
            return
        noted = _noted(self.intent)
        if new <= noted:
            return
        write_bytes(self.intent, json.dumps(sorted(noted | new)).encode(),
                    tmp_dir=self.path.parent)

    def matches(self, on_disk: dict[str, Stat]) -> bool:
        """Whether output/ holds exactly the files this manifest lists, untouched."""
        return on_disk.keys() == self.files.keys() and all(
            (e.size, e.mtime_ns) == on_disk[k] for k, e in self.files.items())

    def fresh(self, path: str, key: str | None, on_disk: dict[str, Stat]) -> bool:
        """Whether output/ already holds this file as made from inputs with this key."""
        entry = self.files.get(path)
        return key is not None and entry is not None and entry.key == key and \
            on_disk.get(path) == (entry.size, entry.mtime_ns)

    def same(self, path: str, sha: str, on_disk: dict[str, Stat]) -> bool:
        """Whether output/ already holds a file with these bytes."""
        entry = self.files.get(path)
        return entry is not None and entry.sha == sha and \
            on_disk.get(path) == (entry.size, entry.mtime_ns)

    def take(self, folder: str, target: Path) -> None:
        """Record the files under `folder/` as `target` holds them now (the search index,
        just installed), instead of those the manifest listed there."""
        prefix = folder + "/"
        self.files = {k: e for k, e in self.files.items() if not k.startswith(prefix)}
        self.files.update({k: Written(None, "", *stat)
                           for k, stat in scan(target, under=folder).items()})


def scan(target: Path, known: Container[str] | None = None, limit: int = 0, under: str = "",
         keeps: bool = True) -> dict[str, Stat]:
    """Every file of output/ (but the user's .git* entries), with its size and mtime; a
    symbolic link counts as a file (a build never makes one, nor follows one to look inside).
    With `known`, stop early once `limit` files not in it were found: the build will refuse
    that folder, and `digest build --output /usr` should not read all of /usr first.
    `under`: only the files in that folder of output/ (paths still relative to output/).
    `keeps=False`: `target` is a folder inside output/, whose .git* entries are files like any
    other."""
    found: dict[str, Stat] = {}
    if not target.is_dir():
        return found
    unknown = 0

    def walk(folder: str, rel_dir: str) -> bool:
        """Add the files under `folder`; False once `limit` unknown files were seen.
        (os.scandir, each path made once: twice as fast as os.walk on 12,000 files.)"""
        nonlocal unknown
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return True
        for entry in entries:
            name = entry.name
            if keeps and not rel_dir and name.startswith(KEEP_PREFIX):
                continue
            rel = rel_dir + name
            if entry.is_dir(follow_symlinks=False):
                if not walk(entry.path, rel + "/"):
                    return False
                continue
            try:
                st = entry.stat()
            except OSError:
                st = entry.stat(follow_symlinks=False)  # a link to nothing
            found[rel] = (st.st_size, st.st_mtime_ns)
            if known is not None and rel not in known:
                unknown += 1
                if unknown >= limit:
                    return False
        return True

    if under:
        walk(os.path.join(target, under), under + "/")
    else:
        walk(str(target), "")
    return found


# A file a build was putting into output/ when it stopped: its bytes are not known, so it
# is never kept as it is (no sha, no size or mtime matches).
UNKNOWN = Written(None, "", -1, -1)


def _noted(path: Path) -> set[str]:
    """The files noted at `path` (`Manifest.announce`); none when there is no note, or a
    damaged one (a note is written atomically: damaged only by hand)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(data, list):
        return set()
    return {p for p in data if isinstance(p, str)}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha(path: str) -> str:
    """The sha of a file's bytes; "" when it cannot be read."""
    try:
        return sha(Path(path).read_bytes())
    except OSError:
        return ""
