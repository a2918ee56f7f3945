"""A build with nothing to do is quick because it imports nothing it does not need (issue 18):
proved by what the real CLI imports (`python -X importtime`), not by timing it. And a quick
answer is still a right one: an edit of digest's code, or another version of a library that
renders, is never taken for "nothing changed", though the code's fingerprint is remembered
in the build cache (.digest/cache/code.json) to spare the libraries' metadata."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from digest.incremental.noop import _beside
from digest.incremental.stamps import Stamp
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
    made = Stamp("inputs", {"a.md": "sha"})

    def only_here() -> Stamp:
        if os.getpid() != here:
            raise RuntimeError("the child fails")
        return made

    with _beside(only_here) as stamped:
        pass
    assert stamped.value == made
    forked: list[int] = []
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with _beside(lambda: forked.append(os.getpid()) or made) as stamped:
            pass
    finally:
        stop.set()
        thread.join()
    assert stamped.value == made and forked == [here]  # made in this process, not a child


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
