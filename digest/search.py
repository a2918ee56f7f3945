"""Stage 8 (beside write): the full-text search index of the built site, made by Pagefind
(offline, no server needed; Cyrillic is stemmed; the UI speaks the site's language).

Only item pages mark their text with data-pagefind-body, so only they are results; Pagefind
is given only them to read (`PAGES`), not the issue, topic and source pages, which would be
parsed for nothing (about a tenth of the CPU time at 10,000 items: the rest, and the memory,
about 330 KB per item page of 1,200 words, are Pagefind's indexing of the item pages). The
index is the same, byte for byte, as one made from the whole site.

A large site's index comes in parts, each made by a Pagefind run of its own, one after the
other (RUNS): Pagefind holds every page it indexes in memory until it writes the index,
about 350 KB per item page of 1,200 words, so one run over 10,000 items took 3.4 GB. Which items
each part holds is the site's layout (`Site.search_parts`, made in group.py: at most
group.ITEMS_PER_INDEX items, oldest first, so new items change only the last part). The
search page's UI searches them all together (Pagefind's mergeIndex): the first part is the
bundle in FOLDER, the others are in its subfolders (`bundles`, `Urls.search_part`).

`refresh_search` is the stage as a build (and `serve`, in the background) runs it: after
the pages are in output/, it makes again only the parts whose pages changed since the
manifest recorded them, and installs the index under the manifest (write.sync_tree)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from digest.config import Config
from digest.errors import DigestError
from digest.incremental.manifest import Manifest, file_sha, scan, sha
from digest.incremental.outfolder import Abandoned, check_folder, exclusive
from digest.incremental.paths import CachePaths
from digest.model import Urls
from digest.write import SEARCH, sweep, sync_tree, temp_prefix

FOLDER = Urls.SEARCH_INDEX.rstrip("/")
ENTRY = "pagefind-entry.json"  # in each part's folder: what Pagefind's UI loads first
PAGES = f"{Urls.ITEMS}*/index.html"  # the item pages, relative to the site (a Pagefind glob)
PART_PREFIX = Urls.SEARCH_PART  # the folders of the parts after the first, in the first's
TIMEOUT = 600  # seconds for one Pagefind run
# Pagefind runs side by side, each over one part. One run keeps about a core and a half busy,
# and two would keep both of two cores busy (4,000 item pages in parts of 1,000: 7.0 s one
# after the other, 5.0 s two at a time), but at twice the memory: within the same memory,
# parts of half the size, twice as many for every reader's search to load (see
# group.ITEMS_PER_INDEX). The readers' time is worth more than the build's: one at a time.
RUNS = 1


class Stopped(Exception):
    """The index was not made: `stop` was set while Pagefind ran (`serve` is stopping).
    Pagefind is ended, and what it wrote is left to its caller's temporary folder."""


def bundles(count: int) -> tuple[str, ...]:
    """The folders (routes) of the `count` parts of the index: FOLDER, then its subfolders
    part-2/, part-3/... (a name Pagefind gives none of its own files)."""
    return tuple(Urls.search_part(n) for n in range(1, count + 1))


def make(site_dir: Path, language: str, into: Path, pages: Sequence[Sequence[str]],
         reuse: Collection[str] = (), stop: threading.Event | None = None) -> None:
    """The site's index, in the folder `into`: one made as `index` makes it when `pages`
    (`Site.search_parts`, as the build recorded them) has one part or none; else one per
    part, each made by a Pagefind run of its own, in the folders `bundles` names under `into`. The
    parts whose routes are in `reuse` are taken from `site_dir` as they are (linked), not
    made again: their pages are as they were when they were made."""
    if len(pages) < 2:
        index(site_dir, language, into, stop=stop)
        return
    made, todo = [], []
    for n, (part, route) in enumerate(zip(pages, bundles(len(pages)), strict=True), start=1):
        made.append(into.parent / f".part-{n}")
        if route in reuse:
            for file in bundle_files(route, _files(site_dir / route, route)):
                _link(site_dir / file, made[-1] / file[len(route):])
        else:
            todo.append((made[-1], part))
    _index_parts(site_dir, language, todo, stop)
    made[0].rename(into)
    for folder, route in zip(made[1:], bundles(len(pages))[1:], strict=True):
        folder.rename(into / route[len(FOLDER) + 1:])


