"""A build's first question: is output/ up to date? (`look`)

It reads what the answer needs and imports nothing more: the output folder checked
(outfolder.py), the last build's manifest (manifest.py) and the scan of output/, the stamp
of the inputs (stamps.py). None of the build's stages (load, select, group, render, search,
the html package) and none of the libraries they use (Jinja, Markdown, Pygments, lxml, nh3...)
is imported from here. `digest build` looks first and imports digest.build only when there
is something to do (commands/building.py), so a build with nothing to do costs a Python
start, the manifest, and the stat of every input and output file: at 10,000 items,
importing the stages alone would take longer than all of that.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from digest.config import Config
from digest.incremental.manifest import Manifest, Stat
from digest.incremental.outfolder import check_folder, survey
from digest.incremental.paths import CachePaths
from digest.incremental.stamps import Stamp, stamp, up_to_date


@dataclass(frozen=True)
class Look:
    """What a build finds before it does anything."""

    target: Path  # the output folder, resolved
    manifest: Manifest  # what the last build left there
    on_disk: dict[str, Stat]  # what is there now
    unknown: list[str]  # its files no build recorded (none when a build recorded it)
    started: int  # when the build started (ns): the stamp is of what was there then
    now: Stamp  # the inputs, as they are now
    fresh: bool  # nothing to do: output/ is what a build makes of these inputs
    pages_fresh: bool = False  # output/ is that, but for a search index left to make


def look(config: Config, output: Path | None = None, drafts: bool = False,
         search: bool = True, clean: bool = False) -> Look:
    """What a build with these arguments (see build.build) finds: a forbidden output folder
    is refused before anything is read, a folder holding files that no build wrote (but
    with `clean`) once it is scanned (FolderRefused)."""
    target = check_folder(config, output or config.output_dir)
    manifest = Manifest.read(CachePaths.of(config.state_dir).manifest(target))
    started = time.time_ns()
    with _beside(lambda: stamp(config, target, drafts, started)) as stamped:
        on_disk, unknown = survey(target, manifest, clean)
    now = stamped.value
    wants_index = search and config.site.search and manifest.search_stale
    pages_fresh = up_to_date(manifest, now, on_disk)
    return Look(target, manifest, on_disk, unknown, started, now,
                pages_fresh and not wants_index, pages_fresh)


class _Beside:
    value: Stamp


@contextmanager
def _beside(make: Callable[[], Stamp]) -> Iterator[_Beside]:
    """`make()` computed in a forked process while the block runs (the stamp stats the
    inputs while this process scans output/: both mostly wait on the file system, 30 ms of
    a 250 ms no-op at 10,000 items); here after it, where there is no fork or the child
    fails, or where this process runs threads (`serve`: a child forked beside them could
    wait forever on a lock one held). The child only reads; the stamp comes through a pipe."""
    done = _Beside()
    if not hasattr(os, "fork") or threading.active_count() > 1:
        yield done
        done.value = make()
        return
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no process to spare (EAGAIN, ENOMEM): made here instead
        os.close(read)
        os.close(write)
        yield done
        done.value = make()
        return
    if pid == 0:  # the child: no cleanup, no flush of the parent's buffers (os._exit)
        code = 1
        try:
            os.close(read)
            value = make()
            with os.fdopen(write, "wb") as pipe:
                pipe.write(json.dumps([value.inputs, value.racy]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    try:
        yield done
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
        read = -1
    finally:
        if read >= 0:
            os.close(read)
        _, status = os.waitpid(pid, 0)
    try:
        inputs, racy = json.loads(data)
        ok = status == 0 and isinstance(inputs, str) and isinstance(racy, dict)
    except ValueError:  # the child failed before it wrote: made here instead
        ok = False
    done.value = Stamp(inputs, racy) if ok else make()
