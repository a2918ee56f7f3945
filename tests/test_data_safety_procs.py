"""No stray processes, no tracebacks: the worker processes of `digest fetch` and `digest build`
end when the command dies, even by kill -9; every bad option value is one line and exit 2.
Real processes (`python -m digest`), real signals, processes found through /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from digest import group
from digest.incremental.manifest import Manifest
from digest.incremental.paths import CachePaths
from tests.conftest import write_project
from tests.test_fetch_kill import SITE, atom, feed_toml

needs_two_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2,
                                     reason="one core: digest uses no worker processes")


def _env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


def digest(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digest", *args], cwd=root, text=True,
                          capture_output=True, timeout=timeout, env=_env())


# --- processes, from /proc -------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    session: int
    state: str
    started: int  # clock ticks after boot: a pid used again is another process

    @property
    def running(self) -> bool:
        return self.state not in "ZX"  # a zombie has ended; only its exit status is left


def processes() -> dict[int, Proc]:
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        found[pid] = Proc(pid, int(fields[1]), int(fields[3]), fields[0], int(fields[19]))
    return found


def descendants(pid: int) -> list[Proc]:
    """Children, grandchildren... of `pid`, still running."""
    table = processes()
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for proc in table.values():
            if proc.ppid == parent and proc.running:
                out.append(proc)
                todo.append(proc.pid)
    return out


def left_over(before: list[Proc], session: int) -> list[Proc]:
    """Of the processes seen `before`, and of any in `session`, those still running."""
    table = processes()
    same = [table[p.pid] for p in before
            if p.pid in table and table[p.pid].started == p.started]
    return [p for p in {*same, *(p for p in table.values() if p.session == session)}
            if p.running]


def start(root: Path, *args: str) -> subprocess.Popen[bytes]:
    """`python -m digest ARGS` as the leader of a new session: every process it starts, at
    any depth, carries the session's id, even once orphaned."""
    return subprocess.Popen([sys.executable, "-m", "digest", *args], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(),
                            start_new_session=True)


