#!/usr/bin/env python3
"""Benchmark `digest build` and `digest serve` against Hugo and Pelican on the same items.

For each size (default 1,000 and 10,000 items of the shared corpus, seed 42) and each
variant of the items:
  - HTML ("feed items as ingested"): digest fetches the ~40 per-source Atom files of the
    corpus (`digest fetch`, timed but not part of the build), Pelican reads the same items as
    `.html` files with <meta> tags, Hugo as `.html` content files with front matter;
  - Markdown ("hand-written"): the corpus's Markdown items, as digest content files, as
    Pelican's `pelican/content/*.md` and as Hugo `.md` content files;
it prints, side by side (medians of --repeat runs): for digest the first build of a fresh
clone (everything under .digest/ but FIRST_KEEP removed); the cold build (the output and
the build's caches removed, what `digest fetch` derived from each item kept: COLD_KEEP);
the no-op rebuild; the rebuild after appending a sentence to one item; the peak memory of
the whole process tree; the HTML pages written; digest with the search index on; and for
digest the time from saving an item (a new title) to the `data:` event of `digest serve`
that announces the rebuild (median of --saves saves, at each size and on the bundled
example). Then the ratios digest/Hugo and digest/Pelican, every goal of issue 18's "Done
when" with its figure and pass/FAIL, the before/after ratios when several --digest-src are
given, and the machine and versions.

Usage: python bench/site_bench.py [--sizes 1000 10000] [--repeat 3] [--saves 5]
           [--variants HTML Markdown] [--no-serve] [--full-up-to 10000]
           [--digest-src [LABEL=]DIR ...] [--cold-keep PATH ...] [--workdir bench/.work]
           [--generator ../shared/bench/make_corpus.py]

  --sizes N ...        corpus sizes (10000 50000 gives the 50k/10k ratio of the goals)
  --repeat N           runs of each build figure (medians printed)
  --saves N            saves per `digest serve` run (median printed)
  --variants V ...     HTML and/or Markdown (default both)
  --no-serve           skip the save-to-reload latency (at every size and on the example)
  --full-up-to N       sizes above N build digest only (search off, no peers, no serve)
  --digest-src [LABEL=]DIR
                       run digest from this source tree (holding digest/ and themes/, e.g.
                       `git archive HEAD digest themes | tar -x -C DIR`) instead of the
                       installed one; give it twice or more (base=DIR1 new=DIR2) to measure
                       each in the same run, with after/before ratios against the first
  --cold-keep PATH ... what a cold build keeps of .digest/ (default COLD_KEEP below)
  --workdir DIR        scratch folder (default bench/.work, git-ignored)
  --generator PATH     the shared corpus generator (default ../shared/bench/make_corpus.py)

Needs ../shared/bench/make_corpus.py. Hugo is taken from PATH (`apt-get install hugo`);
Pelican from its own venv, <workdir>/peers-venv, created on first use. A missing peer's
rows are skipped with a message. Everything is written under the workdir. Every size is
prepared (corpus, projects, digest fetch) before anything is timed, so that a problem shows
in minutes, not after an hour of builds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT.parent / "shared" / "bench" / "make_corpus.py"
HUGO_LAYOUTS = ROOT / "bench" / "hugo-layouts"
SEED = 42
SENTENCE = "One more sentence, appended by the benchmark."
EVENTS = "/__digest__/events"
ATOM = "{http://www.w3.org/2005/Atom}"
MARKDOWN, HTML = "Markdown", "HTML"
DIGEST, DIGEST_SEARCH, HUGO, PELICAN = "digest", "digest + search", "Hugo", "Pelican"

# What digest's builds start from, as paths relative to the project. Everything else under
# .digest/ is removed first, and output/ always is (a kept folder's parents stay, the rest of
# their content goes). A cold build keeps what `digest fetch` derived from each item (the
# item store: adjust this one line, or pass --cold-keep, to where it lives); a first build
# is a fresh clone's, which holds only what git holds.
COLD_KEEP = (".digest/state.json", ".digest/items")
FIRST_KEEP = (".digest/state.json",)
# Hugo's cold build: public/ and resources/ removed (its --cacheDir is kept, as on a machine
# that has built a Hugo site before); Pelican's: output/ and its content cache.

# Issue 18's "Done when": the size its goals are set for, and the larger size whose cold
# (LARGE_FACTOR times the items) may take at most LARGE_RATIO times as long. Without a
# GOAL_SIZE run, the smallest size measured stands in (`--sizes 200 1000`: a quick look).
GOAL_SIZE, LARGE_FACTOR, LARGE_RATIO = 10_000, 5, 5.5
MB = 2**20


def say(message: str) -> None:
    """Progress, on stderr: stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


