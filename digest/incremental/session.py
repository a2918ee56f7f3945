"""What `digest serve` keeps in memory between builds, and what a set of changed paths asks
of the next one.

A full build (`build.build` given a Session) fills it: the config, the load cache, the
corpus, what select, group and the page keys worked out (their memos), the theme, the fetch
state, and the manifest as that build saved it. After that, a save names a few paths
(the watcher's): `Session.files` says which content files to read again, or None when only a
full build will do: digest.toml, a theme, state.json, mirrored images, anything it does not
know, or any doubt. `build.build_files` then reads those files, selects and groups again
over what is kept (unchanged items are the same objects, so their work is remembered),
plans the site taking what the last plan made of the same objects (pages and their keys,
feed entries: pagekeys.Reuse, in `keys`), renders only the pages whose key changed, and
leaves output/ as a clean build would.

Trusted between builds: that output/ is as the last build left it (the watcher does not
watch it). What a build is about to replace or remove is checked against the manifest
first, and any difference (or a manifest another process saved) means a full build, which
looks at everything."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from digest.config import Config
from digest.content.files import content_name, hidden, item_files
from digest.group import Memo as GroupMemo
from digest.html.theme import Theme
from digest.incremental.itemstore import ItemStore
from digest.incremental.manifest import Manifest
from digest.incremental.outfolder import exclusive
from digest.incremental.pagekeys import Kept
from digest.incremental.paths import CachePaths
from digest.model import Corpus, Health, Output
from digest.select import Memo as SelectMemo
from digest.system.state import state_path

Stat = tuple[int, int, int]  # size, mtime in ns, inode


class Doubt(Exception):
    """The kept state may not match the project or output/: do a full build instead."""


@dataclass
class Session:
    """One `digest serve`'s builds: filled by a full build, updated by each later one."""

    config: Config
    drafts: bool
    cache: ItemStore
    selecting: SelectMemo = field(default_factory=SelectMemo)
    grouping: GroupMemo = field(default_factory=GroupMemo)
    keys: Kept = field(default_factory=Kept)
    # What the last build was made of (set by a full build, updated by the others).
    corpus: Corpus | None = None
    theme: Theme | None = None
    titler: Callable[[str], str] | None = None
    health: dict[str, Health] = field(default_factory=dict)
    declared: dict[str, str] = field(default_factory=dict)
    beside: list[Output] = field(default_factory=list)  # the OPML, the mirrored images
    target: Path | None = None
    manifest: Manifest | None = None
    saved: Stat | None = None  # the manifest file as the last build saved it
    unsaved: Manifest | None = None  # the last build's, to save (see `save`)
    state: Stat | None = None  # .digest/state.json as the last full build read it
    # While a build waits for another to leave output/ (outfolder.exclusive): what to say,
    # and what ends the wait (`serve` stopping).
    waiting: Callable[[], None] | None = None
    stopping: threading.Event | None = None

    @property
    def ready(self) -> bool:
        return self.corpus is not None and self.manifest is not None

    def forget(self) -> None:
        """The next build is a full one (a build failed half-way, or something doubtful)."""
        self.corpus = self.manifest = self.saved = self.unsaved = None

    def save(self) -> None:
        """Save the manifest of the last `build_files` (what it left in output/), then the
        load cache: after the browser was told to reload. A manifest that cannot be saved
        makes the next build a full one (and is raised)."""
        if self.unsaved is None:
            return
        manifest, self.unsaved = self.unsaved, None
        try:
            assert self.target is not None
            with exclusive(CachePaths.of(self.config.state_dir).lock(self.target),
                           self.waiting, self.stopping):
                if _stat(manifest.path) != self.saved:
                    # Another build (`digest build` beside serve) saved since: its record
                    # is the one output/ holds now; this one would drop its files.
                    self.forget()
                else:
                    manifest.save(time.time_ns())
                    self.remember(manifest)
        except BaseException:  # deliberate: any failure, Ctrl-C too, forgets, then re-raises
            self.forget()
            raise
        self.cache.save()

    def remember(self, manifest: Manifest) -> None:
        """The manifest a build just saved: the next one starts from it."""
        self.manifest, self.saved = manifest, _stat(manifest.path)

    def read_state(self) -> None:
        """Note state.json as a full build is about to read it."""
        self.state = _stat(state_path(self.config.state_dir))

    def check(self) -> Manifest:
        """The kept manifest, if its file is still the one the last build saved (else
        another process built into output/, or the search index was installed) and
        state.json is as the last full build read it (the watcher does not watch .digest/;
        `digest fetch` changes the sources' health there)."""
        if self.manifest is None or self.saved is None or _stat(self.manifest.path) != self.saved:
            raise Doubt("the manifest changed")
        if _stat(state_path(self.config.state_dir)) != self.state:
            raise Doubt("state.json changed")
        return self.manifest

    def files(self, changed: Iterable[str]) -> set[Path] | None:
        """The content files to read again for these changed paths (files of items, issues
        and pages, those gone included), or None when a full build must be made."""
        if not self.ready or self.corpus is None:
            return None
        content = self.config.content_dir
        real = content.resolve()
        # content/items may be a link to a folder elsewhere: its changes come from there
        items, issues, pages = (content / "items").resolve(), real / "issues", real / "pages"
        found: set[Path] = set()
        for name in changed:
            path = Path(os.path.abspath(name))
            try:
                path = path.parent.resolve() / path.name  # the file itself may be gone
            except OSError:
                return None
            if path.is_relative_to(items):
                if hidden(path.relative_to(items)):
                    continue  # a dot-file or dot-folder (an editor's lock, .trash/): no content
                where = content / "items" / path.relative_to(items)  # as load names it
                if path.is_dir() or (not path.exists() and not path.name.endswith(".md")):
                    found |= self._folder(where)
                elif content_name(path.name):
                    found.add(where)
                # any other file under items/ is no content file (load reads *.md)
            elif any(path.is_relative_to(f) and hidden(path.relative_to(f))
                     for f in (issues, pages)):
                continue  # as under items/: no content, never read
            elif path.parent in (issues, pages) and content_name(path.name):
                found.add(content / path.relative_to(real))
            elif path in (issues, pages) and path.is_dir():
                found.add(content / path.relative_to(real) / "folder.md")  # reread it all
            else:
                return None  # digest.toml, a theme, state.json, media/, feeds/...
        return found

    def _folder(self, folder: Path) -> set[Path]:
        """The content files a changed folder under items/ may have brought or taken: its
        *.md files now, and the items known under it."""
        assert self.corpus is not None
        prefix = str(folder) + os.sep
        known = {i.path for i in self.corpus.items if str(i.path).startswith(prefix)}
        failed: list[OSError] = []
        now = {found[0] for found in item_files(folder, self.config.root, failed=failed)}
        # a file it could not look at (a link to nowhere): for `reload` to report, as `load`
        now |= {Path(exc.filename) for exc in failed if exc.filename}
        return (now - known) | {p for p in known if p not in now}


def _stat(path: Path) -> Stat | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino
