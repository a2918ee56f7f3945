"""Stage 8: Outputs -> output/. Written to a temporary folder, swapped in only on success."""

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
            for entry in target.iterdir():
                if entry.name.startswith(KEEP_PREFIX):
                    os.replace(entry, staging / entry.name)
        _swap(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return count


def _swap(new: Path, target: Path) -> None:
    """Put `new` in place of `target`: two renames, so readers never see a half-written site."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
