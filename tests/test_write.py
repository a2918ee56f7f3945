"""Stage 8, output/ (digest/write.py): files are staged beside output/ and moved in only on
commit; commit removes what the site no longer has, and nothing else. Real folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from digest.errors import DigestError
from digest.incremental.manifest import scan
from digest.incremental.outfolder import FolderRefused
from digest.write import Staging, sync_tree


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _output(tmp_path: Path, files: dict[str, bytes]) -> Path:
    target = tmp_path / "output"
    target.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    return target


def test_staged_files_reach_output_only_on_commit(tmp_path: Path) -> None:
    target = _output(tmp_path, {"index.html": b"old"})
    with Staging(target) as staging:
        staging.put("index.html", b"new")
        staging.put("a/index.html", b"A")
        assert staging.folder.parent == target.parent  # beside output/, one file system
        assert _tree(target) == {"index.html": b"old"}
        staging.commit({"index.html", "a/index.html"}, scan(target))
    assert _tree(target) == {"index.html": b"new", "a/index.html": b"A"}
    assert staging.staged == ["index.html", "a/index.html"]
    assert not staging.folder.exists()


def test_a_build_that_fails_before_commit_changes_nothing(tmp_path: Path) -> None:
    target = _output(tmp_path, {"index.html": b"old"})
    with pytest.raises(RuntimeError), Staging(target) as staging:
        staging.put("index.html", b"new")
        raise RuntimeError("a template failed")
    assert _tree(target) == {"index.html": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output"]  # no staging left


def test_commit_returns_the_new_files_stats_and_leaves_unchanged_files_alone(
        tmp_path: Path) -> None:
    target = _output(tmp_path, {"same.html": b"same", "changed.html": b"old"})
    os.utime(target / "same.html", ns=(10**18, 10**18))
    with Staging(target) as staging:
        staging.put("changed.html", b"new bytes")
        stats = staging.commit({"same.html", "changed.html"}, scan(target))
    st = (target / "changed.html").stat()
    assert stats == {"changed.html": (st.st_size, st.st_mtime_ns)}
    assert (target / "same.html").stat().st_mtime_ns == 10**18  # untouched: rsync sees no change


def test_commit_removes_what_the_site_no_longer_has_and_its_empty_folders(
        tmp_path: Path) -> None:
    target = _output(tmp_path, {"index.html": b"home", "old/deep/index.html": b"gone",
                                "old/keep.html": b"kept", "pagefind/x.js": b"index"})
    on_disk = scan(target)
    with Staging(target) as staging:
        staging.commit({"index.html", "old/keep.html"}, on_disk, ("pagefind/",))
    assert _tree(target) == {"index.html": b"home", "old/keep.html": b"kept",
                             "pagefind/x.js": b"index"}
    assert not (target / "old" / "deep").exists()


def test_commit_removes_only_files_the_scan_found(tmp_path: Path) -> None:
    """The user's .git* entries are never scanned, so never removed; nor is a file that
    appeared after the scan."""
    target = _output(tmp_path, {"index.html": b"home", ".git/HEAD": b"ref",
                                ".nojekyll": b""})
    on_disk = scan(target)
    (target / "late.html").write_bytes(b"written meanwhile")
    with Staging(target) as staging:
        staging.commit(set(), on_disk)
    assert set(_tree(target)) == {".git/HEAD", "late.html"}


def test_a_first_build_moves_the_staging_folder_into_place(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "output"
    with Staging(target) as staging:
        staging.put("index.html", b"home")
        stats = staging.commit({"index.html"}, {})
    assert _tree(target) == {"index.html": b"home"} and set(stats) == {"index.html"}


def test_a_staged_file_replaces_a_link_not_what_it_points_to(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"the user's")
    target = _output(tmp_path, {})
    (target / "index.html").symlink_to(secret)
    with Staging(target) as staging:
        staging.put("index.html", b"home")
        staging.commit({"index.html"}, scan(target))
    assert not (target / "index.html").is_symlink()
    assert secret.read_bytes() == b"the user's"


def test_a_path_never_leads_out_of_the_output_folder(tmp_path: Path) -> None:
    target = _output(tmp_path, {})
    with Staging(target) as staging:
        for bad in ("../escape.html", "a/../../escape.html", "/etc/passwd", "a\\..\\..\\x",
                    "a//..//../escape.html", "\\server\\x", "C:x.html", "c:/x.html"):
            with pytest.raises(DigestError):
                staging.put(bad, b"x")
        staging.put("items/a/index.html", b"one")  # its folders are made
        staging.put("items/a/index.html", b"two")  # and a file written twice is replaced
        staging.put("items/a..b/index.html", b"ok")  # two dots inside a name are a name
        assert (staging.folder / "items/a/index.html").read_bytes() == b"two"
        assert (staging.folder / "items/a..b/index.html").read_bytes() == b"ok"
    assert not (tmp_path / "escape.html").exists()


def test_the_staging_folder_of_a_killed_build_is_swept_a_running_ones_kept(
        tmp_path: Path) -> None:
    target = _output(tmp_path, {})
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    dead = tmp_path / f".output.staging-{gone}-abc"
    alive = tmp_path / f".output.staging-{os.getppid()}-abc"
    other = tmp_path / ".notes.staging-1-abc"
    for folder in (dead, alive, other):
        folder.mkdir()
    with Staging(target):
        pass
    assert not dead.exists() and alive.exists() and other.exists()


def test_sync_tree_replaces_changed_files_and_removes_stale_ones(tmp_path: Path) -> None:
    new = _output(tmp_path / "new", {"a.js": b"A2", "b.js": b"B"})
    target = _output(tmp_path / "old", {"a.js": b"A1", "stale.js": b"S", "b.js": b"B"})
    os.utime(target / "b.js", ns=(10**18, 10**18))
    sync_tree(new, target, {"a.js", "b.js", "stale.js"})
    assert _tree(target) == {"a.js": b"A2", "b.js": b"B"}
    assert (target / "b.js").stat().st_mtime_ns == 10**18


def test_sync_tree_into_nothing_moves_the_new_tree_in_whole(tmp_path: Path) -> None:
    """A first index (output/pagefind/ is not there): the new folder becomes it, files,
    folders and mtimes as they were. A file or a link in its place is never moved over
    nor followed (whichever refuses it, digest or the system's rename), and the new tree
    stays whole where it was."""
    files = {"a.js": b"A", "index/b.pf": b"B", "fragment/c.pf": b"C"}
    new = _output(tmp_path / "new", files)
    mtime = (new / "index/b.pf").stat().st_mtime_ns
    target = tmp_path / "site" / "pagefind"
    sync_tree(new, target, set())
    assert _tree(target) == files and not new.exists()
    assert (target / "index/b.pf").stat().st_mtime_ns == mtime
    for there in ("file", "link"):
        again = _output(tmp_path / f"new-{there}", files)
        taken = tmp_path / f"taken-{there}"
        if there == "file":
            taken.write_bytes(b"the user's")
        else:
            taken.symlink_to(tmp_path / "nowhere")
        with pytest.raises(OSError):
            sync_tree(again, taken, set())
        assert _tree(again) == files
        assert taken.read_bytes() == b"the user's" if there == "file" else taken.is_symlink()


def test_sync_tree_refuses_a_folder_holding_a_file_no_build_wrote(tmp_path: Path) -> None:
    new = _output(tmp_path / "new", {"a.js": b"A2"})
    target = _output(tmp_path / "old", {"a.js": b"A1", "mine.txt": b"the user's"})
    with pytest.raises(FolderRefused, match=r"mine\.txt"):
        sync_tree(new, target, {"a.js"})
    assert _tree(target) == {"a.js": b"A1", "mine.txt": b"the user's"}


def test_sync_tree_puts_a_file_where_a_folder_was(tmp_path: Path) -> None:
    """The new index has a file where the installed one had a folder (Pagefind's layout
    changed): the folder's files go with it, and the install finishes."""
    new = _output(tmp_path / "new", {"a": b"A file now", "b.js": b"B"})
    target = _output(tmp_path / "old", {"a/x.js": b"X", "a/y/z.js": b"Z", "b.js": b"B"})
    sync_tree(new, target, {"a/x.js", "a/y/z.js", "b.js"})
    assert _tree(target) == {"a": b"A file now", "b.js": b"B"}


def test_sync_tree_keeps_a_hard_link_to_the_installed_file_as_it_is(tmp_path: Path) -> None:
    """A part of the index kept from the last one is a hard link to the installed file: the
    installed file stays (same inode, same mtime), a changed one is replaced."""
    target = _output(tmp_path / "old", {"kept.js": b"K", "changed.js": b"C1"})
    new = _output(tmp_path / "new", {"changed.js": b"C2"})
    os.link(target / "kept.js", new / "kept.js")
    before = (target / "kept.js").stat()
    sync_tree(new, target, {"kept.js", "changed.js"})
    after = (target / "kept.js").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _tree(target) == {"kept.js": b"K", "changed.js": b"C2"}


def test_sync_tree_refuses_a_git_file_of_the_users_inside_the_folder(tmp_path: Path) -> None:
    """Only output/'s own .git* entries are the user's by name (a gh-pages worktree); one in
    output/pagefind/ is a file no build wrote like any other: neither deleted nor taken."""
    new = _output(tmp_path / "new", {"a.js": b"A2"})
    target = _output(tmp_path / "old", {"a.js": b"A1", ".gitkeep": b""})
    with pytest.raises(FolderRefused, match=r"\.gitkeep"):
        sync_tree(new, target, {"a.js"})
    assert _tree(target) == {"a.js": b"A1", ".gitkeep": b""}
