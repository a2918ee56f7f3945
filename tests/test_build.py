"""The example digest builds into the site a reader expects; builds are reproducible."""

from __future__ import annotations

import gc
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser
import pytest
from click.testing import Result

from digest.config import load_config
from digest.load import load
from digest.select import select
from tests.conftest import ROOT, example_project

ATOM = "{http://www.w3.org/2005/Atom}"

ITEM = """\
---
id: aaaa
title: A post
link: https://example.org/a
source: blog
published: '2026-03-10T10:00:00+00:00'
status: selected
---

Words.
"""


def read(output: Path, rel: str) -> str:
    return (output / rel).read_text(encoding="utf-8")


def test_every_kind_of_page_exists(example_site: Path) -> None:
    for rel in ["index.html", "issues/index.html", "issues/2026-w11/index.html",
                "topics/index.html", "sources/index.html", "404.html", "feed.xml",
                "pages/about/index.html", "static/style.css", "static/pygments.css"]:
        assert (example_site / rel).is_file(), rel
    for slug in ["ai-safety", "ai-society", "rationality", "software-research", "software",
                 "infrastructure", "work", "open-web"]:
        assert (example_site / "topics" / slug / "index.html").is_file(), slug
    for slug in ["lesswrong", "neverworkintheory", "qemu", "ongoing", "fowler", "daveverse",
                 "joel", "aws", "landsman", "pastie", "pauldix"]:
        assert (example_site / "sources" / slug / "index.html").is_file(), slug
    config = load_config(ROOT / "digest.toml")
    selection = select(load(config), config)
    chosen = {d.item.slug for d in selection.decisions if d.selected}
    pages = {p.parent.name for p in (example_site / "items").glob("*/index.html")}
    assert pages == chosen
    # The example's rules leave some items out: a rejected one, an excluded one, short ones,
    # ones of no topic, ones past a cap.
    assert 90 < len(pages) < len(selection.decisions) == 152


def test_home_shows_the_latest_issue_with_russian_dates(example_site: Path) -> None:
    home = read(example_site, "index.html")
    assert '<html lang="ru">' in home
    assert "Неделя 11: модели, которые знают, что их проверяют" in home
    assert "9–15 марта 2026" in home
    assert "What do we know about AI company employee giving?" in home
    # 10 Mar 2026 23:30 GMT is 11 March 02:30 in Moscow, as the old site showed it: the day
    # in the issue's entry, the day and time on the item's page.
    entry = home[home.index('id="item-what-do-we-know-about-ai-company-employee-giving'):]
    assert ">11 марта</time>" in entry[:entry.index("</article>")]
    item = read(example_site,
                "items/what-do-we-know-about-ai-company-employee-giving-214d61/index.html")
    assert "11 марта 2026, 02:30" in item


def test_issue_page_groups_items_by_topic_and_links_them(example_site: Path) -> None:
    """The issue links each item's page and its sections' topics; the item's page links its
    source, its topics and the original."""
    page = read(example_site, "issues/2026-w11/index.html")
    assert 'id="topic-ai-safety"' in page
    assert 'href="/digest/topics/ai-safety/">Безопасность ИИ</a>' in page
    assert 'href="/digest/items/what-do-we-know-about-ai-company-employee-giving-214d61/"' in page
    item = read(example_site,
                "items/what-do-we-know-about-ai-company-employee-giving-214d61/index.html")
    assert 'href="/digest/sources/lesswrong/"' in item
    assert 'href="/digest/topics/ai-society/">ИИ и общество</a>' in item
    assert "https://www.lesswrong.com/posts/BCmeyJm2r6b8hJiie/" in item


def test_item_page_links_to_the_original_and_keeps_footnotes(example_site: Path) -> None:
    slug = "selectively-reducing-eval-awareness-and-murder-in-gemma-3-0be7cc"
    page = read(example_site, f"items/{slug}/index.html")
    assert "<h1" in page and "Selectively reducing eval awareness" in page
    assert 'href="https://www.lesswrong.com/posts/KMStDkso2mvTvcszt/' in page
    assert 'href="#fn63zcdbyrmv8"' in page and 'id="fn63zcdbyrmv8"' in page
    assert "10 марта 2026, 22:51" in page


