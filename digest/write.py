"""Stage 8: Outputs -> output/. Everything is written to a temporary folder first; only when
that succeeded does output/ change, and then only the files that differ (unchanged files
keep their bytes and mtimes, so rsync and deploys see no change)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from digest.errors import DigestError
from digest.model import Output

# Entries of the old output/ that belong to the user, not to the build: a git worktree of a
# gh-pages branch, and the placeholder that keeps output/ in the repository.
KEEP_PREFIX = ".git"


def write(outputs: Iterable[Output], target: Path,
          finish: Callable[[Path], None] | None = None) -> int:
    """Replace `target` with exactly these files (and what `finish` adds to the staging
    folder, such as a search index); return how many files were written."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    count = 0
    try:
        for output in outputs:
            path = (staging / output.path).resolve()
            if not path.is_relative_to(staging):
                raise DigestError(f"refusing to write outside the output folder: {output.path}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(output.data)
            count += 1
        if finish is not None:
            finish(staging)
        if target.exists():
            _sync(staging, target)
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return count


def _sync(new: Path, target: Path) -> None:
    """Make `target` hold exactly the files of `new`: each changed file replaced atomically,
    unchanged ones left alone, stale ones removed (but not the user's .git* entries)."""
    fresh = set()
    for path in sorted(p for p in new.rglob("*") if p.is_file()):
        rel = path.relative_to(new)
        fresh.add(rel)
        old = target / rel
        if old.is_file() and old.stat().st_size == path.stat().st_size and \
                old.read_bytes() == path.read_bytes():
            continue
        if old.is_dir():
            shutil.rmtree(old)
        old.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, old)
    for path in sorted(target.rglob("*"), reverse=True):  # children before their folders
        rel = path.relative_to(target)
        if rel.parts[0].startswith(KEEP_PREFIX):
            continue
        if path.is_file() or path.is_symlink():
            if rel not in fresh:
                path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