def child_env(digest_src: Path | None = None) -> dict[str, str]:
    """As installed for users: with bytecode caches (this sandbox sets
    PYTHONDONTWRITEBYTECODE); digest imported from `digest_src` when given."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if digest_src is not None:
        env["PYTHONPATH"] = str(digest_src)
    return env


# ---------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Item:
    """One generated item, as every generator gets it."""

    number: str  # the corpus's serial number, "00318"
    slug: str
    title: str  # numbered: see numbered()
    date: str  # "2024-12-26T22:52:28Z"
    source: str  # the source's name, "Byte Harbor"
    source_slug: str  # its feed file's name, "byte-harbor"
    topics: tuple[str, ...]
    tags: tuple[str, ...]
    link: str
    summary: str
    markdown: str
    html: str


def numbered(title: str, number: str) -> str:
    """The title with the item's number. The corpus draws titles from 7,500 combinations, so
    many repeat; digest folds items with the same title into one story (by design), the peers
    do not. Numbered titles give every generator the same distinct items."""
    return f"{title} #{number}"


def corpus(size: int, workdir: Path, generator: Path = GENERATOR) -> Path:
    """The corpus of `size` items (seed 42), generated once and reused."""
    folder = workdir / f"corpus-{size}-s{SEED}"
    manifest = folder / "manifest.json"
    if manifest.is_file():
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if meta.get("n") == size and meta.get("seed") == SEED:
            say(f"corpus of {size} items: reusing {folder}")
            return folder
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, str(generator), str(size), str(folder), "--seed", str(SEED)],
                   check=True, stdout=subprocess.DEVNULL)
    say(f"corpus of {size} items: generated in {time.perf_counter() - start:.1f} s")
    return folder


def read_items(folder: Path) -> list[Item]:
    """The items of a corpus: metadata and Markdown from digest/content/items, HTML bodies and
    source slugs from feeds/sources-atom (the same items in both)."""
    html: dict[str, str] = {}
    slugs: dict[str, str] = {}
    for path in sorted((folder / "feeds" / "sources-atom").glob("*.xml")):
        feed = ET.parse(path).getroot()
        slugs[feed.findtext(f"{ATOM}title") or ""] = path.stem
        for entry in feed.iter(f"{ATOM}entry"):
            link = entry.find(f"{ATOM}link")
            assert link is not None
            html[link.get("href", "")] = entry.findtext(f"{ATOM}content") or ""
    items = []
    for path in sorted((folder / "digest" / "content" / "items").glob("*.md")):
        _, head, body = path.read_text(encoding="utf-8").split("---\n", 2)
        meta = {}
        for line in head.splitlines():
            key, _, value = line.partition(": ")
            meta[key] = value if key == "date" else json.loads(value)
        number = meta["slug"][-5:]
        items.append(Item(number, meta["slug"], numbered(meta["title"], number), meta["date"],
                          meta["source"], slugs[meta["source"]], tuple(meta["topics"]),
                          tuple(meta["tags"]), meta["link"], meta["summary"], body,
                          html[meta["link"]]))
    items.sort(key=lambda it: it.number)
    return items


def topics_of(items: list[Item]) -> list[str]:
    return sorted({t for it in items for t in it.topics})


def sources_of(items: list[Item]) -> dict[str, str]:
    """Source slug -> name."""
    return dict(sorted({(it.source_slug, it.source) for it in items}))


# ---------------------------------------------------------------- the projects


@dataclass
class Project:
    """One generator's site for one variant and size, and how to build it."""

    generator: str
    variant: str
    size: int
    root: Path
    command: list[str]
    output: Path
    caches: list[Path]  # removed, with the output, before a cold build
    edit_file: Path  # the item the one-item edit changes
    html_body: bool  # whether that item's body is HTML (the appended sentence is a <p>)
    env: dict[str, str] = field(default_factory=child_env)
    src: str = ""  # digest: the label of its source tree ("" when only one is measured)
    cold_keep: tuple[str, ...] | None = None  # digest: what a cold build keeps (COLD_KEEP)

    @property
    def name(self) -> str:
        return label(self.generator, self.src)


def label(generator: str, src: str) -> str:
    return f"{generator} [{src}]" if src else generator


@dataclass(frozen=True)
class Source:
    """One digest to measure: how it runs and its label in the report ("" when alone)."""

    label: str
    env: dict[str, str]
    tree: Path | None  # the --digest-src tree, None for the installed digest


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def q(text: str) -> str:
    """A double-quoted YAML (or TOML basic) string."""
    return json.dumps(text, ensure_ascii=False)


def yaml_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(q(v) for v in values) + "]"


def digest_toml(items: list[Item], local_feeds: bool, search: bool) -> str:
    """A digest.toml: the corpus's sources as feeds (every item published: select = "all"),
    its topics, and no search index unless `search`.

    Topics are assigned as for fetched items: each topic's `tags` name its slug, so an item
    whose feed categories include it gets it, and fetched items get exactly their corpus
    topics. Items that name their topics in front matter (the Markdown variant) keep
    those."""
    lines = ["# Written by bench/site_bench.py", "[site]", 'title = "Bench digest"',
             'base_url = "https://example.org/"', 'language = "en"', 'timezone = "UTC"',
             "page_size = 20", f"search = {'true' if search else 'false'}", ""]
    for slug, name in sources_of(items).items():
        home = f"https://{slug}.example.com/"
        url = f"feeds/sources-atom/{slug}.xml" if local_feeds else home + "feed.atom"
        lines += ["[[feeds]]", f"slug = {q(slug)}", f"title = {q(name)}", f"url = {q(url)}",
                  f"homepage = {q(home)}", 'select = "all"', ""]
    for topic in topics_of(items):
        lines += ["[[topics]]", f"slug = {q(topic)}", f"title = {q(topic)}",
                  f"tags = [{q(topic)}]", ""]
    return "\n".join(lines)


