"""The site as readers meet it: Debian's Chromium, driven by Playwright, against the example
served under its sub-path, `digest serve`'s live reload, and a site built from hostile feeds.

Every test is marked `browser` (`pytest -m "not browser"` runs the fast tests alone). The module
skips itself without Chromium (`apt-get install chromium`; another binary: DIGEST_CHROMIUM) or
without Playwright for Python (`pip install -e ".[dev]"`); Playwright's own browser download is
not needed. The sandbox has no internet: requests that leave 127.0.0.1 are answered by the test
(a stub page, a pixel) and recorded, never sent."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urldefrag, urlsplit

import pytest

from tests.browser import (
    CHROMIUM,
    CSP,
    LAUNCH_ARGS,
    PREFIX,
    Watch,
    hostile_project,
    static_site,
)
from tests.conftest import ROOT

if not CHROMIUM.is_file():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
try:
    from playwright import sync_api
except ImportError as error:
    pytest.skip(f"Playwright for Python is missing ({error}): pip install -e '.[dev]'",
                allow_module_level=True)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.browser

ITEM_SLUG = "selectively-reducing-eval-awareness-and-murder-in-gemma-3-0be7cc"
ITEM_TITLE = "Selectively reducing eval awareness and murder in Gemma 3 27B via steering"
PAGE_TYPES = {  # one page of each kind, as paths under PREFIX
    "home": "",
    "issue": "issues/2026-w11/",
    "topic": "topics/software/",
    "item": f"items/{ITEM_SLUG}/",
    "search": "search/?q=alignment",
}
TIMEOUT_MS = 15_000


def built(root: Path, command: str = "build") -> Path:
    """Run `digest <command>` on the project in `root` (in a process of its own: Playwright's
    event loop runs in this thread, and `fetch` starts one); its output/."""
    result = subprocess.run([sys.executable, "-m", "digest", command], cwd=root,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "output"


def copy_example(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in ("digest.toml", "content", "feeds"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, root / name)
    return root


def site_pages(output: Path) -> set[str]:
    """The URL path of every page digest wrote (not Pagefind's files, not email editions)."""
    paths = set()
    for page in output.rglob("*.html"):
        rel = page.relative_to(output).as_posix()
        if rel.startswith("pagefind/") or rel.endswith("/email.html"):
            continue
        paths.add(PREFIX + rel.removesuffix("index.html"))
    return paths


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One browser for the module. Playwright's event loop lives in this thread while it runs,
    so it must stop with the module: later tests run `asyncio.run` (digest fetch)."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


Opener = Callable[..., tuple["Page", Watch]]


@pytest.fixture
def open_page(chromium: Browser) -> Iterator[Opener]:
    """`open_page(origin, **context_options)`: a fresh context and page, watched."""
    contexts: list[BrowserContext] = []

    def make(origin: str, **options: Any) -> tuple[Page, Watch]:
        context = chromium.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        watch = Watch(origin).attach(context)
        return context.new_page(), watch

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def example(example_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The built example at /digest/ of a local static server: the site's URL."""
    with static_site(example_site, tmp_path_factory.mktemp("docroot")) as origin:
        yield origin + PREFIX


# --- the example, page by page -------------------------------------------------------------------

LINKS_JS = "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
PAGE_JS = """() => ({
  csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content ?? null,
  inline: [...document.querySelectorAll('script:not([src]), style, [style]')]
    .filter(e => !e.closest('#search')).map(e => e.outerHTML.slice(0, 120)),
})"""


def test_every_page_loads_without_errors_or_failed_requests(
        open_page: Opener, example: str, example_site: Path) -> None:
    """A crawl by the links of the live DOM, from the home page and the 404 page: every page
    digest wrote is reached, carries the CSP, has no inline script or style, and loads with no
    console error, exception, failed request or CSP violation."""
    page, watch = open_page(example.removesuffix(PREFIX))
    queue, seen, problems = [example, example + "404.html"], set(), []
    started = time.monotonic()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, url
        found = page.evaluate(PAGE_JS)
        if found["csp"] != CSP:
            problems.append(f"{url}: CSP meta is {found['csp']!r}")
        problems += [f"{url}: inline {snippet}" for snippet in found["inline"]]
        problems += [f"{url}: {p}" for p in watch.problems()]
        watch.clear()
        for href in page.evaluate(LINKS_JS):
            target, _ = urldefrag(href)
            path = urlsplit(target).path
            if (target.startswith(example) and (path.endswith("/") or path.endswith(".html"))
                    and target not in seen and not urlsplit(target).query):
                queue.append(target)
    elapsed = time.monotonic() - started
    assert not problems, "\n".join(problems)
    visited = {urlsplit(u).path for u in seen}
    missing = site_pages(example_site) - visited
    assert not missing, f"pages no link leads to: {sorted(missing)}"
    print(f"\nvisited {len(seen)} pages in {elapsed:.1f} s")


def test_navigation_by_clicking_and_back(open_page: Opener, example: str) -> None:
    """Home -> an issue -> a topic -> an item -> its source, by clicks; then back, step by step."""
    page, watch = open_page(example.removesuffix(PREFIX))
    page.goto(example)
    steps = [
        ("issue", "nav.prevnext a[rel=prev]", re.compile(r"/digest/issues/\d{4}-w\d\d/$")),
        ("topic", "section.section h2.section-title a", re.compile(r"/digest/topics/[\w-]+/$")),
        ("item", ".rows .row-title a", re.compile(r"/digest/items/[\w-]+/$")),
        ("source", ".item-page .byline a", re.compile(r"/digest/sources/[\w-]+/$")),
    ]
    trail = [(page.url, page.locator("h1").inner_text())]
    for name, selector, pattern in steps:
        link = page.locator(selector).first
        label = link.inner_text().strip()
        link.click()
        page.wait_for_url(pattern)
        heading = page.locator("h1").inner_text()
        assert label.endswith(heading.strip()), (name, heading, label)  # the link named it
        trail.append((page.url, heading))
    assert len({url for url, _ in trail}) == len(trail), trail
    for url, heading in reversed(trail[:-1]):
        page.go_back()
        page.wait_for_url(url)
        sync_api.expect(page.locator("h1")).to_have_text(heading)
    assert not watch.problems(), watch.problems()


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example with `page_size = 4`, built and served: its URL."""
    root = copy_example(tmp_path_factory.mktemp("paged"))
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[site]\n", "[site]\npage_size = 4\n", 1), encoding="utf-8")
    output = built(root, "build")
    with static_site(output, tmp_path_factory.mktemp("docroot")) as origin:
        yield origin + PREFIX


@pytest.mark.parametrize("listing", ["topics/software/", "sources/lesswrong/"])
def test_pagination_walks_every_item_once(open_page: Opener, paged: str, listing: str) -> None:
    """Next, next, ... to the last page and back by Previous: each page shows at most
    page_size items, none twice, and together as many as the list says it has."""
    page, watch = open_page(paged.split(PREFIX)[0])
    page.goto(paged + listing)
    numbers = page.locator("nav.pager a[aria-label]")
    pages = int(numbers.last.inner_text())  # the last page is always linked
    assert pages >= 2, "the list should have more than one page"
    assert page.locator("nav.pager a[aria-current=page]").inner_text() == "1"
    items: list[str] = []
    for n in range(1, pages + 1):
        expected = paged + listing + ("" if n == 1 else f"page/{n}/")
        assert page.url == expected
        rows = page.locator(".rows .row-title a").all_inner_texts()
        assert 1 <= len(rows) <= 4
        items += rows
        assert page.locator("nav.pager a[aria-current=page]").inner_text() == str(n)
        nxt = page.locator("nav.pager a[rel=next]")
        if n == pages:
            assert nxt.count() == 0
        else:
            nxt.click()
            page.wait_for_url(paged + listing + f"page/{n + 1}/")
    assert len(items) == len(set(items)), "an item on two pages"
    count = int(re.search(r"\d+", page.locator(".list-head .meta span").first.inner_text())[0])
    assert len(items) == count
    for n in range(pages - 1, 0, -1):
        page.locator("nav.pager a[rel=prev]").click()
        page.wait_for_url(paged + listing + ("" if n == 1 else f"page/{n}/"))
    page.locator(f"nav.pager a[aria-label]:text-is('{pages}')").click()
    page.wait_for_url(paged + listing + f"page/{pages}/")
    assert not watch.problems(), watch.problems()


@pytest.mark.parametrize(("word", "title", "how"), [
    ("оценки", ITEM_TITLE, "header form"),
    ("refactoring", "UpcomingTalks", "search field"),
    ("alignment", "The case for satiating cheaply-satisfied AI preferences", "search field"),
])
def test_search_finds_an_item(open_page: Opener, example: str, word: str, title: str,
                              how: str) -> None:
    """From the header's search form (Russian) or typed into Pagefind's field (English): the
    item is among the results, and its result link opens the item under the sub-path."""
    page, watch = open_page(example.removesuffix(PREFIX))
    if how == "header form":
        page.goto(example)
        page.locator("#header-search-q").fill(word)
        page.locator("#header-search-q").press("Enter")
        page.wait_for_url(example + "search/?q=" + quote(word))
    else:
        page.goto(example + "search/")
        field = page.locator(".pagefind-ui__search-input")
        field.press_sequentially(word, delay=20)
    results = page.locator(".pagefind-ui__result-link")
    result = results.filter(has_text=title)
    sync_api.expect(result).to_have_count(1, timeout=TIMEOUT_MS)
    result.click()
    page.wait_for_url(re.compile(re.escape(example) + r"items/[\w-]+/$"))
    assert page.locator("h1").inner_text() == title
    assert not watch.problems(), watch.problems()


def test_search_works_on_pagefinds_main_thread_fallback(open_page: Opener,
                                                        example: str) -> None:
    """Pagefind compiles its WebAssembly in a web worker, and in the page itself when the worker
    cannot start: the CSP's 'wasm-unsafe-eval' is for that case (without it, no results)."""
    page, watch = open_page(example.removesuffix(PREFIX))
    page.route("**/pagefind-worker.js", lambda route: route.fulfill(status=404, body=""))
    page.goto(example + "search/?q=refactoring")
    sync_api.expect(page.locator(".pagefind-ui__result-link")).to_have_text(
        ["Re-factoring Pastie: Lessons Learned", "UpcomingTalks"])
    problems = [p for p in watch.problems() if "pagefind-worker.js" not in p]
    assert not problems, problems
    assert any("falling back to main thread" in m for m in watch.messages), watch.messages


FEEDS_JS = """async () => Promise.all(
  [...document.querySelectorAll('link[rel~="alternate"]')].map(async (link) => {
    const response = await fetch(link.href);
    const text = await response.text();
    let kind = 'other';
    if (/^\\s*(<\\?xml[^>]*>\\s*)?<feed[\\s>]/.test(text)) kind = 'atom';
    else if (/^\\s*(<\\?xml[^>]*>\\s*)?<rss[\\s>]/.test(text)) kind = 'rss';
    else { try { if (JSON.parse(text).version.startsWith('https://jsonfeed.org/version/'))
      kind = 'json'; } catch (e) {} }
    return {href: link.href, type: link.type, status: response.status, kind};
  }))"""
FEED_KINDS = {"application/atom+xml": "atom", "application/rss+xml": "rss",
              "application/feed+json": "json", "application/json": "json"}


@pytest.mark.parametrize(("path", "least"), [("", 6), ("topics/ai-safety/", 9),
                                              ("sources/qemu/", 9)])
def test_feed_autodiscovery_links_resolve(open_page: Opener, example: str, path: str,
                                          least: int) -> None:
    """Every <link rel=alternate> of the page, fetched from the page: 200, under the sub-path,
    and a feed of the advertised type."""
    page, watch = open_page(example.removesuffix(PREFIX))
    page.goto(example + path)
    feeds = page.evaluate(FEEDS_JS)
    assert len(feeds) >= least, feeds
    for feed in feeds:
        assert feed["href"].startswith(example), feed
        assert feed["status"] == 200, feed
        assert feed["kind"] == FEED_KINDS.get(feed["type"], "?"), feed
    assert not watch.problems(), watch.problems()


OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > width + 0.5)
    .filter(e => !e.parentElement.closest('pre, table, .highlight, .codehilite'))
    .slice(0, 5).map(e => e.outerHTML.slice(0, 100));
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


def test_nothing_overflows_a_360px_phone(open_page: Opener, example: str,
                                         example_site: Path) -> None:
    """At 360 px: home, issue, topic, search with results, and every item page (items carry
    whatever the feeds send: long URLs, tables, code)."""
    page, watch = open_page(example.removesuffix(PREFIX), viewport={"width": 360, "height": 740},
                            is_mobile=True, has_touch=True, device_scale_factor=2)
    paths = [p for name, p in PAGE_TYPES.items() if name != "item"]
    paths += [f"items/{d.name}/" for d in sorted((example_site / "items").iterdir())]
    too_wide = []
    for path in paths:
        page.goto(example + path)
        if path.startswith("search/"):
            page.locator(".pagefind-ui__result").first.wait_for()
        found = page.evaluate(OVERFLOW_JS)
        if found["scroll"] > 360:
            too_wide.append(f"{path}: scrollWidth {found['scroll']} > 360: {found['wide']}")
    assert not too_wide, "\n".join(too_wide)
    assert not watch.problems(), watch.problems()


COLOURS_JS = """() => { const s = getComputedStyle(document.body);
  return [s.backgroundColor, s.color]; }"""


def luminance(colour: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"[\d.]+", colour)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("path", ["", "issues/2026-w11/", f"items/{ITEM_SLUG}/", "search/"])
def test_dark_mode_applies(open_page: Opener, example: str, path: str) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        page, watch = open_page(example.removesuffix(PREFIX), color_scheme=scheme)
        page.goto(example + path)
        colours[scheme] = page.evaluate(COLOURS_JS)
        assert not watch.problems(), watch.problems()
    (light_bg, light_fg), (dark_bg, dark_fg) = colours["light"], colours["dark"]
    assert light_bg != dark_bg and light_fg != dark_fg, colours
    assert luminance(dark_bg) < luminance(light_bg), colours
    assert luminance(dark_fg) > luminance(dark_bg), colours


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(open_page: Opener, example: str,
                                             scheme: str) -> None:
    """axe-core on home, issue, topic, item and search (with results), light and dark."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright",
                                     reason="axe-playwright-python is not installed")
    axe = axe_module.Axe()
    page, watch = open_page(example.removesuffix(PREFIX), color_scheme=scheme)
    found = []
    for name, path in PAGE_TYPES.items():
        page.goto(example + path)
        if name == "search":
            page.locator(".pagefind-ui__result").first.wait_for()
        results = axe.run(page)
        for violation in results.response["violations"]:
            if violation.get("impact") in ("serious", "critical"):
                targets = [n["target"] for n in violation["nodes"]][:5]
                found.append(f"{name}: {violation['impact']} {violation['id']}: "
                             f"{violation['help']} at {targets}")
    assert not found, "\n".join(found)
    assert not watch.problems(), watch.problems()


# --- digest serve: live reload -------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """`digest serve` on a free port in a copy of the example: (project root, site URL)."""
    root = copy_example(tmp_path / "site")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "digest", "serve", "--port", str(port)],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    site = f"http://127.0.0.1:{port}{PREFIX}"
    try:
        # Ready when it answers over HTTP: it binds the port before its first build and only
        # serves once that build is done and the watcher runs.
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(site, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"serve did not start: {proc.communicate()[0]}")
            time.sleep(0.1)
        yield root, site
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# Counts the messages of the page's EventSource (the reload script's) in an attribute, so the
# test edits only once the script has seen the current build.
EVENTS_SCRIPT = """(() => {
  const Original = window.EventSource;
  if (!Original) return;
  window.EventSource = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => {
        const root = document.documentElement;
        root.dataset.digestEvents = String(Number(root.dataset.digestEvents || 0) + 1);
      });
    }
  };
})();"""


def test_live_reload_shows_an_edit(open_page: Opener, served: tuple[Path, str],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Open an item, edit its content file: the page reloads by itself and shows the edit. A
    broken edit whose error quotes a payload reloads into the error page, where nothing runs;
    the fix reloads back."""
    root, site = served
    page, watch = open_page(site.removesuffix(PREFIX))
    page.context.add_init_script(EVENTS_SCRIPT)
    page.goto(site + f"items/{ITEM_SLUG}/")
    page.locator("html[data-digest-events]").wait_for(state="attached")
    assert page.locator("script[src='/__digest__/reload.js']").count() == 1
    [source] = (root / "content" / "items").rglob(f"{ITEM_SLUG}.md")
    text = source.read_text(encoding="utf-8")
    marker = f"Live reload marker {time.time_ns()}"
    head, sep, body = text.partition("\n---\n")
    edited = time.time() * 1000  # the browser's clock: performance.timeOrigin is epoch ms
    source.write_text(f"{head}{sep}<p>{marker}</p>\n{body}", encoding="utf-8")
    sync_api.expect(page.get_by_text(marker)).to_be_visible(timeout=30_000)
    kind, origin_ms, loaded_ms = page.evaluate("""() => {
      const n = performance.getEntriesByType('navigation')[0];
      return [n.type, performance.timeOrigin, n.loadEventEnd]; }""")
    assert kind == "reload", kind
    with capsys.disabled():
        print(f"\nlive reload: edit -> reload starts {(origin_ms - edited) / 1000:.2f} s "
              f"-> new page loaded {(origin_ms + loaded_ms - edited) / 1000:.2f} s")
    assert not watch.problems(), watch.problems()

    # A broken edit: the error page shows the payload as text, and nothing runs.
    config = root / "digest.toml"
    good = config.read_text(encoding="utf-8")
    payload = "<img src=x onerror=alert('serve')>"
    config.write_text(good.replace("[site]\n", f"[site]\n\"{payload}\" = 1\n", 1),
                      encoding="utf-8")
    sync_api.expect(page.locator("h1")).to_have_text("The build failed", timeout=30_000)
    assert payload in page.locator("pre").inner_text()
    assert page.locator("img").count() == 0
    config.write_text(good, encoding="utf-8")
    sync_api.expect(page.get_by_text(marker)).to_be_visible(timeout=30_000)
    assert not watch.reports and not watch.dialogs, watch.reports + watch.dialogs


