"""The edit-build-reload loop of `digest serve`: rebuild on every change, remember the
outcome for the server (an error page instead of a crash), never stop on a bad edit."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.observers.api import BaseObserver

from digest.build import BuildReport, build, build_files
from digest.config import load_config
from digest.errors import DigestError, os_error
from digest.html.themedirs import default_theme
from digest.incremental.itemstore import ItemStore
from digest.incremental.manifest import Manifest
from digest.incremental.outfolder import Abandoned, FolderRefused
from digest.incremental.paths import CachePaths
from digest.incremental.session import Doubt, Session
from digest.preview.serve import Status
from digest.preview.watch import watch
from digest.search import Stopped, refresh_search


class Preview:
    def __init__(self, config_path: Path, drafts: bool, say: Callable[[str], None],
                 error: Callable[[str], None]) -> None:
        self.config_path, self.drafts = config_path, drafts
        self.say, self.error = say, error
        self.status = Status()
        self.lock = threading.Lock()  # one build at a time
        self.builds = 0  # builds done; the search index is installed only if still current
        self.full_builds = 0  # of them, those that looked at the whole project
        self.rendered = 0  # files rendered from templates, in all builds
        self.session: Session | None = None  # what the last build made, kept in memory
        self.pending: set[str] = set()  # changes a failed build did not take in
        self.search_wanted = threading.Event()
        self.stopping = threading.Event()  # `stop`: no build or index is started after it
        self.indexer = threading.Thread(target=self._index_forever, daemon=True,
                                        name="search")
        self.indexer.start()

    def stop(self, wait: float = 60) -> None:
        """Before the process ends (Ctrl-C, SIGTERM): no build or index starts any more; an
        index under way is stopped (Pagefind ended, its temporary folder removed); a build
        under way is waited for, up to `wait` seconds, so that output/ and the manifest are
        left whole (a build waiting for another one to leave output/ stops waiting). Called
        again, it returns at once."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.search_wanted.set()  # the indexer wakes, and ends
        self.indexer.join(wait)
        if self.lock.acquire(timeout=wait):  # the build under way, if any, is done
            self.lock.release()

    def rebuild(self, changed: set[str], strict: bool = False) -> None:
        """Build what `changed` (paths) asks for; an error becomes the page the browser
        shows. `strict` (the first build): a refused output folder is raised, so `serve`
        stops. The browser is told to reload before the load cache is saved and the search
        index made again."""
        with self.lock:
            if self.stopping.is_set():
                return
            start = time.perf_counter()
            asked = self.pending | changed
            try:
                report, quick = self._build(asked)
                self.builds += 1
            except Abandoned:  # stopping while another build held output/
                return
            except (DigestError, OSError) as exc:
                if strict and isinstance(exc, FolderRefused):
                    raise
                self.pending = asked  # the next build takes them in
                text = (exc if isinstance(exc, DigestError) else os_error(exc)).format(Path.cwd())
                for line in text.splitlines():
                    self.error(line)
                self.status.built(text)
                return
            self.pending = set()
            self.rendered += report.rendered
            took = (time.perf_counter() - start) * 1000
            what = f"{len(changed)} change(s): " if changed else ""
            self.say(f"{what}built {report.files} files in {took:.0f} ms "
                     f"({report.written} changed)")
            self.status.built(None)
            if report.search_stale:
                self.search_wanted.set()
            if quick and self.session is not None:
                try:
                    self.session.save()  # the manifest and the load cache: after the reload
                except Abandoned:
                    return  # stopping (the next serve builds all again)
                except OSError as exc:
                    self.error("the build's record could not be saved: "
                               + os_error(exc).format(Path.cwd()))
            elif not quick:
                # What a full build left lives until the next one: the garbage collector
                # need not walk it after every save (a pause of 100s of ms on a large site).
                gc.unfreeze()
                gc.collect()
                gc.freeze()

    def _build(self, changed: set[str]) -> tuple[BuildReport, bool]:
        """The report, and whether it was an in-memory build after a save (else a full
        one: the first, or after digest.toml, the theme, state.json... changed)."""
        session = self.session
        files = session.files(changed) if session is not None and changed else None
        if session is not None and files is not None:
            gc.disable()  # it makes many objects and frees few: no collection midway
            try:
                return build_files(session, files), True
            except Doubt:
                pass  # output/ or the manifest changed under it: look at everything
            finally:
                gc.enable()
        config = load_config(self.config_path)
        if session is None or session.config != config:
            same_cache = session is not None and \
                session.cache.paths == CachePaths.of(config.state_dir)
            cache = session.cache if session is not None and same_cache \
                else ItemStore(CachePaths.of(config.state_dir))
            session = self.session = Session(config, self.drafts, cache,
                                             waiting=self._waiting, stopping=self.stopping)
        # The search index waits: the page reloads first (see _index_forever).
        self.full_builds += 1
        return build(session.config, drafts=self.drafts, search=False, session=session), False

    def _waiting(self) -> None:
        self.say("waiting for the build into output/ that is under way…")

    def _index_forever(self) -> None:
        """Make the search index after the pages changed, in the background: Pagefind takes
        seconds on a large site, and the editor's browser should not wait for it."""
        while True:
            self.search_wanted.wait()
            self.search_wanted.clear()
            if self.stopping.is_set():
                return
            with self.lock:
                if self.stopping.is_set():  # (a build held the lock meanwhile)
                    return
                seen = self.builds
            try:
                config = load_config(self.config_path)
                start = time.perf_counter()

                def still(seen: int = seen) -> bool:
                    return self.builds == seen

                if refresh_search(config, lock=self.lock, current=still, stop=self.stopping):
                    took = (time.perf_counter() - start) * 1000
                    self.say(f"search index updated in {took:.0f} ms")
                    with self.lock:  # the manifest now lists the new index
                        if still() and self.session is not None and \
                                self.session.manifest is not None:
                            self.session.remember(Manifest.read(self.session.manifest.path))
            except Stopped:
                return
            except DigestError as exc:
                for e in exc.errors:
                    self.error(e.format(Path.cwd()))
            except OSError as exc:  # output/ changed under Pagefind: the next round tries
                self.error("the search index could not be updated: "
                           + os_error(exc).format(Path.cwd()))

    def watch(self, poll: bool) -> BaseObserver:
        """Watch digest.toml, content/, the feeds folder and the themes (but the project's
        output and state folders, should a link lead there)."""
        root = self.config_path.resolve().parent
        paths = [self.config_path.resolve(), root / "content", root / "feeds",
                 root / "themes", default_theme()]
        try:
            theme = load_config(self.config_path).site.theme
        except DigestError:
            theme = None
        if theme is not None:
            paths.append(theme)
        return watch([p for p in paths if p.exists()], self.rebuild, poll,
                     skip=(root / "output", root / ".digest"),
                     exact=(root / "content", root / "content" / "items"))
