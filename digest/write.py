"""Stage 8: files -> output/. Changed files are staged in a temporary folder first; only when
everything was made does output/ change, and then only the files that differ (unchanged files
keep their bytes and mtimes, so rsync and deploys see no change).

The manifest (.digest/cache/manifest-<hash of the output path>.json) remembers what the
last build left in output/: for each file its fingerprint, its hash, its size and mtime. A
file whose fingerprint and stat are unchanged is neither rendered nor written again."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Collection, Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.errors import DigestError
from digest.incremental.outfolder import SHOWN, refuse, strangers
from digest.system.atomic import write_bytes

# Entries of the old output/ that belong to the user, not to the build: a git worktree of a
# gh-pages branch, and the placeholder that keeps output/ in the repository.
KEEP_PREFIX = ".git"
MANIFEST_FORMAT = 2

Stat = tuple[int, int]  # size, mtime in ns


@dataclass(frozen=True)
class Entry:
    key: str | None  # the fingerprint of what the file was made from (None: unknown)
    sha: str
    size: int
    mtime_ns: int


@dataclass
class Manifest:
    """What the last build wrote, and the fingerprint of the inputs it was made from."""

    path: Path
    files: dict[str, Entry] = field(default_factory=dict)
    inputs: str = ""
    saved_ns: int = 0
    search_stale: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    racy: dict[str, str] = field(default_factory=dict)  # input files changed just before
    recorded: bool = False  # read from disk: `files` are what a build wrote there

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != MANIFEST_FORMAT:
                return cls(path)
            files = {k: Entry(*v) for k, v in data["files"].items()}
            return cls(path, files, data["inputs"], data["saved_ns"], data["search_stale"],
                       data["counts"], data["racy"], recorded=True)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(path)  # no manifest, or a damaged one: everything is made again

    def save(self, saved_ns: int) -> None:
        self.saved_ns = saved_ns
        data = {"format": MANIFEST_FORMAT, "inputs": self.inputs, "saved_ns": saved_ns,
                "search_stale": self.search_stale, "counts": self.counts, "racy": self.racy,
                "files": {k: [e.key, e.sha, e.size, e.mtime_ns]
                          for k, e in sorted(self.files.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(self.path, json.dumps(data, separators=(",", ":")).encode(),
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


def scan(target: Path, known: Container[str] | None = None, limit: int = 0
         ) -> dict[str, Stat]:
    """Every file of output/ (but the user's .git* entries), with its size and mtime; a
    symbolic link counts as a file (a build never makes one, nor follows one to look inside).
    With `known`, stop early once `limit` files not in it were found: the build will refuse
    that folder, and `digest build --output /usr` should not read all of /usr first."""
    found: dict[str, Stat] = {}
    if not target.is_dir():
        return found
    root = str(target)
    unknown = 0
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            rel_dir = ""
            dirnames[:] = [d for d in dirnames if not d.startswith(KEEP_PREFIX)]
            filenames = [f for f in filenames if not f.startswith(KEEP_PREFIX)]
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = [d for d in dirnames if d not in links]
        for name in [*filenames, *links]:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError:
                st = os.lstat(path)  # a link to nothing
            rel = rel.replace(os.sep, "/")
            found[rel] = (st.st_size, st.st_mtime_ns)
            if known is not None and rel not in known:
                unknown += 1
                if unknown >= limit:
                    return found
    return found


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Staging:
    """A temporary folder beside output/ for the files of this build that changed."""

    def __init__(self, target: Path) -> None:
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        _sweep(target)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{_staging_prefix(target)}{os.getpid()}-",
                                            dir=target.parent))
        self.staged: list[str] = []

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: Any) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def put(self, rel: str, data: bytes) -> None:
        put(self.folder, rel, data)
        self.staged.append(rel)

    def add(self, rel: str) -> None:
        """Stage a file already written into the folder (by a worker process)."""
        self.staged.append(rel)

    def commit(self, keep: set[str], on_disk: dict[str, Stat],
               keep_prefixes: tuple[str, ...] = ()) -> dict[str, Stat]:
        """Move the staged files into output/ and remove its files (`on_disk`, from `scan`)
        that are neither staged nor in `keep` (nor under `keep_prefixes`); return the new
        files' stats."""
        target = self.target
        moved: dict[str, Stat] = {}
        if not target.exists():
            os.replace(self.folder, target)
            self.folder.mkdir()  # for __exit__ to remove
        else:
            for rel in self.staged:
                old = target / rel
                if old.is_symlink():
                    old.unlink()  # the link, never what it points to
                elif old.is_dir():
                    shutil.rmtree(old)
                old.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.folder / rel, old)
            wanted = keep | set(self.staged)
            gone = [target / rel for rel in on_disk
                    if rel not in wanted and not rel.startswith(keep_prefixes)]
            for path in gone:
                path.unlink(missing_ok=True)
            _prune(target, gone)
        for rel in self.staged:
            st = (target / rel).stat()
            moved[rel] = (st.st_size, st.st_mtime_ns)
        return moved


def _staging_prefix(target: Path) -> str:
    return f".{target.name}.staging-"


def _sweep(target: Path) -> None:
    """Remove the staging folders that builds killed mid-way (kill -9, a power cut) left
    beside `target`: only ours (named .<target>.staging-<pid>-…), and only when that process
    is gone, so a build running at the same time keeps its own."""
    prefix = _staging_prefix(target)
    try:
        names = [n for n in os.listdir(target.parent) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)) and (target.parent / name).is_dir():
            shutil.rmtree(target.parent / name, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # there, but not ours to signal
    return True


def put(folder: Path, rel: str, data: bytes) -> None:
    """Write one file of the site under `folder`; a path may never lead out of it."""
    path = folder / rel
    if ".." in Path(rel).parts or Path(rel).is_absolute():
        raise DigestError(f"refusing to write outside the output folder: {rel}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def sync_tree(new: Path, target: Path, owned: Collection[str]) -> None:
    """Make `target` hold exactly the files of `new`: each changed file replaced atomically,
    unchanged ones left alone, stale ones removed. Only the files in `owned` (paths relative
    to `target`, as a build recorded them) may be replaced or removed: any other file in
    `target` stops it before anything changes."""
    foreign = strangers(scan(target, owned, limit=SHOWN + 1), owned)
    if foreign:
        raise refuse(target, foreign, "that no build of this digest wrote",
                     more=len(foreign) > SHOWN)
    fresh = set()
    for path in sorted(p for p in new.rglob("*") if p.is_file()):
        rel = path.relative_to(new)
        fresh.add(rel)
        old = target / rel
        if old.is_file() and old.stat().st_size == path.stat().st_size and \
                old.read_bytes() == path.read_bytes():
            continue
        if old.is_symlink():
            old.unlink()
        elif old.is_dir():
            shutil.rmtree(old)
        old.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, old)
    gone = [p for p in target.rglob("*") if (p.is_file() or p.is_symlink())
            and p.relative_to(target) not in fresh] if target.is_dir() else []
    for path in gone:
        path.unlink()
    _prune(target, gone)


def _prune(target: Path, removed: list[Path]) -> None:
    """Remove the folders that removing these files left empty, up to `target`."""
    for folder in sorted({p.parent for p in removed}, key=lambda p: -len(p.parts)):
        while folder != target and folder.is_relative_to(target):
            try:
                folder.rmdir()
            except OSError:
                break  # not empty
            folder = folder.parent