def kill_main_while(proc: subprocess.Popen[bytes], busy: Callable[[list[Proc]], bool],
                    timeout: float = 120) -> list[Proc]:
    """Wait until `busy(descendants)`; then SIGKILL the main process only, as `kill -9 PID`
    does. Returns its descendants as they were just before."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        seen = descendants(proc.pid)
        if busy(seen):
            break
        time.sleep(0.01)
    else:
        pytest.fail("the command ended, or never started worker processes "
                    f"(exit {proc.returncode}): make its workload bigger")
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL  # killed while its workers ran, not finished
    return seen


def assert_none_left(before: list[Proc], session: int, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while left_over(before, session) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left_over(before, session) == []


@contextlib.contextmanager
def cleanup(proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """Whatever the test found, leave no process behind for the next one."""
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)


# --- kill -9 of `digest fetch` ---------------------------------------------------------------

FEEDS, ENTRIES = 40, 40
WORDS = "<p>" + " ".join(f"word{n}" for n in range(150)) + "</p><p>Second paragraph.</p>"


def many_feeds(root: Path) -> Path:
    files: dict[str, str | bytes] = {"digest.toml": SITE + "".join(
        feed_toml(f"f{n:02d}") for n in range(FEEDS))}
    for n in range(FEEDS):
        slug = f"f{n:02d}"
        files[f"feeds/{slug}.atom"] = atom(slug, [(f"e{e}", f"Feed {n} entry {e}", WORDS)
                                                  for e in range(ENTRIES)])
    return write_project(root, files)


@needs_two_cores
def test_kill_9_of_fetch_leaves_no_fork_server_or_parser_worker(tmp_path: Path) -> None:
    root = many_feeds(tmp_path / "site")
    with cleanup(start(root, "-q", "fetch")) as proc:
        # parser workers are the fork server's children: grandchildren of `digest fetch`
        seen = kill_main_while(proc, lambda procs: any(p.ppid != proc.pid for p in procs))
        assert len(seen) >= 3, seen  # the fork server, the resource tracker, 1+ workers
        assert_none_left(seen, proc.pid)
        # and the project is not locked by anything left behind
        after = digest(root, "-q", "fetch")
        assert "another `digest fetch` is running" not in after.stderr
        assert after.returncode == 0, after.stderr
        assert len(list((root / "content" / "items").rglob("*.md"))) == FEEDS * ENTRIES


def test_kill_of_fetch_ends_it_as_ctrl_c_does(tmp_path: Path) -> None:
    """`kill PID` (SIGTERM, to the main process only) once fetch has written some items: it
    stops as by Ctrl-C (exit 1), leaves no process, every file it wrote whole, and the
    project unlocked: the next fetch stores every entry."""
    root = many_feeds(tmp_path / "site")
    items = root / "content" / "items"
    with cleanup(start(root, "-q", "fetch")) as proc:
        deadline = time.monotonic() + 120
        while not (items.is_dir() and next(items.rglob("*.md"), None)):
            assert proc.poll() is None and time.monotonic() < deadline, "nothing written"
            time.sleep(0.005)
        seen = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(60) == 1
        assert_none_left(seen, proc.pid)
    for path in (p for p in items.rglob("*") if not p.is_dir()):
        assert path.suffix == ".md", f"a temporary file left: {path}"
        assert path.read_text(encoding="utf-8").startswith("---\n"), path
    after = digest(root, "-q", "fetch")
    assert after.returncode == 0, after.stderr
    assert len(list(items.rglob("*.md"))) == FEEDS * ENTRIES


# --- kill -9 of `digest build` ---------------------------------------------------------------

ITEMS = 2000  # about 2,200 files to render: over build.PARALLEL_FROM, so rendered by workers


def many_items(root: Path, count: int = ITEMS) -> Path:
    files: dict[str, str | bytes] = {"digest.toml": SITE + feed_toml("blog")}
    text = " ".join(f"w{k}" for k in range(60))
    for n in range(count):
        files[f"content/items/item-{n:05d}.md"] = (
            f"---\nid: i{n:05d}\ntitle: Item {n}\nlink: https://blog.example/{n}\n"
            f"source: blog\npublished: '2025-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}"
            f"T10:00:00+00:00'\n---\n\nParagraph {n}, *emphasis*. {text}\n")
    return write_project(root, files)


def rendering(root: Path, main: int) -> Callable[[list[Proc]], bool]:
    """True once the build is in its render stage (its staging folder beside output/ exists)
    with its render worker running (the main process renders beside it): not the earlier
    pool that renders Markdown bodies, which is shut down before the staging folder is
    made."""
    def busy(procs: list[Proc]) -> bool:
        staging = [p for p in root.glob(".output.*") if p.is_dir()]
        return bool(staging) and any(p.ppid == main for p in procs)
    return busy


@needs_two_cores
def test_kill_9_of_build_leaves_no_render_worker(tmp_path: Path) -> None:
    root = many_items(tmp_path / "site")
    with cleanup(start(root, "-q", "build")) as proc:
        seen = kill_main_while(proc, rendering(root, proc.pid))
        assert_none_left(seen, proc.pid)
    left = [p.name for p in root.iterdir() if p.name.startswith(".output.staging-")]
    assert left, "the killed build left its staging folder (else this test tests nothing)"
    again = subprocess.run([sys.executable, "-m", "digest", "-q", "build"], cwd=root,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert [p.name for p in root.iterdir() if p.name.startswith(".output.")] == [], \
        "the next build removes what the killed one left beside output/"


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


@needs_two_cores
def test_kill_of_build_ends_it_as_ctrl_c_does(tmp_path: Path) -> None:
    """`kill PID` (SIGTERM, to the main process only) while the render workers run: the
    build ends at once, as by Ctrl-C: no worker left, no staging folder, no output/."""
    root = many_items(tmp_path / "site")
    with cleanup(start(root, "-q", "build")) as proc:
        deadline = time.monotonic() + 120
        while not rendering(root, proc.pid)(descendants(proc.pid)):
            assert proc.poll() is None and time.monotonic() < deadline, "no render stage"
            time.sleep(0.01)
        seen = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 1  # as Ctrl-C: "Aborted!", exit 1
        assert_none_left(seen, proc.pid)
    assert [p.name for p in root.iterdir() if p.name.startswith(".output.")] == []
    assert not (root / "output").exists()


PART = group.ITEMS_PER_INDEX


# An index of one part; of two, the second waiting its turn (search.RUNS at a time).
@pytest.mark.parametrize("count", [PART, PART + 1])
def test_kill_of_serve_while_it_indexes_ends_pagefind_and_leaves_nothing(
        tmp_path: Path, count: int) -> None:
    """`kill PID` of `digest serve` while Pagefind makes the search index in the background:
    serve stops as by Ctrl-C, Pagefind ends with it (the index is left to make), and its
    temporary folder is gone."""
    root = many_items(tmp_path / "site", count)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with cleanup(start(root, "serve", "--port", str(port))) as proc:
        deadline = time.monotonic() + 120
        while True:  # serving (the port opens once the first build is done)
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.05)
        item, n = root / "content" / "items" / "item-00000.md", 0
        while True:  # an edit a second, each indexed again in the background, till one is
            seen = descendants(proc.pid)
            if any("pagefind" in " ".join(command_line(p.pid)) for p in seen):
                break
            if n % 100 == 0:
                item.write_text(item.read_text() + f"\nEdit {n}.\n")
            n += 1
            assert proc.poll() is None and time.monotonic() < deadline, "Pagefind never ran"
            time.sleep(0.01)
        assert list(root.glob(".output.search-*")), "Pagefind works in a temporary folder"
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 0  # stopped, as by Ctrl-C
        assert_none_left(seen, proc.pid, within=1.0)
    assert list(root.glob(".output.*")) == []
    manifest = CachePaths.of(root / ".digest").manifest((root / "output").resolve())
    assert Manifest.read(manifest).search_stale, "Pagefind was let finish"


def test_the_next_build_removes_what_a_killed_index_left(tmp_path: Path) -> None:
    """kill -9 of `digest serve` and its Pagefind while it indexes leaves Pagefind's
    temporary folder beside output/; the next build removes it."""
    root = many_items(tmp_path / "site")
    with cleanup(start(root, "serve", "--port", "0")) as proc:
        deadline = time.monotonic() + 120
        while not any("pagefind" in " ".join(command_line(p.pid))
                      for p in descendants(proc.pid)):
            assert proc.poll() is None and time.monotonic() < deadline, "Pagefind never ran"
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert [p.name.split("-")[0] for p in root.glob(".output.*")] == [".output.search"]
    again = digest(root, "-q", "build", timeout=600)
    assert again.returncode == 0, again.stderr
    assert list(root.glob(".output.*")) == []


@needs_two_cores
def test_a_theme_error_in_a_parallel_render_is_one_line_and_changes_nothing(
        tmp_path: Path) -> None:
    """The render of 2,000 item pages is shared by this process and a worker: a template
    that fails on the first item page (the worker's part) and on the last one (this
    process's part) stops the build with one line, leaves output/ as the last build left
    it, and leaves no process running."""
    root = many_items(tmp_path / "site")
    first = digest(root, "-q", "build", timeout=600)
    assert first.returncode == 0, first.stderr
    before = {p: p.read_bytes() for p in (root / "output").rglob("*") if p.is_file()}
    item = (Path(__file__).parent.parent / "themes" / "default" / "templates" /
            "item.html").read_text(encoding="utf-8")
    broken = ('{% if entry.item.id in ("i00000", "i01999") %}{{ entry.no_such_field }}'
              '{% endif %}\n')
    (root / "mytheme" / "templates").mkdir(parents=True)
    (root / "mytheme" / "templates" / "item.html").write_text(broken + item, encoding="utf-8")
    toml = root / "digest.toml"
    toml.write_text(toml.read_text().replace("[site]\n", '[site]\ntheme = "mytheme"\n', 1))
    with cleanup(start(root, "build")) as proc:
        session = proc.pid
        assert proc.wait(600) == 1
        assert_none_left([], session)
    result = digest(root, "build", timeout=600)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if "item.html" in line]
    assert len(errors) == 1 and "no_such_field" in errors[0], result.stderr
    after = {p: p.read_bytes() for p in (root / "output").rglob("*") if p.is_file()}
    assert after == before, "a failed build changed output/"
    assert [p.name for p in root.iterdir() if p.name.startswith(".output.")] == []


# --- bad option values: one line, exit 2, no traceback ---------------------------------------


def assert_usage_error(result: subprocess.CompletedProcess[str], option: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines()
              if line.lower().startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert option in errors[0], errors[0]
    assert len(result.stderr.strip().splitlines()) <= 4, result.stderr  # click: usage + error
    return errors[0]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_project(tmp_path / "site", {
        "digest.toml": SITE + feed_toml("blog"),
        "feeds/blog.atom": atom("blog", [("a", "Alpha", "<p>Alpha.</p>")])})


@pytest.mark.parametrize(("args", "option"), [
    (("serve", "--port", "80000"), "--port"),
    (("serve", "--port", "65536"), "--port"),
    (("serve", "--port", "-1"), "--port"),
    (("serve", "--port", "eighty"), "--port"),
    (("fetch", "--jobs", "0"), "--jobs"),
    (("fetch", "--jobs", "-4"), "--jobs"),
    (("fetch", "-j", "1000"), "--jobs"),
    (("fetch", "--jobs", "many"), "--jobs"),
    (("fetch", "--feed", "nosuch"), "--feed"),
    (("select", "--issue", "2026-W99"), "--issue"),
    (("select", "--format", "xml"), "--format"),
    (("build", "--base-url", "ftp://example.com/"), "--base-url"),
    (("build", "--output", "digest.toml"), "--output"),
    (("publish", "--base-url", "not a url", "--no-push"), "--base-url"),
    (("init", "new", "-y", "--language", "zz-!!"), "--language"),
    (("init", "new", "-y", "--timezone", "Mars/Olympus"), "--timezone"),
    (("init", "new", "-y", "--base-url", "example.com"), "--base-url"),
    (("init", "new", "-y", "--feed", "not a url"), "--feed"),
    (("init", "new", "-y", "--opml", "feeds"), "--opml"),
])
def test_a_bad_option_value_is_one_line_and_exit_2(site: Path, args: tuple[str, ...],
                                                   option: str) -> None:
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    assert_usage_error(digest(site, *args, timeout=60), option)
    # refused: nothing was fetched, built or created
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before


def test_serve_on_a_busy_port_is_one_line_and_builds_nothing(site: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = digest(site, "serve", "--port", str(port), timeout=60)
    line = assert_usage_error(result, "--port")
    assert f"127.0.0.1:{port}" in line and "pick another --port" in line
    assert not (site / "output").exists()


def test_serve_on_an_address_not_of_this_machine_names_host(site: Path) -> None:
    # 192.0.2.1 is TEST-NET-1: never an address of this machine, no DNS needed
    result = digest(site, "serve", "--host", "192.0.2.1", "--port", "0", timeout=60)
    line = assert_usage_error(result, "--host")
    assert "192.0.2.1" in line
    assert "warning" not in result.stderr  # no "anyone on your network can read" for nothing
    assert not (site / "output").exists()
