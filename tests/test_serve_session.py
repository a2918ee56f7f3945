"""`digest serve` keeps its model in memory: a save reads only the files it touched, and the
site it leaves is still byte for byte a clean build's."""

from __future__ import annotations

import hashlib
import http.client
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.preview.loop import Preview
from tests.test_incremental import (
    EDITS,
    ITEM,
    SLUGS,
    _items,
    clean_build,
    example_copy,
    item_file,
    set_key,
    tree,
)
from tests.test_serve import free_port, get

Snapshot = dict[str, str]  # path -> sha of its bytes


def snapshot(root: Path) -> Snapshot:
    """Every file of the project but output/ and .digest/, by the hash of its bytes."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*")
            if p.is_file() and not {"output", ".digest"} & set(p.relative_to(root).parts)}


def changed(before: Snapshot, after: Snapshot) -> set[str]:
    """What the watcher reports: the files written, added or removed."""
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


class Served:
    """A Preview, as `digest serve` runs it, in this process (no drafts: compared with
    `digest build`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.errors: list[str] = []
        self.preview = Preview(root / "digest.toml", False, lambda _: None, self.errors.append)
        self.preview.rebuild(set(), strict=True)
        self.seen = snapshot(root)

    def save(self, edit: Callable[[Path], None]) -> set[str]:
        """Make an edit and rebuild with the paths it changed, as the watcher would."""
        edit(self.root)
        now = snapshot(self.root)
        paths, self.seen = changed(self.seen, now), now
        self.preview.rebuild(paths)
        assert self.preview.status.error is None, self.preview.status.error
        return paths

    def output(self) -> dict[str, bytes]:
        return {k: v for k, (v, _) in tree(self.root / "output").items()}


def carrying(root: Path) -> Path:
    """The example with carry_over on: items cut by a cap compete again the next week."""
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[selection]\n", "[selection]\ncarry_over = true\n", 1), encoding="utf-8")
    return root


# --- edits that move items between weeks and fold copies (select's neighbours) -------------

def _head(path: Path, key: str) -> str:
    found = re.search(rf"^{key}: (.*)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return found.group(1) if found else ""


def copy_title(root: Path, n: int) -> None:
    """Another item's title: the same story twice, if they are near in time."""
    items = _items(root)
    set_key(items[n % len(items)], "title", _head(items[(n + 1) % len(items)], "title"))


def copy_link(root: Path, n: int) -> None:
    """Another item's link: a copy of that story, whatever its week."""
    items = _items(root)
    set_key(items[n % len(items)], "link", _head(items[(n * 7 + 3) % len(items)], "link"))


def move_week(root: Path, n: int) -> None:
    """The editor puts an item in another week's issue."""
    items = _items(root)
    weeks = ["2026-W11", "2026-W10", "2025-W42", "2024-W01"]
    set_key(items[n % len(items)], "issue", weeks[n % len(weeks)])


def redate(root: Path, n: int) -> None:
    """An item published a week later: it leaves its week for the next one."""
    path = _items(root)[n % len(_items(root))]
    text = path.read_text(encoding="utf-8")
    match = re.search(r"^published: '(\d{4})-(\d\d)-(\d\d)", text, re.MULTILINE)
    if match:
        day = min(int(match.group(3)) + 7, 28)
        path.write_text(text.replace(match.group(0), match.group(0)[:-2] + f"{day:02d}", 1),
                        encoding="utf-8")


SERVE_EDITS = [*EDITS, copy_title, copy_link, move_week, redate]


@pytest.mark.slow
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(SERVE_EDITS), st.integers(0, 10_000)), min_size=1,
                max_size=5))
def test_after_any_saves_the_served_site_equals_a_clean_build(
        tmp_path_factory: pytest.TempPathFactory,
        edits: list[tuple[Callable[[Path, int], None], int]]) -> None:
    base = tmp_path_factory.mktemp("served")
    served = Served(carrying(example_copy(base / "site")))
    for edit, n in edits:
        served.save(lambda root, edit=edit, n=n: edit(root, n))
        assert served.output() == clean_build(served.root, base / "clean"), (edit.__name__, n)


