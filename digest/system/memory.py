"""A build's memory: handing freed memory back to the operating system, and keeping the
garbage collector off what a build holds to its end.

Python frees what a stage no longer holds (a first build's raw texts, once their bodies are
rendered), but the C library keeps the emptied pages in the process's heap: they still count
as the process's memory, and as that of every worker forked from it.

The cyclic garbage collector walks every object it tracks at each full collection, and a
build makes more than a million (50,000 items: 21 full collections, 2.4 s of a 25 s build).
What a stage made (the corpus, the selection, the site, the plan) lives until the build
ends: `held` takes it out of the collector's sight, stage after stage, and `paused` stops
the collector while they are made."""

from __future__ import annotations

import ctypes
import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_HOLDING = [0]  # `held` blocks open (nested: a build's render forks inside its build)


@contextmanager
def held() -> Iterator[Callable[[], None]]:
    """A block in which `settle()` (what it yields) takes every object alive now out of
    the garbage collector's sight (`gc.freeze`): the objects a stage made, which live to the
    end of the block. On leaving the outermost block, the collector sees them again
    (`gc.unfreeze`): what is garbage by then is collected as usual. Objects freed by their
    reference count are freed at once, held or not; only garbage in cycles made before a
    `settle()` waits for the end of the block. Forked workers inherit the held objects
    without their collector touching (and copying) the pages that hold them."""
    _HOLDING[0] += 1
    try:
        yield gc.freeze
    finally:
        _HOLDING[0] -= 1
        if not _HOLDING[0]:
            gc.unfreeze()


@contextmanager
def paused() -> Iterator[None]:
    """No garbage collection in this block: for work that makes many objects and frees few
    in cycles (a build reading its item store; its select, group and plan), where a
    collection would walk what they made, to find nothing. (Not `load`, which may render
    bodies.) The collector is as it was after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# Allocations between two collections of the young generation while pages render (Python's
# default is 700). A page of the default theme leaves no garbage in cycles (see
# tests/test_render.py), so a collection finds next to nothing: at 10,000 items, each render
# process ran about 300 collections (35 ms), and runs about 20 (15 ms) with this.
RENDERING_THRESHOLD = 5000


@contextmanager
def rarely() -> Iterator[None]:
    """The young generation collected every RENDERING_THRESHOLD allocations in this block,
    and in the processes forked inside it: for rendering, which makes many short-lived
    objects and next to no garbage in cycles. A theme that makes some still has it collected,
    a few pages' worth at a time. The thresholds are as they were after."""
    was = gc.get_threshold()
    if was[0]:  # 0: automatic collection is off, and stays off
        gc.set_threshold(max(RENDERING_THRESHOLD, was[0]), *was[1:])
    try:
        yield
    finally:
        gc.set_threshold(*was)


def give_back() -> None:
    """Return the heap pages freed so far to the operating system, where the C library
    can (glibc's `malloc_trim`); elsewhere, nothing."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):  # not glibc (musl, macOS, Windows)
        return None
    return trim
