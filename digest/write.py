"""Stage 8: files -> output/. Changed files are staged in a temporary folder first; only when
everything was made does output/ change, and then only the files that differ (unchanged files
keep their bytes and mtimes, so rsync and deploys see no change). Which files are unchanged,
and which are the build's own to remove, the manifest says (digest/incremental/manifest.py)."""

from __future__ import annotations

import ntpath
import os
import re
import secrets
import shutil
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Any

from digest.errors import DigestError
from digest.incremental.manifest import Stat, scan
from digest.incremental.outfolder import SHOWN, refuse, strangers

_PARTS = re.compile(r"[\\/]")  # the separators of a path, on any system
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0) | \
    getattr(os, "O_CLOEXEC", 0)


class Staging:
    """A temporary folder beside output/ for the files of this build that changed."""

    def __init__(self, target: Path) -> None:
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep(target)
        self.folder = _new_folder(target.parent, temp_prefix(target, STAGING))
        self.staged: list[str] = []
        self.stats: dict[str, Stat] = {}  # each staged file's size and mtime, as written
        self.folders: set[str] = set()  # the folders `put` made (or found) in it

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: Any) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def put(self, rel: str, data: bytes) -> None:
        self.add(rel, put(self.folder, rel, data, self.folders))

    def add(self, rel: str, stat: Stat) -> None:
        """Stage a file already written into the folder (by a worker process), with the
        size and mtime `put` gave."""
        self.staged.append(rel)
        self.stats[rel] = stat

    def commit(self, keep: set[str], on_disk: dict[str, Stat],
               keep_prefixes: tuple[str, ...] = ()) -> dict[str, Stat]:
        """Move the staged files into output/ and remove its files (`on_disk`, from `scan`)
        that are neither staged nor in `keep` (nor under `keep_prefixes`); return the new
        files' stats (as they were written: a rename keeps a file's size and mtime)."""
        target = self.target
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
        return {rel: self.stats[rel] for rel in self.staged}


def _new_folder(parent: Path, prefix: str) -> Path:
    """A new empty folder in `parent`, named `prefix` and a random part, made as any folder
    is (its mode from the umask, where tempfile.mkdtemp gives 0700): a first build's
    staging folder becomes output/ itself, which web servers and deploys must read."""
    while True:
        folder = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


# The temporary folders beside output/: a build's staging folder, the search index's.
STAGING, SEARCH = "staging", "search"


def temp_prefix(target: Path, kind: str) -> str:
    """The name (prefix) of this process's temporary folder of `kind` beside `target`:
    .<target>.<kind>-<pid>-, so that `sweep` knows whose it is."""
    return f".{target.name}.{kind}-{os.getpid()}-"


def sweep(target: Path) -> None:
    """Remove the temporary folders that builds or indexes killed mid-way (kill -9, a power
    cut) left beside `target`: only ours (named .<target>.<kind>-<pid>-…), and only when that
    process is gone, so a build running at the same time keeps its own."""
    prefixes = tuple(f".{target.name}.{kind}-" for kind in (STAGING, SEARCH))
    try:
        names = [n for n in os.listdir(target.parent) if n.startswith(prefixes)]
    except OSError:
        return
    for name in names:
        pid = next(name[len(p):] for p in prefixes if name.startswith(p)).split("-", 1)[0]
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


def put(folder: Path, rel: str, data: bytes, folders: set[str]) -> Stat:
    """Write one file of the site under `folder`; a path may never lead out of it. Returns
    its size and mtime once written and closed: the manifest's record of it (a rename into
    output/ keeps both, so nothing stats the files again after the commit).
    `folders`: the folders under `folder` known to exist, which this call adds to. (Plain
    strings and os calls: a build writes 12,000 files at 10,000 items, nearly every one in a
    folder of its own, and pathlib's objects, os.makedirs's checks or a first open that
    fails would cost more than the writing.)"""
    if ".." in _PARTS.split(rel) or rel.startswith(("/", "\\")) or ntpath.splitdrive(rel)[0] \
            or os.path.isabs(rel):
        raise DigestError(f"refusing to write outside the output folder: {rel}")
    path = os.path.join(folder, rel)
    parent = os.path.dirname(path)
    if parent not in folders:
        try:
            os.mkdir(parent)
        except FileExistsError:
            pass  # made by another process writing into the same folder, or `folder` itself
        except FileNotFoundError:
            os.makedirs(parent, exist_ok=True)
        folders.add(parent)
    fd = os.open(path, _CREATE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:  # a full disk: the error names the file (os.write does not)
        raise OSError(exc.errno, exc.strerror, path) from exc
    finally:
        os.close(fd)
    st = os.stat(path)  # once closed: where a file's times are final only then (Windows)
    return st.st_size, st.st_mtime_ns


def sync_tree(new: Path, target: Path, owned: Collection[str]) -> None:
    """Make `target` hold exactly the files of `new`: each changed file replaced atomically,
    unchanged ones left alone, stale ones removed. Only the files in `owned` (paths relative
    to `target`, as a build recorded them) may be replaced or removed: any other file in
    `target` stops it before anything changes. A file of `new` that is a hard link to the one
    in `target` (a part of the search index kept as it was) is that file: it is not read.
    Where nothing is at `target`, `new` itself is moved there (and is gone)."""
    if not os.path.lexists(target):  # nothing there (a first index): moved in whole
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(new, target)
        return
    on_disk = scan(target, owned, limit=SHOWN + 1, keeps=False)
    foreign = strangers(on_disk, owned)
    if foreign:
        raise refuse(target, foreign, "that no build of this digest wrote",
                     more=len(foreign) > SHOWN)
    fresh = scan(new, keeps=False)
    replaced: list[str] = []  # folders where `new` has a file: their files went with them
    for rel in sorted(fresh):
        path, old = new / rel, target / rel
        if rel in on_disk and _same(path, old):
            continue
        if old.is_symlink():
            old.unlink()
        elif old.is_dir():
            shutil.rmtree(old)
            replaced.append(rel + "/")
        old.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, old)
    went = tuple(replaced)
    gone = [target / rel for rel in on_disk if rel not in fresh and not rel.startswith(went)]
    for path in gone:
        path.unlink(missing_ok=True)  # (removed meanwhile by another build)
    _prune(target, gone)


def _same(path: Path, old: Path) -> bool:
    """Whether the file `old` holds the bytes of `path` (read only when they are two files
    of one size); False if `old` is not a plain file."""
    try:
        now, then = os.stat(path), os.lstat(old)
    except OSError:
        return False
    if not stat.S_ISREG(then.st_mode) or now.st_size != then.st_size:
        return False
    return os.path.samestat(now, then) or path.read_bytes() == old.read_bytes()


def _prune(target: Path, removed: list[Path]) -> None:
    """Remove the folders that removing these files left empty, up to `target`."""
    for folder in sorted({p.parent for p in removed}, key=lambda p: -len(p.parts)):
        while folder != target and folder.is_relative_to(target):
            try:
                folder.rmdir()
            except OSError:
                break  # not empty
            folder = folder.parent
