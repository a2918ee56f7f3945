"""A build with nothing to do is quick because it imports nothing it does not need (issue 18):
proved by what the real CLI imports (`python -X importtime`), not by timing it. And a quick
answer is still a right one: an edit of digest's code, or another version of a library that
renders, is never taken for "nothing changed", though the code's fingerprint is remembered
in the build cache (.digest/cache/code.json) to spare the libraries' metadata."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from digest.incremental.noop import Stamped
from digest.incremental.stamps import Stamp
from tests.conftest import ROOT
from tests.test_data_safety_cache import copy_digest, example_project
from tests.test_incremental import ITEM, item_file, set_key

# What a build that has something to do imports, and one with nothing to do must not.
# (Not selectolax: loading digest.toml checks the selectors of its cleanup rules with it.)
STAGES = ("digest.build", "digest.load", "digest.select", "digest.render", "digest.search",
          "jinja2", "markdown", "pygments", "nh3", "lxml")


def build(root: Path, *paths: Path) -> tuple[str, set[str]]:
    """`python -m digest build` in `root`, with `paths` first on PYTHONPATH (else the digest
    under test): what it said, and every module it imported."""
    path = os.pathsep.join([*map(str, paths), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "digest", "build"],
                          cwd=root, env={**os.environ, "PYTHONPATH": path, "NO_COLOR": "1"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    modules = {line.split("|")[2].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:") and line.count("|") == 2}
    assert "digest.cli" in modules  # the list is read right
    return done.stdout, modules


def settled(*folders: Path) -> None:
    """As if these folders had last changed a minute ago: a folder that changed within the
    last clock tick or two may change again unseen, and nothing about it is remembered."""
    for folder in folders:
        st = folder.stat()
        os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns - 60_000_000_000))


def compiled(root: Path) -> set[str]:
    """The prefixes of Jinja's compiled templates: named after digest's code fingerprint."""
    return {p.name.split("_")[3] for p in (root / ".digest" / "cache" / "templates")
            .glob("__jinja2_*.cache")}


def test_a_build_with_nothing_to_do_imports_no_stage_and_no_renderer(tmp_path: Path) -> None:
    root = example_project(tmp_path / "site")
    said, first = build(root)
    assert set(STAGES) <= first  # a build that renders imports them all
    said, again = build(root)
    assert "up to date" in said and not again & set(STAGES), again & set(STAGES)
    # One changed item: the stages are imported again, and the page is made again.
    set_key(item_file(root, ITEM), "title", "'A title of today'")
    said, edited = build(root)
    assert set(STAGES) <= edited and "up to date" not in said
    page = root / "output" / "items" / ITEM / "index.html"
    assert "A title of today" in page.read_text(encoding="utf-8")


def test_a_link_back_up_in_content_is_walked_once_and_is_no_input(tmp_path: Path) -> None:
    """Links to folders above them (content/items/up -> content/, content/project -> the
    project) are walked once, and what a build writes there (output/, .digest/) is not its
    input: the build ends, and the one after it has nothing to do (imports no stage)."""
    root = example_project(tmp_path / "site")
    (root / "content" / "items" / "up").symlink_to(root / "content", target_is_directory=True)
    (root / "content" / "project").symlink_to(root, target_is_directory=True)
    build(root)
    said, again = build(root)
    assert "up to date" in said and not again & set(STAGES), again & set(STAGES)


def test_an_edit_of_digest_is_seen_though_its_fingerprint_is_remembered(tmp_path: Path
                                                                        ) -> None:
    code = copy_digest(tmp_path / "code")
    root = example_project(tmp_path / "site")
    build(root, code)
    settled(code, root)
    build(root, code)  # the fingerprint is remembered now ...
    said, modules = build(root, code)
    assert "up to date" in said and "importlib.metadata" not in modules  # ... and trusted
    assert not modules & set(STAGES)
    langtag = code / "digest" / "text" / "langtag.py"
    langtag.write_text(langtag.read_text(encoding="utf-8") +
                       '\n_OG_TERRITORY["ru"] = "EDITED"\n', encoding="utf-8")
    said, modules = build(root, code)
    assert set(STAGES) <= modules and "up to date" not in said
    assert "ru_EDITED" in (root / "output" / "index.html").read_text(encoding="utf-8")
    assert set(STAGES).isdisjoint(build(root, code)[1])  # stable again


def test_another_version_of_a_rendering_library_is_seen(tmp_path: Path) -> None:
    """A library's metadata first on sys.path says its version (as an upgrade in place
    would): a folder of libraries that changed makes the fingerprint asked again, and only
    another version makes it another fingerprint."""
    libs = tmp_path / "libs"
    (libs / "nh3-99.0.dist-info").mkdir(parents=True)
    metadata = libs / "nh3-99.0.dist-info" / "METADATA"
    metadata.write_text("Metadata-Version: 2.1\nName: nh3\nVersion: 99.0\n", encoding="utf-8")
    root = example_project(tmp_path / "site")
    build(root, libs)
    settled(libs, root)
    build(root, libs)
    said, modules = build(root, libs)
    assert "importlib.metadata" not in modules and not modules & set(STAGES)
    before = compiled(root)
    assert len(before) == 1

    (libs / "notes.txt").write_text("not a library\n", encoding="utf-8")  # the same versions
    said, modules = build(root, libs)
    assert "importlib.metadata" in modules and "up to date" in said
    assert not modules & set(STAGES)

    shutil.move(libs / "nh3-99.0.dist-info", libs / "nh3-99.1.dist-info")  # an upgrade
    (libs / "nh3-99.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: nh3\nVersion: 99.1\n", encoding="utf-8")
    said, modules = build(root, libs)
    assert set(STAGES) <= modules
    after = compiled(root)
    assert len(after) == 1 and after != before  # compiled again, by the new fingerprint


def test_the_stamp_is_made_here_when_the_forked_child_fails_or_threads_run() -> None:
    """The stamp made beside the scan of output/ is the one made here: a child that fails
    leaves it to this process, and a process running threads (`serve`) does not fork."""
    here = os.getpid()
    made = Stamp("inputs", {"a.md": "sha"}), b"code"

    def only_here() -> tuple[Stamp, bytes | None]:
        if os.getpid() != here:
            raise RuntimeError("the child fails")
        return made

    kept: list[bytes] = []
    assert Stamped(only_here, kept.append).value() == made[0] and kept == [b"code"]
    forked: list[int] = []
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        stamped = Stamped(lambda: forked.append(os.getpid()) or made, kept.append)
    finally:
        stop.set()
        thread.join()
    assert stamped.value() == made[0] and forked == [here]  # made here, not in a child


def test_a_build_left_only_its_search_index_to_make_makes_just_that(tmp_path: Path) -> None:
    """A build whose index was not made (stopped while Pagefind ran, or built without it):
    the next `digest build` makes the index alone (no content file is loaded: the item
    store, deleted, is not made again) and leaves every page as it is; with an edit as
    well, it makes the edited page too."""
    from digest.build import build as build_here
    from digest.config import load_config

    root = example_project(tmp_path / "site")
    toml = root / "digest.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("search = false", "search = true"),
                    encoding="utf-8")
    build_here(load_config(toml), search=False)  # the pages, not the index
    output = root / "output"
    assert not (output / "pagefind").exists()
    pages = {p: p.stat().st_mtime_ns for p in output.rglob("*.html")}
    shutil.rmtree(root / ".digest" / "items")  # read again only by a build that loads
    build(root)
    assert (output / "pagefind" / "pagefind-entry.json").is_file()
    assert {p: p.stat().st_mtime_ns for p in output.rglob("*.html")} == pages
    assert not (root / ".digest" / "items").exists(), "the site was loaded again"
    said, modules = build(root)
    assert "up to date" in said and not modules & set(STAGES), "the index was left stale"

    build_here(load_config(toml), search=False)  # nothing: up to date
    shutil.rmtree(output / "pagefind")
    set_key(item_file(root, ITEM), "title", "'A title of today'")
    build(root)
    page = output / "items" / ITEM / "index.html"
    assert "A title of today" in page.read_text(encoding="utf-8")
    assert (output / "pagefind" / "pagefind-entry.json").is_file()


def test_an_edit_saved_while_a_cold_build_loads_is_built_by_the_next(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold build does not wait for the stamp of its inputs before it starts: it is made in
    a forked process while the build imports its stages and reads its item store. It must be
    done before the first input is read: an item saved after the build read it is not in
    output/, and the next build must see the save. Here the stamp takes a second longer (the
    real one, made later) and the save comes right after `load`: a stamp taken at any time
    after `load` started would hold the save, and the next build would call output/ up to
    date with the old title on the page."""
    import digest.build
    import digest.incremental.noop
    from digest.build import build as build_here
    from digest.config import load_config

    root = example_project(tmp_path / "site")
    config = load_config(root / "digest.toml")
    path = item_file(root, ITEM)
    real_stamp, real_load = digest.incremental.noop.stamp, digest.build.load

    def late_stamp(*args: object, **kwargs: object) -> tuple[Stamp, bytes | None]:
        time.sleep(1)
        return real_stamp(*args, **kwargs)  # type: ignore[arg-type]

    def load_then_save(*args: object, **kwargs: object) -> object:
        corpus = real_load(*args, **kwargs)  # type: ignore[arg-type]
        set_key(path, "title", "'Saved while the build ran'")
        return corpus

    monkeypatch.setattr(digest.incremental.noop, "stamp", late_stamp)
    monkeypatch.setattr(digest.build, "load", load_then_save)
    first = build_here(config, search=False)
    assert first.written
    page = root / "output" / "items" / ITEM / "index.html"
    assert "Saved while the build ran" not in page.read_text(encoding="utf-8")
    monkeypatch.setattr(digest.build, "load", real_load)
    again = build_here(config, search=False)
    assert again.written and "Saved while the build ran" in page.read_text(encoding="utf-8")


