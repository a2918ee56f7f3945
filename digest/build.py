"""Runs stages 4-8: content/ -> Corpus -> Selection -> Site -> files -> output/.

Incremental: the same result as a clean build, byte for byte, doing only what changed.
  * nothing changed (every input file has the size and mtime the last build saw, and output/
    is as that build left it): nothing is read or rendered;
  * otherwise content files are loaded through the cache (unchanged ones are not read), the
    selection and the site are computed, and only the files whose fingerprint changed are
    rendered, in worker processes when there are many; only files whose bytes changed are
    written; the search index is made again only when a page changed.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from digest.config import Config
from digest.group import group
from digest.html.media import outputs, present
from digest.html.theme import issue_titler, theme_dirs, translations
from digest.incremental.fingerprint import code, tree_stats
from digest.incremental.loadcache import RACY_NS, RenderCache
from digest.incremental.manifest import Manifest, Written, scan, sha
from digest.incremental.outfolder import SHOWN, check_folder, refuse, strangers
from digest.incremental.paths import CachePaths
from digest.load import load
from digest.render import Job, Plan, plan, render_job
from digest.search import FOLDER, index
from digest.select import select
from digest.system.state import feed_languages, read_state, source_health
from digest.system.workers import process_pool
from digest.write import Staging, put, sync_tree

NO_RECORD = ("no record of an earlier build is there (.digest/cache deleted or damaged, or the "
             "project moved?): if it was one, build with --clean; else move them away")

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
          search: bool = True, jobs: int = 0, cache: RenderCache | None = None,
          clean: bool = False) -> BuildReport:
    """Build the site into `output` (default output/); output/ changes only when every stage
    succeeded. `search=False` leaves the search index as it is (see `refresh_search`).
    `cache`: the build cache of an earlier build in this process (`serve` keeps it).

    The output folder is the build's alone (see digest/outfolder.py): a forbidden folder is
    refused before anything is read; a file there that no earlier build wrote stops the
    build before anything is written, unless `clean` lets the build delete it."""
    target = check_folder(config, output or config.output_dir)
    manifest = Manifest.read(CachePaths.of(config).manifest(target))
    known = None if clean or not manifest.recorded else manifest.files
    on_disk = scan(target, known, limit=SHOWN + 1)
    unknown = [] if clean else strangers(on_disk, manifest.files)
    if unknown and manifest.recorded:
        raise refuse(target, unknown, "that no build of this digest wrote",
                     more=len(unknown) > SHOWN)
    started = time.time_ns()
    inputs, racy = _inputs(config, target, drafts, started)
    wants_index = search and config.site.search and manifest.search_stale
    if inputs == manifest.inputs and _same_bytes(manifest.racy) and \
            manifest.matches(on_disk) and not wants_index:
        return _report(target, manifest, 0, 0)

    cache = cache or RenderCache(CachePaths.of(config))
    cache.renew()
    corpus = load(config, cache, jobs)
    cache.save()
    selection = select(corpus, config)
    titles = issue_titler(translations(theme_dirs(config.site.theme), config.site.language))
    state = read_state(config.state_dir)
    site = group(selection, corpus, config, titles, drafts=drafts,
                 health=source_health(state), declared=feed_languages(state))
    made = plan(site, config)
    made = replace(made, files=(*made.files, *outputs(config, present(config))))

    keep_search = (FOLDER + "/",) if config.site.search else ()
    proving = _unrecorded(target, unknown, made, keep_search)
    files, staged, rendered = _write_changed(made, manifest, on_disk, target, jobs, keep_search,
                                             proving)
    written = len(staged)

    manifest.files = {**files, **_search_files(on_disk, keep_search)}
    pages_changed = any(p.endswith(".html") for p in staged)
    manifest.search_stale = bool(config.site.search) and (
        manifest.search_stale or pages_changed or not (target / FOLDER).is_dir())
    manifest.inputs, manifest.racy = inputs, racy
    manifest.counts = {"files": len(files), "issues": len(site.issues),
                       "items": len(site.items)}
    manifest.save(started)
    if search and manifest.search_stale:
        refresh_search(config, target)
        manifest = Manifest.read(manifest.path)
    return _report(target, manifest, written, rendered)


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


def _write_changed(made: Plan, manifest: Manifest, on_disk: dict[str, tuple[int, int]],
                   target: Path, jobs: int, keep: tuple[str, ...], proving: list[str]
                   ) -> tuple[dict[str, Written], list[str], int]:
    """Render the files whose fingerprint changed, stage those whose bytes changed, and put
    them into output/ (removing what the site no longer has, but the folders in `keep`).
    `proving`: files no build recorded, which must hold the bytes this build makes (else
    nothing is written). Returns the manifest entries of the site's files, the paths
    written, and how many files were rendered."""
    files: dict[str, Written] = {}
    with Staging(target) as staging:
        todo = []
        for job in made.jobs:
            if manifest.fresh(job.path, made.keys[job.path], on_disk):
                files[job.path] = manifest.files[job.path]
            else:
                todo.append(job)
        for path, digest, size, data in _render_all(made, todo, staging, jobs):
            if manifest.same(path, digest, on_disk):  # rendered again, but to the same bytes
                old = manifest.files[path]
                files[path] = Written(made.keys[path], digest, old.size, old.mtime_ns)
                continue
            if data is None:
                staging.add(path)  # a worker process wrote it
            else:
                staging.put(path, data)
            files[path] = Written(made.keys[path], digest, size, 0)
        for out in made.files:
            digest = sha(out.data)
            if manifest.same(out.path, digest, on_disk):
                files[out.path] = manifest.files[out.path]
            else:
                staging.put(out.path, out.data)
                files[out.path] = Written(None, digest, len(out.data), 0)
        differ = _different(target, proving, files)
        if differ:
            raise refuse(target, differ, "that no build recorded and this build would make "
                         "differently", hint=NO_RECORD)
        for path, (size, mtime) in staging.commit(set(files), on_disk, keep).items():
            files[path] = Written(files[path].key, files[path].sha, size, mtime)
    return files, staging.staged, len(todo)


def _different(target: Path, paths: list[str], files: dict[str, Written]) -> list[str]:
    """Those of `paths` whose bytes are not what this build made (`files`)."""
    return [p for p in paths if p not in files or _file_sha(str(target / p)) != files[p].sha]


def check_built(config: Config, output: Path | None = None) -> Path:
    """The output folder, resolved, if it holds only files a build of this digest wrote
    (`publish --no-build` publishes it as it is); else FolderRefused."""
    target = check_folder(config, output or config.output_dir)
    manifest = Manifest.read(CachePaths.of(config).manifest(target))
    unknown = strangers(scan(target, manifest.files, limit=SHOWN + 1), manifest.files)
    if unknown and manifest.recorded:
        raise refuse(target, unknown, "that no build of this digest wrote",
                     more=len(unknown) > SHOWN)
    if unknown:
        raise refuse(target, unknown, "that no build of this digest recorded",
                     more=len(unknown) > SHOWN,
                     hint="build first: a build takes back the files it makes the same")
    return target


def refresh_search(config: Config, output: Path | None = None,
                   lock: AbstractContextManager[Any] | None = None,
                   current: Callable[[], bool] = lambda: True) -> bool:
    """Make the search index again if pages changed since it was made; True if it did.

    For `serve`, which indexes in the background: Pagefind reads output/ outside `lock`; the
    new index is installed under `lock`, and only if `current()` says no build happened
    meanwhile (else the next round indexes the newer pages)."""
    target = check_folder(config, output or config.output_dir)
    path = CachePaths.of(config).manifest(target)
    if not (config.site.search and Manifest.read(path).search_stale):
        return False
    with tempfile.TemporaryDirectory(prefix=".search.", dir=target.parent) as tmp:
        index(target, config.site.language, Path(tmp) / FOLDER)
        with lock or nullcontext():
            if not current():
                return False
            manifest = Manifest.read(path)
            folder = FOLDER + "/"
            sync_tree(Path(tmp) / FOLDER, target / FOLDER,
                      {k[len(folder):] for k in manifest.files if k.startswith(folder)})
            manifest.files = {k: e for k, e in manifest.files.items()
                              if not k.startswith(folder)}
            manifest.files.update({k: Written(None, "", *stat)
                                   for k, stat in scan(target).items() if k.startswith(folder)})
            manifest.search_stale = False
            manifest.save(manifest.saved_ns)
    return True


def _report(target: Path, manifest: Manifest, written: int, rendered: int) -> BuildReport:
    counts = manifest.counts
    return BuildReport(target, counts.get("files", 0), counts.get("issues", 0),
                       counts.get("items", 0), written, rendered, manifest.search_stale)


def _search_files(on_disk: dict[str, tuple[int, int]], keep: tuple[str, ...]
                  ) -> dict[str, Written]:
    """The search index's files as they are (made by the last `refresh_search`)."""
    return {k: Written(None, "", *stat) for k, stat in on_disk.items()
            if keep and k.startswith(keep)}