def test_a_content_save_is_built_in_memory_and_equals_a_clean_build(tmp_path: Path) -> None:
    """Each kind of content edit goes through the in-memory build (not a full one), and
    each leaves what a clean build makes."""
    served = Served(carrying(example_copy(tmp_path / "site")))
    full = served.preview.full_builds
    for edit, n in [(copy_title, 3), (redate, 5), (move_week, 2), (copy_link, 11),
                    (EDITS[0], 7), (EDITS[4], 1), (EDITS[5], 9), (EDITS[7], 0)]:
        served.save(lambda root, edit=edit, n=n: edit(root, n))
        assert served.preview.full_builds == full, edit.__name__  # in memory
        assert served.output() == clean_build(served.root, tmp_path / "clean"), edit.__name__


def test_a_config_save_makes_a_full_build(tmp_path: Path) -> None:
    served = Served(example_copy(tmp_path / "site"))
    full = served.preview.full_builds
    served.save(lambda root: EDITS[-1](root, 3))  # a topic retitled in digest.toml
    assert served.preview.full_builds == full + 1
    assert served.output() == clean_build(served.root, tmp_path / "clean")


def test_a_broken_save_then_its_fix_and_another_edit_all_arrive(tmp_path: Path) -> None:
    """A save that fails (bad front matter) loses nothing: the build that succeeds takes in
    every change since the last good one, though the watcher named each only once."""
    served = Served(example_copy(tmp_path / "site"))
    path = item_file(served.root, ITEM)
    other = item_file(served.root, SLUGS[1])
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("title:", "title: [unclosed", 1), encoding="utf-8")
    served.preview.rebuild({str(path)})
    assert served.preview.status.error is not None and path.name in served.preview.status.error
    set_key(other, "title", "'Saved while the other was broken'")
    served.preview.rebuild({str(other)})
    assert served.preview.status.error is not None  # still broken
    path.write_text(good, encoding="utf-8")
    set_key(path, "title", "'Fixed and retitled'")
    served.preview.rebuild({str(path)})
    assert served.preview.status.error is None
    built = served.output()
    assert b"Fixed and retitled" in built[f"items/{ITEM}/index.html"]
    assert b"Saved while the other was broken" in built[f"items/{SLUGS[1]}/index.html"]
    assert built == clean_build(served.root, tmp_path / "clean")


def test_a_file_put_in_output_meanwhile_is_never_overwritten(tmp_path: Path) -> None:
    """The in-memory build trusts output/ to be as it left it only for the files it keeps:
    where it would write a file that no build wrote, it stops, and the full build it falls
    back to refuses, as `digest build` does."""
    served = Served(example_copy(tmp_path / "site"))
    page = served.root / "output" / "items" / "added-77" / "index.html"
    page.parent.mkdir()
    page.write_text("the editor's own notes", encoding="utf-8")
    served.preview.rebuild(changed(served.seen, _after(served.root, EDITS[5], 77)))
    assert page.read_text(encoding="utf-8") == "the editor's own notes"
    error = served.preview.status.error
    assert error is not None and "items/added-77/index.html" in error


def _after(root: Path, edit: Callable[[Path, int], None], n: int) -> Snapshot:
    edit(root, n)
    return snapshot(root)


# --- a real `digest serve` on 127.0.0.1 -----------------------------------------------------