def children() -> set[int]:
    """This process's child processes, running or ended but not waited for (Linux)."""
    tasks = Path("/proc", str(os.getpid()), "task")
    if not tasks.is_dir():
        pytest.skip("needs Linux's /proc")
    return {int(pid) for f in tasks.glob("*/children") for pid in f.read_text().split()}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the stamp is made beside only with fork")
def test_a_refused_build_leaves_no_process_behind(tmp_path: Path) -> None:
    """The stamp's forked process is ended and waited for when the build stops in `look`
    (output/ holds a file no build wrote): no child is left running or unreaped, and the
    refused build wrote nothing, not even the fingerprint of digest's code that a stamp
    finds out (the child only reads, and hands it back)."""
    from digest.build import build as build_here
    from digest.config import load_config
    from digest.incremental.outfolder import FolderRefused

    root = example_project(tmp_path / "site")
    config = load_config(root / "digest.toml")
    build_here(config, search=False)
    (root / "output" / "mine.txt").write_text("a file of the user's", encoding="utf-8")
    code = root / ".digest" / "cache" / "code.json"
    code.unlink()  # the stamp finds the fingerprint out again, and would remember it
    cache = {p: p.read_bytes() for p in (root / ".digest").rglob("*") if p.is_file()}
    before = children()
    with pytest.raises(FolderRefused):
        build_here(config, search=False)
    assert children() == before  # none left, running or unreaped
    assert (root / "output" / "mine.txt").read_text(encoding="utf-8") == "a file of the user's"
    assert {p: p.read_bytes() for p in (root / ".digest").rglob("*") if p.is_file()} == cache


