"""Runs stages 4-8: content/ -> Corpus -> Selection -> Site -> files -> output/.

Incremental: the same result as a clean build, byte for byte, doing only what changed.
  * nothing changed (every input file has the size and mtime the last build saw, and output/
    is as that build left it): nothing is read or rendered;
  * otherwise content files are loaded through the cache (unchanged ones are not read), the
    selection and the site are computed, and only the files whose fingerprint changed are
    rendered, in worker processes when there are many; only files whose bytes changed are
    written; the search index is made again only when a page changed.

The first question, "is output/ up to date?", is `look` (digest/incremental/noop.py), which
imports none of the stages this module imports: `digest build` asks it before importing
this module, and passes what it found to `build` (`seen`).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from digest.config import Config
from digest.group import group
from digest.html.media import outputs, present
from digest.html.theme import issue_titler, load_theme
from digest.incremental.itemstore import ItemStore
from digest.incremental.ledger import Ledger
from digest.incremental.manifest import Manifest, Stat, file_sha, scan, sha
from digest.incremental.noop import Look, look
from digest.incremental.outfolder import (
    SHOWN,
    FolderRefused,
    check_folder,
    exclusive,
    refuse,
    strangers,
)
from digest.incremental.pagekeys import kept
from digest.incremental.paths import CachePaths
from digest.incremental.session import Doubt, Session
from digest.load import load, reload
from digest.model import Corpus, Output, Site, Urls
from digest.project.opml import export_opml
from digest.render import Job, Plan, plan, render_job
from digest.search import ENTRY, FOLDER, bundles, refresh_search
from digest.select import select
from digest.system.memory import give_back, held, paused, rarely
from digest.system.state import feed_languages, read_state, source_health
from digest.system.workers import process_pool
from digest.write import Staging, put

NO_RECORD = ("no record of an earlier build is there (.digest/cache deleted or damaged, or the "
             "project moved?): move them away, or, if a build of this digest made them, "
             "build with --clean to let it delete them")

# Files to render before worker processes pay for themselves: forking a process that holds
# a 10,000-item site costs more than rendering a few hundred pages (a rebuild after an edit).
PARALLEL_FROM = 2000


@dataclass(frozen=True)
class BuildReport:
    output: Path
    files: int  # files of the site
    issues: int
    items: int
    written: int = 0  # files that changed in output/ (0: it was up to date)
    rendered: int = 0  # files rendered from templates
    search_stale: bool = False  # pages changed but the search index was not made again


def build(config: Config, output: Path | None = None, drafts: bool = False,
          search: bool = True, jobs: int = 0, cache: ItemStore | None = None,
          clean: bool = False, session: Session | None = None, seen: Look | None = None,
          waiting: Callable[[], None] | None = None) -> BuildReport:
    """Build the site into `output` (default output/); output/ changes only when every stage
    succeeded. `search=False` leaves the search index as it is (see `refresh_search`).
    `cache`: the build cache of an earlier build in this process (`serve` keeps it).
    `session` (`serve`): filled with what this build made, for `build_files` to start from;
    its cache and memos are used (it is made for this config and `drafts`).
    `seen`: what `look` found for these same arguments, when the caller looked first
    (`digest build` does, to import this module only when there is something to do).
    `waiting`: called when another build is writing into the output folder: this one waits
    for it (with `session`, the session's).

    The output folder is the build's alone (see digest/incremental/outfolder.py): a
    forbidden folder is refused before anything is read; a file there that no earlier build
    wrote stops the build before anything is written, unless `clean` lets it delete it."""
    assert seen is None or session is None, "a session saves before it looks"
    target = seen.target if seen else check_folder(config, output or config.output_dir)
    lock = CachePaths.of(config.state_dir).lock(target)
    with exclusive(lock, session.waiting if session else waiting,  # (the caller's, if it
                   session.stopping if session else None):          # looked first)
        return _build(config, output, drafts, search, jobs, cache, clean, session, seen)


def _build(config: Config, output: Path | None, drafts: bool, search: bool, jobs: int,
           cache: ItemStore | None, clean: bool, session: Session | None, seen: Look | None
           ) -> BuildReport:
    if session is not None:
        session.save()  # what its last build left to save
    seen = seen or look(config, output, drafts, search, clean)
    target = seen.target
    if seen.fresh and (session is None or session.ready):
        return _report(target, seen.manifest, 0, 0)
    if seen.pages_fresh and session is None:  # only the search index is left to make
        refresh_search(config, target)
        return _report(target, Manifest.read(seen.manifest.path), 0, 0)

    manifest, written, rendered = _make(config, seen, drafts, jobs, cache, session)
    if search and manifest.search_stale:
        # The site this build let go of (held in cycles: collected first), before Pagefind
        # takes its memory: the process falls from 240 to 100 MB at 10,000 items.
        gc.collect()
        give_back()
        refresh_search(config, target)
        manifest = Manifest.read(manifest.path)
    return _report(target, manifest, written, rendered)


def _make(config: Config, seen: Look, drafts: bool, jobs: int, cache: ItemStore | None,
          session: Session | None) -> tuple[Manifest, int, int]:
    """`build`'s stages 4-7, from what `look` found: the site made, output/ changed, the
    manifest saved. Returns it, with the files written and rendered; whatever the site held
    is let go of on return (but what `session` keeps)."""
    with held() as settle:  # what each stage makes lives to the end
        target, manifest, on_disk, unknown = seen.target, seen.manifest, seen.on_disk, seen.unknown
        if session is not None:
            session.forget()  # until this build is done
            cache = session.cache
        try:
            if cache is None:
                with paused():  # the store's entries, read: many objects, no garbage
                    cache = ItemStore(CachePaths.of(config.state_dir))
                settle()
            now = seen.now  # the inputs' stamp: taken before any of them is read (`look`)
        except BaseException:
            seen.stamped.drop()  # the build stops here: its stamp's process too
            raise
        cache.renew()
        corpus = load(config, cache, jobs)
        cache.save()
        give_back()  # what load let go of, before the render workers are forked
        settle()
        with paused():  # these stages make the model and free little: nothing to collect
            selection = select(corpus, config, session.selecting if session else None)
            theme = load_theme(config.site.theme, config.site.language,
                               CachePaths.of(config.state_dir))
            titler = issue_titler(theme.translation)
            if session is not None:
                session.read_state()
            state = read_state(config.state_dir)
            health, declared = source_health(state), feed_languages(state)
            site = group(selection, corpus, config, titler, drafts=drafts, health=health,
                         declared=declared, memo=session.grouping if session else None)
            with kept(session.keys) if session else nullcontext():
                made = plan(site, theme)
            beside = _beside(config)
            made = replace(made, files=(*made.files, *beside))
        settle()

        keep_search = (FOLDER + "/",) if config.site.search else ()
        proving = _unrecorded(target, unknown, made, keep_search)
        ledger = Ledger(manifest, on_disk)
        staged, rendered = _write_changed(made, ledger, target, jobs, keep_search, proving,
                                          eager=session is not None)
        written = len(staged)

        _record(manifest, ledger, config, target, staged, keep_search, site)
        manifest.drafts = _drafts_shown(site, corpus, drafts)
        manifest.inputs, manifest.racy = now.inputs, now.racy
        manifest.save(seen.started)
        if session is not None:
            session.corpus, session.theme, session.titler = corpus, theme, titler
            session.health, session.declared, session.beside = health, declared, beside
            session.target = target
            session.remember(manifest)
        return manifest, written, rendered


def build_files(session: Session, files: set[Path], jobs: int = 0) -> BuildReport:
    """`digest serve`'s build after a save: the content files `files` (from
    `Session.files`) are read again, and everything else comes from `session`, which the
    last build left; the result is what `build` would make. Raises Doubt when the kept
    state may not hold (output/ or the manifest changed under it): then make a full build.
    The manifest and the load cache are left to save (`session.save()`), and the search
    index stale: the caller reloads the browser first."""
    assert session.target is not None
    with exclusive(CachePaths.of(session.config.state_dir).lock(session.target),
                   session.waiting, session.stopping):
        return _build_files(session, files, jobs)


def _build_files(session: Session, files: set[Path], jobs: int) -> BuildReport:
    config = session.config
    session.save()  # what the last one left, if the caller did not
    manifest = session.check()
    assert session.corpus is not None and session.theme is not None and \
        session.titler is not None and session.target is not None
    target = session.target
    if not files:
        return _report(target, manifest, 0, 0)
    session.cache.now = time.time_ns()  # when the files read now were recorded
    corpus = reload(config, session.corpus, files, session.cache, jobs)
    selection = select(corpus, config, session.selecting)
    site = group(selection, corpus, config, session.titler, drafts=session.drafts,
                 health=session.health, declared=session.declared, memo=session.grouping)
    with kept(session.keys):
        made = plan(site, session.theme)
    made = replace(made, files=(*made.files, *session.beside))

    keep_search = (FOLDER + "/",) if config.site.search else ()
    # output/ as the last build left it (the manifest says; what changes is checked first)
    on_disk = {path: (e.size, e.mtime_ns) for path, e in manifest.files.items()}
    last = replace(manifest, files=dict(manifest.files))
    ledger = Ledger(last, on_disk)
    try:
        staged, rendered = _write_changed(made, ledger, target, jobs, keep_search, [],
                                          lambda paths: _as_recorded(target, paths, on_disk),
                                          eager=True)
        _record(last, ledger, config, target, staged, keep_search, site)
        last.drafts = _drafts_shown(site, corpus, session.drafts)
    except BaseException:  # output/ may have changed: the next build looks at all of it
        session.forget()
        raise
    last.inputs, last.racy = "", {}  # not stamped: the next `digest build` looks at all
    session.corpus = corpus
    session.unsaved = last
    return _report(target, last, len(staged), rendered)


def _record(manifest: Manifest, ledger: Ledger, config: Config, target: Path,
            staged: list[str], keep_search: tuple[str, ...], site: Site) -> None:
    """What this build left in output/, into the manifest (saved by the caller)."""
    manifest.files = ledger.as_found(keep_search)
    pages_changed = any(p.endswith(".html") for p in staged)
    split = site.search_parts if config.site.search else ()
    manifest.search_parts = [list(part) for part in split] if len(split) > 1 else []
    whole = all((target / route / ENTRY).is_file() for route in bundles(max(1, len(split))))
    manifest.search_stale = bool(config.site.search) and (
        manifest.search_stale or pages_changed or not whole)
    manifest.counts = {"files": len(ledger.files), "issues": len(site.issues),
                       "items": len(site.items)}


def _drafts_shown(site: Site, corpus: Corpus, drafts: bool) -> int:
    """How many draft issues the site shows (only a build with `drafts`: `digest serve`)."""
    if not drafts:
        return 0
    weeks = {issue.week for issue in site.issues}
    return sum(1 for file in corpus.issues if file.draft and file.week in weeks)


def _as_recorded(target: Path, paths: list[str], on_disk: dict[str, Stat]) -> None:
    """Doubt unless each of `paths` (about to be replaced or removed) is in output/ as the
    last build left it, or absent as it left it: nobody else's file is touched."""
    if not target.is_dir():
        raise Doubt("output/ is gone")
    for path in paths:
        try:
            st = os.lstat(target / path)
            found: Stat | None = (st.st_size, st.st_mtime_ns)
        except OSError:
            found = None
        if found != on_disk.get(path):
            raise Doubt(f"output/{path} is not as the last build left it")