def digest_projects(items: list[Item], folder: Path, size: int, variant: str,
                    source: Source, keep: tuple[str, ...], search: bool) -> list[Project]:
    """digest, search off (the comparison) and, if `search`, search on (its cost: the same
    project with digest-search.toml, so it has its own rows)."""
    target = folder / "output"
    edit = find_item_file(folder / "content" / "items", items[len(items) // 2])
    build = [sys.executable, "-m", "digest", "--quiet"]
    html = variant == HTML
    projects = [Project(DIGEST, variant, size, folder, [*build, "build"], target, [], edit,
                        html, source.env, source.label, keep)]
    if search:
        write(folder / "digest-search.toml", digest_toml(items, html, search=True))
        projects.append(Project(DIGEST_SEARCH, variant, size, folder,
                                [*build, "--config", "digest-search.toml", "build"], target,
                                [], edit, html, source.env, source.label, keep))
    return projects


def find_item_file(folder: Path, item: Item) -> Path:
    """The content file of `item` (fetch names files after titles and ids: find its link)."""
    for path in sorted(folder.rglob("*.md")):
        if item.link in path.read_text(encoding="utf-8"):
            return path
    raise SystemExit(f"no content file under {folder} has the link {item.link}")


def prepare_digest_markdown(items: list[Item], folder: Path, size: int, source: Source,
                            keep: tuple[str, ...], search: bool) -> list[Project]:
    """The items as hand-written digest content files: Markdown bodies, digest's keys."""
    write(folder / "digest.toml", digest_toml(items, False, search=False))
    for it in items:
        published = it.date.replace("Z", "+00:00")
        text = "\n".join([
            "---", f"id: {q(it.slug)}", f"title: {q(it.title)}", f"link: {q(it.link)}",
            f"source: {q(it.source_slug)}", f"published: {q(published)}",
            f"topics: {yaml_list(it.topics)}", f"tags: {yaml_list(it.tags)}", "---", "",
        ]) + it.markdown
        write(folder / "content" / "items" / it.date[:4] / it.date[5:7] / f"{it.slug}.md", text)
    return digest_projects(items, folder, size, MARKDOWN, source, keep, search)


def prepare_digest_html(items: list[Item], corpus_dir: Path, folder: Path, size: int,
                        source: Source, keep: tuple[str, ...], search: bool) -> list[Project]:
    """The corpus's per-source Atom files (titles numbered) as local feeds, fetched once."""
    title = re.compile(r'<title>(.*?)</title>\n(<link href="[^"]*-(\d{5})")')
    for path in sorted((corpus_dir / "feeds" / "sources-atom").glob("*.xml")):
        text = title.sub(lambda m: f"<title>{numbered(m[1], m[3])}</title>\n{m[2]}",
                         path.read_text(encoding="utf-8"))
        write(folder / "feeds" / "sources-atom" / path.name, text)
    write(folder / "digest.toml", digest_toml(items, True, search=False))
    command = [sys.executable, "-m", "digest", "--quiet", "fetch"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=source.env, capture_output=True,
                          text=True)
    took = time.perf_counter() - start
    fetched = sum(1 for _ in (folder / "content" / "items").rglob("*.md"))
    if done.returncode != 0 or fetched != len(items):
        raise SystemExit(f"`{' '.join(command[1:])}` in {folder} exited {done.returncode}, "
                         f"{fetched} of {len(items)} items stored:\n{done.stdout}{done.stderr}")
    say(f"  {label(DIGEST, source.label)} fetch of {len(items)} items from "
        f"{len(sources_of(items))} Atom files: {took:.1f} s (not part of the build)")
    return digest_projects(items, folder, size, HTML, source, keep, search)


def pelican_conf() -> str:
    return "\n".join([
        "# Written by bench/site_bench.py: the default theme, content caching on.",
        'SITENAME = "Bench"', 'SITEURL = "https://example.org"', 'PATH = "content"',
        'TIMEZONE = "UTC"', 'DEFAULT_LANG = "en"',
        "DEFAULT_PAGINATION = 20  # as digest's page_size",
        "FEED_MAX_ITEMS = 50  # as digest's feeds",
        "LOAD_CONTENT_CACHE = True", "CACHE_CONTENT = True", 'CACHE_PATH = "cache"', "",
    ])


def pelican_project(folder: Path, size: int, variant: str, pelican: Path, edit: Path
                    ) -> Project:
    write(folder / "pelicanconf.py", pelican_conf())
    command = [str(pelican), "content", "-s", "pelicanconf.py", "-o", "output", "-q"]
    return Project(PELICAN, variant, size, folder, command, folder / "output",
                   [folder / "cache", folder / "__pycache__"], edit, variant == HTML)


def prepare_pelican_markdown(items: list[Item], corpus_dir: Path, folder: Path, size: int,
                             pelican: Path) -> Project:
    """The corpus's pelican/content/*.md, with numbered titles."""
    for it in items:
        text = (corpus_dir / "pelican" / "content" / f"{it.slug}.md").read_text(encoding="utf-8")
        head, rest = text.split("\n", 1)
        assert head.startswith("Title: ")
        write(folder / "content" / f"{it.slug}.md", f"Title: {it.title}\n{rest}")
    edit = folder / "content" / f"{items[len(items) // 2].slug}.md"
    return pelican_project(folder, size, MARKDOWN, pelican, edit)


def prepare_pelican_html(items: list[Item], folder: Path, size: int, pelican: Path) -> Project:
    """The items as Pelican HTML files: <title> and <meta> tags, the feed's HTML body."""
    def attr(text: str) -> str:
        return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")

    for it in items:
        metas = {"date": it.date[:10] + " " + it.date[11:16], "category": it.topics[0],
                 "tags": ", ".join(it.topics + it.tags), "slug": it.slug,
                 "summary": it.summary, "source": it.source, "link": it.link}
        head = "\n".join(f'<meta name="{k}" content="{attr(v)}">' for k, v in metas.items())
        write(folder / "content" / f"{it.slug}.html",
              f"<html>\n<head>\n<title>{attr(it.title)}</title>\n{head}\n</head>\n<body>\n"
              f"{it.html}\n</body>\n</html>\n")
    edit = folder / "content" / f"{items[len(items) // 2].slug}.html"
    return pelican_project(folder, size, HTML, pelican, edit)


def prepare_hugo(items: list[Item], folder: Path, size: int, variant: str, hugo: str
                 ) -> Project:
    """The items as Hugo content files (.md or .html) at the content root, with the small
    layouts of bench/hugo-layouts: taxonomies topics, sources and tags, 20 per list page."""
    write(folder / "config.toml", "\n".join([
        "# Written by bench/site_bench.py", 'baseURL = "https://example.org/"',
        'title = "Bench"', 'languageCode = "en"', "paginate = 20  # as digest's page_size",
        "rssLimit = 50  # as digest's feeds", "[taxonomies]", 'topic = "topics"',
        'source = "sources"', 'tag = "tags"', ""]))
    shutil.copytree(HUGO_LAYOUTS, folder / "layouts")
    suffix = ".md" if variant == MARKDOWN else ".html"
    for it in items:
        front = "\n".join(["---", f"title: {q(it.title)}", f"date: {it.date}",
                           f"summary: {q(it.summary)}", f"topics: {yaml_list(it.topics)}",
                           f"sources: {yaml_list((it.source,))}", f"tags: {yaml_list(it.tags)}",
                           "---", ""])
        body = it.markdown if variant == MARKDOWN else it.html + "\n"
        write(folder / "content" / f"{it.slug}{suffix}", front + body)
    command = [hugo, "--quiet", "--cacheDir", str(folder / ".hugo-cache")]
    return Project(HUGO, variant, size, folder, command, folder / "public",
                   [folder / "resources", folder / ".hugo_build.lock"],
                   folder / "content" / f"{items[len(items) // 2].slug}{suffix}",
                   variant == HTML)


@dataclass(frozen=True)
class Tools:
    hugo: str | None
    pelican: Path | None
    sources: list[Source]  # the digests measured (--digest-src), the first is the "before"
    cold_keep: tuple[str, ...]  # COLD_KEEP or --cold-keep
    generator: Path  # make_corpus.py


def prepare(size: int, workdir: Path, tools: Tools, variants: list[str], full: bool
            ) -> list[Project]:
    """Every project of one size, written afresh (the corpus is reused). Not `full`: digest
    only, search off."""
    corpus_dir = corpus(size, workdir, tools.generator)
    items = read_items(corpus_dir)
    assert len(items) == size, f"{corpus_dir} holds {len(items)} items, not {size}"
    base = workdir / "site-bench" / f"n{size}"
    remove(base)
    projects: list[Project] = []
    start = time.perf_counter()
    for variant in (v for v in (MARKDOWN, HTML) if v in variants):
        folder = base / variant.lower()
        for source in tools.sources:
            where = folder / ("digest-" + slug(source.label) if source.label else "digest")
            if variant == MARKDOWN:
                projects += prepare_digest_markdown(items, where, size, source,
                                                    tools.cold_keep, full)
            else:
                projects += prepare_digest_html(items, corpus_dir, where, size, source,
                                                tools.cold_keep, full)
        if not full:
            continue
        if tools.hugo:
            projects.append(prepare_hugo(items, folder / "hugo", size, variant, tools.hugo))
        if tools.pelican and variant == MARKDOWN:
            projects.append(prepare_pelican_markdown(items, corpus_dir, folder / "pelican",
                                                     size, tools.pelican))
        elif tools.pelican:
            projects.append(prepare_pelican_html(items, folder / "pelican", size,
                                                 tools.pelican))
    say(f"  {size} items prepared for {len(projects)} projects in "
        f"{time.perf_counter() - start:.1f} s (with the fetch)")
    return projects


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "src"


# ---------------------------------------------------------------- the peers


def find_hugo() -> str | None:
    hugo = shutil.which("hugo")
    if hugo is None:
        say("Hugo: not found on PATH (install it: apt-get install -y hugo); its rows are "
            "skipped")
    return hugo


def find_pelican(workdir: Path) -> Path | None:
    """Pelican in its own venv (its pins never touch digest's environment), made if missing."""
    venv = workdir / "peers-venv"
    pelican = venv / "bin" / "pelican"
    if pelican.is_file():
        return pelican
    say(f"Pelican: creating its venv: {sys.executable} -m venv {venv} && "
        f"{venv}/bin/pip install 'pelican[markdown]'")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "pelican[markdown]"],
                       check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        say(f"Pelican: could not be installed ({exc}); its rows are skipped")
        shutil.rmtree(venv, ignore_errors=True)
        return None
    return pelican


def version(command: list[str], env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env,
                              cwd="/")  # not beside a digest/ folder: `python -c` imports it
    except OSError:
        return "not installed"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 \
        else "unknown"


def machine(tools: Tools, load_at_start: float) -> list[str]:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(),
                       re.MULTILINE)
    ram = f", {int(memory.group(1)) / 2**20:.0f} GB RAM" if memory else ""
    end = os.getloadavg()[0]
    lines = [f"machine: {os.cpu_count()} cores, {model}{ram}, Python "
             f"{platform.python_version()}, {platform.system()} {platform.release()}; "
             f"load average {load_at_start:.1f} at the start, {end:.1f} at the end"
             + (" (above the cores: other work shared the machine)"
                if max(load_at_start, end) > (os.cpu_count() or 1) else "")]
    for source in tools.sources:
        where = version([sys.executable, "-c", "import digest, pathlib; print(digest.__version__"
                         ", pathlib.Path(digest.__file__).resolve().parent.parent)"],
                        source.env)
        number, _, tree = where.partition(" ")
        lines.append(f"{label(DIGEST, source.label)}: {number} from {tree or '?'}, "
                     f"{commit_of(Path(tree)) if tree else 'not importable'}")
    lines += [
        "Hugo: " + (version([tools.hugo, "version"]) if tools.hugo else "not installed"),
        "Pelican: " + (version([str(tools.pelican), "--version"]) if tools.pelican
                       else "not installed"),
        f"digest's cold build keeps {', '.join(tools.cold_keep)}; its first build keeps "
        f"{', '.join(FIRST_KEEP)}",
    ]
    return lines


