"""Handing freed memory back to the operating system.

Python frees what a stage no longer holds (a first build's raw texts, once their bodies are
rendered), but the C library keeps the emptied pages in the process's heap: they still count
as the process's memory, and as that of every worker forked from it."""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


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
