"""The output folder is the build's alone: only what a build made there is ever removed.

Every case runs the real `digest` command on real folders and compares every file of the
sandbox (the project, someone else's folder, a home folder) byte for byte before and after.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import event, given, settings
from hypothesis import strategies as st

from digest.cli import main
from digest.incremental.outfolder import FolderRefused
from digest.write import sync_tree
from tests.conftest import MINIMAL_CONFIG, write_project

Snapshot = dict[str, bytes]

ITEM = """\
---
id: {id}
title: {title}
link: https://example.org/{id}
source: blog
published: '2026-03-1{day}T10:00:00+00:00'
---

Some *Markdown* about alignment.
"""

PROJECT: dict[str, str | bytes] = {
    "digest.toml": MINIMAL_CONFIG.replace("[site]\n", "[site]\nsearch = false\n", 1),
    "content/items/2026/03/a-post-aaaaaa.md": ITEM.format(id="aaaa", title="A post", day=0),
    "content/items/2026/03/b-post-bbbbbb.md": ITEM.format(id="bbbb", title="B post", day=1),
    "feeds/blog.xml": "",
    "README.md": "# My digest\n\nNotes the editor keeps.\n",
    "output/.gitkeep": "",
}
# Someone else's folder: more files than a refusal names, and an index.html of their own.
THEIRS: dict[str, str | bytes] = {
    "index.html": "<p>my own home page</p>", "notes.txt": "do not lose me",
    "photos/cat.jpg": b"\xff\xd8\xff\xe0 a cat", "a.txt": "a", "b.txt": "b", "c.txt": "c",
    "d.txt": "d",
}
HOME: dict[str, str | bytes] = {".bashrc": "export EDITOR=vi\n", "docs/letter.txt": "Dear"}


def sandbox(box: Path) -> Path:
    """box/site (the project), box/theirs, box/home, box/gitonly (only .git* entries),
    box/link -> site; returns the project folder."""
    write_project(box / "site", PROJECT)
    write_project(box / "theirs", THEIRS)
    write_project(box / "home", HOME)
    write_project(box / "gitonly", {".git/HEAD": "ref: refs/heads/main\n", ".gitignore": "x\n"})
    (box / "link").symlink_to(box / "site", target_is_directory=True)
    return box / "site"


def snapshot(folder: Path, skip: tuple[str, ...] = ()) -> Snapshot:
    """Every file under `folder` (links as their target, not followed), but those under
    `skip`."""
    found: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if rel.startswith(skip):
                continue
            found[rel] = (b"-> " + os.readlink(path).encode() if path.is_symlink()
                          else path.read_bytes())
    return found


def digest(cwd: Path, *args: str, home: Path | None = None) -> Result:
    """The real `digest` command, run in `cwd`."""
    env = {"HOME": str(home)} if home is not None else {}
    with contextlib.chdir(cwd):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def one_error(result: Result) -> str:
    """The single line a refusal prints (exit 2, no traceback)."""
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


# What a build derives from content/ and may keep even when it refuses to write: the build
# cache and the item store (both the build's own, safe to delete, never a person's).
CACHE = ("site/.digest/cache/", "site/.digest/items/")


@pytest.fixture
def box(tmp_path: Path) -> Path:
    sandbox(tmp_path)
    return tmp_path


# -- folders a build never writes into ------------------------------------------------------

@pytest.mark.parametrize(("output", "why"), [
    (".", "is the project folder"),
    ("{box}/site/", "is the project folder"),
    ("output/..", "is the project folder"),
    ("../link", "is the project folder"),  # a symlink that resolves to the project
    ("..", "holds the project"),
    ("../..", "holds the project"),
    ("/", "is the root of the file system"),
    ("{box}/home", "is your home folder"),
    ("content", "is the project's content/"),
    ("content/items/2026", "is inside the project's content/"),
    (".digest", "is the project's .digest/"),
    ("README.md", "is a file, not a folder"),
    ("{box}/other", "holds digest.toml"),
    ("{box}/drafts", "holds content/"),
])
def test_a_forbidden_output_folder_is_refused_and_nothing_changes(
        box: Path, output: str, why: str) -> None:
    write_project(box / "other", {"digest.toml": "[site]\n", "notes.md": "mine"})
    write_project(box / "drafts", {"content/x.md": "a draft of mine"})
    site = box / "site"
    assert digest(site, "build").exit_code == 0  # a build record exists too
    before = snapshot(box)
    result = digest(site, "build", "--output", output.format(box=box), home=box / "home")
    line = one_error(result)
    assert why in line and "cannot be the output folder" in line
    assert snapshot(box) == before  # not even the build cache changed


def test_the_root_folder_is_refused_without_listing_a_single_folder(box: Path) -> None:
    """`--output /` is refused from its path alone: no folder is listed (an audit hook
    sees every os.scandir and os.listdir of the real command, in its own process; those of
    Python's imports, in the folders of sys.path, are left aside)."""
    seen = box / "seen.txt"
    code = (
        "import os, sys\n"
        "listed = []\n"
        "sys.addaudithook(lambda e, a: listed.append(os.path.abspath(a[0] or '.')) if e in "
        "('os.scandir', 'os.listdir') else None)\n"
        "from digest.cli import main\n"
        "try:\n"
        "    main(['build', '--output', '/'])\n"
        "finally:\n"
        "    imports = tuple(os.path.abspath(p or '.') for p in sys.path)\n"
        f"    open({str(seen)!r}, 'w').write('\\n'.join(\n"
        "        p for p in listed if p == '/' or not p.startswith(imports)))\n")
    before = snapshot(box)
    done = subprocess.run([sys.executable, "-c", code], cwd=box / "site", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: /: --output: cannot be the output folder"), \
        done.stderr
    assert seen.read_text() == ""
    seen.unlink()
    assert snapshot(box) == before


# -- files no build wrote ------------------------------------------------------------------

def test_someone_elses_folder_is_refused_naming_the_first_files_and_the_flag(box: Path) -> None:
    before = snapshot(box)
    line = one_error(digest(box / "site", "build", "--output", "../theirs"))
    assert "holds 6 files that no build recorded and this build would not make: a.txt, " \
        "b.txt, c.txt, d.txt, notes.txt and more" in line  # the first few
    assert "--clean" in line
    assert snapshot(box, skip=CACHE) == before

    # The same folder, once a build was let in (--clean), then someone's file again:
    assert digest(box / "site", "build", "--output", "../theirs", "--clean").exit_code == 0
    for name in "fedcba":
        (box / "theirs" / f"{name}.txt").write_text(name, encoding="utf-8")
    before = snapshot(box)
    line = one_error(digest(box / "site", "build", "--output", "../theirs"))
    assert "holds 6+ files that no build of this digest wrote: " in line
    assert line.count(".txt") == 5 and "and more (move them away, or build with --clean" in line
    assert snapshot(box) == before


def test_clean_deletes_only_that_folders_files(box: Path) -> None:
    site = box / "site"
    before = snapshot(box)
    assert digest(site, "build", "--output", "../theirs", "--clean").exit_code == 0
    assert digest(site, "build").exit_code == 0
    assert snapshot(box / "theirs") == snapshot(site / "output", skip=(".gitkeep",))
    after = snapshot(box, skip=("theirs/", "site/output/", *CACHE))
    assert after == {k: v for k, v in before.items()
                     if not k.startswith(("theirs/", "site/output/"))}


def test_a_file_dropped_into_output_stops_the_build_until_moved(box: Path) -> None:
    site = box / "site"
    assert digest(site, "build").exit_code == 0
    (site / "output" / "notes.txt").write_text("mine", encoding="utf-8")
    (site / "output" / "items" / "draft.html").write_text("mine too", encoding="utf-8")
    assert list((site / "output" / "items").glob("a-post*"))
    (site / "content" / "items" / "2026" / "03" / "a-post-aaaaaa.md").unlink()  # a change
    before = snapshot(box)
    line = one_error(digest(site, "build"))
    assert line.endswith("2 files that no build of this digest wrote: items/draft.html, "
                         "notes.txt (move them away, or build with --clean to let the build "
                         "delete them)")
    assert snapshot(box) == before  # the stale page of the deleted post is still there too
    (site / "output" / "notes.txt").unlink()
    (site / "output" / "items" / "draft.html").unlink()
    assert digest(site, "build").exit_code == 0
    assert not list((site / "output" / "items").glob("a-post*"))


def test_a_link_in_output_is_never_written_through(box: Path) -> None:
    """A symbolic link to the user's folder where the build writes pages stops the build:
    it would write into that folder."""
    site = box / "site"
    assert digest(site, "build").exit_code == 0
    shutil.rmtree(site / "output" / "items")
    (site / "output" / "items").symlink_to(box / "theirs", target_is_directory=True)
    before = snapshot(box)
    line = one_error(digest(site, "build"))
    assert "1 file that no build of this digest wrote: items" in line
    assert snapshot(box) == before


def test_git_entries_of_output_are_kept(box: Path) -> None:
    """A gh-pages worktree in output/ (.git) and the placeholder that keeps output/ in the
    repository stay as they are, build after build."""
    site = box / "site"
    write_project(site / "output", {".git": "gitdir: ../.git/worktrees/output\n",
                                    ".github/CODEOWNERS": "* @me\n"})
    mine = snapshot(site / "output")
    assert set(mine) == {".git", ".github/CODEOWNERS", ".gitkeep"}
    for _ in range(2):
        assert digest(site, "build").exit_code == 0
        assert snapshot(site / "output").items() >= mine.items()
        assert (site / "output" / "index.html").is_file()


@pytest.mark.parametrize("folder", ["../beside", "../gitonly", "../theirs/site", "public"])
def test_an_empty_new_or_git_only_folder_is_fine(box: Path, folder: str) -> None:
    site = box / "site"
    before = snapshot(box)
    assert digest(site, "build", "--output", folder).exit_code == 0
    target = (site / folder).resolve().relative_to(box).as_posix() + "/"
    after = snapshot(box, skip=(target, *CACHE))
    assert after == {k: v for k, v in before.items() if not k.startswith(target)}
    kept = {k: v for k, v in before.items() if k.startswith(target)}  # .git*, in gitonly/
    assert snapshot(box).items() >= kept.items()
    assert (box / target / "index.html").is_file()


# -- no record of an earlier build ---------------------------------------------------------

def test_with_no_record_the_build_takes_back_only_what_it_makes_the_same(box: Path) -> None:
    """The build record in .digest/cache was deleted (the README says it may be): a build
    takes back the files it makes byte for byte the same; a file it would make differently,
    or not at all, stops it, with the reason and the flag."""
    site = box / "site"
    assert digest(site, "build").exit_code == 0
    built = snapshot(site / "output")
    shutil.rmtree(site / ".digest" / "cache")
    assert digest(site, "build").exit_code == 0  # the same site: taken back
    assert snapshot(site / "output") == built

    shutil.rmtree(site / ".digest" / "cache")
    item = site / "content" / "items" / "2026" / "03" / "b-post-bbbbbb.md"
    item.write_text(item.read_text(encoding="utf-8").replace("B post", "Better post"),
                    encoding="utf-8")
    before = snapshot(box, skip=CACHE)
    line = one_error(digest(site, "build"))
    assert "no build recorded and this build would make differently" in line
    assert "index.html" in line and "--clean" in line and ".digest/cache" in line
    assert snapshot(box, skip=CACHE) == before

    (site / "output" / "old.html").write_text("an old page, or mine?", encoding="utf-8")
    line = one_error(digest(site, "build"))
    assert "1 file that no build recorded and this build would not make: old.html" in line
    assert snapshot(box, skip=CACHE) == before | {"site/output/old.html":
                                                     b"an old page, or mine?"}
    assert digest(site, "build", "--clean").exit_code == 0
    assert "Better post" in (site / "output" / "index.html").read_text(encoding="utf-8")
    assert not (site / "output" / "old.html").exists()


# -- publish and serve ---------------------------------------------------------------------

def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def repo(box: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(box))
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Editor")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "editor@example.org")
    site = box / "site"
    git(site, "init", "-q", "-b", "main")
    git(site, "add", ".")
    git(site, "commit", "-q", "-m", "New digest")
    return site


def branches(site: Path) -> str:
    return git(site, "branch", "--list")


@pytest.mark.parametrize("args", [(), ("--no-build",)])
def test_publish_refuses_an_output_folder_with_files_no_build_wrote(
        box: Path, repo: Path, args: tuple[str, ...]) -> None:
    assert digest(repo, "build").exit_code == 0
    (repo / "output" / "private.txt").write_text("my notes", encoding="utf-8")
    before = snapshot(box)
    line = one_error(digest(repo, "publish", "--no-push", *args))
    assert "1 file that no build of this digest wrote: private.txt" in line
    assert snapshot(box) == before
    assert "gh-pages" not in branches(repo)  # nothing was published either


def test_publish_without_a_build_record_publishes_nothing(box: Path, repo: Path) -> None:
    assert digest(repo, "build").exit_code == 0
    shutil.rmtree(repo / ".digest" / "cache")
    line = one_error(digest(repo, "publish", "--no-push", "--no-build"))
    assert "that no build of this digest recorded" in line and "build first" in line
    assert "gh-pages" not in branches(repo)
    assert digest(repo, "publish", "--no-push").exit_code == 0  # the build takes them back
    assert "gh-pages" in branches(repo)


def test_serve_refuses_an_output_folder_with_files_no_build_wrote(box: Path) -> None:
    site = box / "site"
    assert digest(site, "build").exit_code == 0
    (site / "output" / "notes.txt").write_text("mine", encoding="utf-8")
    before = snapshot(box)
    done = subprocess.run([sys.executable, "-m", "digest", "serve", "--port", "0"], cwd=site,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "notes.txt" in done.stderr and "--clean" in done.stderr
    assert "Serving" not in done.stdout
    assert snapshot(box) == before


def test_the_search_index_never_removes_a_file_it_did_not_write(tmp_path: Path) -> None:
    """sync_tree (how the search index is installed) refuses a folder holding a file that
    is not among those a build wrote, before changing anything."""
    new = write_project(tmp_path / "new", {"pagefind.js": "new", "index/a.pf": "A"})
    target = write_project(tmp_path / "old", {"pagefind.js": "old", "index/b.pf": "B",
                                              "mine.txt": "mine"})
    before = snapshot(tmp_path)
    with pytest.raises(FolderRefused) as refused:
        sync_tree(new, target, {"pagefind.js", "index/b.pf"})
    assert "1 file that no build of this digest wrote: mine.txt" in str(refused.value)
    assert snapshot(tmp_path) == before
    (target / "mine.txt").unlink()
    sync_tree(new, target, {"pagefind.js", "index/b.pf"})
    assert snapshot(target) == {"pagefind.js": b"new", "index/a.pf": b"A"}


# -- any sequence of builds, into any folder -------------------------------------------------

# name -> the --output argument, given in the project folder (None: output/)
FOLDERS: dict[str, str | None] = {
    "output": None, "inside": "public", "nested": "output/sub", "beside": "../beside",
    "theirs": "../theirs", "in-theirs": "../theirs/site", "gitonly": "../gitonly",
    "above": "..", "project": ".", "link": "../link", "content": "content",
}
FORBIDDEN = {"above", "project", "link", "content"}


def _site_files() -> Snapshot:
    """What a build of the sandbox project writes (the same in any folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        site = sandbox(Path(tmp))
        assert digest(site, "build").exit_code == 0
        return snapshot(site / "output", skip=(".git",))


SITE: Snapshot = {}

Step = tuple[str, str]  # (what, folder name)
ALLOWED = sorted(set(FOLDERS) - FORBIDDEN)
OFTEN = ["output", "nested", "beside"] * 3  # the same few folders, again and again
steps = st.lists(st.one_of(
    st.tuples(st.just("build"), st.sampled_from(OFTEN + ALLOWED + sorted(FORBIDDEN))),
    st.tuples(st.just("drop"), st.sampled_from(OFTEN + ALLOWED)),
    st.tuples(st.just("forget"), st.just("")),
), min_size=1, max_size=8)


@contextlib.contextmanager
def fresh_box() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        box = Path(tmp).resolve()
        sandbox(box)
        yield box


def _expected_refusal(box: Path, name: str, recorded: set[str]) -> bool:
    """What the rule says of a build into this folder now."""
    if name in FORBIDDEN:
        return True
    folder = box / "site" / (FOLDERS[name] or "output")
    present = snapshot(folder, skip=(".git",)) if folder.is_dir() else {}
    if name in recorded:  # a build wrote the site here; anything else is someone's
        return any(path not in SITE for path in present)
    return any(SITE.get(path) != data for path, data in present.items())


@settings(max_examples=25, deadline=None)
@given(steps)
def test_any_builds_into_any_folders_never_touch_a_file_no_build_wrote(
        sequence: list[Step]) -> None:
    if not SITE:
        SITE.update(_site_files())
    with fresh_box() as box:
        site = box / "site"
        mine = snapshot(box)  # every file no build wrote, and must keep
        recorded: set[str] = set()  # folders with a record of the build that filled them
        for n, (what, name) in enumerate(sequence):
            if what == "forget":
                shutil.rmtree(site / ".digest" / "cache", ignore_errors=True)
                recorded.clear()
                continue
            folder = (site / (FOLDERS[name] or "output")).resolve()
            if what == "drop":
                path = folder / f"mine-{n}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"file {n} of mine", encoding="utf-8")
                mine[path.relative_to(box).as_posix()] = path.read_bytes()
                continue
            refused = _expected_refusal(box, name, recorded)
            record = "a record" if name in recorded else "no record"
            event(f"{'refused' if refused else 'built'}, {record}")
            before = snapshot(box, skip=CACHE)
            output = FOLDERS[name]
            result = digest(site, "build", *(("--output", output) if output else ()))
            after = snapshot(box, skip=CACHE)
            if refused:
                one_error(result)
                assert after == before  # a refused build changes nothing
            else:
                assert result.exit_code == 0, result.output
                inside = folder.relative_to(box).as_posix() + "/"
                assert snapshot(folder, skip=(".git",)) == SITE
                assert {k: v for k, v in after.items() if not k.startswith(inside)} == \
                    {k: v for k, v in before.items() if not k.startswith(inside)}
                recorded.add(name)
            assert after.items() >= {k: v for k, v in mine.items()
                                     if not k.startswith(CACHE)}.items()


# -- a build stopped half-way ----------------------------------------------------------------

# Runs `digest ARGS...` as a process that is killed (SIGKILL: a power cut, kill -9) at one
# moment of its writing: as it puts its Nth file into output/ ("output:N"), as it puts the
# next one after output/PATH ("after:PATH"), as it saves the build's record for the Nth
# time ("record:N"), or as it removes its note of what it was writing, once the record is
# saved ("unlink:1"); or that waits S seconds before it saves its first record ("pause:S"),
# or once it has said TEXT for the Nth time ("said:TEXT/N/S"). The file system call (or the
# line it prints) is where it stops; digest is the real one.
STOPPED = """
import os, signal, sys, time
where, what = sys.argv[1].split(":")
real_replace, real_unlink = os.replace, os.unlink
count = {"record": 0, "output": 0}
after = [False]  # output/PATH is in
def stop():
    os.kill(os.getpid(), signal.SIGKILL)
def replace(src, dst, *args, **kwargs):
    name, dst = os.path.basename(dst), os.fspath(dst)
    if name.startswith("manifest-") and "-writing" not in name:
        count["record"] += 1
        if where == "record" and count["record"] == int(what):
            stop()
        if where == "pause" and count["record"] == 1:
            time.sleep(float(what))
    if os.sep + "output" + os.sep in dst:
        count["output"] += 1
        if after[0] or where == "output" and count["output"] == int(what):
            stop()
    real_replace(src, dst, *args, **kwargs)
    after[0] = after[0] or where == "after" and dst.endswith(os.sep + "output" + os.sep + what)
def unlink(path, *args, **kwargs):
    if where == "unlink" and os.fspath(path).endswith("-writing.json"):
        stop()
    real_unlink(path, *args, **kwargs)
os.replace, os.unlink = replace, unlink
if where == "said":
    text, nth, pause = what.rsplit("/", 2)
    class Paused:
        def __init__(self, stream):
            self.stream, self.seen = stream, 0
        def write(self, data):
            written = self.stream.write(data)
            if text in data:
                self.seen += 1
                if self.seen == int(nth):
                    self.stream.flush()
                    time.sleep(float(pause))
            return written
        def __getattr__(self, name):
            return getattr(self.stream, name)
    sys.stdout = Paused(sys.stdout)
from digest.cli import run
sys.argv[1:] = sys.argv[2:]
run()
"""


def killed(site: Path, when: str, *args: str, timeout: float = 120) -> None:
    """`digest ARGS` in `site`, killed at `when` (see STOPPED)."""
    done = subprocess.run([sys.executable, "-c", STOPPED, when, *args], cwd=site,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert done.returncode == -9, done.stdout + done.stderr  # it did stop there


def edit(site: Path) -> None:
    """An editor's day: one post added, one removed, one retitled (new, gone and changed
    pages, and every list page that shows them)."""
    items = site / "content" / "items" / "2026" / "03"
    (items / "c-post-cccccc.md").write_text(ITEM.format(id="cccc", title="C post", day=2),
                                            encoding="utf-8")
    (items / "a-post-aaaaaa.md").unlink()
    b = items / "b-post-bbbbbb.md"
    b.write_text(b.read_text(encoding="utf-8").replace("B post", "Better post"),
                 encoding="utf-8")


def clean_build(box: Path) -> Snapshot:
    """What a build of the project as it is now makes, in a folder of its own."""
    assert digest(box / "site", "build", "--output", "../clean").exit_code == 0
    return snapshot(box / "clean")


@pytest.mark.parametrize("when", ["output:1", "after:items/c-post-cccccc/index.html",
                                  "record:1"])
def test_a_build_killed_half_way_is_finished_by_the_next_one(box: Path, when: str) -> None:
    """Killed while it moves its pages into output/, or once they are there and its record
    is not yet saved: the next build knows the pages it wrote as its own (it does not
    refuse them as someone else's), and leaves output/ as a clean build would."""
    site = box / "site"
    assert digest(site, "build").exit_code == 0
    edit(site)
    built = snapshot(site / "output")
    killed(site, when, "build")
    assert (snapshot(site / "output") == built) == (when == "output:1")  # changed, but first
    result = digest(site, "build")
    assert result.exit_code == 0, result.output
    assert snapshot(site / "output", skip=(".git",)) == clean_build(box)
    assert "(up to date)" in digest(site, "build").output  # and recorded as such


def test_a_build_that_cannot_save_its_record_is_one_line_and_the_next_one_finishes(
        box: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk just when the record is saved: one line naming the file and what to do,
    exit 1; the next build (space freed) finishes it, refusing nothing."""
    site = box / "site"
    assert digest(site, "build").exit_code == 0
    edit(site)
    real = os.replace

    def full_disk(src: str, dst: str) -> None:
        if os.path.basename(dst).startswith("manifest-") and "-writing" not in str(dst):
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    result = digest(site, "build")
    monkeypatch.setattr(os, "replace", real)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith("error: .digest/cache/manifest-"), lines
    assert lines[0].endswith(": No space left on device (free some space on that disk, then "
                             "run it again)"), lines
    assert (site / "output" / "items" / "c-post-cccccc").is_dir()  # the pages went in first
    assert digest(site, "build").exit_code == 0
    assert snapshot(site / "output", skip=(".git",)) == clean_build(box)


def test_publish_refuses_a_build_that_stopped_half_way(box: Path, repo: Path) -> None:
    """A half-written site is never published: `publish --no-build` says to build again."""
    assert digest(repo, "build").exit_code == 0
    edit(repo)
    killed(repo, "record:1", "build")
    line = one_error(digest(repo, "publish", "--no-push", "--no-build"))
    assert "stopped half-way" in line and "build again" in line
    assert "gh-pages" not in branches(repo)
    assert digest(repo, "build").exit_code == 0
    assert digest(repo, "publish", "--no-push", "--no-build").exit_code == 0
    assert "gh-pages" in branches(repo)


def test_a_note_left_by_a_build_killed_after_it_saved_its_record_means_nothing(
        box: Path, repo: Path) -> None:
    """Killed after the record is saved, as it removes its note of what it was writing: the
    build was done. The next one has nothing to do, and the site may be published."""
    assert digest(repo, "build").exit_code == 0
    edit(repo)
    killed(repo, "unlink:1", "build")
    assert list((repo / ".digest" / "cache").glob("manifest-*-writing.json"))  # left there
    assert "(up to date)" in digest(repo, "build").output
    assert digest(repo, "publish", "--no-push", "--no-build").exit_code == 0
    assert "gh-pages" in branches(repo)


def test_publish_refuses_a_build_stopped_while_it_only_replaced_pages(
        box: Path, repo: Path) -> None:
    """A retitled post makes no new file, only new bytes in old ones: killed with some of
    them in, the folder is half old, half new, and is not published as it is."""
    assert digest(repo, "build").exit_code == 0
    b = repo / "content" / "items" / "2026" / "03" / "b-post-bbbbbb.md"
    b.write_text(b.read_text(encoding="utf-8").replace("B post", "Better post"),
                 encoding="utf-8")
    built = snapshot(repo / "output")
    killed(repo, "output:2", "build")
    assert snapshot(repo / "output") != built  # one page replaced
    assert set(snapshot(repo / "output")) == set(built)  # and no new file
    line = one_error(digest(repo, "publish", "--no-push", "--no-build"))
    assert "stopped half-way" in line
    assert "gh-pages" not in branches(repo)


def test_a_file_put_where_a_stopped_build_meant_to_write_is_not_taken_as_the_builds(
        box: Path) -> None:
    """The build noted a new page and was killed before it moved it in; someone then put
    their own file at that path. The next build refuses it, as any file no build wrote."""
    site = box / "site"
    assert digest(site, "build").exit_code == 0
    edit(site)
    killed(site, "output:1", "build")
    theirs = site / "output" / "items" / "c-post-cccccc" / "index.html"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("<p>my own page</p>", encoding="utf-8")
    before = snapshot(box, skip=CACHE)
    line = one_error(digest(site, "build"))
    assert "1 file that no build of this digest wrote: items/c-post-cccccc/index.html" in line
    assert snapshot(box, skip=CACHE) == before
    theirs.unlink()
    assert digest(site, "build").exit_code == 0
    assert snapshot(site / "output", skip=(".git",)) == clean_build(box)


def test_serve_killed_before_it_records_an_edit_leaves_a_site_the_next_build_takes(
        box: Path) -> None:
    """`serve` writes an edit's pages and saves its record after the browser reloads: killed
    in between, the next `digest build` finishes the site instead of refusing its pages."""
    site = box / "site"
    proc = subprocess.Popen([sys.executable, "-c", STOPPED, "record:2", "serve", "--port", "0"],
                            cwd=site, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # said once it watches (the first build recorded: record:1)
            if line.startswith(b"Serving "):
                break
        edit(site)
        assert proc.wait(timeout=60) == -9  # killed when it was about to record the edit
    finally:
        proc.kill()
        proc.wait()
    assert (site / "output" / "items" / "c-post-cccccc").is_dir()
    result = digest(site, "build")
    assert result.exit_code == 0, result.output
    assert snapshot(site / "output", skip=(".git",)) == clean_build(box)


def test_a_build_killed_as_it_records_its_search_index_is_finished_by_the_next_one(
        box: Path) -> None:
    """The search index is installed under the record too (a second save, after the
    pages'): killed there, the next build takes the new index's files as its own."""
    site = box / "site"
    config = site / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("search = false\n", ""),
                      encoding="utf-8")
    assert digest(site, "build").exit_code == 0
    assert (site / "output" / "pagefind" / "pagefind-entry.json").is_file()
    edit(site)
    indexed = snapshot(site / "output" / "pagefind")
    killed(site, "record:2", "build")
    assert snapshot(site / "output" / "pagefind") != indexed  # the new index went in first
    result = digest(site, "build")
    assert result.exit_code == 0, result.output
    assert snapshot(site / "output", skip=(".git",)) == clean_build(box)


DRAFT = "---\ntitle: Not ready\nstatus: draft\n---\n\nA SECRET DRAFT INTRO\n"


def test_the_drafts_serve_showed_are_never_published_or_called_current(
        box: Path, repo: Path) -> None:
    """`digest serve` shows draft issues, in output/. Until a build leaves them out again,
    `check` says so and `publish --no-build` refuses; a plain `publish` builds first."""
    (repo / "content" / "issues").mkdir(parents=True, exist_ok=True)
    (repo / "content" / "issues" / "2026-W11.md").write_text(DRAFT, encoding="utf-8")
    assert digest(repo, "build").exit_code == 0
    assert "SECRET DRAFT" not in (repo / "output" / "index.html").read_text(encoding="utf-8")
    assert "output/ is current" in digest(repo, "check").output
    proc = subprocess.Popen([sys.executable, "-m", "digest", "serve", "--port", "0"],
                            cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(b"Serving "):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert "SECRET DRAFT" in (repo / "output" / "index.html").read_text(encoding="utf-8")

    checked = digest(repo, "check")
    assert checked.exit_code == 1
    assert "output/ shows 1 draft issue(s): built by `digest serve`" in checked.output
    assert "is current" not in checked.output
    line = one_error(digest(repo, "publish", "--no-push", "--no-build"))
    assert "holds 1 draft issue (built by `digest serve`" in line and "digest build" in line
    assert "gh-pages" not in branches(repo)

    assert digest(repo, "publish", "--no-push").exit_code == 0  # builds first
    assert "SECRET DRAFT" not in git(repo, "show", "gh-pages:index.html")
    assert "output/ is current" in digest(repo, "check").output


def test_check_says_when_output_is_older_than_the_project(box: Path) -> None:
    site = box / "site"
    assert digest(site, "build").exit_code == 0
    assert "output/ is current" in digest(site, "check").output
    b = site / "content" / "items" / "2026" / "03" / "b-post-bbbbbb.md"
    b.write_text(b.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    checked = digest(site, "check")
    assert checked.exit_code == 1
    assert "output/ is not known to be what `digest build` makes of the project now" in \
        checked.output
    assert "is current" not in checked.output
    assert digest(site, "build").exit_code == 0
    assert "output/ is current" in digest(site, "check").output


def test_two_builds_at_once_take_turns(box: Path) -> None:
    """A build writing its pages (slow to save its record), and another one started then,
    after one more edit: the second waits for the first, says so, then builds; the record
    lists every file both wrote, and the site is what a clean build makes."""
    site = box / "site"
    assert digest(site, "build").exit_code == 0
    b = site / "content" / "items" / "2026" / "03" / "b-post-bbbbbb.md"
    b.write_text(b.read_text(encoding="utf-8").replace("B post", "Better post"),
                 encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "NO_COLOR": "1"}
    first = subprocess.Popen([sys.executable, "-c", STOPPED, "pause:3", "build"], cwd=site,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not list((site / ".digest" / "cache").glob("manifest-*-writing.json")):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)  # the first is writing into output/
        items = site / "content" / "items" / "2026" / "03"
        (items / "c-post-cccccc.md").write_text(ITEM.format(id="cccc", title="C post", day=2),
                                                encoding="utf-8")
        second = subprocess.run([sys.executable, "-m", "digest", "build"], cwd=site, env=env,
                                capture_output=True, text=True, timeout=120)
        assert first.wait(timeout=60) == 0
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Waiting for the build into output" in second.stdout
    assert "(up to date)" in digest(site, "build").output
    assert snapshot(site / "output", skip=(".git",)) == clean_build(box)


class Serve:
    """`digest serve` on the project at `site`, its output read line by line as it comes
    (`stopped`: run as STOPPED runs it)."""

    def __init__(self, site: Path, stopped: str = "") -> None:
        run = ["-c", STOPPED, stopped] if stopped else ["-m", "digest"]
        self.proc = subprocess.Popen(
            [sys.executable, *run, "serve", "--port", "0"], cwd=site, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "NO_COLOR": "1"})
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.said("Serving ")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def said(self, text: str, after: int = 0, timeout: float = 60) -> int:
        """The number of lines once one after the first `after` holds `text`."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines[after:]):
            assert self.proc.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "".join(self.lines)
            time.sleep(0.05)
        return len(self.lines)

    def stop(self) -> int:
        self.proc.terminate()
        code = self.proc.wait(timeout=60)
        self.reader.join(5)
        return code


@contextlib.contextmanager
def another_build(site: Path) -> Iterator[None]:
    """The output folder's lock, held as another build writing there holds it."""
    [record] = (site / ".digest" / "cache").glob("manifest-*.json")
    with open(record.with_suffix(".lock"), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def test_serve_and_a_build_beside_it_leave_one_true_record(box: Path) -> None:
    """While another build writes into output/, a save in `serve` waits (and says so), and so
    does a `digest build` started then, after one more edit; once both have built, the
    record lists every file, and the site is what a clean build makes. (Which of the two
    goes first is the system's choice: test_serve_never_saves_its_record_over_one_another_
    build_saved fixes the order in which serve's late save would drop the other's files.)"""
    site = box / "site"
    serve = Serve(site)
    try:
        with another_build(site):
            b = site / "content" / "items" / "2026" / "03" / "b-post-bbbbbb.md"
            b.write_text(b.read_text(encoding="utf-8").replace("B post", "Better post"),
                         encoding="utf-8")
            seen = serve.said("waiting for the build into output/ that is under way")
            items = site / "content" / "items" / "2026" / "03"
            (items / "c-post-cccccc.md").write_text(
                ITEM.format(id="cccc", title="C post", day=2), encoding="utf-8")
            cli = subprocess.Popen([sys.executable, "-m", "digest", "build"], cwd=site,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            time.sleep(0.5)  # both wait
        out, _ = cli.communicate(timeout=120)
        assert cli.returncode == 0, out
        serve.said(" built ", after=seen)
        time.sleep(1)  # serve's record saved (or let go of), and any build that follows
    finally:
        assert serve.stop() == 0, "".join(serve.lines)
    result = digest(site, "build")
    assert result.exit_code == 0, result.output
    assert snapshot(site / "output", skip=(".git",)) == clean_build(box)


def test_serve_waiting_for_another_build_stops_at_once(box: Path) -> None:
    site = box / "site"
    serve = Serve(site)
    with another_build(site):
        b = site / "content" / "items" / "2026" / "03" / "b-post-bbbbbb.md"
        b.write_text(b.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
        serve.said("waiting for the build into output/ that is under way")
        start = time.monotonic()
        assert serve.stop() == 0, "".join(serve.lines)
        assert time.monotonic() - start < 10
    assert "Traceback" not in "".join(serve.lines)


def test_check_says_a_build_is_under_way_and_when_there_is_no_record(box: Path) -> None:
    site = box / "site"
    assert digest(site, "build").exit_code == 0
    with another_build(site):
        checked = digest(site, "check")
    assert checked.exit_code == 1
    assert "output/: a build is writing there now" in checked.output
    shutil.rmtree(site / ".digest" / "cache")
    checked = digest(site, "check")
    assert checked.exit_code == 1
    assert "output/ has no record of the build that made it" in checked.output


def test_serve_never_saves_its_record_over_one_another_build_saved(box: Path) -> None:
    """`serve` reloads the browser first and saves its record after. A `digest build` that
    ran in between (after one more edit) saved its own: serve's must not replace it, or
    the new page that build wrote is one no record lists."""
    site = box / "site"
    serve = Serve(site, stopped="said: built /1/4")  # a pause after the edit's build
    try:
        b = site / "content" / "items" / "2026" / "03" / "b-post-bbbbbb.md"
        b.write_text(b.read_text(encoding="utf-8").replace("B post", "Better post"),
                     encoding="utf-8")
        serve.said(" built ")  # "1 change(s): built …" (the first build's line starts so)
        items = site / "content" / "items" / "2026" / "03"
        (items / "c-post-cccccc.md").write_text(ITEM.format(id="cccc", title="C post", day=2),
                                                encoding="utf-8")
        assert digest(site, "build").exit_code == 0  # while serve has not saved its record
        time.sleep(5)  # serve saves (or not), and builds the new post
    finally:
        assert serve.stop() == 0, "".join(serve.lines)
    result = digest(site, "build")
    assert result.exit_code == 0, result.output
    assert snapshot(site / "output", skip=(".git",)) == clean_build(box)