def commit_of(tree: Path) -> str:
    """The commit a source tree is at, and whether digest/ or themes/ differ from it."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(tree), *args], capture_output=True,
                                  text=True, timeout=60)
        except OSError:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    head = git("log", "-1", "--format=commit %h (%cs) %s")
    if head and len(head) > 90:
        head = head[:89] + "…"
    if head is None:
        return ("not a git checkout (a git archive: name its commit in the label, "
                "--digest-src COMMIT=DIR)")
    changed = git("status", "--porcelain", "--", "digest", "themes")
    return head + (" + uncommitted changes in digest/ or themes/" if changed else "")


# ---------------------------------------------------------------- measuring builds


def tree_rss(pid: int) -> int:
    """Memory of a process and all its descendants, in bytes: the sum of their proportional
    set sizes (PSS), so that pages forked workers share with their parent count once, as
    they do in RAM (summing RSS would count them once per process)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            status = Path(f"/proc/{p}/smaps_rollup").read_text()
            found = re.search(r"^Pss:\s+(\d+) kB", status, re.MULTILINE)
            total += int(found.group(1)) * 1024 if found else 0
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


class BuildFailed(Exception):
    pass


# Reading a process's memory (smaps_rollup) walks its page tables under the lock its page
# faults take: polled every 50 ms it made digest's 10,000-item cold build 0.4 s (10%)
# slower. So each figure is measured twice: timed with nothing watching, then run again,
# watched for its peak memory, its time not counted (`measure`).
WATCH = 0.05  # seconds between two readings of the process tree's memory