def _index_parts(site_dir: Path, language: str, todo: Sequence[tuple[Path, Sequence[str]]],
                 stop: threading.Event | None) -> None:
    """`index` of each (folder, pages) of `todo`, RUNS at a time. When one fails, or `stop`
    is set, or this thread is interrupted (Ctrl-C), every run still going is ended, all
    are waited for, and the first failure is raised (Stopped only if nothing failed)."""
    halt = threading.Event()  # the runs' own stop: set for the caller's, or a failure
    if stop is not None and stop.is_set():
        halt.set()  # no part starts (each sees it first)
    futures: list[Future[None]] = []

    def run(folder: Path, part: Sequence[str]) -> None:
        try:
            index(site_dir, language, folder, part, halt)
        except Stopped:
            raise
        except BaseException:
            halt.set()  # here, before this thread takes the next part: that one starts not
            raise

    with ThreadPoolExecutor(max_workers=max(1, min(RUNS, len(todo)))) as pool:
        try:
            futures += [pool.submit(run, folder, part) for folder, part in todo]
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
                if any(f.exception() is not None for f in done) or \
                        (stop is not None and stop.is_set()):
                    _halt(halt, futures)  # one failed, or the caller stops: all end
                    wait(pending)
                    break
        except BaseException:  # Ctrl-C, SIGTERM: every run ends (the pool waits for them)
            _halt(halt, futures)
            raise
    errors = [e for f in futures if not f.cancelled() and (e := f.exception()) is not None]
    failed = [e for e in errors if not isinstance(e, Stopped)]
    if failed:
        raise failed[0]
    if errors or any(f.cancelled() for f in futures):
        raise Stopped()


def _halt(halt: threading.Event, futures: Sequence[Future[None]]) -> None:
    """End the runs going (they see `halt`), and start no other."""
    halt.set()
    for future in futures:
        future.cancel()


def bundle_files(route: str, files: Iterable[str]) -> list[str]:
    """Those of `files` (paths in the site) that belong to the part of the index at `route`
    (the first part's folder holds the others: their files are theirs)."""
    return [f for f in files if f.startswith(route) and not (
        route == f"{FOLDER}/" and f[len(route):].startswith(PART_PREFIX))]


def _files(folder: Path, route: str) -> list[str]:
    return [route + p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]


def index(site_dir: Path, language: str, into: Path, pages: Sequence[str] = (),
          stop: threading.Event | None = None) -> None:
    """Index the item pages under `site_dir` (their text marked with data-pagefind-body);
    write the index into the folder `into` (the site's FOLDER, or a temporary one). With
    `pages` (files of the site), only those are read: Pagefind is given a folder beside `into`
    that holds them alone, as hard links (copies where links cannot be made), at the same
    paths, so that their URLs are the site's. A site with no item page is indexed whole, as
    Pagefind does when no page marks its text. Once `stop` is set, Pagefind is ended and
    Stopped raised."""
    if stop is not None and stop.is_set():
        raise Stopped()
    if pages:
        with tempfile.TemporaryDirectory(prefix=".pages.", dir=into.parent) as tmp:
            for page in pages:
                if page.startswith(Urls.ITEMS) and ".." not in page.split("/"):  # the site's
                    _link(site_dir / page, Path(tmp) / page)
            _pagefind(Path(tmp), language, into, [], stop)
        return
    has_items = next((site_dir / Urls.ITEMS).glob("*/index.html"), None) is not None
    _pagefind(site_dir, language, into, ["--glob", PAGES] if has_items else [], stop)


def _link(source: Path, link: Path) -> None:
    """`link` made a hard link to `source` (a copy where links cannot be made); nothing when
    `source` is gone meanwhile (`serve` rebuilt: the next round indexes the newer pages)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, link)
    except FileNotFoundError:
        return
    except OSError:  # a file system without hard links
        try:
            shutil.copyfile(source, link)
        except FileNotFoundError:
            return


def _pagefind(site_dir: Path, language: str, into: Path, extra: list[str],
              stop: threading.Event | None = None) -> None:
    command = [sys.executable, "-m", "pagefind", "--site", str(site_dir), "--output-path",
               str(into), "--force-language", language.split("-")[0], "--silent", *extra]
    if stop is not None and stop.is_set():
        raise Stopped()
    try:
        # (`python -m pagefind` becomes Pagefind's binary: ending this process ends it)
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) as run:
            try:
                out, err = _finished(run, stop)
            except BaseException:  # stopped, timed out, Ctrl-C, SIGTERM: Pagefind too
                run.kill()
                run.wait()  # ended, before its folder is removed
                raise
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DigestError(f"the search index could not be built: {exc}",
                          hint="reinstall digest, or set search = false under [site]") from exc
    if run.returncode != 0:
        reason = (err or out).strip().splitlines()
        raise DigestError("the search index could not be built: "
                          + (reason[-1] if reason else f"pagefind exited {run.returncode}"),
                          hint="install pagefind[extended], or set search = false under [site]")


def _finished(run: subprocess.Popen[str], stop: threading.Event | None) -> tuple[str, str]:
    """What Pagefind printed, once it ended; Stopped as soon as `stop` is set, TimeoutExpired
    after TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            return run.communicate(timeout=0.2)  # (tried again, nothing printed is lost)
        except subprocess.TimeoutExpired:
            if stop is not None and stop.is_set():
                raise Stopped() from None
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(run.args, TIMEOUT) from None