# --- hostile content -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A site built from feeds that carry every payload, served: (its URL, output/)."""
    root = tmp_path_factory.mktemp("hostile")
    hostile_project(root)
    built(root, "fetch")
    output = built(root, "build")
    with static_site(output, tmp_path_factory.mktemp("docroot")) as origin:
        yield origin + PREFIX, output


# What must not be in the live DOM of a page built from hostile feeds. The theme's own markup
# passes: its scripts, its search form, its <link>s; so does the markup Pagefind's UI builds
# (its form, field and icons), but not the results it shows, which carry the feeds' text.
AUDIT_JS = """(scripts) => {
  const bad = [];
  const origin = location.origin + '/';
  const urlAttributes = new Set(['href', 'src', 'srcset', 'action', 'formaction', 'data', 'poster',
    'background', 'xlink:href', 'lowsrc', 'dynsrc', 'cite', 'ping', 'codebase', 'longdesc']);
  const pagefind = (el) => el.closest('#search') && !el.closest('.pagefind-ui__results');
  for (const el of document.querySelectorAll('*')) {
    const tag = el.localName;
    const where = el.outerHTML.slice(0, 100);
    for (const attribute of el.attributes) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith('on')) bad.push('event handler: ' + where);
      if (name === 'style' && !pagefind(el)) bad.push('style attribute: ' + where);
      if (name === 'target') bad.push('target: ' + where);
      const value = attribute.value.replace(/[\\u0000-\\u0020\\u007f]+/g, '');
      if (urlAttributes.has(name) && /(^|,)(javascript|vbscript|data):/i.test(value)
          && !(pagefind(el) && tag === 'form'))  // Pagefind's form: action="javascript:void(0)"
        bad.push('script-capable URL: ' + where);
    }
    if (['iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'portal', 'style',
         'svg', 'template', 'form', 'input', 'button', 'textarea', 'select'].includes(tag)
        && !pagefind(el) && !el.closest('form.header-search'))
      bad.push('element: ' + where);
    if (tag === 'script' && !(scripts.includes(el.src) && !el.text))
      bad.push('script: ' + where);
    if (tag === 'meta' && el.httpEquiv && el.httpEquiv.toLowerCase() !== 'content-security-policy')
      bad.push('meta: ' + where);
    if (tag === 'link' && !el.closest('head')) bad.push('link: ' + where);
  }
  // Can a pointer reach it? (The skip link waits off-screen for the keyboard.)
  const clickable = (a) => {
    const box = a.localName === 'area'
      ? document.querySelector(`img[usemap="#${a.parentElement.name}"]`) : a;
    const r = box?.getBoundingClientRect();
    return !!r && box.checkVisibility() && r.width > 0 && r.height > 0
      && r.left + scrollX >= 0 && r.top + scrollY >= 0;
  };
  const links = [...document.querySelectorAll('a[href], area[href]')].map((a, index) => ({
    index, href: a.href, raw: a.getAttribute('href'), target: a.target, clickable: clickable(a)}));
  return {bad, links, seen: window.__digestSeen || [],
          csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content};
}"""


