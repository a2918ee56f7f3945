"""Search that scales (issue 18): Pagefind reads the item pages only, so each item is in the
index once and nothing of an issue, topic, source or the home page is; the index is the one
Pagefind makes from the whole site, byte for byte (the same results, titles, excerpts and
meta for a reader).

The fast tests read the index Pagefind wrote (its fragments: one per result, with the URL,
text and meta a result shows). The browser test (marked `browser`, skipped without Debian's
Chromium or Playwright, as in test_search.py) searches with Pagefind's own JavaScript."""

from __future__ import annotations

import filecmp
import gzip
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from digest.build import build as build_here
from digest.config import load_config
from digest.search import bundles, index
from tests.browser import PREFIX, Watch, build, chromium_browser, static_site
from tests.conftest import write_project

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Made-up words: EVERY is in the text of every item (so on the issue and topic pages too, in
# the excerpts); LIST_ONLY are only on list pages (the site's and the topic's description).
EVERY = "plumvex"
LIST_ONLY = ("thrandle", "quorvane")
ITEMS = 6

CONFIG = f"""\
[site]
title = "Scale check"
description = "A digest of {LIST_ONLY[0]} notes"
base_url = "https://example.github.io/digest/"
language = "en"
timezone = "UTC"

[[feeds]]
slug = "lab"
title = "The Lab"
url = "feeds/lab.xml"
topics = ["notes"]

[[topics]]
slug = "notes"
title = "Notes"
description = "Everything about {LIST_ONLY[1]}"
keywords = ["note"]
"""

ITEM = """\
---
id: item-{n}
title: Note number {n}
link: https://lab.example/notes/{n}
source: lab
published: '2026-03-{day:02d}T10:00:00+00:00'
status: selected
---

The text of note {n} says {every} and {own}.
"""


def own_word(n: int) -> str:
    return "zy" + "abcdefghij"[n] * 3 + "q"  # 'zyaaaq', 'zybbbq', ...: one item's own word


def scale_project(root: Path) -> Path:
    files: dict[str, str | bytes] = {"digest.toml": CONFIG}
    for n in range(ITEMS):
        files[f"content/items/2026/03/item-{n}.md"] = ITEM.format(
            n=n, day=9 + n % 3, every=EVERY, own=own_word(n))
    return write_project(root, files)


def fragments(bundle: Path) -> list[dict[str, Any]]:
    """The records of a Pagefind bundle: one per page indexed (url, content, meta, ...)."""
    found = []
    for path in sorted((bundle / "fragment").glob("*.pf_fragment")):
        data = gzip.decompress(path.read_bytes())
        assert data.startswith(b"pagefind_dcd"), path
        found.append(json.loads(data[len(b"pagefind_dcd"):]))
    return found


def same_tree(left: Path, right: Path) -> list[str]:
    """The files that differ between two folders (missing on one side, or other bytes)."""
    names = {p.relative_to(left) for p in left.rglob("*") if p.is_file()}
    names |= {p.relative_to(right) for p in right.rglob("*") if p.is_file()}
    return sorted(str(n) for n in names if not ((left / n).is_file() and (right / n).is_file()
                                                and filecmp.cmp(left / n, right / n, False)))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(scale_project(tmp_path_factory.mktemp("scale")))


def test_each_item_is_in_the_index_once_and_no_list_page_is(site: Path) -> None:
    records = fragments(site / "pagefind")
    urls = [r["url"] for r in records]
    items = sorted(f"/items/{p.name}/" for p in (site / "items").iterdir() if p.is_dir())
    assert len(items) == ITEMS
    assert sorted(urls) == items  # each item once, and nothing else
    titles = sorted(r["meta"]["title"] for r in records)
    assert titles == sorted(f"Note number {n}" for n in range(ITEMS))
    assert all(r["meta"]["source"] == "The Lab" and r["meta"]["date"] for r in records)
    lists = [site / "index.html", site / "topics" / "notes" / "index.html"]
    for word, page in zip(LIST_ONLY, lists, strict=True):  # on a list page, in no result
        assert word in page.read_text(encoding="utf-8")
        assert not [r["url"] for r in records if word in r["content"]], word
    assert all(EVERY in r["content"] for r in records)


def test_the_index_is_the_one_pagefind_makes_from_the_whole_site(site: Path,
                                                                 tmp_path: Path) -> None:
    """What a reader gets (results, their order, titles, excerpts, meta) is what indexing
    every page gave: the same bundle, byte for byte."""
    whole = tmp_path / "whole"
    subprocess.run([sys.executable, "-m", "pagefind", "--site", str(site), "--output-path",
                    str(whole), "--force-language", "en", "--silent"], check=True, timeout=300)
    assert same_tree(site / "pagefind", whole) == []


def test_a_list_page_that_marks_its_text_is_not_read(tmp_path: Path) -> None:
    """A theme that marks a topic page with data-pagefind-body does not make it a result,
    nor its excerpts a second copy of an item: Pagefind is given the item pages only."""
    page = ('<!doctype html><html lang="en"><head><title>{0}</title></head><body>'
            '<article data-pagefind-body><h1>{0}</h1><p>{1}</p></article></body></html>')
    write_project(tmp_path / "site", {
        "items/a-note/index.html": page.format("A note", f"The note says {EVERY}."),
        "topics/notes/index.html": page.format("Notes", f"{LIST_ONLY[1]}: {EVERY}."),
        "index.html": page.format("Home", f"{LIST_ONLY[0]} {EVERY}")})
    index(tmp_path / "site", "en", tmp_path / "bundle")
    assert [(r["url"], r["meta"]["title"]) for r in fragments(tmp_path / "bundle")] == [
        ("/items/a-note/", "A note")]


def test_a_site_without_items_still_gets_an_index(tmp_path: Path) -> None:
    """No item page (nothing selected yet): the search page still finds its bundle; Pagefind
    indexes the site as it always did then, instead of failing the build."""
    root = write_project(tmp_path / "empty", {"digest.toml": CONFIG})
    output = build(root)
    assert (output / "pagefind" / "pagefind-ui.js").is_file()
    assert fragments(output / "pagefind")


# --- a large site: the index in parts -----------------------------------------------------

PART = 4  # items to a part here (group.ITEMS_PER_INDEX): the 6 items make two parts, of 4 and 2


@pytest.fixture(scope="module")
def parted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scale project built in this process, with parts of PART items (a site's would be
    of 2,000: the same code, in smaller steps)."""
    return build_parted(scale_project(tmp_path_factory.mktemp("parted")))


def oldest_first() -> list[str]:
    """The items' titles, oldest first (published, then slug: as the site orders them)."""
    days = sorted(range(ITEMS), key=lambda n: (9 + n % 3, n))
    return [f"Note number {n}" for n in days]


def test_a_large_index_comes_in_parts_oldest_items_first(parted: Path) -> None:
    """Each item in one part only, and in the part its age gives it: the oldest PART in the
    first bundle, the rest in part-2/, which the search page names for its UI."""
    first = fragments(parted / "pagefind")
    second = fragments(parted / "pagefind" / "part-2")
    titles = oldest_first()
    assert sorted(r["meta"]["title"] for r in first) == sorted(titles[:PART])
    assert sorted(r["meta"]["title"] for r in second) == sorted(titles[PART:])
    assert all(r["url"].startswith("/items/") and EVERY in r["content"]
               for r in first + second)
    assert not (parted / "pagefind" / "part-3").exists()
    page = (parted / "search" / "index.html").read_text(encoding="utf-8")
    assert 'data-more-bundles="/digest/pagefind/part-2/"' in page
    assert bundles(3) == ("pagefind/", "pagefind/part-2/", "pagefind/part-3/")


def build_parted(root: Path, runs: list[tuple[str, ...]] | None = None) -> Path:
    """Build `root` here, with parts of PART items; `runs`: each Pagefind run's pages."""
    real = index

    def counted(site: Path, language: str, into: Path, pages: Sequence[str] = (),
                stop: threading.Event | None = None) -> None:
        if runs is not None:
            runs.append(tuple(pages))
        real(site, language, into, pages, stop)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("digest.group.ITEMS_PER_INDEX", PART)
        patch.setattr("digest.search.index", counted)
        build_here(load_config(root / "digest.toml"))
    return root / "output"


def stats(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file under `folder`: its inode and mtime (a file written again has others)."""
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def part_files(output: Path, part: int) -> dict[str, tuple[int, int]]:
    bundle = output / "pagefind"
    if part == 1:
        return {k: v for k, v in stats(bundle).items() if not k.startswith("part-")}
    return stats(bundle / f"part-{part}")


def test_an_edit_makes_only_its_part_of_the_index_again(tmp_path: Path) -> None:
    """An edit to the oldest item makes the first part again, not the second, and one to
    the newest the second, not the first; the index is then what a clean build makes."""
    root = scale_project(tmp_path / "p")
    output = build_parted(root)
    numbers = [int(title.rsplit(" ", 1)[1]) for title in oldest_first()]
    files = {n: root / f"content/items/2026/03/item-{n}.md" for n in numbers}
    oldest, newest = numbers[0], numbers[-1]
    for n, word, edited, kept in ((oldest, "quillorn", 1, 2), (newest, "vextrome", 2, 1)):
        before = part_files(output, kept), part_files(output, edited)
        text = files[n].read_text(encoding="utf-8")
        files[n].write_text(text.replace("says", f"says {word} and"), encoding="utf-8")
        runs: list[tuple[str, ...]] = []
        build_parted(root, runs)
        assert len(runs) == 1 and len(runs[0]) == (PART if edited == 1 else ITEMS - PART)
        assert f"items/item-{n}/index.html" in runs[0]  # Pagefind read its part only
        assert part_files(output, kept) == before[0]  # and the other is not even rewritten
        assert part_files(output, edited) != before[1]
        bundle = output / "pagefind" / ("" if edited == 1 else f"part-{edited}")
        assert [r["meta"]["title"] for r in fragments(bundle) if word in r["content"]] == [
            f"Note number {n}"]
    clean = shutil.copytree(root, tmp_path / "clean", ignore=shutil.ignore_patterns(
        "output", ".digest"))
    assert same_tree(build_parted(clean) / "pagefind", output / "pagefind") == []


@pytest.mark.parametrize("runs", [1, 2])
def test_a_part_that_fails_ends_the_others_at_once_and_is_one_error(tmp_path: Path,
                                                                    runs: int) -> None:
    """The parts are made search.RUNS at a time (one, as shipped: see its comment). When
    Pagefind fails on one, no part waiting its turn is started, and a run still going on
    another (two at a time) is ended at once, not waited for; the build stops with that
    failure, leaves no Pagefind running and no temporary folder, and installs no index.
    (Pagefind is put behind a script: for the first part, of four items, it fails; for the
    other it would take a minute.)"""
    import os
    import time

    from digest.errors import DigestError

    root = scale_project(tmp_path / "p")
    pids = tmp_path / "pids"
    shim = tmp_path / "python"
    shim.write_text(
        "#!/bin/sh\n"  # called as: python -m pagefind --site DIR ...
        f"echo $$ >> {pids}\n"
        f'if [ "$(ls "$4/items" | wc -l)" -eq {PART} ]; then\n'
        "  sleep 0.5\n"  # (two at a time: the other is under way by then)
        '  echo "Error: this part cannot be read" >&2; exit 3\n'
        "fi\n"
        "exec sleep 60\n", encoding="utf-8")
    shim.chmod(0o755)
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "executable", str(shim))
        patch.setattr("digest.search.RUNS", runs)
        with pytest.raises(DigestError, match="this part cannot be read"):
            build_parted(root)
    assert time.monotonic() - started < 10  # not the minute the other part would take
    ran = [int(line) for line in pids.read_text().split()]
    assert len(ran) == runs  # one at a time: the other never started; two: both were
    for pid in ran:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == [".digest"]
    assert not (root / "output" / "pagefind").exists()


def test_a_part_deleted_or_changed_by_hand_is_made_again(tmp_path: Path) -> None:
    """A part's folder deleted is made again by the next build; a part's file changed by
    hand is not taken for the part the build made: the next index made makes it again."""
    root = scale_project(tmp_path / "p")
    output = build_parted(root)
    made = part_files(output, 2)
    shutil.rmtree(output / "pagefind" / "part-2")
    runs: list[tuple[str, ...]] = []
    build_parted(root, runs)
    assert [len(r) for r in runs] == [ITEMS - PART] and part_files(output, 2).keys() == made.keys()
    fragment = next((output / "pagefind" / "part-2" / "fragment").iterdir())
    fragment.write_bytes(fragment.read_bytes() + b"hand")
    oldest = root / "content/items/2026/03/item-0.md"  # in the first part
    oldest.write_text(oldest.read_text(encoding="utf-8").replace("says", "says anew"),
                      encoding="utf-8")
    runs.clear()
    build_parted(root, runs)
    assert sorted(len(r) for r in runs) == sorted([PART, ITEMS - PART])  # both made again
    assert not fragment.exists() or not fragment.read_bytes().endswith(b"hand")


def test_a_site_of_one_part_names_no_other(site: Path) -> None:
    assert "data-more-bundles" not in (site / "search" / "index.html").read_text("utf-8")
    assert not (site / "pagefind" / "part-2").exists()


# --- in the browser: Pagefind's own search ------------------------------------------------

SEARCH = """async (word) => {
  const pagefind = await import(document.baseURI.replace(/[^/]*$/, "") + "pagefind/pagefind.js");
  const found = await pagefind.search(word);
  return Promise.all(found.results.map(async (r) => {
    const d = await r.data();
    return {url: d.url, title: d.meta.title, source: d.meta.source, excerpt: d.excerpt};
  }));
}"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser() as browser:
        yield browser


@pytest.mark.browser
def test_pagefind_finds_each_item_once_and_no_list_page(
        chromium: Browser, site: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    with static_site(site, tmp_path_factory.mktemp("docroot")) as origin:
        context = chromium.new_context()
        context.set_default_timeout(15_000)
        watch = Watch(origin).attach(context)
        page = context.new_page()
        page.goto(origin + PREFIX)
        everywhere = page.evaluate(SEARCH, EVERY)
        urls = [r["url"] for r in everywhere]
        assert len(urls) == ITEMS and len(set(urls)) == ITEMS, urls
        assert all(u.startswith(PREFIX + "items/") for u in urls), urls
        assert sorted(r["title"] for r in everywhere) == [
            f"Note number {n}" for n in range(ITEMS)]
        assert {r["source"] for r in everywhere} == {"The Lab"}
        assert all(f"<mark>{EVERY}</mark>" in r["excerpt"] for r in everywhere)
        for n in range(ITEMS):
            one = page.evaluate(SEARCH, own_word(n))
            assert [r["title"] for r in one] == [f"Note number {n}"]
        for word in LIST_ONLY:
            assert page.evaluate(SEARCH, word) == [], word
        assert not watch.problems(), watch.problems()
        context.close()


@pytest.mark.browser
def test_the_search_page_finds_items_in_every_part(
        chromium: Browser, parted: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The search page's UI searches both parts: a word of every item finds all six once, and
    each item's own word finds it, from the first part and from the second."""
    from playwright.sync_api import expect

    with static_site(parted, tmp_path_factory.mktemp("docroot")) as origin:
        context = chromium.new_context()
        context.set_default_timeout(15_000)
        watch = Watch(origin).attach(context)
        page = context.new_page()
        page.goto(origin + PREFIX + "search/?q=" + EVERY)
        expect(page.locator(".pagefind-ui__message")).to_have_text(
            f"{ITEMS} results for {EVERY}")
        page.locator(".pagefind-ui__button").click()  # "Load more results": 5 to a page
        results = page.locator(".pagefind-ui__result-link")
        expect(results).to_have_count(ITEMS)
        assert sorted(results.all_inner_texts()) == sorted(oldest_first())
        for n in range(ITEMS):
            page.goto(origin + PREFIX + "search/?q=" + own_word(n))
            expect(results).to_have_count(1)
            expect(results).to_have_text(f"Note number {n}")
            assert results.get_attribute("href") == f"{PREFIX}items/item-{n}/"
        assert not watch.problems(), watch.problems()
        context.close()


@pytest.mark.browser
def test_the_index_loads_while_the_reader_types_not_after(
        chromium: Browser, parted: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Opened without a query, the search page focuses its field and starts loading the
    index at once: Pagefind's code, its WebAssembly and every part's metadata are fetched
    before the first letter (Pagefind's UI waits for the field's focus, which its own
    autofocus gives before it listens). On a slow phone that load is most of the first
    search's wait."""
    with static_site(parted, tmp_path_factory.mktemp("docroot")) as origin:
        context = chromium.new_context()
        context.set_default_timeout(15_000)
        watch = Watch(origin).attach(context)
        page = context.new_page()
        asked: list[str] = []
        context.on("request", lambda request: asked.append(request.url))
        page.goto(origin + PREFIX + "search/")
        page.wait_for_load_state("networkidle")
        loaded = {url.removeprefix(origin + PREFIX) for url in asked}
        assert "pagefind/wasm.en.pagefind" in loaded, loaded  # (one for every part)
        for part in ("pagefind/", "pagefind/part-2/"):
            assert any(u.startswith(part + "pagefind.") and u.endswith(".pf_meta")
                       for u in loaded), loaded
        assert page.evaluate("document.activeElement.className").startswith(
            "pagefind-ui__search-input")
        assert not watch.problems(), watch.problems()
        context.close()


@pytest.mark.browser
def test_a_missing_part_leaves_the_others_searchable(
        chromium: Browser, parted: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A part the search page names but the site lacks (still being made by `digest serve`,
    or deleted) does not stop the search: the parts there are searched."""
    from playwright.sync_api import expect

    site = shutil.copytree(parted, tmp_path_factory.mktemp("missing") / "site")
    shutil.rmtree(site / "pagefind" / "part-2")
    with static_site(site, tmp_path_factory.mktemp("docroot")) as origin:
        context = chromium.new_context()
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto(origin + PREFIX + "search/?q=" + EVERY)
        expect(page.locator(".pagefind-ui__message")).to_have_text(
            f"{PART} results for {EVERY}")
        context.close()


def test_a_damaged_record_of_the_parts_is_no_record(tmp_path: Path) -> None:
    """Search parts of the wrong shape in the manifest: it is read as damaged (everything
    is made again), not followed: no page outside items/ is ever given to Pagefind."""
    from digest.incremental.manifest import Manifest

    path = tmp_path / "manifest.json"
    Manifest(path, search_parts=[["items/a/index.html"], ["items/b/index.html"]],
             search_made={"pagefind/": "x"}).save(1)
    assert Manifest.read(path).recorded
    data = json.loads(path.read_text(encoding="utf-8"))
    for key, bad in (("search_parts", 5), ("search_parts", [[1]]), ("search_made", [])):
        path.write_text(json.dumps({**data, key: bad}), encoding="utf-8")
        assert not Manifest.read(path).recorded, (key, bad)
    page = ('<!doctype html><html lang="en"><head><title>{0}</title></head><body>'
            '<article data-pagefind-body><h1>{0}</h1><p>{1}</p></article></body></html>')
    site = write_project(tmp_path / "site", {
        "items/a/index.html": page.format("A note", f"The note says {EVERY}.")})
    outside = write_project(tmp_path / "outside", {"index.html": page.format("Mine", "mine")})
    before = outside.joinpath("index.html").stat()
    index(site, "en", tmp_path / "bundle", ["items/a/index.html", "../outside/index.html"])
    assert [r["url"] for r in fragments(tmp_path / "bundle")] == ["/items/a/"]
    after = outside.joinpath("index.html").stat()
    assert (after.st_nlink, after.st_mtime_ns) == (before.st_nlink, before.st_mtime_ns)
    assert not list(tmp_path.glob(".pages.*"))  # the folder of links is gone again
