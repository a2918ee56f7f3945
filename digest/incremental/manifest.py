"""The output manifest: what the last build left in output/, so that the next one knows what
it need not make again, and which files are its own to replace or remove.

One JSON file per output folder (paths.py names it). For each file of the site it remembers
the key of what the file was made from (pagekeys.py; None for a file not made from a
template), the hash of its bytes, and its size and mtime as the build left them. Beside the
files: the stamp of the build's inputs (stamps.py), whether the search index lags behind
the pages and which pages each of its parts holds, and the site's counts for the report of
a build that had nothing to do.

A build writes ahead: before it changes output/, it notes that it does, and the files it
is about to put there that the manifest does not list, with the sha of each (`announce`), in
a file beside the manifest that `save` removes. A build stopped between the two (Ctrl-C,
kill -9, a power cut, a full disk when the manifest is saved; `digest serve` killed before
it saved) leaves that note: the next one knows output/ is unfinished (`read`: `publish
--no-build` refuses it), and takes as its own each noted file that holds the noted bytes
(`claim`), so that it never refuses a file a build wrote, nor takes one it did not. A note
names the record it was written against (`serial`): one left beside a later record (killed
between saving the manifest and removing the note) is stale, and means nothing."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Container, Mapping
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
    drafts: int = 0  # the draft issues the site in output/ shows (`digest serve`'s)
    recorded: bool = False  # read from disk: `files` are what a build wrote there
    serial: str = ""  # new at every save: which record a note was written against
    unfinished: bool = False  # a build began to change output/ and did not save this
    # the files a build that stopped had noted (`announce`), until `claim` looked at them
    noted: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """The manifest at `path`; an empty one when there is none, or a damaged one (then
        everything is made again). When a build stopped half-way after it noted what it was
        about to write (a note written against this very record): `unfinished`, with the
        files it noted listed as of unknown size and mtime, which nothing keeps as they
        are; `claim` then takes those output/ holds with the bytes noted."""
        made = cls._read(path)
        note = _note(made.intent)
        if note is not None and note[0] == made.serial:  # else stale: a save came after it
            made.unfinished = True
            made.noted = {p: sha for p, sha in note[1].items() if p not in made.files}
            made.files.update({p: Written(None, sha, -1, -1) for p, sha in made.noted.items()})
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
            serial, drafts = data.get("serial", ""), data.get("drafts", 0)
            if not (isinstance(serial, str) and type(drafts) is int):
                raise ValueError("serial, drafts")
            return cls(path, files, data["inputs"], data["saved_ns"], data["search_stale"],
                       data["counts"], data["racy"], *search, drafts=drafts, recorded=True,
                       serial=serial)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(path)

    def save(self, saved_ns: int) -> None:
        self.saved_ns, self.serial = saved_ns, secrets.token_hex(8)
        data = {"format": MANIFEST_FORMAT, "inputs": self.inputs, "saved_ns": saved_ns,
                "serial": self.serial, "drafts": self.drafts,
                "search_stale": self.search_stale, "counts": self.counts, "racy": self.racy,
                "search_parts": self.search_parts, "search_made": self.search_made,
                "search_files": self.search_files,
                "files": {k: [e.key, e.sha, e.size, e.mtime_ns]
                          for k, e in sorted(self.files.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(self.path, json.dumps(data, separators=(",", ":")).encode(),
                    tmp_dir=self.path.parent)
        self.intent.unlink(missing_ok=True)  # what it noted is recorded now (a note left
        self.unfinished, self.noted = False, {}  # here by a kill is stale: another serial)

    @property
    def intent(self) -> Path:
        """The note of the files a build is putting into output/ (`announce`)."""
        return self.path.with_name(self.path.stem + "-writing.json")

    def announce(self, files: Mapping[str, str]) -> None:
        """Before a build changes output/ (even if only to replace files): note that it does,
        against this record, with the files it is about to put there that this manifest does
        not list, each with the sha of its bytes (and those a build noted against this same
        record before: `serve` saves its manifest later). Whatever stops the build before its
        `save`, the next one knows the folder is unfinished, and which files there are a
        build's (`claim`)."""
        new = {p: sha for p, sha in files.items() if p not in self.files}
        note = _note(self.intent)
        if note is not None and note[0] == self.serial:
            new = {**note[1], **new}
            if note[1] == new:
                return  # noted already
        write_bytes(self.intent, json.dumps([self.serial, new], sort_keys=True).encode(),
                    tmp_dir=self.path.parent)

    def claim(self, target: Path, on_disk: dict[str, Stat]) -> None:
        """Of the files a stopped build noted (`noted`), those output/ (`target`, as `on_disk`
        holds it) has with other bytes than noted are someone else's, put there since: they
        are no longer listed (so that the build refuses them). Those with the noted bytes
        are listed as the build's, with their size and mtime (so that a build that makes
        the same bytes need not write them)."""
        for path, noted in self.noted.items():
            if path not in on_disk:
                continue  # never put there: made like any missing file
            if noted and file_sha(os.path.join(target, path)) != noted:
                del self.files[path]
            else:  # ("" for bytes not known when noted: a search index found in output/)
                self.files[path] = Written(None, noted, *on_disk[path])
        self.noted = {}

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


def _note(path: Path) -> tuple[str, dict[str, str]] | None:
    """The note at `path` (`Manifest.announce`): the serial of the record it was written
    against, and the files it lists (path -> sha); None when there is none, or a damaged
    one (a note is written atomically: damaged only by hand)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], str) and
            isinstance(data[1], dict) and
            all(isinstance(v, str) for v in data[1].values())):
        return None
    return data[0], data[1]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha(path: str) -> str:
    """The sha of a file's bytes; "" when it cannot be read."""
    try:
        return sha(Path(path).read_bytes())
    except OSError:
        return ""