def _beside(config: Config) -> list[Output]:
    """The files a build writes beside the rendered site: the sources as OPML, and the
    mirrored images."""
    return [Output(Urls.OPML, export_opml(config, public=True)),
            *outputs(config.content_dir, present(config.content_dir, config.site.images))]


def _unrecorded(target: Path, unknown: list[str], made: Plan, keep: tuple[str, ...]
                ) -> list[str]:
    """With no record of an earlier build here (.digest/cache deleted or damaged, the
    project moved), the folder's files are taken as the build's only where this build makes
    the same bytes (checked in `_write_changed`, before anything is written); a file this
    build would not make stops it now. A search index goes with the pages it indexes: it is
    taken as the build's only beside a home page that is. Returns the files to prove."""
    site = set(made.keys) | {out.path for out in made.files}
    index_kept = bool(keep) and "index.html" in unknown
    extra = [p for p in unknown if not (p in site or (index_kept and p.startswith(keep)))]
    if extra:
        raise refuse(target, extra, "that no build recorded and this build would not make",
                     hint=NO_RECORD)
    return [p for p in unknown if p in site]


def _write_changed(made: Plan, ledger: Ledger, target: Path, jobs: int, keep: tuple[str, ...],
                   proving: list[str], check: Callable[[list[str]], None] | None = None,
                   eager: bool = False) -> tuple[list[str], int]:
    """Render the files the ledger does not keep, stage those whose bytes changed, and put
    them into output/ (removing what the site no longer has, but the folders in `keep`).
    `proving`: files no build recorded, which must hold the bytes this build makes (else
    nothing is written). `check`: given the files about to be replaced or removed, raises
    to write nothing. `eager`: every file's key is made here, also for files output/ does
    not hold (`serve` keeps them all for its next build); else those are made where the file
    is rendered. Returns the paths written and how many files were rendered."""
    with Staging(target) as staging:
        todo = [j for j in made.jobs if not (
            (eager or ledger.recorded(j.path)) and ledger.keep_if_fresh(j.path, made.keys[j.path]))]
        for path, key, digest, size, data, mtime in _render_all(made, todo, staging, jobs):
            if not ledger.made(path, key, digest, size):
                continue  # rendered again, but to the same bytes
            if data is None:
                staging.add(path, (size, mtime))  # a worker process wrote it
            else:
                staging.put(path, data)
        for out in made.files:
            if ledger.made(out.path, None, sha(out.data), len(out.data)):
                staging.put(out.path, out.data)
        differ = ledger.differ(target, proving)
        if differ:
            raise refuse(target, differ, "that no build recorded and this build would make "
                         "differently", hint=NO_RECORD)
        if check is not None:
            check([*staging.staged, *(p for p in ledger.on_disk if p not in ledger.files
                                      and not p.startswith(keep))])
        last = ledger.last  # before output/ changes, the files it gets (see manifest.py)
        last.announce({p: e.sha or file_sha(str(target / p))
                       for p, e in ledger.as_found(keep).items() if p not in last.files})
        ledger.moved(staging.commit(set(ledger.files), ledger.on_disk, keep))
    return staging.staged, len(todo)