@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[Path, int, subprocess.Popen[str]]]:
    root = example_copy(tmp_path / "site")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "digest", "serve", "--port", str(port),
                             "--no-drafts"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if get(port, "/digest/")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"serve did not start: {proc.stdout.read() if proc.stdout else ''}")
    yield root, port, proc
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_an_item_edit_shows_on_its_page_and_its_issue_after_the_reload_event(
        serving: tuple[Path, int, subprocess.Popen[str]]) -> None:
    root, port, _ = serving
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/__digest__/events")
    events = conn.getresponse()
    first = events.fp.readline()
    assert first.startswith(b"data: ")
    path = item_file(root, ITEM)
    issue = re.search(rb'href="/digest/(issues/[^"]+/)"',
                      get(port, f"/digest/items/{ITEM}/")[1])
    assert issue is not None
    for n in range(1, 4):  # several saves: each is built from what the last one left
        title = f"Seen in the preview, save {n}"
        set_key(path, "title", f"'{title}'")
        while True:
            line = events.fp.readline()
            if line.startswith(b"data: ") and line != first:
                first = line
                break
        assert title.encode() in get(port, f"/digest/items/{ITEM}/")[1]
        assert title.encode() in get(port, "/digest/" + issue.group(1).decode())[1]
    conn.close()
    # What the preview left is what `digest build` makes of the same files.
    built = {k: v for k, (v, _) in tree(root / "output").items()}
    clean = clean_build(root, root.parent / "clean")
    assert {k: v for k, v in built.items() if not k.startswith("pagefind/")} == \
        {k: v for k, v in clean.items() if not k.startswith("pagefind/")}
    shutil.rmtree(root.parent / "clean")


# --- what a macro reads of a variable passed to it under its own name ----------------------

def _reads(templates: dict[str, str], tmp_path: Path) -> object:
    import jinja2

    from digest.incremental.paths import CachePaths
    from digest.incremental.reads import Reads

    env = jinja2.Environment(loader=jinja2.DictLoader(templates))
    return Reads(env, CachePaths(tmp_path / "cache"), "key")


HEALTH = "{% macro health(source) %}{{ source.health.failures }}{% endmacro %}"


def test_a_variable_passed_to_a_macro_parameter_of_its_name_is_read_by_attribute(
        tmp_path: Path) -> None:
    """A source page keys on what its macros read of `source`, not on every item of the
    source: an edit re-renders the page that shows the item, not all the source's pages."""
    reads = _reads({"macros.html": HEALTH, "source.html":
                    '{% import "macros.html" as m %}{{ source.title }}{{ m.health(source) }}'},
                   tmp_path)
    assert reads.of("source") == ("health", "title")  # type: ignore[attr-defined]


@pytest.mark.parametrize("page", [
    '{% import "macros.html" as m %}{{ m.whole(source) }}',  # the macro prints it whole
    '{% import "macros.html" as m %}{{ m.health(source) }}{{ m.printed(source) }}',
    '{% import "macros.html" as m %}{{ m.health(other) }}{{ other.title }}',  # another name
    '{% import "macros.html" as m %}{% set m = site %}{{ m.health(source) }}',  # not a module
    '{% from "macros.html" import health %}{{ health(source) }}',  # not through a module
])
def test_anything_else_passed_to_a_macro_is_used_whole(tmp_path: Path, page: str) -> None:
    macros = HEALTH + "{% macro whole(source) %}{{ source }}{% endmacro %}" \
        "{% macro printed(x) %}{{ x }}{% endmacro %}"
    reads = _reads({"macros.html": macros if "whole" in page or "printed" in page
                    else HEALTH, "page.html": page}, tmp_path)
    name = "other" if "other" in page else "source"
    assert reads.of(name) is None  # type: ignore[attr-defined]


def test_an_item_edit_renders_only_its_own_page_of_its_source(tmp_path: Path) -> None:
    """Through the serve path, at a page size that gives its source several pages."""
    root = example_copy(tmp_path / "site")
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[site]\n", "[site]\npage_size = 2\n", 1), encoding="utf-8")
    served = Served(root)
    pages = sorted(p for p in (root / "output" / "sources" / "lesswrong").rglob("index.html"))
    assert len(pages) >= 3
    before = {p: p.stat().st_mtime_ns for p in pages}
    rendered = served.preview.rendered
    served.save(lambda root: set_key(item_file(root, ITEM), "title", "'Only its own page'"))
    showing = [p for p in pages if "Only its own page" in p.read_text(encoding="utf-8")]
    assert len(showing) == 1
    assert served.preview.rendered - rendered < 30  # not every page of the source
    assert all(p.stat().st_mtime_ns == before[p] for p in pages if p not in showing)
    assert served.output() == clean_build(root, tmp_path / "clean")


