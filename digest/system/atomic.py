"""Atomic file writes: a temp file, then `os.replace`; readers see the old file or the new."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_bytes(path: Path, data: bytes, tmp_dir: Path | None = None,
                check: Callable[[], None] | None = None) -> None:
    """Write `data` to `path` atomically.

    The temp file lives in `tmp_dir` (on the same file system) when given, so that a process
    killed mid-write leaves its litter there, never beside the user's files. `check`, when
    given, runs once the temp file is written, right before the replace: it raises to call the
    write off (the temp file is removed, `path` is not touched), so that a caller can compare
    the file with what it read at the last possible moment.
    """
    folder = tmp_dir or path.parent
    try:
        _write(path, data, folder, check)
    except OSError as exc:  # named as the file being written, not its temp file
        if exc.filename is None or str(exc.filename).startswith(os.path.join(folder, ".")):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise


def _write(path: Path, data: bytes, folder: Path, check: Callable[[], None] | None) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name[:40]}.", suffix=".tmp")
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name[:40]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:  # an existing file keeps its permissions; a new one gets the usual 0644
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            mode = 0o644
        os.chmod(tmp, mode)
        if check is not None:
            check()
        try:
            os.replace(tmp, path)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, path)
    except BaseException:  # deliberate: whatever stops the write (Ctrl-C too), no litter
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str, tmp_dir: Path | None = None) -> None:
    write_bytes(path, text.encode("utf-8"), tmp_dir)


def clean_tmp(tmp_dir: Path) -> None:
    """Remove what a killed run left in `tmp_dir`."""
    if tmp_dir.is_dir():
        for leftover in tmp_dir.glob("*.tmp"):
            leftover.unlink(missing_ok=True)
