"""Incremental builds: a rebuild does only what changed, and always equals a clean build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.cli import main
from tests.conftest import ROOT

Tree = dict[str, tuple[bytes, int]]  # path -> (bytes, mtime in ns)


def example_copy(root: Path, search: bool = False) -> Path:
    """The bundled example digest in `root`, with search on or off."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("content", "feeds"):
        shutil.copytree(ROOT / name, root / name)
    config = (ROOT / "digest.toml").read_text(encoding="utf-8")
    if not search:
        config = config.replace("[site]\n", "[site]\nsearch = false\n", 1)
    (root / "digest.toml").write_text(config, encoding="utf-8")
    return root


def digest(root: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["--config", str(root / "digest.toml"), *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def tree(folder: Path) -> Tree:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def clean_build(root: Path, scratch: Path) -> dict[str, bytes]:
    """The same project built from nothing, in another folder, without any cache."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    for path in root.iterdir():
        if path.is_dir() and path.name not in ("output", ".digest"):
            shutil.copytree(path, scratch / path.name)
    shutil.copy2(root / "digest.toml", scratch / "digest.toml")
    digest(scratch, "build")
    return {k: v for k, (v, _) in tree(scratch / "output").items()}


def item_file(root: Path, slug: str) -> Path:
    return next((root / "content" / "items").rglob(f"{slug}.md"))


def set_key(path: Path, key: str, value: str) -> None:
    """Replace (or add) one front matter line."""
    text = path.read_text(encoding="utf-8")
    head, sep, body = text[4:].partition("\n---\n")
    lines = [line for line in head.splitlines() if not line.startswith(f"{key}:")]
    lines.append(f"{key}: {value}")
    path.write_text("---\n" + "\n".join(lines) + sep + body, encoding="utf-8")


ITEM = "selectively-reducing-eval-awareness-and-murder-in-gemma-3-0be7cc"


def test_editing_one_item_rewrites_only_the_pages_that_show_it(tmp_path: Path) -> None:
    root = example_copy(tmp_path / "site")
    digest(root, "build")
    before = tree(root / "output")
    set_key(item_file(root, ITEM), "title", "'A brand new title for the test'")
    out = digest(root, "build").output
    after = tree(root / "output")

    assert after.keys() == before.keys()
    rewritten = {k for k in after if after[k][1] != before[k][1]}
    changed = {k for k in after if after[k][0] != before[k][0]}
    assert rewritten == changed  # nothing is written again with the same bytes
    # What shows the item changed: its page, its issue, its topic and source, the feeds.
    for rel in [f"items/{ITEM}/index.html", "issues/2026-w11/index.html", "index.html",
                "issues/2026-w11/email.html", "topics/ai-safety/index.html",
                "sources/lesswrong/index.html", "items.xml", "feed.xml"]:
        assert rel in changed, rel
        assert b"A brand new title for the test" in after[rel][0], rel
    # Every other file kept its bytes and its mtime: most of the site.
    assert all(b"A brand new title for the test" in after[k][0] for k in changed
               if k.endswith((".html", ".xml", ".json"))), changed
    assert len(changed) < len(after) // 5
    assert re.search(r"(\d+) files? changed", out), out


def test_a_build_with_nothing_changed_writes_nothing(tmp_path: Path) -> None:
    root = example_copy(tmp_path / "site")
    digest(root, "build")
    before = tree(root / "output")
    out = digest(root, "build").output
    assert tree(root / "output") == before
    assert "up to date" in out


def test_a_file_removed_from_output_by_hand_comes_back(tmp_path: Path) -> None:
    root = example_copy(tmp_path / "site")
    digest(root, "build")
    page = root / "output" / "items" / ITEM / "index.html"
    data = page.read_bytes()
    page.unlink()
    (root / "output" / "stray.html").write_text("not ours")
    # A file no build wrote stops the build (tests/test_data_safety_output.py); --clean
    # lets the build delete it.
    digest(root, "build", "--clean")
    assert page.read_bytes() == data
    assert not (root / "output" / "stray.html").exists()


def test_a_template_change_renders_every_page_again(tmp_path: Path) -> None:
    root = example_copy(tmp_path / "site")
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[site]\n", '[site]\ntheme = "mytheme"\n', 1), encoding="utf-8")
    (root / "mytheme" / "templates").mkdir(parents=True)
    digest(root, "build")
    base = (ROOT / "themes" / "default" / "templates" / "base.html").read_text(encoding="utf-8")
    (root / "mytheme" / "templates" / "base.html").write_text(
        base.replace("</body>", "<p>Marked footer</p></body>"), encoding="utf-8")
    digest(root, "build")
    pages = list((root / "output").rglob("index.html"))
    assert len(pages) >= 100
    assert all("Marked footer" in p.read_text(encoding="utf-8") for p in pages)


def test_an_edit_in_a_linked_items_folder_is_built(tmp_path: Path) -> None:
    """content/items may be a link to a folder kept elsewhere: the build reads the items
    there, so an edit there is seen, never taken for "up to date"."""
    root = example_copy(tmp_path / "site")
    (root / "content" / "items").rename(tmp_path / "items")
    (root / "content" / "items").symlink_to(tmp_path / "items", target_is_directory=True)
    digest(root, "build")
    set_key(item_file(root, ITEM), "title", "A title edited through the link")
    said = digest(root, "build").output
    assert "up to date" not in said
    page = root / "output" / "items" / ITEM / "index.html"
    assert "A title edited through the link" in page.read_text(encoding="utf-8")
    assert {k: v for k, (v, _) in tree(root / "output").items()} == \
        clean_build(root, tmp_path / "clean")


def test_an_edit_of_a_template_in_a_linked_folder_is_built(tmp_path: Path) -> None:
    """A theme's templates/ may be a link to a folder kept elsewhere, and so may a folder of
    partials inside it: an edit of a template there renders the pages again."""
    root = example_copy(tmp_path / "site")
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[site]\n", '[site]\ntheme = "mytheme"\n', 1), encoding="utf-8")
    shared = tmp_path / "shared-templates"
    (shared / "partials").mkdir(parents=True)
    (root / "mytheme").mkdir()
    (root / "mytheme" / "templates").symlink_to(shared, target_is_directory=True)
    (shared / "partials" / "footer.html").write_text("<p>First footer</p>", encoding="utf-8")
    base = (ROOT / "themes" / "default" / "templates" / "base.html").read_text(encoding="utf-8")
    (shared / "base.html").write_text(
        base.replace("</body>", '{% include "partials/footer.html" %}</body>'), encoding="utf-8")
    (shared / "partials" / "up").symlink_to(shared, target_is_directory=True)  # no loop
    digest(root, "build")
    page = root / "output" / "items" / ITEM / "index.html"
    assert "First footer" in page.read_text(encoding="utf-8")
    (shared / "partials" / "footer.html").write_text("<p>Second footer</p>", encoding="utf-8")
    assert "up to date" not in digest(root, "build").output
    assert "Second footer" in page.read_text(encoding="utf-8")


def test_a_linked_folder_in_a_themes_static_folder_is_published(tmp_path: Path) -> None:
    """A theme's static/ may hold a link to a folder kept elsewhere (fonts shared by several
    sites): its files are in output/static/ like the others, and an edit there is built."""
    root = example_copy(tmp_path / "site")
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[site]\n", '[site]\ntheme = "mytheme"\n', 1), encoding="utf-8")
    shared = tmp_path / "shared-fonts"
    shared.mkdir()
    (shared / "fonts.css").write_text("@font-face { font-family: First; }", encoding="utf-8")
    (root / "mytheme" / "static").mkdir(parents=True)
    (root / "mytheme" / "static" / "fonts").symlink_to(shared, target_is_directory=True)
    digest(root, "build")
    published = root / "output" / "static" / "fonts" / "fonts.css"
    assert "First" in published.read_text(encoding="utf-8")
    assert (root / "output" / "static" / "style.css").is_file()  # the default theme's
    (shared / "fonts.css").write_text("@font-face { font-family: Second; }", encoding="utf-8")
    assert "up to date" not in digest(root, "build").output
    assert "Second" in published.read_text(encoding="utf-8")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_in_a_theme_or_content_is_no_input(tmp_path: Path) -> None:
    """A named pipe in a theme (a tool's socket or FIFO left in static/ or templates/) or in
    content/ is no file of the site: the build neither hangs reading it nor publishes it,
    and the next build has nothing to do. (A FIFO blocks whoever opens it to read.)"""
    root = example_copy(tmp_path / "site")
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[site]\n", '[site]\ntheme = "mytheme"\n', 1), encoding="utf-8")
    for folder in ("mytheme/static", "mytheme/templates", "content"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        os.mkfifo(root / folder / "pipe")
    command = [sys.executable, "-m", "digest", "build"]
    first = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stdout + first.stderr
    assert not (root / "output" / "static" / "pipe").exists()
    again = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=60)
    assert "up to date" in again.stdout, again.stdout + again.stderr


def test_search_index_follows_a_changed_page(tmp_path: Path) -> None:
    root = example_copy(tmp_path / "site", search=True)
    digest(root, "build")
    fragments = {p.name for p in (root / "output" / "pagefind" / "fragment").iterdir()}
    set_key(item_file(root, ITEM), "title", "'Another title'")
    digest(root, "build")
    now = {p.name for p in (root / "output" / "pagefind" / "fragment").iterdir()}
    assert now != fragments and len(now) == len(fragments)


# --- any sequence of edits: the incremental output equals a clean build -------------------

SLUGS = [
    ITEM,
    "what-do-we-know-about-ai-company-employee-giving-214d61",
]


def _items(root: Path) -> list[Path]:
    return sorted((root / "content" / "items").rglob("*.md"))


def retitle(root: Path, n: int) -> None:
    items = _items(root)
    set_key(items[n % len(items)], "title", f"'Retitled {n}'")


def rewrite_body(root: Path, n: int) -> None:
    path = _items(root)[n % len(_items(root))]
    text = path.read_text(encoding="utf-8")
    path.write_text(text + f"\nA new *paragraph* number {n}.\n", encoding="utf-8")


def reject(root: Path, n: int) -> None:
    set_key(_items(root)[n % len(_items(root))], "status", "rejected")


def pin(root: Path, n: int) -> None:
    set_key(_items(root)[n % len(_items(root))], "pinned", "true")


def delete(root: Path, n: int) -> None:
    _items(root)[n % len(_items(root))].unlink()


def add(root: Path, n: int) -> None:
    source = _items(root)[n % len(_items(root))]
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"^id: .*$", f"id: added{n:06d}", text, count=1, flags=re.MULTILINE)
    text = re.sub(r"^title: .*$", f"title: 'An added item {n}'", text, count=1,
                  flags=re.MULTILINE)
    text = re.sub(r"^link: .*$", f"link: https://example.org/added/{n}", text, count=1,
                  flags=re.MULTILINE)
    source.with_name(f"added-{n}.md").write_text(text, encoding="utf-8")


def touch(root: Path, n: int) -> None:
    path = _items(root)[n % len(_items(root))]
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))


def introduce(root: Path, n: int) -> None:
    path = root / "content" / "issues" / "2026-W11.md"
    path.write_text(path.read_text(encoding="utf-8") + f"\nIntro line {n}.\n", encoding="utf-8")


def retitle_topic(root: Path, n: int) -> None:
    config = root / "digest.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r'^title = "Рациональность.*"$', f'title = "Рациональность {n}"',
                             text, count=1, flags=re.MULTILINE), encoding="utf-8")


EDITS: list[Callable[[Path, int], None]] = [retitle, rewrite_body, reject, pin, delete, add,
                                            touch, introduce, retitle_topic]


@pytest.mark.slow
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 10_000)), min_size=1,
                max_size=4))
def test_after_any_edits_the_incremental_build_equals_a_clean_one(
        tmp_path_factory: pytest.TempPathFactory,
        edits: list[tuple[Callable[[Path, int], None], int]]) -> None:
    base = tmp_path_factory.mktemp("incremental")
    root = example_copy(base / "site")
    digest(root, "build")
    for edit, n in edits:
        edit(root, n)
        digest(root, "build")
        built = {k: v for k, (v, _) in tree(root / "output").items()}
        assert built == clean_build(root, base / "clean"), (edit.__name__, n)


def test_a_theme_that_lists_items_everywhere_stays_exact(tmp_path: Path) -> None:
    """A custom theme reads more of `site` than the default one: every page then depends
    on it, and a retitled item changes all of them."""
    root = example_copy(tmp_path / "site")
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[site]\n", '[site]\ntheme = "mytheme"\n', 1), encoding="utf-8")
    base = (ROOT / "themes" / "default" / "templates" / "base.html").read_text(encoding="utf-8")
    (root / "mytheme" / "templates").mkdir(parents=True)
    (root / "mytheme" / "templates" / "base.html").write_text(base.replace(
        "</body>", "{% set everything = site %}<p>{{ everything.items|map(attribute='item.title')"
        "|join(' | ') }}</p></body>"),
        encoding="utf-8")
    digest(root, "build")
    set_key(item_file(root, ITEM), "title", "'Everywhere now'")
    digest(root, "build")
    built = {k: v for k, (v, _) in tree(root / "output").items()}
    assert b"Everywhere now" in built["pages/about/index.html"]
    assert built == clean_build(root, tmp_path / "clean")


def test_an_edit_renders_only_the_pages_that_can_show_it(tmp_path: Path) -> None:
    from digest.build import build
    from digest.config import load_config

    root = example_copy(tmp_path / "site")
    config = load_config(root / "digest.toml")
    first = build(config)
    set_key(item_file(root, ITEM), "title", "'Rendered again'")
    again = build(config)
    # Its page, its neighbours, its issue (page, email, home), its topic's and source's first
    # pages, the feeds that list it: not the other pages of its topic or source.
    assert first.rendered > 150
    assert 0 < again.rendered < 40 and again.written <= again.rendered


def test_a_save_that_keeps_size_and_mtime_is_still_seen(tmp_path: Path) -> None:
    """A second save within one clock tick can leave size and mtime as they were: files
    changed just before a build are compared by content by the next one."""
    root = example_copy(tmp_path / "site")
    digest(root, "build")
    path = item_file(root, ITEM)
    set_key(path, "title", "'Title number one'")
    digest(root, "build")
    assert "up to date" in digest(root, "build").output  # no change: nothing to do
    st = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("number one", "number two"),
                    encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size
    assert "up to date" not in digest(root, "build").output
    page = root / "output" / "items" / ITEM / "index.html"
    assert "Title number two" in page.read_text(encoding="utf-8")


def test_a_damaged_build_cache_is_rebuilt_not_a_crash(tmp_path: Path) -> None:
    root = example_copy(tmp_path / "site")
    digest(root, "build")
    cache = root / ".digest" / "cache"
    damaged = {p for p in cache.rglob("*") if p.is_file()}
    assert any(p.name.startswith("manifest-") for p in damaged)
    for path in damaged:  # valid JSON of the wrong shape, and plain garbage
        path.write_bytes(b'{"format": 2, "files": 5, "attrs": 1}' if path.suffix == ".json"
                         else b"\x80garbage")
    set_key(item_file(root, ITEM), "title", "'After the damage'")
    # No record says which files of output/ a build wrote, and some pages changed: only
    # --clean lets the build replace them (tests/test_data_safety_output.py).
    out = digest(root, "build", "--clean").output
    assert "Traceback" not in out
    built = {k: v for k, (v, _) in tree(root / "output").items()}
    assert built == clean_build(root, tmp_path / "clean")