def click_link(page: Page, url: str, link: dict[str, Any]) -> None:
    """On the page at `url`, click link number `link["index"]` the way a reader would, wait
    for whatever it does, and come back."""
    if urldefrag(page.url)[0] != urldefrag(url)[0]:
        page.goto(url)
    locator = page.locator("a[href], area[href]").nth(link["index"])

    def click() -> None:
        if link["clickable"]:
            locator.click()
        else:  # out of the pointer's reach (the skip link): the keyboard's way
            locator.focus()
            page.keyboard.press("Enter")

    href = link["href"]
    target, fragment = urldefrag(href)
    if link["target"] not in ("", "_self"):
        with page.context.expect_page() as popup:
            click()
        popup.value.wait_for_load_state()
        popup.value.close()
    elif href.startswith(("http://", "https://")) and not (
            fragment and target == urldefrag(page.url)[0]):
        with page.expect_navigation(wait_until="load"):
            click()
        assert page.url == href, (href, page.url)
        page.go_back()
    else:  # an in-page fragment (or anything else): no new document; let the click settle
        click()
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")


@pytest.mark.parametrize("csp", ["enforced", "bypassed"])
def test_hostile_feeds_run_no_script(open_page: Opener, hostile: tuple[str, Path],
                                     csp: str) -> None:
    """Every page of the site built from hostile feeds, opened with a trap on alert, confirm,
    prompt and print, a CSP violation listener and a dialog listener installed before any
    script runs; search results for the payloads' words shown too. Nothing may fire, nothing
    may be logged, no script may come from elsewhere, and the live DOM may hold nothing
    script-capable.

    With the CSP enforced, every distinct link is also clicked (links to the same URL, on
    whatever page, behave the same, so each is clicked once; in-page links by their
    attribute); external ones get a stub page. With the CSP bypassed, the pages are only
    opened: the sanitizer alone must hold, and the CSP run shows it never had to block."""
    site, output = hostile
    origin = site.removesuffix(PREFIX)
    page, watch = open_page(origin, bypass_csp=csp == "bypassed")
    scripts = [site + "pagefind/pagefind-ui.js", site + "static/search.js"]
    queue, seen, clicked = [site, site + "404.html"], set(), set()
    bad: list[str] = []
    started = time.monotonic()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        page.goto(url)
        found = page.evaluate(AUDIT_JS, scripts)
        bad += [f"{url}: {b}" for b in found["bad"] + found["seen"]]
        if found["csp"] != CSP:
            bad.append(f"{url}: CSP meta is {found['csp']!r}")
        for link in found["links"]:
            target, _ = urldefrag(link["href"])
            path = urlsplit(target).path
            if (target.startswith(site) and (path.endswith("/") or path.endswith(".html"))
                    and target not in seen):
                queue.append(target)
            in_page = link["raw"] == "" or link["raw"].startswith("#")
            key = link["raw"] if in_page else link["href"]
            if csp == "bypassed" or key in clicked or link["href"].startswith("mailto:"):
                continue
            clicked.add(key)
            click_link(page, url, link)
            after = page.evaluate("() => window.__digestSeen || []")
            bad += [f"{url} -> {link['href']}: {s}" for s in after]
    # Search results show the feeds' text: Pagefind's excerpts must stay text.
    for word in ("alert", "script", "onerror", "svg", "javascript"):
        page.goto(site + "search/?q=" + word)
        page.locator(".pagefind-ui__result").first.wait_for()
        found = page.evaluate(AUDIT_JS, scripts)
        bad += [f"search {word}: {b}" for b in found["bad"] + found["seen"]]
    elapsed = time.monotonic() - started
    foreign = [f"external {kind} {url}" for kind, url in watch.external
               if kind not in ("image", "document")]
    logged = [m for m in watch.messages  # "type on URL: text": the text names no payload
              if re.search(r"alert|xss|onerror|javascript:", m.partition(": ")[2], re.I)]
    problems = (bad + watch.problems(warnings=True) + foreign + logged
                + [f"popup {u}" for u in watch.popups])
    assert not problems, "\n".join(problems)
    assert {urlsplit(u).path for u in seen} >= site_pages(output)
    kinds = Counter(kind for kind, _ in watch.external)
    print(f"\n{len(seen)} hostile pages, {len(clicked)} links clicked, CSP {csp}, "
          f"{elapsed:.1f} s; external requests answered by the test: {dict(kinds)}")