def check_built(config: Config, output: Path | None = None) -> Path:
    """The output folder, resolved, if it holds only files a build of this digest wrote
    (`publish --no-build` publishes it as it is); else FolderRefused."""
    target = check_folder(config, output or config.output_dir)
    manifest = Manifest.read(CachePaths.of(config.state_dir).manifest(target))
    if manifest.unfinished:
        raise FolderRefused("holds a build that stopped half-way", path=target,
                            hint="build again, then publish")
    if manifest.drafts:
        count = f"{manifest.drafts} draft issue{'s' if manifest.drafts > 1 else ''}"
        raise FolderRefused(f"holds {count} (built by `digest serve` or `build --drafts`)",
                            path=target,
                            hint="run `digest build` first (it leaves drafts out), or publish "
                            "without --no-build")
    on_disk = scan(target, manifest.files, limit=SHOWN + 1)
    unknown = strangers(on_disk, manifest.files)
    if unknown and manifest.recorded:
        raise refuse(target, unknown, "that no build of this digest wrote",
                     more=len(unknown) > SHOWN)
    if unknown:
        raise refuse(target, unknown, "that no build of this digest recorded",
                     more=len(unknown) > SHOWN,
                     hint="build first: a build takes back the files it makes the same")
    return target


def _report(target: Path, manifest: Manifest, written: int, rendered: int) -> BuildReport:
    counts = manifest.counts
    return BuildReport(target, counts.get("files", 0), counts.get("issues", 0),
                       counts.get("items", 0), written, rendered, manifest.search_stale)