def test_leaked_mathjax_css_never_reaches_a_page(example_site: Path) -> None:
    for page in example_site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "mjx-" not in text, page
        assert "@font-face" not in text, page
        # Scripts come only from our own files (search), never inline, never from a feed.
        for tag in re.findall(r"<script[^>]*>", text):
            assert re.fullmatch(r'<script src="/digest/(static|pagefind)/[\w.-]+"( defer)?>',
                                tag), (page, tag)


def test_topic_and_source_pages_list_their_items(example_site: Path) -> None:
    topic = read(example_site, "topics/software/index.html")
    assert "Разработка ПО" in topic
    assert "QEMU version 10.1.0 released" in topic, "the newest software item leads its topic"
    source = read(example_site, "sources/qemu/index.html")
    releases = set(re.findall(r"QEMU version [\d.]+ released",
                              (ROOT / "feeds" / "qemu.atom").read_text("utf-8")))
    assert len(releases) == 8
    assert releases == set(re.findall(r"QEMU version [\d.]+ released", source)), \
        "the source page lists every release post of its feed"


def test_no_internal_link_escapes_the_sub_path(example_site: Path) -> None:
    for page in example_site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for link in re.findall(r'(?:href|src)="(/[^"]*)"', text):
            assert link.startswith("/digest/"), f"{page}: {link}"


