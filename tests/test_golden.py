"""The example digest builds to exactly the bytes recorded in fixtures/example-output.sha256.

A change of code that is not meant to show (a refactoring, a faster way to render, a new
seam) must leave every file of the site as it was: this test names each file that changed.
A change that is meant to show updates the record, and the diff of the record shows which
files it touched:

    DIGEST_UPDATE_GOLDEN=1 pytest tests/test_golden.py

The search index (pagefind/) is left out: its bytes belong to Pagefind's version.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

RECORD = Path(__file__).resolve().parent / "fixtures" / "example-output.sha256"
SKIP = ("pagefind/",)


def _hashes(output: Path) -> dict[str, str]:
    found = {}
    for path in sorted(output.rglob("*")):
        rel = path.relative_to(output).as_posix()
        if path.is_file() and not rel.startswith(SKIP):
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _read(record: Path) -> dict[str, str]:
    pairs = (line.split("  ", 1) for line in record.read_text(encoding="utf-8").splitlines())
    return {path: digest for digest, path in pairs}


def test_the_example_builds_to_the_recorded_bytes(example_site: Path) -> None:
    built = _hashes(example_site)
    if os.environ.get("DIGEST_UPDATE_GOLDEN") == "1":
        RECORD.write_text("".join(f"{d}  {p}\n" for p, d in built.items()), encoding="utf-8")
    recorded = _read(RECORD)
    changed = sorted(p for p in built.keys() & recorded.keys() if built[p] != recorded[p])
    new, gone = sorted(built.keys() - recorded.keys()), sorted(recorded.keys() - built.keys())
    assert not (new or gone or changed), (
        f"the site differs from the record: new {new[:10]}, gone {gone[:10]}, changed "
        f"{changed[:10]} ({len(changed)} in all); if meant, update the record: "
        "DIGEST_UPDATE_GOLDEN=1 pytest tests/test_golden.py")
    assert len(built) > 250  # the whole site: every issue, item, topic, source, feed
