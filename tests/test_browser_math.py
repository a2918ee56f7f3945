"""Formulas as readers see them: a site built from every math fixture (and the example) in
Debian's Chromium. Each formula of a source is one `math` element that the browser lays out
as a box of its own; no renderer's class name or duplicate letters show; TeX that did not
convert shows as code with a note. Skipped without Chromium or Playwright, like
tests/test_browser.py."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import pytest

from tests.browser import CHROMIUM, LAUNCH_ARGS, PREFIX, Watch, static_site
from tests.test_math import MATH, Expected, expected

if not CHROMIUM.is_file():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
try:
    from playwright import sync_api
except ImportError as error:
    pytest.skip(f"Playwright for Python is missing ({error}): pip install -e '.[dev]'",
                allow_module_level=True)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

CONFIG = """\
[site]
title = "Formulas"
base_url = "https://example.github.io/digest/"
language = "{language}"
timezone = "UTC"

[[feeds]]
slug = "math"
title = "Math feed"
url = "feeds/math.xml"

[[topics]]
slug = "math"
title = "Math"
keywords = ["formula"]

[selection]
max_items = 100
max_per_source = 100
max_per_topic = 100
"""
# What the page shows of each formula, and what it shows of the text around them.
MEASURE_JS = """() => {
  const content = document.querySelector('main .content');
  const maths = [...content.querySelectorAll('math')];
  const boxes = maths.map(m => { const r = m.getBoundingClientRect();
                                 return [r.width, r.height]; });
  const annotations = [...content.querySelectorAll('annotation')]
    .map(a => a.getBoundingClientRect().width + a.getBoundingClientRect().height);
  const failed = [...content.querySelectorAll('code.tex-error')].map(c => ({
    text: c.innerText, note: getComputedStyle(c, '::after').content,
    width: c.getBoundingClientRect().width}));
  const copy = content.cloneNode(true);
  copy.querySelectorAll('math').forEach(m => m.remove());
  document.body.appendChild(copy);  // innerText needs a rendered node
  const outside = copy.innerText;
  copy.remove();
  return {maths: maths.length, boxes, annotations, failed, outside,
          all: content.innerText};
}"""


def _built(root: Path) -> Path:
    for command in ("fetch", "build"):
        result = subprocess.run([sys.executable, "-m", "digest", command], cwd=root,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    return root / "output"


def _feed() -> str:
    items = []
    for n, path in enumerate(sorted(MATH.glob("*.html"))):
        body = path.read_text(encoding="utf-8")
        items.append(f"<item><title>formula fixture {path.stem}</title>"
                     f"<link>https://blog.example/{path.stem}</link><guid>urn:math:{n}</guid>"
                     f"<pubDate>Tue, 10 Mar 2026 1{n}:00:00 GMT</pubDate>"
                     f"<description>{escape(body)}</description></item>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            "<title>Math feed</title><link>https://blog.example/</link><description>d"
            f"</description>{''.join(items)}</channel></rss>")


@pytest.fixture(scope="module", params=["en", "ru"])
def math_site(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A site from every fixture (the feed bodies fetched, the Markdown as an editor's item),
    served at /digest/: its URL and output folder."""
    root = tmp_path_factory.mktemp(f"math-{request.param}")
    (root / "feeds").mkdir()
    (root / "feeds/math.xml").write_text(_feed(), encoding="utf-8")
    (root / "digest.toml").write_text(CONFIG.format(language=request.param), encoding="utf-8")
    markdown = (MATH / "markdown.md").read_text(encoding="utf-8").replace(
        'title: "Math', 'title: "formula fixture markdown: Math').replace("source: blog",
                                                                         "source: math")
    items = root / "content/items/2026/03"
    items.mkdir(parents=True)
    (items / "math-markdown.md").write_text(markdown, encoding="utf-8")
    output = _built(root)
    with static_site(output, tmp_path_factory.mktemp("docroot")) as origin:
        yield origin + PREFIX, output


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _page_of(output: Path, title: str) -> str:
    """The URL path (under the site) of the item page whose heading is `title`."""
    for page in output.glob("items/*/index.html"):
        text = html.unescape(page.read_text(encoding="utf-8"))
        if re.search(rf"<h1[^>]*>\s*{re.escape(title)}", text):
            return page.parent.relative_to(output).as_posix() + "/"
    raise AssertionError(f"no item page titled {title!r}")


def _measure(chromium: Browser, url: str, origin: str,
             colour: str = "light") -> tuple[dict[str, Any], Watch, Page]:
    context = chromium.new_context(viewport={"width": 1440, "height": 900},
                                   color_scheme=colour)  # type: ignore[arg-type]
    watch = Watch(origin).attach(context)
    page = context.new_page()
    page.goto(url, wait_until="load")
    return page.evaluate(MEASURE_JS), watch, page