SLOW_STAMP = """
import os, sys, time
import digest.incremental.noop as noop
real, said = noop.stamp, sys.argv[1]
def slow(*args, **kwargs):
    with open(said, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(30)
    return real(*args, **kwargs)
noop.stamp = slow
from digest.cli import run
sys.argv = ["digest", "--quiet", "build"]
run()
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the stamp is made beside only with fork")
def test_ctrl_c_while_a_cold_build_starts_leaves_no_process_behind(tmp_path: Path) -> None:
    """Ctrl-C while a cold `digest build` waits for the stamp of its inputs (made beside
    it while it started): the command ends at once, and the stamp's process with it,
    instead of the command waiting for it or leaving it to run on alone. (The stamp is made
    to take 30 s here, so that it is surely still running when Ctrl-C comes.)"""
    root = example_project(tmp_path / "site")
    runner, said = tmp_path / "slow_stamp.py", tmp_path / "stamp.pid"
    runner.write_text(SLOW_STAMP, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(runner), str(said)], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not (said.is_file() and said.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    stamper = int(said.read_text())
    time.sleep(0.5)  # the build goes on meanwhile
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode != 0, out
    deadline = time.monotonic() + 5
    while alive(stamper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(stamper), "the stamp's process outlived the build"
    assert not (root / "output").exists()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_theme_is_its_templates_static_files_and_translations(tmp_path: Path) -> None:
    """What a build reads of a theme is its templates/, static/ and locale/: a README or
    npm's node_modules/ beside them changes no page, and a build after an edit there has
    nothing to do (it imported no stage, where every page was rendered again before); an
    edit in each of the three is built."""
    root = example_project(tmp_path / "site")
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[site]\n", '[site]\ntheme = "mytheme"\n', 1), encoding="utf-8")
    theme = root / "mytheme"
    for part in ("templates", "static", "locale"):
        (theme / part).mkdir(parents=True)
    build(root)
    (theme / "README.md").write_text("My theme.\n", encoding="utf-8")
    (theme / "node_modules" / "pkg").mkdir(parents=True)
    (theme / "node_modules" / "pkg" / "index.js").write_text("x = 1;\n", encoding="utf-8")
    said, modules = build(root)
    assert "up to date" in said and not modules & set(STAGES), modules & set(STAGES)

    (theme / "static" / "extra.css").write_text("p { color: red }\n", encoding="utf-8")
    said, _ = build(root)
    assert (root / "output" / "static" / "extra.css").read_text(encoding="utf-8") == \
        "p{color: red}\n"
    po = (ROOT / "themes" / "default" / "locale" / "ru.po").read_text(encoding="utf-8")
    (theme / "locale" / "ru.po").write_text(po.replace(
        'msgid "Archive"\nmsgstr "Архив"', 'msgid "Archive"\nmsgstr "Подшивка"', 1),
        encoding="utf-8")
    build(root)
    assert "Подшивка" in (root / "output" / "index.html").read_text(encoding="utf-8")
    base = (ROOT / "themes" / "default" / "templates" / "base.html").read_text(encoding="utf-8")
    (theme / "templates" / "base.html").write_text(
        base.replace("</body>", "<p>Marked footer</p></body>"), encoding="utf-8")
    build(root)
    assert "Marked footer" in (root / "output" / "index.html").read_text(encoding="utf-8")
