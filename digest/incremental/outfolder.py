"""The output folder is the build's alone: where a build may write, and what it may remove.

A build never writes into the project folder, a folder that holds a project (`digest.toml`
or `content/`), a folder above the project, the file-system root or the home folder; these
are refused from the path alone, before anything is read. In any other folder it replaces or
removes only the files an earlier build of this digest wrote there (the manifest in
.digest/cache lists them); any other file stops it, unless the user passes --clean.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from digest.config import Config
from digest.errors import ConfigError
from digest.incremental.manifest import Manifest, Stat, scan

SHOWN = 5  # files named in a refusal


class FolderRefused(ConfigError):
    """A build would write where it must not, or remove files it did not write (exit 2)."""


def check_folder(config: Config, folder: Path) -> Path:
    """`folder` resolved (symlinks and `..` included), or FolderRefused when no build may
    write there. Looks at the path and at most two names in it; scans nothing."""
    target = folder.resolve()
    problem = _problem(config, target)
    if problem is not None:
        given = folder != config.output_dir  # chosen with --output, not the default
        raise FolderRefused(f"cannot be the output folder: it {problem}", path=target,
                            key="--output" if given else None,
                            hint="build into output/ or into a folder of its own")
    return target


def _problem(config: Config, target: Path) -> str | None:
    root = config.root.resolve()
    if target == Path(target.anchor):
        return "is the root of the file system"
    if target == _home():
        return "is your home folder"
    if target == root:
        return "is the project folder"
    if root.is_relative_to(target):
        return f"holds the project {root}"
    for inside, name in ((config.content_dir, "content/"), (config.state_dir, ".digest/")):
        if target.is_relative_to(inside.resolve()):
            where = "is" if target == inside.resolve() else "is inside"
            return f"{where} the project's {name}"
    if target.exists() and not target.is_dir():
        return "is a file, not a folder"
    for name in ("digest.toml", config.path.name):
        if (target / name).exists():
            return f"holds {name}, like a digest project"
    if (target / "content").is_dir():
        return "holds content/, like a digest project"
    return None


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):
        return None  # no home folder known


_HELD: dict[Path, tuple[threading.RLock, list[Any]]] = {}  # lock file -> (lock, [file, depth])
_REGISTRY = threading.Lock()


class Abandoned(Exception):
    """`stop` was set while a build waited for another to finish (`serve` is stopping)."""


@contextmanager
def exclusive(lock_file: Path, waiting: Callable[[], None] | None = None,
              stop: threading.Event | None = None) -> Iterator[None]:
    """One build at a time writes into an output folder: from what it reads of the folder and
    its manifest to the manifest it saves, another build (another `digest build`, `digest
    serve`) waits. Held on the lock file (CachePaths.lock) across processes, and by one thread
    at a time within one; taken again by the thread that holds it, it is the same hold (a
    build that installs its search index). `waiting` is called when another holds it; once
    `stop` is set, the wait ends in Abandoned. (Where the system has no flock, or the lock
    file cannot be opened, as in a read-only .digest/cache, threads still wait on each
    other.)"""
    lock_file = Path(os.path.abspath(lock_file))  # one hold, however the path is spelt
    with _REGISTRY:
        lock, state = _HELD.setdefault(lock_file, (threading.RLock(), [None, 0]))
    with lock:
        if state[1] == 0:
            state[0] = _flock(lock_file, waiting, stop)
        state[1] += 1
        try:
            yield
        finally:
            state[1] -= 1
            if state[1] == 0:
                handle, state[0] = state[0], None
                if handle is not None:
                    handle.close()  # (the lock goes with it)


def busy(lock_file: Path) -> bool:
    """Whether a build holds the lock file now (another process's: `digest check`)."""
    try:
        with open(lock_file, "rb") as handle:  # (none there: no build ever held it)
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except (ImportError, OSError):
        return False
    return False


def _open(lock_file: Path) -> IO[bytes] | None:
    """The lock file, opened to be locked: made if need be, else read-only (a read-only
    .digest/cache), else None."""
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        return open(lock_file, "a+b")  # held past this function: closed by the caller
    except OSError:
        try:
            return open(lock_file, "rb")
        except OSError:
            return None


def _flock(lock_file: Path, waiting: Callable[[], None] | None,
           stop: threading.Event | None) -> IO[bytes] | None:
    try:
        import fcntl
    except ImportError:  # Windows
        return None
    handle = _open(lock_file)
    if handle is None:
        return None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            if stop is None:
                fcntl.flock(handle, fcntl.LOCK_EX)  # (Ctrl-C ends the wait)
            else:
                while True:
                    if stop.wait(0.05):
                        raise Abandoned() from None
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        continue
    except BaseException:  # deliberate: a wait ended by Ctrl-C or Abandoned too, re-raised
        handle.close()
        raise
    return handle


def survey(target: Path, manifest: Manifest, clean: bool = False
           ) -> tuple[dict[str, Stat], list[str]]:
    """What output/ holds (as `scan` finds it), and the files there that no build recorded.
    When a build did record the folder, any such file stops the build (FolderRefused),
    unless `clean` lets it delete them."""
    known = None if clean or not manifest.recorded else manifest.files
    on_disk = scan(target, known, limit=SHOWN + 1)
    manifest.claim(target, on_disk)  # a stopped build's files: its own only with its bytes
    unknown = [] if clean else strangers(on_disk, manifest.files)
    if unknown and manifest.recorded:
        raise refuse(target, unknown, "that no build of this digest wrote",
                     more=len(unknown) > SHOWN)
    return on_disk, unknown


def strangers(on_disk: Iterable[str], known: Container[str]) -> list[str]:
    """The files of the output folder that are not in `known`, sorted."""
    return sorted(path for path in on_disk if path not in known)


def refuse(target: Path, paths: list[str], why: str, more: bool = False,
           hint: str = "move them away, or build with --clean to let the build delete them"
           ) -> FolderRefused:
    """The error for an output folder holding files the build may not remove: the first few
    named, and the flag that allows it."""
    shown = ", ".join(paths[:SHOWN])
    if len(paths) > SHOWN or more:
        shown += " and more"
    count = f"{len(paths)}{'+' if more else ''} file{'s' if len(paths) != 1 or more else ''}"
    return FolderRefused(f"holds {count} {why}: {shown}", path=target, hint=hint)
