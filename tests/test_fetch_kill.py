"""What `digest fetch` does to files people own: hand edits survive upstream changes, unedited
files follow them; a run killed at any moment leaves every file whole; two runs never
overlap. Real processes (`python -m digest`), real signals, real locks."""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml
from click.testing import Result

from tests.conftest import write_project

Run = Callable[..., Result]
Project = Callable[..., Path]

SITE = """\
[site]
title = "Kill test"
base_url = "https://user.github.io/my-digest/"
language = "en"
timezone = "UTC"
"""


def feed_toml(slug: str) -> str:
    return f'\n[[feeds]]\nslug = "{slug}"\ntitle = "{slug.upper()}"\nurl = "feeds/{slug}.atom"\n'


def atom(slug: str, entries: list[tuple[str, str, str]]) -> str:
    """An Atom feed of (key, title, html) entries; ids and links come from the key."""
    body = "".join(
        f"<entry><id>urn:{slug}:{key}</id><title>{escape(title)}</title>"
        f'<link rel="alternate" href="https://{slug}.example/{key}"/>'
        f"<updated>2026-03-{1 + n % 28:02d}T10:00:00Z</updated>"
        f'<content type="html">{escape(html)}</content></entry>'
        for n, (key, title, html) in enumerate(entries))
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{slug}</title><id>urn:{slug}</id><link href=\"https://{slug}.example/\"/>"
            f"<updated>2026-03-10T10:00:00Z</updated>{body}</feed>")


def items(root: Path) -> list[Path]:
    return sorted((root / "content" / "items").rglob("*.md"))


def split(path: Path) -> tuple[dict[str, object], str]:
    head, _, body = path.read_text(encoding="utf-8")[4:].partition("\n---\n")
    meta = yaml.safe_load(head)
    assert isinstance(meta, dict), path
    return meta, body


def by_link(root: Path) -> dict[str, Path]:
    return {str(split(p)[0]["link"]): p for p in items(root)}


