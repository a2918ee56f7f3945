"""Watching a project for edits (watchdog): debounced change sets, editor litter ignored."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from digest.content.files import content_name

# Seconds of quiet before a rebuild: an editor's save storm (vim: a test file, a backup, the
# file, within a few ms) is one change; short, since it is part of every save-to-reload
# (100 ms on a small site: the build itself takes a few tens of ms).
DEBOUNCE = 0.03
IGNORED_NAMES = ("4913",)  # vim's write test
IGNORED_SUFFIXES = (".swp", ".swx", ".swo", "~", ".tmp", ".part", ".crdownload", ".pyc")
IGNORED_PREFIXES = (".#", "#", ".~")
# Never an input, wherever it is: git's own folder. The project's output and state folders
# are skipped by path (`watch`'s `skip`), not by name: content/items/output/ holds content
# files like any folder there.
IGNORED_DIRS = {".git"}
# Tools' folders in a theme (npm's, Python's caches), whose churn would otherwise start a
# full build after build; not skipped under content/ (`watch`'s `exact`), whose every
# folder the build reads.
TOOL_DIRS = IGNORED_DIRS | {"node_modules", "__pycache__"}


def interesting(path: str) -> bool:
    """Whether a change to a file of this name can change the site (editor swap files
    cannot, but a name the build reads as a content file always can: `#idea.md`).
    Folders are `watch`'s to judge: .git/ inside the watched ones."""
    name = os.path.basename(path)
    return content_name(name) or not (
        name in IGNORED_NAMES or name.endswith(IGNORED_SUFFIXES) or
        name.startswith(IGNORED_PREFIXES) or name == ".DS_Store")


class _Debouncer(FileSystemEventHandler):
    def __init__(self, on_change: Callable[[set[str]], None], accept: Callable[[str], bool]
                 ) -> None:
        self.on_change, self.accept = on_change, accept
        self.pending: set[str] = set()
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "modified":
            return  # an entry of it changed, and has an event of its own
        paths = [str(event.src_path), str(getattr(event, "dest_path", "") or "")]
        changed = {p for p in paths if p and interesting(p) and self.accept(p)}
        if not changed:
            return
        with self.lock:
            self.pending |= changed
            if self.timer is not None:
                self.timer.cancel()
            self.timer = threading.Timer(DEBOUNCE, self._fire)
            self.timer.daemon = True
            self.timer.start()

    def _fire(self) -> None:
        with self.lock:
            changed, self.pending = self.pending, set()
        if changed:
            self.on_change(changed)


def watch(paths: list[Path], on_change: Callable[[set[str]], None], poll: bool = False,
          skip: Sequence[Path] = (), exact: Sequence[Path] = ()) -> BaseObserver:
    """Start watching `paths` (files or folders); `on_change` gets each debounced change set,
    but for changes in the folders `skip` (the build's output and state), in .git/ folders,
    and in tools' folders (node_modules/...) except under the folders `exact` (content/).
    Stop the returned observer when done."""
    observer: BaseObserver = PollingObserver(timeout=0.5) if poll else Observer()
    folders = [p.resolve() for p in paths if p.is_dir()]
    skipped = [p.resolve() for p in skip]
    exactly = [p.resolve() for p in exact]
    # A change under a linked folder has no event under the link (content/items may be
    # one): the folders links lead to are watched too, as the build reads through them.
    folders += linked_folders(folders, skipped)
    files = {p.resolve() for p in paths if p.is_file()}

    def accept(changed: str) -> bool:
        """A watched file, or one under a watched folder but not in (nor itself) a folder
        of it that is never an input (.git/...: below it only, wherever the project is),
        nor in the folders `skip`."""
        path = Path(os.path.abspath(changed))
        try:  # the folder it is in, resolved: the file itself may be a link to nowhere
            path = path.parent.resolve() / path.name
        except OSError:
            return True  # let the build look
        if path in files:
            return True
        if any(path.is_relative_to(s) for s in skipped):
            return False
        names = IGNORED_DIRS if any(path.is_relative_to(e) for e in exactly) else TOOL_DIRS
        return any(path.is_relative_to(f) and not names.intersection(path.relative_to(f).parts)
                   for f in folders)

    handler = _Debouncer(on_change, accept)
    for folder in folders:
        observer.schedule(handler, str(folder), recursive=True)
    for path in files:
        observer.schedule(handler, str(path.parent), recursive=False)
    observer.start()
    return observer


def linked_folders(folders: list[Path], skip: Sequence[Path] = ()) -> list[Path]:
    """The folders that links under `folders` (resolved) lead to, outside all of them, each
    once, however deep (a link in a linked folder too), but for those in `skip` (resolved):
    watching a folder does not watch through a link in it. Only links there when `serve`
    starts."""
    found: list[Path] = []
    todo = list(folders)
    while todo:
        folder = todo.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name in TOOL_DIRS:  # .git/, node_modules/: no links to follow there
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    todo.append(Path(entry.path))
                    continue
                if not (entry.is_symlink() and entry.is_dir()):
                    continue
                target = Path(entry.path).resolve()
            except OSError:
                continue  # gone, or a link that leads nowhere
            if any(target.is_relative_to(s) for s in skip):
                continue
            if not any(target.is_relative_to(f) for f in [*folders, *found]):
                found.append(target)
                todo.append(target)
    return found