def _inputs(config: Config, target: Path, drafts: bool, now_ns: int
            ) -> tuple[str, dict[str, str]]:
    """The fingerprint of everything a build reads (digest's own code, the configuration,
    and content/, the themes, digest.toml and state.json by file sizes and mtimes), and the
    hashes of the files changed so recently that a second change might keep their size and
    mtime (a save within one clock tick): the next build compares those by content."""
    folders = [config.content_dir, *theme_dirs(config.site.theme)]
    stats = tree_stats([f for f in folders if f.is_dir()], skip=target)
    for extra in (config.path, config.state_dir / "state.json"):
        if extra.is_file():
            st = extra.stat()
            stats.append((str(extra), st.st_size, st.st_mtime_ns))
    h = hashlib.sha256(f"{code()}\0{target}\0{drafts}\0{config!r}".encode())
    for path, size, mtime in stats:
        h.update(f"{path}\0{size}\0{mtime}\n".encode())
    racy = {path: _file_sha(path) for path, _, mtime in stats if mtime >= now_ns - RACY_NS}
    return h.hexdigest(), racy


def _file_sha(path: str) -> str:
    try:
        return sha(Path(path).read_bytes())
    except OSError:
        return ""


def _same_bytes(racy: dict[str, str]) -> bool:
    return all(_file_sha(path) == digest for path, digest in racy.items())


