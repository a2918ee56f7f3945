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
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from digest.config import Config
from digest.incremental.manifest import Manifest, Stat
from digest.incremental.outfolder import check_folder, survey
from digest.incremental.paths import CachePaths
from digest.incremental.stamps import Stamp, remember_code, same_inputs, stamp


@dataclass(frozen=True)
class Look:
    """What a build finds before it does anything."""

    target: Path  # the output folder, resolved
    manifest: Manifest  # what the last build left there
    on_disk: dict[str, Stat]  # what is there now
    unknown: list[str]  # its files no build recorded (none when a build recorded it)
    started: int  # when the build started (ns): the stamp is of what was there then
    stamped: Stamped  # the stamp of the inputs, as they were then (`now`)
    fresh: bool  # nothing to do: output/ is what a build makes of these inputs
    pages_fresh: bool = False  # output/ is that, but for a search index left to make

    @property
    def now(self) -> Stamp:
        """The inputs, as they were when the build started. A build takes it before it reads
        any of them: it may still be in the making (see `look`)."""
        return self.stamped.value()


def look(config: Config, output: Path | None = None, drafts: bool = False,
         search: bool = True, clean: bool = False) -> Look:
    """What a build with these arguments (see build.build) finds: a forbidden output folder
    is refused before anything is read, a folder holding files that no build wrote (but
    with `clean`) once it is scanned (FolderRefused).

    The stamp of the inputs is made in a forked process while this one scans output/. When
    the scan alone says there is work to do (no earlier build recorded, or output/ is not as
    it left it: a cold build), it is not waited for here: the build imports its stages and
    reads its item store meanwhile, and takes the stamp before it reads any input."""
    target = check_folder(config, output or config.output_dir)
    manifest = Manifest.read(CachePaths.of(config.state_dir).manifest(target))
    started = time.time_ns()
    stamped = Stamped(lambda: stamp(config, target, drafts, started),
                      lambda record: remember_code(config, record))
    try:
        on_disk, unknown = survey(target, manifest, clean)
    except BaseException:  # refused, or Ctrl-C: no stamp is wanted, nor its process
        stamped.drop()
        raise
    if manifest.unfinished or not (manifest.inputs and manifest.matches(on_disk)):
        # work to do, whatever the stamp (unfinished: a build stopped half-way)
        return Look(target, manifest, on_disk, unknown, started, stamped, False)
    wants_index = search and config.site.search and manifest.search_stale
    pages_fresh = same_inputs(manifest, stamped.value())
    return Look(target, manifest, on_disk, unknown, started, stamped,
                pages_fresh and not wants_index, pages_fresh)


class Stamped:
    """A stamp (`make()`), made in a forked process from now on, while this one goes on
    (`look` scans output/ meanwhile: both mostly wait on the file system, 30 ms of a 250 ms
    no-op at 10,000 items); `value()` waits for it, and `keep`s what it found to remember.
    Made by `value()` here where there is no fork, where this process runs threads (`serve`:
    a child forked beside them could wait forever on a lock one held), or where the child
    failed. The child only reads, and sends the stamp through a pipe. `drop()`: not wanted
    after all (the build is refused): the child is ended, and nothing is kept."""

    def __init__(self, make: Callable[[], tuple[Stamp, bytes | None]],
                 keep: Callable[[bytes], None]) -> None:
        self._make, self._keep = make, keep
        self._value: Stamp | None = None
        self._child: tuple[int, int] | None = None  # (pid, the pipe's end to read)
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no process to spare (EAGAIN, ENOMEM): made here instead
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: no cleanup, no flush of the parent's buffers (os._exit)
            code = 1
            try:
                os.close(read)
                value, record = make()
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(json.dumps([value.inputs, value.racy,
                                           record.decode() if record else None]).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._child = (pid, read)

    def value(self) -> Stamp:
        if self._value is not None:
            return self._value
        made: tuple[Stamp, bytes | None] | None = None
        if self._child is not None:
            data, status = self._finish(kill=False)
            try:
                inputs, racy, record = json.loads(data)
                if status == 0 and isinstance(inputs, str) and isinstance(racy, dict) and \
                        isinstance(record, str | None):
                    made = Stamp(inputs, racy), record.encode() if record else None
            except (ValueError, TypeError):  # the child failed before it wrote
                pass
        value, record = made or self._make()  # (made here: no child, or it failed)
        if record is not None:
            self._keep(record)
        self._value = value
        return value

    def drop(self) -> None:
        """Not wanted after all (the build stopped): the child is ended and waited for,
        nothing is kept. Nothing, once `value()` was taken."""
        if self._child is not None:
            self._finish(kill=True)

    def _finish(self, kill: bool) -> tuple[bytes, int]:
        """What the child wrote, and how it ended, once it has (ended at once, with `kill`)."""
        assert self._child is not None
        (pid, read), self._child = self._child, None
        data = b""
        try:
            if not kill:
                with os.fdopen(read, "rb") as pipe:
                    read = -1
                    data = pipe.read()
        except BaseException:  # Ctrl-C while waiting: the stamp is not wanted any more
            kill = True
            raise
        finally:
            if kill:
                os.kill(pid, signal.SIGKILL)  # (not yet waited for: the pid is still its)
            if read >= 0:
                os.close(read)
            _, status = os.waitpid(pid, 0)
        return data, status