# --- the index of output/, made again where its pages changed, installed under the manifest

def refresh_search(config: Config, output: Path | None = None,
                   lock: AbstractContextManager[object] | None = None,
                   current: Callable[[], bool] = lambda: True,
                   stop: threading.Event | None = None) -> bool:
    """Make the search index again if pages changed since it was made; True if it did. Of an
    index in parts, only the parts whose pages changed are made again.

    For `serve`, which indexes in the background: Pagefind reads output/ outside `lock`; the
    new index is installed under `lock`, and only if `current()` says no build happened
    meanwhile (else the next round indexes the newer pages); once `stop` is set, Pagefind is
    ended and search.Stopped raised, with output/ and the manifest as they were."""
    target = check_folder(config, output or config.output_dir)
    path = CachePaths.of(config.state_dir).manifest(target)
    last = Manifest.read(path)
    if not (config.site.search and last.search_stale) or last.unfinished:
        return False  # (unfinished: a build stopped half-way; the next one indexes)
    sweep(target)  # what an index killed mid-way left beside output/
    prints = _part_prints(last, config.site.language)
    reuse = {route for route, made in prints.items()
             if last.search_made.get(route) == made and _intact(last, target, route)}
    with tempfile.TemporaryDirectory(prefix=temp_prefix(target, SEARCH), dir=target.parent) as tmp:
        make(target, config.site.language, Path(tmp) / FOLDER, last.search_parts, reuse, stop)
        with lock or nullcontext(), _turn(CachePaths.of(config.state_dir).lock(target), stop):
            if stop is not None and stop.is_set():  # Pagefind was done, but too late
                raise Stopped()
            if not current():
                return False
            manifest = Manifest.read(path)
            if manifest.unfinished:  # a build stopped half-way meanwhile
                return False
            folder, new = FOLDER + "/", Path(tmp) / FOLDER
            manifest.announce({folder + rel: file_sha(str(new / rel))
                               for rel in scan(new, keeps=False)
                               if folder + rel not in manifest.files})
            sync_tree(Path(tmp) / FOLDER, target / FOLDER,
                      {k[len(folder):] for k in manifest.files if k.startswith(folder)})
            manifest.take(FOLDER, target)
            manifest.search_stale = False
            manifest.search_made = prints
            manifest.search_files = {route: _files_print(manifest, route) for route in prints}
            manifest.save(manifest.saved_ns)
    return True


@contextmanager
def _turn(lock_file: Path, stop: threading.Event | None) -> Iterator[None]:
    """The output folder's lock (outfolder.exclusive), to install the index; Stopped when
    `stop` ends the wait for another build."""
    try:
        with exclusive(lock_file, stop=stop):
            yield
    except Abandoned:
        raise Stopped() from None


def _part_prints(manifest: Manifest, language: str) -> dict[str, str]:
    """The print of each part of the index (route -> print): of Pagefind's version, the
    language, and each of its pages, its path and the hash of its bytes. None (empty) for an
    index of one part."""
    if len(manifest.search_parts) < 2:
        return {}
    from importlib.metadata import version  # a build that indexes only

    prints = {}
    for route, pages in zip(bundles(len(manifest.search_parts)), manifest.search_parts,
                            strict=True):
        entries = (manifest.files.get(page) for page in pages)
        prints[route] = sha("\0".join([version("pagefind"), language, *pages,
                                       *(e.sha if e else "" for e in entries)]).encode())
    return prints


def _files_print(manifest: Manifest, route: str) -> str:
    """The print of the files of the part of the index at `route`, as the manifest lists
    them: their paths, sizes and mtimes."""
    return sha("\0".join(f"{f}:{manifest.files[f].size}:{manifest.files[f].mtime_ns}"
                         for f in sorted(bundle_files(route, manifest.files))).encode())


def _intact(manifest: Manifest, target: Path, route: str) -> bool:
    """Whether the part of the index at `route` is in output/ as it was installed: its
    files as the manifest lists them, and the list as it was then (a build records what
    it finds in output/'s search folder, a file changed by hand included)."""
    files = bundle_files(route, manifest.files)
    if not files or manifest.search_files.get(route) != _files_print(manifest, route):
        return False
    for file in files:
        entry = manifest.files[file]
        try:
            st = os.lstat(target / file)
        except OSError:
            return False
        if (st.st_size, st.st_mtime_ns) != (entry.size, entry.mtime_ns):
            return False
    return True