# --- rendering, in worker processes when there is much to do ------------------------------

def _render_all(made: Plan, todo: Sequence[Job], staging: Staging, jobs: int
                ) -> Iterator[Rendered]:
    """(path, key, sha, size, bytes, 0) of each rendered file, in order, or (path, key, sha,
    size, None, mtime) of one a worker wrote (see `Rendered`). With much to do, the
    files are rendered by this process and `jobs - 1` worker processes together, each
    writing its files straight into the staging folder (bytes None, and the file's mtime),
    so a large site never has to sit in memory whole, and making their keys; a few files are
    rendered here and written only if they changed."""
    workers = min(jobs or os.cpu_count() or 1, len(todo) // (PARALLEL_FROM // 2) or 1)
    if len(todo) < PARALLEL_FROM or workers < 2:
        with rarely():
            for job in todo:
                data = render_job(made, job)
                yield job.path, made.keys[job.path], sha(data), len(data), data, 0
        return
    # Fork: the workers inherit the plan (the whole site) instead of unpickling it. Frozen
    # first, the site's objects are never scanned by the workers' garbage collector, which
    # would copy every memory page that holds one (the gc module's advice for fork).
    context = multiprocessing.get_context("fork")
    chunks = [[j.path for j in todo[i:i + 64]] for i in range(0, len(todo), 64)]
    by_path = {j.path: j for j in made.jobs}
    with held() as settle, rarely():  # the workers are forked inside: they inherit both
        settle()
        with process_pool(workers - 1, context, _start_worker, (made, staging.folder)) as pool:
            futures = [pool.submit(_render_chunk, chunk) for chunk in chunks]
            try:
                # This process renders too, from the last chunk back, each one the workers
                # have not started: the cores stay busy with one process fewer holding a
                # copy of the pages it touches.
                here: dict[int, list[Rendered]] = {}
                for n in reversed(range(len(chunks))):
                    if not futures[n].cancel():
                        break
                    here[n] = _render_paths(made, staging.folder, by_path, chunks[n],
                                            staging.folders)
                for n, future in enumerate(futures):
                    done = here[n] if n in here else future.result()
                    if [d[0] for d in done] != chunks[n]:  # never a page silently missing
                        raise RuntimeError(f"rendered {len(done)} of {len(chunks[n])} files")
                    yield from done
            except BaseException:  # a theme error, here or there: render nothing more
                for future in futures:
                    future.cancel()
                raise


# path, key, sha, size, and the bytes, or None with the mtime of the file written (else 0)
Rendered = tuple[str, str | None, str, int, bytes | None, int]
_WORKER: tuple[Plan, Path, dict[str, Job], set[str]] | None = None  # in worker processes


def _start_worker(made: Plan, folder: Path) -> None:
    global _WORKER
    _WORKER = (made, folder, {j.path: j for j in made.jobs}, set())


def _render_chunk(paths: list[str]) -> list[Rendered]:
    assert _WORKER is not None
    made, folder, by_path, folders = _WORKER
    return _render_paths(made, folder, by_path, paths, folders)


def _render_paths(made: Plan, folder: Path, by_path: dict[str, Job], paths: list[str],
                  folders: set[str]) -> list[Rendered]:
    """Render the files `paths` and write them under `folder` (`folders`: see `put`)."""
    done: list[Rendered] = []
    for path in paths:
        data = render_job(made, by_path[path])
        size, mtime = put(folder, path, data, folders)
        done.append((path, made.keys[path], sha(data), size, None, mtime))
    return done