CANARY = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}"><title>canary</title></head>
<body><img src="missing.png" alt="x" onerror="alert('onerror')">
<a href="javascript:alert('click')">a javascript: link</a></body></html>"""


@pytest.mark.parametrize("csp", ["enforced", "bypassed"])
def test_the_trap_sees_a_script_that_runs(open_page: Opener, tmp_path: Path, csp: str) -> None:
    """The detector is not blind: on a page that does run script (an onerror handler, a
    javascript: link, clicked), the CSP reports both, or, with it bypassed, the trap does."""
    output = tmp_path / "output"
    output.mkdir()
    (output / "index.html").write_text(CANARY, encoding="utf-8")
    with static_site(output, tmp_path) as origin:
        page, watch = open_page(origin, bypass_csp=csp == "bypassed")
        page.goto(origin + PREFIX)
        link = page.evaluate(AUDIT_JS, [])["links"][0]
        click_link(page, origin + PREFIX, link)
        expected = ["csp", "csp"] if csp == "enforced" else ["trap", "trap"]
        page.locator(f"html[data-digest-seen='{len(expected)}']").wait_for(state="attached")
        seen = page.evaluate("() => window.__digestSeen")
    assert sorted(s.split(":")[0] for s in seen) == expected, seen
    assert any("onerror" in s or "inline" in s for s in seen), seen
    assert len(watch.reports) == len(expected), watch.reports


# --- digest serve: the editor's desk -------------------------------------------------------------

DESK = "_review/"
REJECT_ID = "49618e4d01f639e2"  # "Interview with Steven Byrnes…": in the issue by the rules
REJECT_TITLE = "Interview with Steven Byrnes on His Mainline Takeoff Scenario"
PIN_ID = "d49f6501b199b23d"  # "Don't Let LLMs Write For You": cut by max_per_source
PIN_SLUG = "don-t-let-llms-write-for-you-d49f65"


def focus_row(page: Page, item_id: str) -> None:
    """Walk the candidates with j (k back from the end) until `item_id` has the focus."""
    for key in ["j"] * 25 + ["k"] * 25:
        if page.evaluate("() => document.activeElement.dataset.id") == item_id:
            return
        page.keyboard.press(key)
    raise AssertionError(f"j/k never reached {item_id}")


def poll(url: str, check: Callable[[int, str], bool], timeout: float = 30) -> str:
    """GET `url` until `check(status, text)` holds (the preview rebuilds in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        if check(status, text):
            return text
        assert time.monotonic() < deadline, f"{url} never showed the change"
        time.sleep(0.2)


def item_file(root: Path, item_id: str) -> Path:
    return next(p for p in (root / "content" / "items").rglob("*.md")
                if f"\nid: {item_id}\n" in "\n" + p.read_text(encoding="utf-8"))


def test_the_desk_by_keyboard_reaches_the_preview_site(open_page: Opener,
                                                       served: tuple[Path, str]) -> None:
    """Open the desk, reject an item with `r`, pin another with `p`, write a note with `n`
    (Ctrl+Enter saves): each writes one front matter line, the rows update in place without
    a reload, and the preview site, rebuilt by the watcher, shows the decisions."""
    root, site = served
    page, watch = open_page(site.removesuffix(PREFIX))
    response = page.goto(site + DESK)
    assert response is not None and response.status == 200
    assert "script-src 'self'" in (response.header_value("content-security-policy") or "")
    page.evaluate("() => { window.digestSameDocument = true; }")  # gone if the page reloads
    status = page.locator("#status")
    rejected, pinned = item_file(root, REJECT_ID), item_file(root, PIN_ID)
    before = {p: p.read_bytes() for p in (rejected, pinned)}

    focus_row(page, REJECT_ID)
    page.keyboard.press("r")
    # what was done, then what it moved: the rejected item leaves the issue
    sync_api.expect(status).to_contain_text(f"Отклонено: {REJECT_TITLE} «{REJECT_TITLE}» "
                                            "больше не в выпуске")
    row = page.locator(f".row[data-id='{REJECT_ID}']")
    sync_api.expect(row).to_have_attribute("data-state", "out")
    sync_api.expect(row.locator(".reason")).to_contain_text("rejected by the editor")
    assert page.evaluate("() => document.activeElement.dataset.id") == REJECT_ID

    focus_row(page, PIN_ID)
    page.keyboard.press("p")
    sync_api.expect(status).to_contain_text("Закреплено: Don't Let LLMs Write For You")
    row = page.locator(f".row[data-id='{PIN_ID}']")
    sync_api.expect(row).to_have_attribute("data-state", "selected")
    sync_api.expect(row.locator(".act-pin")).to_have_attribute("aria-pressed", "true")

    note = f"Заметка редактора {time.time_ns()}: **прочтите**."
    page.keyboard.press("n")
    field = row.locator("textarea[name=note]")
    sync_api.expect(field).to_be_focused()
    page.keyboard.type(note)
    page.keyboard.press("Control+Enter")
    sync_api.expect(status).to_contain_text("Заметка сохранена")
    sync_api.expect(row.locator(".note")).to_contain_text(note.replace("**", ""))
    assert page.evaluate("() => window.digestSameDocument") is True

    # One line each in the files, nothing else.
    assert rejected.read_bytes() == before[rejected].replace(
        b"tags: []\n---", b"tags: []\nstatus: rejected\n---", 1)
    expected = before[pinned].replace(b"tags: []\n---", b"tags: []\npinned: true\nnote: "
                                      + f'"{note}"'.encode() + b"\n---", 1)
    assert pinned.read_bytes() == expected

    # The preview site catches up through the watcher.
    issue = site + "issues/2026-w11/"
    poll(issue, lambda s, text: REJECT_TITLE not in text and "Don&#39;t Let LLMs" in text)
    item = poll(site + f"items/{PIN_SLUG}/", lambda s, text: s == 200 and "прочтите" in text)
    assert "<strong>прочтите</strong>" in item
    assert not watch.problems(), watch.problems()

    # The text editor saves the file behind the page: the desk refuses, shows the diff, and
    # writes nothing.
    edited = pinned.read_bytes().replace(b"pinned: true\n", b"pinned: true\nissue: 2026-W12\n")
    pinned.write_bytes(edited)
    page.keyboard.press("s")
    conflict = page.locator("#conflict")
    sync_api.expect(conflict).to_be_visible()
    sync_api.expect(conflict).to_be_focused()
    sync_api.expect(conflict.locator("pre")).to_contain_text("+issue: 2026-W12")
    sync_api.expect(status).to_contain_text("ничего не записано")
    assert pinned.read_bytes() == edited
    assert all("409" in p for p in watch.problems()), watch.problems()  # the refusal itself


def test_the_desk_works_without_javascript(open_page: Opener,
                                           served: tuple[Path, str]) -> None:
    """With JavaScript off, a button is a plain form: POST, then 303 back to the desk, where
    the message waits and the row shows the decision."""
    root, site = served
    page, watch = open_page(site.removesuffix(PREFIX), java_script_enabled=False)
    page.goto(site + DESK + "?show=selected")
    row = page.locator(f".row[data-id='{REJECT_ID}']")
    with page.expect_navigation():
        row.locator(".act-reject").click()
    assert "show=selected" in page.url and "flash=" in page.url
    sync_api.expect(page.locator("#status")).to_contain_text(
        f"Отклонено: {REJECT_TITLE} «{REJECT_TITLE}» больше не в выпуске")
    sync_api.expect(row).to_have_attribute("data-state", "out")
    sync_api.expect(row).to_be_hidden()  # the filter still applies
    with page.expect_navigation():
        page.locator("#undo button").click()
    sync_api.expect(page.locator("#status")).to_contain_text("Отменено")
    assert "status:" not in item_file(root, REJECT_ID).read_text(encoding="utf-8")
    assert not watch.problems(), watch.problems()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_desk_has_no_serious_accessibility_violations(
        open_page: Opener, served: tuple[Path, str], scheme: str) -> None:
    """axe-core on the desk, with a row's note editor open; Tab reaches the candidates' buttons
    in order and the focus is visible."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright",
                                     reason="axe-playwright-python is not installed")
    _, site = served
    page, watch = open_page(site.removesuffix(PREFIX), color_scheme=scheme)
    page.goto(site + DESK)
    page.keyboard.press("n")
    results = axe_module.Axe().run(page)
    found = [f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
             for v in results.response["violations"] if v.get("impact") in ("serious",
                                                                           "critical")]
    assert not found, "\n".join(found)
    page.keyboard.press("Escape")  # back from the note to its row
    row = page.evaluate("() => document.activeElement.dataset.id")
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(page.evaluate("""() => { const e = document.activeElement;
          return [e.closest('.row')?.dataset.id, e.localName, e.className,
                  getComputedStyle(e).outlineStyle]; }"""))
    assert [o[:3] for o in order[:4]] == [[row, "a", ""], [row, "button", "act-select"],
                                          [row, "button", "act-reject"],
                                          [row, "button", "act-pin"]], order
    assert all(o[3] == "solid" for o in order), order
    assert not watch.problems(), watch.problems()


def test_screenshots_of_the_desk(open_page: Opener, served: tuple[Path, str],
                                 tmp_path: Path) -> None:
    """The desk in Russian (light, dark) and in English (light). With DIGEST_SCREENSHOTS=DIR
    the pictures go to DIR (the README's are in docs/screenshots/)."""
    import os

    root, site = served
    folder = Path(os.environ.get("DIGEST_SCREENSHOTS") or tmp_path)
    config = root / "digest.toml"
    shots = [("ru", "light"), ("ru", "dark"), ("en", "light")]
    for language, scheme in shots:
        if language == "en":
            config.write_text(config.read_text(encoding="utf-8").replace(
                'language = "ru"', 'language = "en"'), encoding="utf-8")
        page, watch = open_page(site.removesuffix(PREFIX), color_scheme=scheme,
                                viewport={"width": 1280, "height": 900})
        page.goto(site + DESK)
        if (language, scheme) == shots[0]:  # a decision, its message and its undo
            focus_row(page, REJECT_ID)
            page.keyboard.press("r")
            sync_api.expect(page.locator("#status")).not_to_be_empty()
        page.keyboard.press("j")
        page.locator(".row.current").nth(0).wait_for()
        page.evaluate("() => window.scrollTo(0, 0)")
        path = folder / f"desk-{language}-{scheme}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000
        assert not watch.problems(), watch.problems()