def test_atom_feed_parses_with_absolute_urls(example_site: Path) -> None:
    parsed = feedparser.parse((example_site / "feed.xml").read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.feed.title == "LessWrong по-русски"
    assert parsed.entries[0].link == "https://example.github.io/digest/issues/2026-w11/"
    assert all(e.link.startswith("https://example.github.io/digest/") for e in parsed.entries)
    root = ET.parse(example_site / "feed.xml").getroot()
    assert root.find(f"{ATOM}updated") is not None


def test_two_builds_are_byte_identical(project: Callable[..., Path],
                                       run: Callable[..., Result], tmp_path: Path) -> None:
    root = project({"content/items/2026/03/a-post-aaaaaa.md": """\
        ---
        id: aaaa
        title: A post about alignment
        link: https://example.org/a
        source: blog
        published: '2026-03-10T10:00:00+00:00'
        ---

        Some *Markdown* text.
        """, "feeds/blog.xml": ""})
    assert run(root, "build").exit_code == 0
    first = {p.relative_to(root / "output"): p.read_bytes()
             for p in (root / "output").rglob("*") if p.is_file()}
    assert run(root, "build", "--output", str(tmp_path / "again")).exit_code == 0
    second = {p.relative_to(tmp_path / "again"): p.read_bytes()
              for p in (tmp_path / "again").rglob("*") if p.is_file()}
    assert first == second


def test_base_url_override_moves_every_link(project: Callable[..., Path],
                                            run: Callable[..., Result]) -> None:
    root = project({"content/pages/about.md": "---\ntitle: About\n---\nHello\n"})
    result = run(root, "build", "--base-url", "https://digest.example.org/")
    assert result.exit_code == 0, result.output
    page = (root / "output" / "pages" / "about" / "index.html").read_text(encoding="utf-8")
    assert 'href="/static/style.css"' in page
    assert 'rel="canonical" href="https://digest.example.org/pages/about/"' in page


def test_rejected_items_and_draft_issues_stay_out(project: Callable[..., Path],
                                                  run: Callable[..., Result]) -> None:
    item = """\
        ---
        id: {id}
        title: {title}
        link: https://example.org/{id}
        source: blog
        published: '2026-03-10T10:00:00+00:00'
        {extra}
        ---

        Text.
        """
    root = project({
        "content/items/2026/03/kept-aaaaaa.md": item.format(id="a1", title="Kept post",
                                                           extra="note: Must read"),
        "content/items/2026/03/gone-bbbbbb.md": item.format(id="b2", title="Rejected post",
                                                           extra="status: rejected"),
        "content/items/2026/04/later-cccccc.md": item.format(id="c3", title="Draft week post",
                                                            extra="issue: 2026-W15"),
        "content/issues/2026-W15.md": "---\ntitle: Not ready\nstatus: draft\n---\nSoon.\n",
    })
    assert run(root, "build").exit_code == 0
    out = root / "output"
    issue = (out / "issues" / "2026-w11" / "index.html").read_text(encoding="utf-8")
    assert "Kept post" in issue and "Must read" in issue
    assert "Rejected post" not in issue
    assert not (out / "issues" / "2026-w15").exists()
    assert not list(out.glob("items/gone-*"))
    assert run(root, "build", "--drafts").exit_code == 0
    assert "Draft week post" in (out / "issues" / "2026-w15" / "index.html").read_text("utf-8")


def test_a_missing_template_is_one_clear_line(project: Callable[..., Path],
                                              run: Callable[..., Result]) -> None:
    root = project({"mytheme/templates/issue.html": "{% extends 'nope.html' %}",
                    "content/issues/2026-W11.md": "---\ntitle: T\n---\n",
                    "content/items/2026/03/a-post-aaaaaa.md": ITEM, "feeds/blog.xml": ""})
    toml = (root / "digest.toml").read_text().replace(
        'timezone = "Europe/Moscow"', 'timezone = "Europe/Moscow"\ntheme = "mytheme"')
    (root / "digest.toml").write_text(toml)
    result = run(root, "build")
    assert result.exit_code == 1
    assert "nope.html" in result.output
    assert "Traceback" not in result.output


def test_an_items_headings_become_sections_under_its_title(project: Callable[..., Path],
                                                          run: Callable[..., Result]) -> None:
    """The item page's title is its h1: a feed's <h1> and <h4> become h2 and h3, so a
    screen reader's outline skips no level."""
    root = project({"content/items/2026/03/a-post-aaaaaa.md": """\
        ---
        id: aaaa
        title: A post about alignment
        link: https://example.org/a
        source: blog
        published: '2026-03-10T10:00:00+00:00'
        status: selected
        ---
        <h1>Intro</h1><p>Text.</p><h4>Deep</h4><p>More.</p><h1>Outro</h1>
        """, "feeds/blog.xml": ""})
    assert run(root, "build").exit_code == 0
    page = next((root / "output" / "items").glob("*/index.html")).read_text("utf-8")
    body = page[page.index('class="content"'):]
    assert "<h2>Intro</h2>" in body and "<h3>Deep</h3>" in body and "<h2>Outro</h2>" in body
    assert "<h1>" not in body and "<h4>" not in body


@pytest.mark.parametrize("theme", ["default", "broken"])
def test_a_build_leaves_the_garbage_collector_as_it_found_it(
        project: Callable[..., Path], theme: str) -> None:
    """A build keeps the collector off the site it makes while it makes it, and collects
    more rarely while it renders (digest/system/memory.py); after it, done or failed, the
    collector is on, as often as before, and sees everything again, so that `digest serve`'s
    process lets go of a site it no longer holds."""
    from digest.build import build
    from digest.errors import DigestError

    root = project({"broken/templates/item.html": "{{ nope() }}",
                    "content/items/2026/03/a-post-aaaaaa.md": ITEM, "feeds/blog.xml": ""})
    if theme == "broken":  # its item page fails to render, after the site is made
        toml = (root / "digest.toml").read_text().replace(
            'timezone = "Europe/Moscow"', 'timezone = "Europe/Moscow"\ntheme = "broken"')
        (root / "digest.toml").write_text(toml)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    if theme == "broken":
        with pytest.raises(DigestError, match=r"item\.html"):
            build(load_config(root / "digest.toml"), search=False)
    else:
        assert build(load_config(root / "digest.toml"), search=False).items == 1
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds  # rendering collects more rarely, and only it


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def _renderers(monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
    """Each process that renders files writes its pid into the folder `log`."""
    import digest.build

    log.mkdir()
    real = digest.build._render_paths

    def logged(*args: Any) -> Any:
        (log / str(os.getpid())).touch()
        return real(*args)

    monkeypatch.setattr(digest.build, "_render_paths", logged)
    monkeypatch.setattr(digest.build, "PARALLEL_FROM", 16)


def test_worker_processes_build_the_same_site_as_one_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large build is rendered by forked workers writing straight into the staging folder
    (digest/build.py, `_render_all`); the example is too small for them, so here they start
    from 16 files. Every file must be there, with the bytes one process makes, in a cold
    build and in a rebuild that changes every page: a page a worker failed to write would
    otherwise vanish from the site without an error."""
    from digest.build import build

    root = example_project(tmp_path / "site")
    config = load_config(root / "digest.toml")
    alone = build(config, output=tmp_path / "alone", jobs=1)
    _renderers(monkeypatch, tmp_path / "pids")
    shared = build(config, output=tmp_path / "shared", jobs=2)
    assert len(list((tmp_path / "pids").iterdir())) == 2  # this process and a worker
    assert shared.rendered == alone.rendered > 200
    one, two = _tree(tmp_path / "alone"), _tree(tmp_path / "shared")
    assert sorted(one) == sorted(two)
    assert [p for p in one if one[p] != two[p]] == []
    _recorded_as_written(config, tmp_path / "shared")

    toml = (root / "digest.toml").read_text(encoding="utf-8")
    (root / "digest.toml").write_text(toml.replace('title = "', 'title = "The ', 1),
                                      encoding="utf-8")
    config = load_config(root / "digest.toml")
    again = build(config, output=tmp_path / "shared", jobs=2)
    assert again.written > 200  # every page shows the title: staged file by file
    _recorded_as_written(config, tmp_path / "shared")
    monkeypatch.undo()
    build(config, output=tmp_path / "clean", jobs=1)
    assert _tree(tmp_path / "shared") == _tree(tmp_path / "clean") != two


def test_a_first_build_makes_its_output_folder_as_mkdir_would(tmp_path: Path) -> None:
    """output/ made by a first build is readable as any folder the user makes (its mode
    from the umask), not private to its owner as a temporary folder is: a web server or a
    deploy running as someone else must read it."""
    from digest.build import build

    root = example_project(tmp_path / "site")
    build(load_config(root / "digest.toml"), output=tmp_path / "out", jobs=1)
    (tmp_path / "made-by-hand").mkdir()
    mode = (tmp_path / "made-by-hand").stat().st_mode & 0o777
    assert (tmp_path / "out").stat().st_mode & 0o777 == mode
    assert (tmp_path / "out" / "items").stat().st_mode & 0o777 == mode


def _recorded_as_written(config: Any, output: Path) -> None:
    """The manifest holds each file's size and mtime as output/ holds it (the writers report
    them as they write: a wrong one would make the next build take a file for someone
    else's), so that a build right after does nothing."""
    from digest.build import build
    from digest.incremental.manifest import Manifest
    from digest.incremental.paths import CachePaths

    manifest = Manifest.read(CachePaths.of(config.state_dir).manifest(output.resolve()))
    found = {p.relative_to(output).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
             for p in output.rglob("*") if p.is_file()}
    assert {p: (e.size, e.mtime_ns) for p, e in manifest.files.items()} == found
    again = build(config, output=output, jobs=2)
    assert (again.written, again.rendered) == (0, 0)


def test_a_page_a_worker_did_not_render_fails_the_build_and_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import digest.build
    from digest.build import build

    root = example_project(tmp_path / "site")
    config = load_config(root / "digest.toml")
    build(config, jobs=1)
    before = _tree(root / "output")
    parent, real = os.getpid(), digest.build._render_paths

    def loses_one(made: Any, folder: Path, by_path: Any, paths: list[str], folders: Any
                  ) -> Any:
        done = real(made, folder, by_path, paths, folders)
        return done[1:] if os.getpid() != parent else done  # a worker's bug

    monkeypatch.setattr(digest.build, "_render_paths", loses_one)
    monkeypatch.setattr(digest.build, "PARALLEL_FROM", 16)
    (root / "digest.toml").write_text((root / "digest.toml").read_text(encoding="utf-8")
                                      .replace('title = "', 'title = "The ', 1), encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"rendered \d+ of 64 files"):
        build(load_config(root / "digest.toml"), jobs=2)
    assert _tree(root / "output") == before