def timed(command: list[str], cwd: Path, env: dict[str, str], watch: bool = False
          ) -> tuple[float, int]:
    """Wall time of one command, and with `watch` its peak tree memory (else 0);
    BuildFailed if it fails. What earlier commands wrote is flushed to disk first, untimed
    (`sync`): else a build pays for the writing-back of the site the command before it
    wrote (290 MB for digest's first build at 10,000 items, 887 MB for Hugo's), and which
    generator pays depends on who runs next."""
    os.sync()
    log = cwd / ".bench-build.log"
    with log.open("w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak = [0]

        def poll() -> None:
            while proc.poll() is None:
                peak[0] = max(peak[0], tree_rss(proc.pid))
                time.sleep(WATCH)

        poller = threading.Thread(target=poll, daemon=True)
        if watch:
            poller.start()
        proc.wait()
        wall = time.perf_counter() - start
        if watch:
            poller.join()
    if proc.returncode != 0:
        raise BuildFailed(f"`{' '.join(command)}` in {cwd} exited {proc.returncode}:\n  "
                          + "\n  ".join(last_lines(log)))
    return wall, peak[0]


def html_pages(folder: Path) -> int:
    return sum(name.endswith(".html") for _, _, names in os.walk(folder) for name in names)


def with_sentence(text: str, html: bool) -> str:
    if not html:
        return text.rstrip("\n") + f"\n\n{SENTENCE}\n"
    if "</body>" in text:
        return text.replace("</body>", f"<p>{SENTENCE}</p>\n</body>", 1)
    return text.rstrip("\n") + f"\n<p>{SENTENCE}</p>\n"


@dataclass
class Row:
    generator: str
    variant: str
    size: int
    src: str = ""
    pages: int | None = None
    first: list[float] = field(default_factory=list)  # digest only
    cold: list[float] = field(default_factory=list)
    noop: list[float] = field(default_factory=list)
    edit: list[float] = field(default_factory=list)
    peak: list[int] = field(default_factory=list)
    reload: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return label(self.generator, self.src)


# Where removed folders go until the run ends (set by main): deleting a built site (12,000
# files at 10,000 items, 60,000 at 50,000) leaves the file system work to finish for
# seconds after (on the machines these figures come from, with ext4 mounted `discard`, the
# next build's mkdirs and creates paid for it, up to twice its time). A folder is renamed
# away at once instead, and the trash emptied after every figure is taken.
TRASH: Path | None = None


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        if TRASH is None:
            shutil.rmtree(path)
            return
        TRASH.mkdir(parents=True, exist_ok=True)
        path.rename(Path(tempfile.mkdtemp(dir=TRASH)) / path.name)
    elif path.exists() or path.is_symlink():
        path.unlink()


def prune(root: Path, folder: Path, keep: tuple[str, ...]) -> None:
    """Remove everything under `folder` but the paths `keep` names (relative to `root`)."""
    if not folder.is_dir():
        return
    for child in sorted(folder.iterdir()):
        rel = child.relative_to(root).as_posix()
        if rel in keep:
            continue
        if child.is_dir() and any(k.startswith(rel + "/") for k in keep):
            prune(root, child, keep)
        else:
            remove(child)


def clean(project: Project, keep: tuple[str, ...] | None = None) -> None:
    """Before a cold build: the output and the caches removed; for digest, everything under
    .digest/ but `keep` (by default the project's cold_keep)."""
    for path in [project.output, *project.caches]:
        remove(path)
    keep = project.cold_keep if keep is None else keep
    if keep is not None:
        prune(project.root, project.root / ".digest", keep)


def first_build(project: Project, watch: bool) -> tuple[float, int]:
    """digest's build in a fresh clone (only FIRST_KEEP under .digest/). What the cold
    builds keep (an item store `digest fetch` filled) is set aside during it and put back
    after, so that they find it as fetch left it; what was not there before is left as the
    first build wrote it."""
    assert project.cold_keep is not None
    aside = project.root.parent / f".bench-aside-{project.root.name}"
    remove(aside)
    moved = []
    for rel in project.cold_keep:
        if rel not in FIRST_KEEP and (project.root / rel).exists():
            (aside / rel).parent.mkdir(parents=True, exist_ok=True)
            (project.root / rel).rename(aside / rel)
            moved.append(rel)
    try:
        clean(project, FIRST_KEEP)
        return timed(project.command, project.root, project.env, watch)
    finally:
        for rel in moved:
            remove(project.root / rel)
            (project.root / rel).parent.mkdir(parents=True, exist_ok=True)
            (aside / rel).rename(project.root / rel)
        remove(aside)


def one_pass(project: Project, original: str, watch: bool
             ) -> tuple[float | None, float, float, float, int, int]:
    """First build (digest only, else None), cold build, no-op rebuild, one-item edit:
    their times, with `watch` the largest of their peaks, and the HTML pages built."""
    first, peaks = None, [0]
    try:
        if project.cold_keep is not None:
            first, peak = first_build(project, watch)
            peaks.append(peak)
        clean(project)
        cold, peak = timed(project.command, project.root, project.env, watch)
        peaks.append(peak)
        pages = html_pages(project.output)
        noop, peak = timed(project.command, project.root, project.env, watch)
        peaks.append(peak)
        project.edit_file.write_text(with_sentence(original, project.html_body),
                                     encoding="utf-8")
        edit, peak = timed(project.command, project.root, project.env, watch)
        peaks.append(peak)
    finally:
        project.edit_file.write_text(original, encoding="utf-8")
    return first, cold, noop, edit, max(peaks), pages


def measure(project: Project, repeat: int) -> Row:
    """First build (digest), cold build, no-op rebuild and one-item edit: timed `repeat`
    times with nothing watching, then once more watched for their peak memory (WATCH)."""
    row = Row(project.generator, project.variant, project.size, project.src)
    original = project.edit_file.read_text(encoding="utf-8")
    for n in range(repeat + 1):
        watch = n == repeat
        try:
            first, cold, noop, edit, peak, row.pages = one_pass(project, original, watch)
        except BuildFailed as exc:
            row.failed.append(str(exc))
            say(f"  FAILED: {exc}")
            break
        if watch:
            row.peak.append(peak)
            continue
        if first is not None:
            row.first.append(first)
        row.cold.append(cold)
        row.noop.append(noop)
        row.edit.append(edit)
    if row.cold:
        first_s = f"first {statistics.median(row.first):6.2f} s, " if row.first else ""
        say(f"  {project.name:15} {project.variant:8} {project.size:6} items: {first_s}"
            f"cold {statistics.median(row.cold):6.2f} s, no-op "
            f"{statistics.median(row.noop):6.2f} s, edit {statistics.median(row.edit):6.2f} s, "
            f"peak {statistics.median(row.peak) / MB if row.peak else 0:.0f} MB, "
            f"{row.pages} pages")
    return row


# ---------------------------------------------------------------- measuring digest serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Events:
    """The Server-Sent Events of `digest serve`: (arrival time, build number) pairs."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(f"GET {EVENTS} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                          "Accept: text/event-stream\r\n\r\n".encode())
        self.arrived: list[tuple[float, int]] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        with self.sock.makefile("rb") as stream:
            for line in stream:
                if line.startswith(b"data:"):
                    with self.cond:
                        self.arrived.append((time.perf_counter(), int(line[5:].strip())))
                        self.cond.notify_all()

    def after(self, count: int, timeout: float) -> tuple[float, int]:
        """The event after the first `count` ones, waiting for it."""
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.arrived) > count, timeout):
                raise TimeoutError(f"no rebuild announced within {timeout:.0f} s")
            return self.arrived[count]

    def close(self) -> None:
        self.sock.close()


def connect(port: int, proc: subprocess.Popen[bytes], timeout: float) -> Events:
    """Events, once the server listens (after its initial build)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"digest serve exited {proc.returncode} before listening")
        try:
            return Events(port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def retitled(text: str, title: str) -> str:
    """A content file with another title (the front matter's `title:` entry replaced)."""
    lines = text.split("\n")
    end = lines.index("---", 1)
    for i in range(1, end):
        if lines[i].startswith("title:"):
            j = i + 1
            while j < end and lines[j].startswith((" ", "\t")):
                j += 1
            return "\n".join([*lines[:i], f"title: {q(title)}", *lines[j:]])
    raise ValueError("no title in the front matter")


def page_status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def tree_cpu(pid: int) -> float:
    """CPU seconds used by a process and its descendants, those it has waited for included
    (a Pagefind run counts once it is over, and while it runs)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def wait_quiet(pid: int, timeout: float = 900.0, window: float = 1.0, busy: float = 0.05
               ) -> bool:
    """Wait until `digest serve` is idle: less than `busy` of a core used over `window`
    seconds (its build, and the search index it makes after it in the background, done).
    False if it never is within `timeout`."""
    deadline = time.monotonic() + timeout
    before = tree_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = tree_cpu(pid)
        if now - before < busy * window:
            return True
        before = now
    return False


def serve_latency(root: Path, edit_file: Path, saves: int, env: dict[str, str]
                  ) -> tuple[list[float], list[str]]:
    """Seconds from each save (a new title) to the `data:` event announcing the rebuild;
    and the problems seen (a failed rebuild shows an error page). The first save waits for
    serve's first build (the port opens after it) and, like every later save, for serve to
    be idle: each save is timed against a preview at rest, its search index made."""
    base = tomllib.loads((root / "digest.toml").read_text(encoding="utf-8"))["site"]["base_url"]
    home = urlsplit(base).path or "/"
    port = free_port()
    original = edit_file.read_text(encoding="utf-8")
    log = root / ".bench-serve.log"
    problems: list[str] = []
    latencies: list[float] = []
    command = [sys.executable, "-m", "digest", "serve", "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=root, stdout=out, stderr=subprocess.STDOUT,
                                env=env)
    try:
        events = connect(port, proc, timeout=1800)
        events.after(0, timeout=60)  # the build number on connect: the initial build is done
        for n in range(saves):
            if not wait_quiet(proc.pid):
                problems.append(f"save {n + 1}: digest serve still busy after 900 s")
            seen = len(events.arrived)
            start = time.perf_counter()
            edit_file.write_text(retitled(original, f"Edited by the benchmark, save {n + 1}"),
                                 encoding="utf-8")
            arrived, _ = events.after(seen, timeout=1800)
            latencies.append(arrived - start)
            if (status := page_status(port, home)) != 200:
                problems.append(f"save {n + 1}: {home} answers {status} after the rebuild")
        events.close()
    except (OSError, RuntimeError, TimeoutError) as exc:
        problems.append(f"{exc}")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        edit_file.write_text(original, encoding="utf-8")
    if problems:
        problems.append(f"`{' '.join(command)}` in {root}, its last lines:\n  "
                        + "\n  ".join(last_lines(log)))
    return latencies, problems


def example_project(workdir: Path, src: str) -> Path:
    """The bundled example of this checkout (the same for every --digest-src), copied:
    content, feeds, config, fetch state."""
    folder = workdir / "site-bench" / ("example-" + slug(src) if src else "example")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copy2(ROOT / "digest.toml", folder / "digest.toml")
    for name in ("content", "feeds"):
        shutil.copytree(ROOT / name, folder / name)
    state = ROOT / ".digest" / "state.json"
    if state.is_file():
        (folder / ".digest").mkdir()
        shutil.copy2(state, folder / ".digest" / "state.json")
    return folder


# ---------------------------------------------------------------- the report


def med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def cell(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def ms(row: Row | None) -> float | None:
    """The median save-to-reload latency of a row, in ms."""
    reload = med(row.reload) if row else None
    return None if reload is None else reload * 1000


def peak_mb(row: Row | None) -> float | None:
    peak = med([float(p) for p in row.peak]) if row else None
    return None if peak is None else peak / MB


def table(rows: list[Row], examples: list[Row]) -> Iterator[str]:
    yield ("| items | variant | generator | HTML pages | first build s | cold build s | "
           "no-op rebuild s | one-item edit s | peak MB | save → reload ms |")
    yield "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"
    for r in rows:
        if r.failed and not r.cold:
            yield f"| {r.size:,} | {r.variant} | {r.name} | failed (see below) ||||||| "
            continue
        yield (f"| {r.size:,} | {r.variant} | {r.name} | {r.pages or 0:,} | "
               f"{cell(med(r.first), '.2f')} | {cell(med(r.cold), '.2f')} | "
               f"{cell(med(r.noop), '.2f')} | {cell(med(r.edit), '.2f')} | "
               f"{cell(peak_mb(r), '.0f')} | {cell(ms(r), '.0f')} |")
    for e in examples:
        yield (f"| {e.size} | example | {e.name} (bundled example, search on) | – | – | – | – "
               f"| – | – | {cell(ms(e), '.0f')} |")


def find(rows: list[Row], size: int, variant: str, generator: str, src: str = ""
         ) -> Row | None:
    """A row that measured something (the peers' rows have no source label)."""
    return next((r for r in rows if (r.size, r.variant, r.generator, r.src)
                 == (size, variant, generator, src) and r.cold), None)


def over(a: Row | None, b: Row | None, pick: Callable[[Row], list[float]]) -> float | None:
    """median(pick(a)) / median(pick(b)), if both were measured."""
    if a is None or b is None or not pick(a) or not pick(b):
        return None
    return statistics.median(pick(a)) / statistics.median(pick(b))


def cold(r: Row) -> list[float]:
    return r.cold


def noop(r: Row) -> list[float]:
    return r.noop


def edit(r: Row) -> list[float]:
    return r.edit


def edit_over_cold(r: Row | None) -> float | None:
    if r is None or not r.edit:
        return None
    return statistics.median(r.edit) / statistics.median(r.cold)


def ratios(rows: list[Row]) -> Iterator[str]:
    yield ("| items | variant | generator | cold: digest/Hugo | cold: digest/Pelican | "
           "no-op: digest/Hugo | no-op: digest/Pelican | edit/cold | cold: search/without |")
    yield "|---:|---|---|---:|---:|---:|---:|---:|---:|"
    for size, variant, src in dict.fromkeys((r.size, r.variant, r.src) for r in rows
                                            if r.generator == DIGEST):
        d = find(rows, size, variant, DIGEST, src)
        s = find(rows, size, variant, DIGEST_SEARCH, src)
        h, p = find(rows, size, variant, HUGO), find(rows, size, variant, PELICAN)
        cells = [over(d, h, cold), over(d, p, cold), over(d, h, noop), over(d, p, noop),
                 edit_over_cold(d), over(s, d, cold)]
        yield (f"| {size:,} | {variant} | {label(DIGEST, src)} | "
               + " | ".join(cell(c, ".2f") for c in cells) + " |")


def mark(value: float | None, limit: float, fmt: str, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{format(value, fmt)}{unit} {'pass' if value <= limit else '**FAIL**'}"


def goals(rows: list[Row], examples: list[Row], sources: list[str]) -> Iterator[str]:
    """Issue 18's "Done when", each goal's figure and mark, a column per variant (and
    source): at GOAL_SIZE items, or the smallest size measured if there was no such run."""
    sizes = sorted({r.size for r in rows if r.cold})
    if not sizes:
        return
    size = GOAL_SIZE if GOAL_SIZE in sizes else sizes[0]
    large = size * LARGE_FACTOR
    if size != GOAL_SIZE:
        yield (f"At {size:,} items: this run has no {GOAL_SIZE:,}-item size, for which the "
               f"goals are set; read the marks as a trend only.")
        yield ""
    columns = [(variant, src) for src in sources for variant in (HTML, MARKDOWN)
               if find(rows, size, variant, DIGEST, src)]
    yield ("| goal (issue 18) | " + " | ".join(f"{v}" + (f" [{s}]" if s else "")
                                               for v, s in columns) + " |")
    yield "|---|" + "---:|" * len(columns)

    def line(text: str, figure: Callable[[str, str], str]) -> str:
        return f"| {text} | " + " | ".join(figure(v, s) for v, s in columns) + " |"

    def d(variant: str, src: str, generator: str = DIGEST, at: int = size) -> Row | None:
        return find(rows, at, variant, generator, src)

    def peer(variant: str, generator: str) -> Row | None:
        return find(rows, size, variant, generator)

    def example(src: str) -> Row | None:
        return next((e for e in examples if e.src == src and e.reload), None)

    yield line(f"cold build ≤ 1.0× Hugo's, {size:,} items",
               lambda v, s: mark(over(d(v, s), peer(v, HUGO), cold), 1.0, ".2f", "×"))
    yield line("cold build ≤ 0.5× Hugo's (the team's goal)",
               lambda v, s: mark(over(d(v, s), peer(v, HUGO), cold), 0.5, ".2f", "×"))
    yield line("cold build ≤ 0.15× Pelican's",
               lambda v, s: mark(over(d(v, s), peer(v, PELICAN), cold), 0.15, ".2f", "×"))
    yield line("no-op rebuild ≤ 0.05× Hugo's rebuild (its no-op)",
               lambda v, s: mark(over(d(v, s), peer(v, HUGO), noop), 0.05, ".3f", "×"))
    yield line("one-item edit ≤ 0.1× the cold build",
               lambda v, s: mark(edit_over_cold(d(v, s)), 0.1, ".3f", "×"))
    yield line("serve: save → reload ≤ 300 ms (median)",
               lambda v, s: mark(ms(d(v, s)), 300, ".0f", " ms"))
    yield line("serve, bundled example: save → reload ≤ 100 ms",
               lambda v, s: mark(ms(example(s)), 100, ".0f", " ms"))
    yield line("peak memory of the build ≤ 400 MB",
               lambda v, s: mark(peak_mb(d(v, s)), 400, ".0f", " MB"))
    yield line("peak memory with the search index ≤ 1 GB (1,024 MB)",
               lambda v, s: mark(peak_mb(d(v, s, DIGEST_SEARCH)), 1024, ".0f", " MB"))
    yield line("cold build with the search index ≤ 2× without",
               lambda v, s: mark(over(d(v, s, DIGEST_SEARCH), d(v, s), cold), 2.0, ".2f", "×"))
    yield line(f"cold build at {large:,} items ≤ {LARGE_RATIO}× at {size:,}",
               lambda v, s: mark(over(d(v, s, at=large), d(v, s), cold), LARGE_RATIO,
                                 ".2f", "×"))
    yield ("\nNot measured here: the incremental result stays byte-identical to a clean build "
           "(tests/test_incremental*.py).")


def before_after(rows: list[Row], examples: list[Row], sources: list[str]) -> Iterator[str]:
    """Each later --digest-src against the first: after/before, per figure."""
    first, *later = sources
    yield ("| items | variant | generator | after/before: first build | cold build | "
           "no-op | edit | peak | save → reload |")
    yield "|---:|---|---|---:|---:|---:|---:|---:|---:|"
    for src in later:
        for r in rows:
            if r.src != src:
                continue
            b = find(rows, r.size, r.variant, r.generator, first)
            cells = [over(r, b, lambda x: x.first), over(r, b, cold), over(r, b, noop),
                     over(r, b, edit), over(r, b, lambda x: [float(p) for p in x.peak]),
                     over(r, b, lambda x: x.reload)]
            yield (f"| {r.size:,} | {r.variant} | {r.generator} [{src}/{first}] | "
                   + " | ".join(cell(c, ".2f") for c in cells) + " |")
        after = next((e for e in examples if e.src == src), None)
        before = next((e for e in examples if e.src == first), None)
        ratio = (over(after, before, lambda x: x.reload)
                 if after and before and after.reload and before.reload else None)
        yield (f"| – | example | {DIGEST} [{src}/{first}] | – | – | – | – | – | "
               f"{cell(ratio, '.2f')} |")


def serve_rows(projects: list[Project], rows: list[Row], saves: int) -> None:
    """The save-to-reload latency of `digest serve`, into the digest rows (search off)."""
    for project in projects:
        if project.generator != DIGEST:
            continue
        row = next(r for r in rows if (r.size, r.variant, r.generator, r.src)
                   == (project.size, project.variant, DIGEST, project.src))
        row.reload, problems = serve_latency(project.root, project.edit_file, saves,
                                             project.env)
        row.failed += problems
        say(f"  {project.name} serve, {project.variant}: save → reload "
            f"{cell(ms(row), '.0f')} ms (median)")


def example_row(workdir: Path, saves: int, source: Source) -> Row:
    """The save-to-reload latency of `digest serve` on the bundled example, as shipped."""
    folder = example_project(workdir, source.label)
    files = sorted((folder / "content" / "items").rglob("*.md"))
    row = Row(DIGEST, "example", len(files), source.label)
    row.reload, row.failed = serve_latency(folder, files[len(files) // 2], saves, source.env)
    say(f"  {row.name} serve, bundled example: save → reload {cell(ms(row), '.0f')} ms "
        "(median)")
    return row


def last_lines(log: Path, count: int = 8) -> list[str]:
    return log.read_text(errors="replace").strip().splitlines()[-count:]


def sources_from(values: list[str] | None) -> list[Source]:
    """The digests to measure: each --digest-src [LABEL=]DIR, or the installed one."""
    if not values:
        return [Source("", child_env(None), None)]
    sources = []
    for value in values:
        name, sep, folder = value.partition("=")
        if not sep or "/" in name:
            name, folder = (Path(value).resolve().name if len(values) > 1 else ""), value
        tree = Path(folder).resolve()
        if not (tree / "digest" / "__init__.py").is_file():
            raise SystemExit(f"--digest-src {value}: no digest/__init__.py under {tree}")
        sources.append(Source(name, child_env(tree), tree))
    labels = [s.label for s in sources]
    if len(set(labels)) != len(labels):
        raise SystemExit(f"--digest-src: two trees share a label ({', '.join(labels)}): "
                         "name them, LABEL=DIR")
    return sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000],
                        help="items per corpus (10000 50000: the goals and the 50k/10k ratio)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--saves", type=int, default=5, help="saves per `digest serve` run")
    parser.add_argument("--no-serve", action="store_true", help="skip the serve latency")
    parser.add_argument("--variants", nargs="+", choices=[HTML, MARKDOWN],
                        default=[MARKDOWN, HTML], help="which variants to build")
    parser.add_argument("--full-up-to", type=int, default=GOAL_SIZE, metavar="N",
                        help="sizes above N build digest only: search off, no peers, no serve "
                             f"(default {GOAL_SIZE})")
    parser.add_argument("--digest-src", action="append", metavar="[LABEL=]DIR",
                        help="run digest from this source tree (holding digest/ and themes/, "
                             "e.g. `git archive HEAD digest themes`) instead of the installed "
                             "one; repeat it to measure several in one run (the first is the "
                             "'before' of the after/before ratios)")
    parser.add_argument("--cold-keep", nargs="+", metavar="PATH", default=list(COLD_KEEP),
                        help="what digest's cold build keeps under .digest/, relative to the "
                             f"project (default {' '.join(COLD_KEEP)})")
    parser.add_argument("--generator", type=Path, default=GENERATOR, metavar="PATH",
                        help=f"the shared corpus generator (default {GENERATOR})")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / ".work",
                        help="scratch folder (file creation in /tmp is 20x slower here)")
    args = parser.parse_args()
    if not args.generator.is_file():
        raise SystemExit(f"needs the corpus generator at {args.generator} (--generator)")
    keep = tuple(k.strip("/") for k in args.cold_keep)
    if not all(k.startswith(".digest/") for k in keep) or not set(FIRST_KEEP) <= set(keep):
        raise SystemExit(f"--cold-keep: paths under .digest/, {' '.join(FIRST_KEEP)} among "
                         "them")
    sources = sources_from(args.digest_src)
    started, load = time.perf_counter(), os.getloadavg()[0]
    args.workdir = args.workdir.resolve()  # the commands run in the projects' folders
    args.workdir.mkdir(parents=True, exist_ok=True)
    global TRASH
    TRASH = args.workdir / ".trash"  # on the projects' file system: a rename, not a copy
    if TRASH.exists():  # a killed run's: deleted with this run's, after the last figure
        earlier = TRASH.with_name(f".trash-{os.getpid()}")
        TRASH.rename(earlier)
        TRASH.mkdir()
        earlier.rename(TRASH / "earlier")
    tools = Tools(find_hugo(), find_pelican(args.workdir), sources, keep,
                  args.generator.resolve())
    prepared = []
    for size in args.sizes:  # all first: a failed fetch shows before an hour of builds
        say(f"{size} items: preparing")
        full = size <= args.full_up_to
        prepared.append((size, full, prepare(size, args.workdir, tools, args.variants, full)))
    rows: list[Row] = []
    for size, full, projects in prepared:
        say(f"{size} items: measuring")
        rows += [measure(project, args.repeat) for project in projects]
        if full and not args.no_serve:
            serve_rows(projects, rows, args.saves)
    examples = [] if args.no_serve else [example_row(args.workdir, args.saves, s)
                                         for s in sources]
    print(f"`python bench/site_bench.py {' '.join(sys.argv[1:])}` on "
          f"{time.strftime('%Y-%m-%d')}")
    print()
    print(f"Medians of {args.repeat} run(s), peak memory from one more run (not timed); "
          f"serve: median of {args.saves} saves, each once serve is idle.")
    print()
    print("\n".join(table(rows, examples)))
    print()
    print("\n".join(ratios(rows)))
    print()
    labels = [s.label for s in sources]
    print("\n".join(goals(rows, examples, labels)))
    if len(sources) > 1:
        print()
        print("\n".join(before_after(rows, examples, labels)))
    print()
    print("\n".join(machine(tools, load)))
    problems = [f"{r.name}, {r.variant}, {r.size:,} items: {p}"
                for r in [*rows, *examples] for p in r.failed]
    if problems:
        print("\nProblems:")
        for p in problems:
            print("- " + p)
    print(f"\nThe whole run took {time.perf_counter() - started:.0f} s.")
    shutil.rmtree(TRASH, ignore_errors=True)


if __name__ == "__main__":
    main()
