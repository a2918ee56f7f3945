"""Worker process pools that end with the digest process that started them.

A ProcessPoolExecutor's worker waits on a queue whose write end it holds itself, so when the
process that started it dies without shutting the pool down (kill -9, the OOM killer, a CI
timeout) the worker waits for ever; a fork server, and the resource tracker, live as long as
any of its workers does. Every worker made here watches its parent's sentinel (a pipe whose
write end multiprocessing leaves open in the starting process only) and exits the moment that
process is gone, which ends the fork server and the resource tracker in turn."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext
from typing import Any

ORPHANED = 70  # a worker's exit status when its parent died under it (EX_SOFTWARE)


def process_pool(workers: int, context: BaseContext | None = None,
         initializer: Callable[..., None] | None = None,
         initargs: tuple[object, ...] = ()) -> ProcessPoolExecutor:
    """A ProcessPoolExecutor whose workers exit when this process dies, even by SIGKILL."""
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start,
                               initargs=(initializer, initargs))


def _start(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    """Run in each worker first: watch the parent, then the pool's own initializer."""
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True,
                         name="exit-with-parent").start()
    if initializer is not None:
        initializer(*initargs)


def _exit_with(sentinel: int) -> None:
    wait([sentinel])  # readable once the parent has died: its end of the pipe is closed
    os._exit(ORPHANED)