def digest(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m digest ARGS` in `root`, as a separate process."""
    return subprocess.run([sys.executable, "-m", "digest", *args], cwd=root, text=True,
                          capture_output=True, timeout=timeout, env=_env())


def _env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


# --- hand edits ------------------------------------------------------------------------------

ORIGINAL = [("a", "Alpha", "<p>Alpha text.</p>"), ("b", "Beta", "<p>Beta text.</p>"),
            ("c", "Gamma", "<p>Gamma text.</p>")]
CHANGED = [("a", "Alpha, revised", "<p>Alpha text, rewritten upstream.</p>"),
           ("b", "Beta, revised", "<p>Beta text, rewritten upstream.</p>"),
           ("c", "Gamma", "<p>Gamma text.</p>")]


def test_a_hand_edit_survives_an_upstream_change(project: Project, run: Run) -> None:
    root = project(config=SITE + feed_toml("blog"),
                   files={"feeds/blog.atom": atom("blog", ORIGINAL)})
    assert run(root, "fetch").exit_code == 0
    alpha = by_link(root)["https://blog.example/a"]
    text = alpha.read_text(encoding="utf-8")
    edited = text.replace("\n---\n", "\nstatus: rejected\n---\n", 1).replace(
        "<p>Alpha text.</p>", "<p>Our own summary of Alpha.</p>")
    assert edited != text
    alpha.write_text(edited, encoding="utf-8")
    (root / "feeds" / "blog.atom").write_text(atom("blog", CHANGED), encoding="utf-8")

    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert alpha.read_text(encoding="utf-8") == edited
    kept = [line for line in result.output.splitlines()
            if line.startswith("warning:") and alpha.name in line]
    assert len(kept) == 1, result.output
    assert "changed upstream" in kept[0] and "kept your version" in kept[0]
    assert len(items(root)) == 3
    assert run(root, "check").exit_code == 0
    # fetching again keeps it too, and rewrites nothing else
    before = {p: p.read_bytes() for p in items(root)}
    assert run(root, "fetch").exit_code == 0
    assert {p: p.read_bytes() for p in items(root)} == before


def test_an_unedited_file_follows_upstream_and_keeps_first_seen(project: Project,
                                                                run: Run) -> None:
    root = project(config=SITE + feed_toml("blog"),
                   files={"feeds/blog.atom": atom("blog", ORIGINAL)})
    assert run(root, "fetch").exit_code == 0
    beta = by_link(root)["https://blog.example/b"]
    gamma = by_link(root)["https://blog.example/c"]
    old_meta, _ = split(beta)
    gamma_bytes, gamma_mtime = gamma.read_bytes(), gamma.stat().st_mtime_ns
    time.sleep(1.1)  # so that this run's `fetched` differs from the first's
    (root / "feeds" / "blog.atom").write_text(atom("blog", CHANGED), encoding="utf-8")

    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith("warning:")] == []
    meta, body = split(beta)
    assert meta["title"] == "Beta, revised"
    assert "<p>Beta text, rewritten upstream.</p>" in body
    assert meta["first_seen"] == old_meta["first_seen"]
    assert meta["id"] == old_meta["id"]
    assert meta["published"] == old_meta["published"]
    assert beta in items(root) and len(items(root)) == 3  # same file, no new one
    assert (gamma.read_bytes(), gamma.stat().st_mtime_ns) == (gamma_bytes, gamma_mtime)
    assert "2 updated" in result.output


# --- SIGKILL at random moments ---------------------------------------------------------------

FEEDS, ENTRIES = 24, 30
WORDS = "<p>" + " ".join(f"word{n}" for n in range(150)) + "</p><p>Second paragraph.</p>"


def big_project(root: Path) -> Path:
    files: dict[str, str | bytes] = {"digest.toml": SITE + "".join(
        feed_toml(f"f{n:02d}") for n in range(FEEDS))}
    for n in range(FEEDS):
        slug = f"f{n:02d}"
        files[f"feeds/{slug}.atom"] = atom(slug, [(f"e{e}", f"Feed {n} entry {e}", WORDS)
                                                  for e in range(ENTRIES)])
    return write_project(root, files)


def start_fetch(root: Path) -> subprocess.Popen[bytes]:
    """`python -m digest -q fetch` in its own process group (it and its parser workers)."""
    return subprocess.Popen([sys.executable, "-m", "digest", "-q", "fetch"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(),
                            start_new_session=True)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the run and every process it started, as a CI timeout or `kill -9 -PGID`
    does; the main process alone is a separate test below."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def litter(root: Path) -> list[str]:
    """Anything under content/ that is not an item file: temp files, hidden files."""
    return sorted(p.relative_to(root).as_posix() for p in (root / "content").rglob("*")
                  if p.is_file() and (p.name.startswith(".") or p.suffix != ".md"
                                      or ".tmp" in p.name))


def test_a_fetch_killed_at_random_moments_leaves_every_file_whole(tmp_path: Path,
                                                                 run: Run) -> None:
    # how long an uninterrupted run takes here, in a copy
    reference = big_project(tmp_path / "reference")
    start = time.monotonic()
    done = digest(reference, "-q", "fetch")
    normal = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    assert len(items(reference)) == FEEDS * ENTRIES

    root = big_project(tmp_path / "site")
    rng = random.Random(20260310)
    for _ in range(20):
        proc = start_fetch(root)
        time.sleep(rng.uniform(0, normal))
        kill_group(proc)

    final = digest(root, "fetch")
    assert final.returncode == 0, final.stdout + final.stderr
    assert "Traceback" not in final.stderr and "another" not in final.stderr
    files = items(root)
    assert len(files) == FEEDS * ENTRIES
    ids = [str(split(p)[0]["id"]) for p in files]
    assert len(set(ids)) == len(ids)
    links = [str(split(p)[0]["link"]) for p in files]
    assert len(set(links)) == len(links)
    assert litter(root) == []
    assert not list((root / ".digest").rglob("*.tmp"))  # the next run cleared what was left
    check = run(root, "check")
    assert check.exit_code == 0, check.output
    assert f"{FEEDS * ENTRIES} items" in check.output
    # and the killed runs changed nothing a complete run would not have written
    assert sorted(p.relative_to(root).as_posix() for p in files) == \
        sorted(p.relative_to(reference).as_posix() for p in items(reference))
    for path in files[:: len(files) // 40]:
        mine, theirs = split(path), split(reference / path.relative_to(root))
        assert mine[1] == theirs[1]
        assert {k: v for k, v in mine[0].items() if k not in ("fetched", "first_seen")} == \
            {k: v for k, v in theirs[0].items() if k not in ("fetched", "first_seen")}


def kill_after_first_files(root: Path) -> list[Path]:
    """Start a fetch and SIGKILL it as soon as it has written some files; those files."""
    proc = start_fetch(root)
    deadline = time.monotonic() + 60
    while not items(root) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    kill_group(proc)
    if proc.returncode != -signal.SIGKILL or not items(root):
        pytest.skip("the fetch finished before it could be killed")
    return items(root)


def test_files_written_by_a_killed_run_still_follow_upstream(tmp_path: Path, run: Run) -> None:
    root = big_project(tmp_path / "site")
    survivor = kill_after_first_files(root)[0]
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert len(items(root)) == FEEDS * ENTRIES
    meta, _ = split(survivor)
    slug = str(meta["source"])
    feed = root / "feeds" / f"{slug}.atom"
    entry = f"<title>{meta['title']}</title>"
    assert entry in feed.read_text(encoding="utf-8")
    feed.write_text(feed.read_text(encoding="utf-8").replace(
        entry, f"<title>{meta['title']} (corrected)</title>"), encoding="utf-8")
    again = run(root, "fetch")
    assert again.exit_code == 0, again.output
    assert "kept your version" not in again.output
    assert split(survivor)[0]["title"] == f"{meta['title']} (corrected)"


# --- one run at a time -----------------------------------------------------------------------


def test_a_second_concurrent_fetch_is_refused_with_one_line(tmp_path: Path) -> None:
    root = write_project(tmp_path / "site", {
        "digest.toml": SITE + feed_toml("blog"), "feeds/blog.atom": atom("blog", ORIGINAL)})
    lock = root / ".digest" / "fetch.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as held:  # a first `digest fetch` holding its lock
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        second = digest(root, "fetch", timeout=60)
        assert second.returncode != 0
        assert "Traceback" not in second.stderr
        errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, second.stderr
        assert "another `digest fetch` is running" in errors[0]
        assert items(root) == []
        fcntl.flock(held, fcntl.LOCK_UN)
    # once the first run is over, fetch works
    third = digest(root, "fetch", timeout=60)
    assert third.returncode == 0, third.stderr
    assert len(items(root)) == 3


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: fetch parses in-process")
def test_killing_the_main_process_alone_does_not_lock_the_project(tmp_path: Path) -> None:
    root = big_project(tmp_path / "site")
    proc = start_fetch(root)
    try:
        deadline = time.monotonic() + 30
        while not items(root) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)  # workers are parsing, the main process writing
        if not children(proc.pid) or proc.poll() is not None:
            pytest.skip("the fetch started no worker processes, or finished too soon")
        proc.send_signal(signal.SIGKILL)  # the main process only
        proc.wait(30)
        after = digest(root, "-q", "fetch", timeout=60)
        assert "another `digest fetch` is running" not in after.stderr
        assert after.returncode == 0, after.stderr
        assert len(items(root)) == FEEDS * ENTRIES
    finally:
        kill_group(proc)  # the orphaned workers, if any, are still in its process group