# --- rendering, in worker processes when there is much to do ------------------------------

def _render_all(made: Plan, todo: Sequence[Job], staging: Staging, jobs: int
                ) -> Iterator[tuple[str, str, int, bytes | None]]:
    """(path, sha, size, bytes) of each rendered file, in order. Worker processes write
    their files straight into the staging folder (bytes None), so a large site never has to
    sit in memory whole; a few files are rendered here and written only if they changed."""
    workers = min(jobs or os.cpu_count() or 1, len(todo) // (PARALLEL_FROM // 2) or 1)
    if len(todo) < PARALLEL_FROM or workers < 2:
        for job in todo:
            data = render_job(made, job)
            yield job.path, sha(data), len(data), data
        return
    # Fork: the workers inherit the plan (the whole site) instead of unpickling it.
    context = multiprocessing.get_context("fork")
    chunks = [todo[i:i + 64] for i in range(0, len(todo), 64)]
    with process_pool(workers, context, _start_worker, (made, staging.folder)) as pool:
        for done in pool.map(_render_chunk, [[j.path for j in c] for c in chunks]):
            yield from done


_WORKER: tuple[Plan, Path, dict[str, Job]] | None = None  # set in worker processes only


def _start_worker(made: Plan, folder: Path) -> None:
    global _WORKER
    _WORKER = (made, folder, {j.path: j for j in made.jobs})


def _render_chunk(paths: list[str]) -> list[tuple[str, str, int, bytes | None]]:
    assert _WORKER is not None
    made, folder, by_path = _WORKER
    done: list[tuple[str, str, int, bytes | None]] = []
    for path in paths:
        data = render_job(made, by_path[path])
        put(folder, path, data)
        done.append((path, sha(data), len(data), None))
    return done