def _check(found: dict[str, Any], want: Expected, where: str) -> None:
    assert found["maths"] == want.formulas, where
    for width, height in found["boxes"]:
        assert width > 0 and height > 0, (where, found["boxes"])
    assert all(size == 0 for size in found["annotations"]), where  # the TeX is not shown
    assert len(found["failed"]) == want.failed, where
    for failed in found["failed"]:
        assert failed["width"] > 0 and "TeX" in failed["note"], (where, failed)
    assert not re.search(r"mjx-|katex|MathJax|[0-9A-F]{4,5} TEX", found["all"]), where
    # Between the formulas, exactly the author's words: no letters left over from a twin.
    assert "".join(found["outside"].split()) == "".join(want.text.split()), where


@pytest.mark.parametrize("name", [*sorted(p.name for p in MATH.glob("*.html")), "markdown.md"])
def test_each_formula_is_one_visible_math_box(chromium: Browser, math_site: tuple[str, Path],
                                              name: str) -> None:
    url, output = math_site
    stem = name.removesuffix(".html").removesuffix(".md")
    title = ("formula fixture markdown: Math in an editor's Markdown" if stem == "markdown"
             else f"formula fixture {stem}")
    origin = url.removesuffix(PREFIX)
    found, watch, page = _measure(chromium, url + _page_of(output, title), origin)
    _check(found, expected(MATH / name), name)
    assert watch.problems() == []
    if found["failed"] and "/math-ru" in str(output):
        assert "формул" in found["failed"][0]["note"]  # the note speaks the site's language
    page.context.close()


EXAMPLE_ITEM = "items/letting-claude-do-autonomous-research-to-improve-saes-13a4c6/"


@pytest.mark.parametrize("colour", ["light", "dark"])
def test_the_example_post_shows_all_its_formulas(chromium: Browser, example_site: Path,
                                                 tmp_path: Path, colour: str) -> None:
    with static_site(example_site, tmp_path) as origin:
        found, watch, page = _measure(chromium, origin + PREFIX + EXAMPLE_ITEM, origin, colour)
        assert found["maths"] == 8
        for width, height in found["boxes"]:
            assert width > 0 and height > 0
        assert all(size == 0 for size in found["annotations"])
        assert not re.search(r"mjx-|katex|MathJax", found["all"])
        assert ("where is the normal SAE loss for a sample and is the number of samples in a "
                "batch, and is a tilt coefficient") in " ".join(found["outside"].split())
        # The formulas take the text's colour (readable in the dark too).
        colours = page.evaluate("""() => [...document.querySelectorAll('main .content mi')]
            .map(e => getComputedStyle(e).color)""")
        body = page.evaluate("() => getComputedStyle(document.querySelector('main')).color")
        assert set(colours) == {body}
        assert watch.problems() == []
        page.context.close()


@pytest.mark.parametrize(("device", "width"), [("desktop", 1440), ("phone", 360)])
def test_screenshots_of_formulas(chromium: Browser, example_site: Path, tmp_path: Path,
                                 device: str, width: int) -> None:
    """The example's post with formulas, light and dark, its TERM loss section in view. With
    DIGEST_SCREENSHOTS=DIR the pictures go to DIR (the README's are in docs/screenshots/)."""
    import os

    folder = Path(os.environ.get("DIGEST_SCREENSHOTS") or tmp_path)
    (tmp_path / "docroot").mkdir()
    with static_site(example_site, tmp_path / "docroot") as origin:
        for scheme in ("light", "dark"):
            context = chromium.new_context(viewport={"width": width, "height": 900},
                                           color_scheme=scheme)  # type: ignore[arg-type]
            watch = Watch(origin).attach(context)
            page = context.new_page()
            page.goto(origin + PREFIX + EXAMPLE_ITEM, wait_until="load")
            page.evaluate("() => window.scrollTo(0, [...document.querySelectorAll('h2')]"
                          ".find(h => h.textContent.includes('TERM loss')).offsetTop - 16)")
            page.wait_for_timeout(300)  # let a sticky header settle
            # Nothing of a formula sticks out of a phone's screen: wide ones scroll in their box.
            overflow = page.evaluate("() => document.documentElement.scrollWidth")
            assert overflow <= width
            path = folder / f"math-{device}-{scheme}.png"
            page.screenshot(path=str(path))
            assert path.stat().st_size > 10_000
            assert watch.problems() == []
            context.close()
