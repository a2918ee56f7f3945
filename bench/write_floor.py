"""The floor that writing a site sets on this machine: every file of a built site written
again into a fresh folder beside it, as a build writes them (one folder made and one file
written at a time), with the wall, user and system time of each run.

    python bench/write_floor.py OUTPUT [--repeat 5]

No generator can build that site faster than its files can be written; when the system
time here swings from run to run, so will every generator's cold build on this machine
(the file system, not the generator, is what moved). Read the files first, so that only
the writing is timed; the copy is removed after each run."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def files_of(site: Path) -> list[tuple[str, bytes]]:
    return [(p.relative_to(site).as_posix(), p.read_bytes())
            for p in sorted(site.rglob("*")) if p.is_file()]


def write_all(files: list[tuple[str, bytes]], folder: Path) -> tuple[float, float, float]:
    """(wall, user, system) seconds of writing `files` under `folder`."""
    start, before = time.perf_counter(), os.times()
    for rel, data in files:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    after = os.times()
    return time.perf_counter() - start, after.user - before.user, after.system - before.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="a built site (an output folder)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = files_of(args.site)
    size = sum(len(data) for _, data in files)
    print(f"{len(files):,} files, {size / 2**20:.0f} MB, from {args.site}")
    walls = []
    for run in range(1, args.repeat + 1):
        folder = Path(tempfile.mkdtemp(prefix=".write-floor-", dir=args.site.parent))
        try:
            wall, user, system = write_all(files, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        walls.append(wall)
        print(f"run {run}: {wall:5.2f} s wall, {user:5.2f} s user, {system:5.2f} s system")
    print(f"median {statistics.median(walls):.2f} s wall, "
          f"range {min(walls):.2f}–{max(walls):.2f} s")


if __name__ == "__main__":
    main()
