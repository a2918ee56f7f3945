"""Nothing an editor wrote is ever lost or silently overridden: the data-safety suite.

This file holds the rule every command shares (a refused or failed command changes nothing,
byte for byte); each rule of its own is proved, through the real CLI on real folders, in:

- tests/test_data_safety_output.py: the output folder is the build's alone (refused folders,
  files no build wrote, --clean, publish, serve; a Hypothesis test of random builds into
  random folders);
- tests/test_data_safety_topics.py: one contract for topics (computed at build time, the
  editor's `topics:` wins, old files read and migrated without losing a choice, the desk);
- tests/test_data_safety_fetch.py: polite and honest fetching (Retry-After kept across runs,
  back-off, --force, malformed feeds, entries with neither link nor body);
- tests/test_data_safety_procs.py: no stray processes after kill -9, no tracebacks for bad
  option values;
- tests/test_data_safety_cache.py: caches know the code (an edited digest rebuilds what a
  clean build changes);
- tests/test_data_safety_desk.py: the desk never loses a concurrent save.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import ROOT

Run = Callable[..., Result]


def tree(root: Path) -> dict[str, bytes | str]:
    """Every file and link under `root`, with its bytes (a link: its target)."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = f"-> {os.readlink(path)}"
            elif path.is_file():
                found[rel] = path.read_bytes()
            else:
                found[rel + "/"] = b""
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example digest, built once; each test works on its own copy."""
    root = tmp_path_factory.mktemp("built") / "site"
    root.mkdir()
    for name in ("digest.toml", "content", "feeds"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, root / name)
    (root / "notes.md").write_text("the editor's own notes\n", encoding="utf-8")
    from click.testing import CliRunner

    from digest.cli import main

    result = CliRunner().invoke(main, ["--config", str(root / "digest.toml"), "build"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root


FEED = "feeds/qemu.atom"
REFUSED: list[tuple[tuple[str, ...], int, str]] = [
    (("build", "--output", "."), 2, "is the project folder"),
    (("build", "-o", ".."), 2, "holds the project"),
    (("build", "-o", "/"), 2, "root of the file system"),
    (("build", "-o", "content"), 2, "content/"),
    (("build", "-o", "notes.md"), 2, "is a file, not a folder"),
    (("build", "--base-url", "ftp://example.org/"), 2, "--base-url"),
    (("publish",), 2, "not a git repository"),
    (("publish", "--no-build", "--clean"), 2, "--clean needs a build"),
    (("fetch", "--jobs", "0"), 2, "--jobs"),
    (("fetch", "--feed", "nope"), 2, "no feed 'nope'"),
    (("serve", "-p", "80000"), 2, "--port"),
    (("select", "--issue", "2026-W99"), 2, "--issue"),
    (("add", FEED), 2, "already in digest.toml"),
    (("add", "https://example.org/feed.xml", "--topic", "nope"), 2, "no topic 'nope'"),
    (("init", "."), 2, "folder is not empty"),
    (("-c", "missing.toml", "build"), 2, "missing.toml"),
]


@pytest.mark.parametrize(("args", "code", "says"), REFUSED,
                         ids=[" ".join(a) for a, _, _ in REFUSED])
def test_a_refused_command_changes_nothing(built: Path, tmp_path: Path, run: Run,
                                           args: tuple[str, ...], code: int, says: str) -> None:
    root = tmp_path / "site"
    shutil.copytree(built, root, symlinks=True)
    before = tree(tmp_path)
    result = run(root, *args)
    assert result.exit_code == code, result.output
    assert says in result.output
    assert "Traceback" not in result.output
    assert tree(tmp_path) == before, "a refused command changed a file"


def test_a_failed_build_changes_nothing_in_output(built: Path, tmp_path: Path,
                                                  run: Run) -> None:
    """A content file that does not load stops the build before output/ changes."""
    root = tmp_path / "site"
    shutil.copytree(built, root, symlinks=True)
    item = next((root / "content" / "items").rglob("*.md"))
    item.write_text(item.read_text("utf-8").replace("---\n", "---\nstatus: maybe\n", 1),
                    encoding="utf-8")
    before = tree(root / "output")
    result = run(root, "build")
    assert result.exit_code == 1, result.output
    assert "status" in result.output and "Traceback" not in result.output
    assert tree(root / "output") == before