def test_a_fetch_between_saves_is_seen_though_the_watcher_skips_dot_digest(
        tmp_path: Path) -> None:
    """`digest fetch` changes the sources' health in .digest/state.json, which the watcher
    does not watch: the next save's build sees it changed and looks at everything."""
    import json

    served = Served(example_copy(tmp_path / "site"))
    state = served.root / ".digest" / "state.json"
    state.parent.mkdir(exist_ok=True)
    state.write_text(json.dumps({"version": 1, "written": {}, "feeds": {"lesswrong": {
        "last_success": "2026-03-01T10:00:00+00:00", "last_status": "error: timed out",
        "failures": 3}}}), encoding="utf-8")
    full = served.preview.full_builds
    served.save(lambda root: set_key(item_file(root, ITEM), "title", "'After a fetch'"))
    assert served.preview.full_builds == full + 1
    built = served.output()
    assert "3 сбоя подряд" in built["sources/lesswrong/index.html"].decode()
    clean = tmp_path / "clean"  # a clean build of the same files, state.json included
    for path in served.root.iterdir():
        if path.name != "output":
            (shutil.copytree if path.is_dir() else shutil.copy2)(path, clean / path.name)
    shutil.rmtree(clean / ".digest" / "cache")
    result = subprocess.run([sys.executable, "-m", "digest", "build", "-q"], cwd=clean,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert built == {k: v for k, (v, _) in tree(clean / "output").items()}


def test_a_save_in_a_dot_folder_or_an_editors_lock_is_no_content(tmp_path: Path) -> None:
    """In `serve` as in `digest build` (digest/content/files.py): a post moved into .trash/
    leaves the site, one saved there never enters it, a folder renamed to a dot-name takes
    its posts with it, and Emacs' lock beside a post (a link to nowhere) or a note in
    content/issues/.trash/ changes nothing; all without a full build, each leaving what a
    clean build makes."""
    served = Served(example_copy(tmp_path / "site"))
    full = served.preview.full_builds
    items = served.root / "content" / "items"
    post = item_file(served.root, ITEM)
    lock = post.parent / f".#{post.name}"

    def trash(root: Path) -> None:
        (items / ".trash").mkdir()
        other = item_file(root, SLUGS[1])
        post.rename(items / ".trash" / post.name)
        set_key(other, "title", "'Still here'")
        (items / ".trash" / "new.md").write_text(other.read_text(encoding="utf-8").replace(
            "Still here", "Saved in the trash").replace("id: ", "id: x"), encoding="utf-8")
        lock.symlink_to("editor@host.4242:1733500000")
        (root / "content" / "issues" / ".trash").mkdir()
        (root / "content" / "issues" / ".trash" / "2009-W02.md").write_text(
            "---\ntitle: A thrown-away intro\n---\nGone.\n", encoding="utf-8")

    served.save(trash)
    # (serve's watcher drops `.#` names itself; reported anyway, the lock changes nothing)
    served.preview.rebuild({str(lock)})
    assert served.preview.status.error is None, served.preview.status.error
    built = served.output()
    assert not any(ITEM in path for path in built)
    assert any(b"Still here" in data for data in built.values())
    assert not any(b"Saved in the trash" in data or b"A thrown-away intro" in data
                   for data in built.values())
    lock.unlink()  # (a clean build copies the project: a link to nowhere cannot be copied)
    assert built == clean_build(served.root, tmp_path / "clean")

    month = items / "2025" / "03"
    gone = [p.stem for p in month.glob("*.md")]
    month.rename(month.with_name(".03"))  # a folder move: the watcher names both folders
    served.preview.rebuild({str(month), str(month.with_name(".03"))})
    assert served.preview.status.error is None, served.preview.status.error
    built = served.output()
    assert gone and not any(slug in path for slug in gone for path in built)
    assert served.preview.full_builds == full
    assert built == clean_build(served.root, tmp_path / "clean")
