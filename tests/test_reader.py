"""The default theme as a reader meets it: an issue taken in at a glance on a phone and on a
desktop, by keyboard, with nothing that scrolls sideways, and only the assets a page uses.

Debian's Chromium driven by Playwright, as in tests/test_browser.py (whose fixtures these
tests share), against the example served under its sub-path and against a generated project
whose 300 items carry what breaks layouts: very long titles, words, URLs, author names, many
topics and sources, tables, code, wide images. The browser tests are marked `browser`; the
few that read built files only are not. With DIGEST_SCREENSHOTS=DIR,
`test_screenshots_of_the_site` writes the README's pictures to DIR (docs/screenshots/)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import Result

from tests import test_browser as shared
from tests.browser import PREFIX, Watch, static_site
from tests.test_browser import OVERFLOW_JS, Opener, built, copy_example, luminance

if TYPE_CHECKING:
    from playwright.sync_api import Page

browser = pytest.mark.browser
# test_browser.py's fixtures: one Chromium per module, a watched page, the example served.
chromium, open_page, example = shared.chromium, shared.open_page, shared.example
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
WIDTHS = (320, 360, 768, 1440)
ITEM_SLUG = "selectively-reducing-eval-awareness-and-murder-in-gemma-3-0be7cc"
PAGES = {"home": "", "issue": "issues/2026-w11/", "topic": "topics/ai-safety/",
         "item": f"items/{ITEM_SLUG}/"}


def html_pages(output: Path) -> list[str]:
    """Every HTML file digest wrote (Pagefind's bundle aside), as a path under the site."""
    pages = []
    for path in sorted(output.rglob("*.html")):
        rel = path.relative_to(output).as_posix()
        if not rel.startswith("pagefind/"):
            pages.append(rel.removesuffix("index.html"))
    return pages


# --- the issue at a glance -------------------------------------------------------------------

GLANCE_JS = """() => {
  const entries = [...document.querySelectorAll('article.entry')];
  const headlines = [...document.querySelectorAll('nav.toc .headlines a')];
  const focusable = 'a[href], button, input, select, textarea, [tabindex]';
  return {
    height: document.documentElement.scrollHeight,
    count: parseInt(document.querySelector('.issue-meta > :last-child').textContent),
    entries: entries.map(e => ({
      id: e.id, title: e.querySelector('h3').textContent.trim(),
      stops: [...e.querySelectorAll(focusable)].filter(x => x.tabIndex >= 0).length})),
    headlines: headlines.map(a => ({href: a.getAttribute('href'), title: a.textContent.trim()})),
    h1: document.querySelector('h1').getBoundingClientRect().bottom,
    intro: document.querySelector('.intro p').getBoundingClientRect().top,
    firstHeadline: headlines[0].getBoundingClientRect().bottom,
  };
}"""
ACTIVE_JS = """() => { const e = document.activeElement;
  return e && e !== document.body ? e.tagName + ' ' + (e.href || e.name || e.type || '') +
    ' ' + (e.textContent || '').trim().slice(0, 60) : null; }"""


def tab_stops(page: Page, limit: int = 400) -> list[str]:
    """Every element Tab reaches from the top of the page, once round, in order."""
    page.evaluate("() => window.scrollTo(0, 0)")
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        active = page.evaluate(ACTIVE_JS)
        if active is None or (stops and active == stops[0]):
            break
        stops.append(active)
    return stops


@browser
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_home_page_is_taken_in_at_a_glance(open_page: Opener, example: str,
                                               device: str) -> None:
    """The home page (the latest issue): a headline for every item, each linking to its entry
    on the page; at most 300 px of height per item at 360 px (743 before); at most 4 keyboard
    stops per item, navigation included (8.9 before), one per entry; and the first screen of
    a phone shows the title, the start of the introduction and the first headline."""
    page, watch = open_page(example.removesuffix(PREFIX), **(PHONE if device == "phone"
                                                             else DESKTOP))
    page.goto(example)
    found = page.evaluate(GLANCE_JS)
    entries, headlines = found["entries"], found["headlines"]
    assert len(entries) == len(headlines) == found["count"] == 14, found  # the 2026-W11 issue
    assert [h["href"] for h in headlines] == [f"#{e['id']}" for e in entries]
    assert [h["title"] for h in headlines] == [e["title"] for e in entries]
    assert all(e["stops"] == 1 for e in entries), entries  # the title: "read on" is gone
    stops = tab_stops(page)
    per_item = len(stops) / len(entries)
    assert stops[0].startswith("A") and "#main" in stops[0]  # the skip link comes first
    items = [s for s in stops if "/items/" in s]
    assert len(items) == len(set(items)) == len(entries), items  # one stop per item page
    assert per_item <= 4, "\n".join(stops)
    height = found["height"] / len(entries)
    print(f"\n{device}: {found['height']} px high, {height:.0f} px and {per_item:.1f} "
          f"keyboard stops per item ({len(stops)} stops)")
    if device == "phone":
        assert height <= 300, found["height"]
        screen = PHONE["viewport"]["height"]  # type: ignore[index]
        assert found["h1"] <= screen and found["intro"] < screen - 24, found
        assert found["firstHeadline"] <= screen, found
    assert not watch.problems(), watch.problems()


@browser
def test_a_headline_takes_the_keyboard_to_its_entry(open_page: Opener, example: str) -> None:
    """Enter on a headline moves to its entry; the next Tab reaches that entry's title, which
    opens the item's page, where its source and topics are links."""
    page, watch = open_page(example.removesuffix(PREFIX), **PHONE)
    page.goto(example)
    headline = page.locator("nav.toc .headlines a").nth(4)
    title = headline.inner_text()
    headline.focus()
    page.keyboard.press("Enter")
    target = headline.get_attribute("href")
    assert target is not None
    page.wait_for_url(re.compile(re.escape(target) + "$"))
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == title
    assert page.evaluate("() => document.activeElement.closest('article').id") == target[1:]
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/items/[\w-]+/$"))
    assert page.locator("h1").inner_text() == title
    assert page.locator(".item-page .byline a[href*='/sources/']").count() >= 1
    assert page.locator(".item-page .topics a[href*='/topics/']").count() >= 1
    assert page.locator(".item-page a.original").count() == 1
    assert not watch.problems(), watch.problems()


TOP_NAV_JS = """() => {
  const links = (sel) => Object.fromEntries([...document.querySelectorAll(sel)]
    .map(a => [a.rel, a.getAttribute('href')]));
  const h1 = document.querySelector('h1').getBoundingClientRect().bottom;
  const top = [...document.querySelectorAll('.issue-head a[rel]')];
  return {top: links('.issue-head a[rel]'), bottom: links('nav.prevnext-bottom a[rel]'),
          topAboveTheText: top.every(a => a.getBoundingClientRect().bottom <= h1)};
}"""


@browser
def test_previous_and_next_issue_at_the_top_and_the_bottom(open_page: Opener,
                                                            example: str) -> None:
    """From the home page back one issue by the top link, then forward again by the top
    'next' link of that issue; the bottom links go to the same issues."""
    page, watch = open_page(example.removesuffix(PREFIX), **PHONE)
    page.goto(example)
    home = page.evaluate(TOP_NAV_JS)
    assert set(home["top"]) == {"prev"} and home["top"] == home["bottom"], home
    assert home["topAboveTheText"], home
    page.locator(".issue-head a[rel=prev]").click()
    page.wait_for_url(re.compile(r"/issues/\d{4}-w\d\d/$"))
    older_url = page.url
    older = page.evaluate(TOP_NAV_JS)
    assert set(older["top"]) == {"prev", "next"} and older["top"] == older["bottom"], older
    page.locator(".issue-head a[rel=next]").click()
    page.wait_for_url(re.compile(r"/issues/2026-w11/$"))
    assert page.evaluate(TOP_NAV_JS)["top"]["prev"] == urlpath(older_url)
    assert not watch.problems(), watch.problems()


def urlpath(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


COLUMN_JS = """() => {
  const edges = (e) => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return [Math.round(r.left + parseFloat(s.paddingLeft)),
            Math.round(r.right - parseFloat(s.paddingRight))]; };
  return {main: edges(document.querySelector('main')),
          header: edges(document.querySelector('.site-header .wrap')),
          footer: edges(document.querySelector('.site-footer .wrap'))};
}"""


@browser
@pytest.mark.parametrize("width", [768, 1440])
def test_header_and_footer_align_with_the_column(open_page: Opener, example: str,
                                                 width: int) -> None:
    """The footer's text starts and ends where the page's column does (it was 40 px off at
    1440 px: its width was counted in a smaller font's characters), as the header's does."""
    page, watch = open_page(example.removesuffix(PREFIX),
                            viewport={"width": width, "height": 900})
    for path in PAGES.values():
        page.goto(example + path)
        edges = page.evaluate(COLUMN_JS)
        assert edges["footer"] == edges["main"] == edges["header"], (path, edges)
    assert not watch.problems(), watch.problems()


# --- excerpts: short by default, long on request ----------------------------------------------

EXCERPTS_JS = """() => [...document.querySelectorAll('article.entry .excerpt')].map(p => {
  const lh = parseFloat(getComputedStyle(p).lineHeight);
  return {text: p.textContent, lines: Math.round(p.clientHeight / lh),
          clipped: p.scrollHeight > p.clientHeight + 1};
})"""


@pytest.fixture(scope="module")
def long_excerpts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example with `[site] excerpts = "long"`, built and served: its URL."""
    root = copy_example(tmp_path_factory.mktemp("long"))
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[site]\n", '[site]\nexcerpts = "long"\n', 1), encoding="utf-8")
    output = built(root, "build")
    with static_site(output, tmp_path_factory.mktemp("docroot")) as origin:
        yield origin + PREFIX


@browser
def test_excerpts_are_two_lines_by_default_and_whole_with_the_long_option(
        open_page: Opener, example: str, long_excerpts: str, example_site: Path) -> None:
    """Default: at most two lines on a desktop, one on a phone. `excerpts = "long"`: each
    excerpt whole (its 50 words), nothing clipped."""
    short: dict[str, Any] = {}
    for device, options, most in (("desktop", DESKTOP, 2), ("phone", PHONE, 1)):
        page, watch = open_page(example.removesuffix(PREFIX), **options)
        page.goto(example)
        short[device] = page.evaluate(EXCERPTS_JS)
        assert len(short[device]) == 14
        assert all(1 <= e["lines"] <= most for e in short[device]), short[device]
        assert not watch.problems(), watch.problems()
    page, watch = open_page(long_excerpts.removesuffix(PREFIX), **DESKTOP)
    page.goto(long_excerpts)
    whole = page.evaluate(EXCERPTS_JS)
    assert len(whole) == 14
    assert not any(e["clipped"] for e in whole), whole
    assert sum(e["lines"] for e in whole) > 2 * len(whole), whole
    for cut, full in zip(short["desktop"], whole, strict=True):
        assert len(full["text"]) > len(cut["text"])
        assert full["text"].startswith(cut["text"].rstrip("…").rsplit(" ", 1)[0])
    # the whole excerpt is the feed's first 50 words, as the item's JSON Feed entry gives it
    feed = json.loads((example_site / "items.json").read_text(encoding="utf-8"))
    summaries = {i["summary"] for i in feed["items"] if "summary" in i}
    assert sum(e["text"] in summaries for e in whole) == len(whole), whole
    assert not watch.problems(), watch.problems()


def test_the_excerpts_option_is_checked(project: Callable[..., Path],
                                        run: Callable[..., Result]) -> None:
    """A value other than "short" or "long" stops the build with one line naming the key and
    the choices (exit 2), and writes nothing."""
    from tests.conftest import MINIMAL_CONFIG

    root = project(config=MINIMAL_CONFIG.replace("[site]\n", '[site]\nexcerpts = "medium"\n'))
    result = run(root, "build")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "digest.toml" in lines[0] and "site.excerpts" in lines[0], lines
    assert "'medium' is not a choice" in lines[0] and "'short' or 'long'" in lines[0], lines
    assert not (root / "output").exists()


# --- a project made to break layouts ----------------------------------------------------------

LONG_WORD = "Непереносимоедлинноеслово" * 8  # 200 letters, no break
LONG_URL = ("https://very-long-subdomain-name-for-testing.example.org/a/really/deep/path/"
            + "segment-" * 30 + "?query=" + "x" * 120 + "&utm_source=rss")
WEEKS = [f"2026-W{n:02d}" for n in range(2, 12)]
MONDAY = datetime(2026, 1, 5, 9, tzinfo=timezone(timedelta(hours=3)))  # of 2026-W02


def stress_project(root: Path, count: int = 300) -> Path:
    """A project of `count` items over ten weeks, 40 sources and 30 topics, whose titles,
    words, links, authors, notes, issue titles and introductions are as long as feeds and
    editors make them, with tables, long code lines and wide images in the bodies. No search
    index (the example has one): the pages are the templates' own."""
    files: dict[str, str] = {}
    lines = ["[site]", 'title = "Дайджест с очень длинным названием, какие бывают у рассылок"',
             f'description = "{LONG_WORD} описание"', 'base_url = "https://example.org/digest/"',
             'language = "ru"', 'timezone = "Europe/Moscow"', f'author = "{LONG_WORD}"',
             "search = false", ""]
    for n in range(40):
        title = f"Источник номер {n} " + ("с длинным названием " * 4 if n % 3 else LONG_WORD)
        lines += ["[[feeds]]", f'slug = "source-{n}"', f'title = "{title.strip()}"',
                  f'url = "feeds/{n}.xml"', f'homepage = "{LONG_URL}"', ""]
    for n in range(30):
        title = f"Тема {n} " + (LONG_WORD if n % 7 == 0 else "про что-то важное и длинное")
        lines += ["[[topics]]", f'slug = "topic-{n}"', f'title = "{title}"',
                  f'description = "Описание темы {n}: {LONG_URL}"', ""]
    files["digest.toml"] = "\n".join(lines)
    for w, week in enumerate(WEEKS):
        files[f"content/issues/{week}.md"] = (
            f'---\ntitle: "Выпуск {w}: {LONG_WORD} и заголовок, который не помещается"\n---\n\n'
            f"Вступление со ссылкой <{LONG_URL}> и словом {LONG_WORD}.\n\n"
            "Второй абзац вступления, обычный.\n")
    files["content/pages/about.md"] = f"---\ntitle: О дайджесте {LONG_WORD}\n---\n\nТекст.\n"
    for n in range(count):
        week = n % len(WEEKS)
        published = (MONDAY + timedelta(weeks=week, days=n % 7, minutes=n)).isoformat()
        if n % 4 == 0:
            title = LONG_WORD + f" {n}"
        else:
            title = f"Заголовок номер {n}, длинный, как любят авторы блогов, " * 3
        front = {
            "id": f"stress-{n:04d}", "title": title.strip(), "link": f"{LONG_URL}&n={n}",
            "source": f"source-{n % 40}", "published": published,
            "author": (LONG_WORD if n % 5 == 0 else "Автор Авторович, Соавтор Соавторович"),
            "topics": [f"topic-{(n + k) % 30}" for k in range(1 + n % 4)],
            "pinned": n % 13 == 0,
        }
        if n % 5 == 0:
            front["note"] = f"Заметка редакции со ссылкой <{LONG_URL}> и {LONG_WORD}."
        body = [f"Первое {LONG_WORD} предложение текста, со ссылкой {LONG_URL} прямо в тексте.",
                "", f"[{LONG_URL}]({LONG_URL})", "",
                "| " + " | ".join(f"столбец{c}{LONG_WORD[:30]}" for c in range(12)) + " |",
                "|" + "---|" * 12, "| " + " | ".join(["ячейка"] * 12) + " |", "",
                f"Инлайн-код `{'x' * 150}` посреди строки.", "",
                f'<img src="https://images.example.org/{n}.png" width="3000" height="200" '
                f'alt="широкая картинка">', "",
                f"> Цитата {LONG_WORD}", "", f"## Подзаголовок {LONG_WORD}", ""]
        if n % 3 == 0:
            body += ["```python", "def f(): return " + " + ".join(["value"] * 60), "```", ""]
        body += ["Сноска[^1].", "", f"[^1]: Примечание {LONG_URL}", ""]
        body += ["Обычный текст. " * 40]
        head = "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in front.items())
        files[f"content/items/stress-{n:04d}.md"] = f"---\n{head}\n---\n\n" + "\n".join(body)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def stress(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stress project, built (under /digest/, as the example): its output/."""
    return built(stress_project(tmp_path_factory.mktemp("stress")), "build")


# --- every page at every width ----------------------------------------------------------------

# What a page shows at the window's current width: whether it scrolls sideways (and what
# sticks out), lines of a meta row that start with a separator, breadcrumbs on more than one
# line, and whether Pygments' stylesheet is linked exactly when the page shows highlighted code.
LAYOUT_JS = OVERFLOW_JS.replace("return {scroll", """
  const dots = [];
  for (const part of document.querySelectorAll('.meta > *')) {
    // A dot before a part starts a line when the part does.
    const left = part.parentElement.getBoundingClientRect().left +
      parseFloat(getComputedStyle(part.parentElement).paddingLeft);
    if (getComputedStyle(part, '::before').content.includes('·') &&
        part.getClientRects()[0].left <= left + 1) dots.push(part.outerHTML.slice(0, 100));
    if (!getComputedStyle(part, '::after').content.includes('·')) continue;
    // The dot ends its part: it starts a line only if it wrapped alone onto a line of its own.
    const walker = document.createTreeWalker(part, NodeFilter.SHOW_TEXT);
    let last = null;
    while (walker.nextNode()) if (walker.currentNode.textContent.trim()) last = walker.currentNode;
    if (!last) continue;
    const range = document.createRange();
    const end = last.textContent.trimEnd().length;
    range.setStart(last, end - 1); range.setEnd(last, end);
    const rects = range.getClientRects();
    const box = part.getBoundingClientRect();
    const lh = parseFloat(getComputedStyle(part).lineHeight) || 20;
    if (rects.length && box.bottom - rects[rects.length - 1].bottom > lh / 2)
      dots.push(part.outerHTML.slice(0, 100));
  }
  const crumbs = document.querySelector('.crumbs ol');
  let crumbLines = 0;
  if (crumbs) {
    const lh = parseFloat(getComputedStyle(crumbs).lineHeight) ||
      1.2 * parseFloat(getComputedStyle(crumbs).fontSize);
    crumbLines = Math.round(crumbs.getBoundingClientRect().height / lh);
  }
  const pygments = !!document.querySelector('link[rel=stylesheet][href$="static/pygments.css"]');
  const code = !!document.querySelector('main .codehilite');
  return {dots, crumbLines, pygments, code, scroll""")


@dataclass
class Layout:
    """What a crawl of every page at every width found wrong, by kind."""

    pages: int = 0
    overflow: list[str] = field(default_factory=list)
    dots: list[str] = field(default_factory=list)
    crumbs: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_layout(page: Page, base: str, paths: list[str]) -> Layout:
    """Each page loaded once, then laid out at each width."""
    found = Layout()
    for path in paths:
        page.set_viewport_size({"width": WIDTHS[0], "height": 800})
        response = page.goto(base + path, wait_until="load")
        assert response is not None and response.status == 200, path
        found.pages += 1
        for width in WIDTHS:
            if width != WIDTHS[0]:
                page.set_viewport_size({"width": width, "height": 800})
            seen = page.evaluate(LAYOUT_JS)
            if seen["scroll"] > width:
                found.overflow.append(f"{path} at {width}: {seen['scroll']} px: {seen['wide']}")
            found.dots += [f"{path} at {width}: {d}" for d in seen["dots"]]
            if seen["crumbLines"] > 1:
                found.crumbs.append(f"{path} at {width}: {seen['crumbLines']} lines")
            if width == WIDTHS[0] and seen["pygments"] != seen["code"]:
                found.assets.append(f"{path}: pygments.css {seen['pygments']}, "
                                    f"code {seen['code']}")
    return found


@pytest.fixture(scope="module", params=["example", "stress"])
def layout(request: pytest.FixtureRequest, chromium: Any, example_site: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Layout:
    """Every page of the example, or of the stress project, at 320, 360, 768 and 1440 px."""
    output = example_site if request.param == "example" else request.getfixturevalue("stress")
    with static_site(output, tmp_path_factory.mktemp("docroot")) as origin:
        context = chromium.new_context()
        watch = Watch(origin).attach(context)
        try:
            found = check_layout(context.new_page(), origin + PREFIX, html_pages(output))
        finally:
            context.close()
    found.problems = watch.problems()
    print(f"\n{request.param}: {found.pages} pages at {len(WIDTHS)} widths")
    return found


@browser
def test_no_page_scrolls_sideways(layout: Layout) -> None:
    """Every HTML page digest wrote, at 320, 360, 768 and 1440 px: nothing wider than the
    window (long titles, words, URLs, tables and code scroll or wrap inside their boxes)."""
    assert layout.pages > 100
    assert not layout.overflow, "\n".join(layout.overflow[:20])
    assert not layout.problems, layout.problems[:20]


@browser
def test_no_line_starts_with_a_separator(layout: Layout) -> None:
    """In "a · b · c" rows (bylines, item rows, issue meta) a dot ends the part before it and
    stays on that part's line, at every width."""
    assert not layout.dots, "\n".join(layout.dots[:20])


@browser
def test_breadcrumbs_keep_to_one_line(layout: Layout) -> None:
    assert not layout.crumbs, "\n".join(layout.crumbs[:20])


@browser
def test_pygments_css_loads_only_where_code_is_highlighted(layout: Layout) -> None:
    """The example has no highlighted code: no page loads pygments.css. The stress project's
    item pages with code load it, and only they."""
    assert not layout.assets, "\n".join(layout.assets[:20])


# --- code: highlighted where it is, and only there ---------------------------------------------

CODE_CONFIG = """\
[site]
title = "Code digest"
base_url = "https://example.org/digest/"
language = "en"
timezone = "UTC"
search = false
{extra}

[[feeds]]
slug = "blog"
title = "A blog"
url = "feeds/blog.xml"
topics = ["code"]

[[topics]]
slug = "code"
title = "Code"
"""
CODE_ITEMS = {
    # Markdown, as an editor writes it: fenced code with its language
    "content/items/markdown-code.md": "---\nid: md\ntitle: Fenced code\n"
    "link: https://blog.example/md\nsource: blog\npublished: '2026-03-10T12:00:00+00:00'\n---\n\n"
    "Some words before the code.\n\n```python\ndef answer():\n    return 42  # the answer\n```\n",
    # HTML, as a feed sends it: a code element naming its language
    "content/items/feed-code.md": "---\nid: feed\ntitle: Code from a feed\n"
    "link: https://blog.example/feed\nsource: blog\npublished: '2026-03-11T12:00:00+00:00'\n"
    "---\n\n<p>From a feed.</p>\n<pre><code class=\"language-python\">import os\n"
    "print(os.getcwd())</code></pre>\n",
    "content/items/plain.md": "---\nid: plain\ntitle: No code at all\n"
    "link: https://blog.example/plain\nsource: blog\npublished: '2026-03-12T12:00:00+00:00'\n"
    "---\n\nJust prose, and `inline code` that nobody highlights.\n",
}
PYGMENTS_LINK = '<link rel="stylesheet" href="/digest/static/pygments.css">'


def code_project(root: Path, extra: str = "") -> Path:
    for name, text in {"digest.toml": CODE_CONFIG.format(extra=extra), **CODE_ITEMS}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_pygments_css_is_linked_by_the_pages_that_show_code(tmp_path: Path) -> None:
    """Item pages with highlighted code (from Markdown and from a feed) link pygments.css;
    the item without code, the issue, the lists and the home page do not. With
    `item_text = "full"` the issue shows the code itself, and links it."""
    out = built(code_project(tmp_path / "excerpt"))
    linking = {p for p in html_pages(out)
               if PYGMENTS_LINK in (out / p / "index.html" if not p.endswith(".html")
                                    else out / p).read_text(encoding="utf-8")}
    assert linking == {"items/markdown-code/", "items/feed-code/"}, linking
    assert (out / "static" / "pygments.css").is_file()  # still there for those pages
    out = built(code_project(tmp_path / "full", 'item_text = "full"'))
    issue = next(p for p in html_pages(out) if re.fullmatch(r"issues/\d{4}-w\d\d/", p))
    for page in ("", issue):
        html = (out / page / "index.html").read_text(encoding="utf-8")
        assert 'class="codehilite"' in html and PYGMENTS_LINK in html, page
    assert PYGMENTS_LINK not in (out / "items" / "plain" / "index.html").read_text("utf-8")


TOKENS_JS = """() => {
  const colour = (e) => getComputedStyle(e).color;
  return [...document.querySelectorAll('.codehilite')].map(block => ({
    background: getComputedStyle(block).backgroundColor, text: colour(block.querySelector('pre')),
    tokens: [...new Set([...block.querySelectorAll('pre span[class]')].map(colour))],
  }));
}"""


@browser
def test_code_is_highlighted_in_light_and_dark(open_page: Opener, tmp_path: Path) -> None:
    """On an item page with code, its tokens take several colours besides the text's, in
    both schemes, and the block follows the scheme (a dark block in dark mode)."""
    out = built(code_project(tmp_path / "site"))
    (tmp_path / "docroot").mkdir()
    seen = {}
    with static_site(out, tmp_path / "docroot") as origin:
        for scheme in ("light", "dark"):
            page, watch = open_page(origin, color_scheme=scheme)
            page.goto(origin + PREFIX + "items/markdown-code/")
            blocks = page.evaluate(TOKENS_JS)
            assert len(blocks) == 1, blocks
            block = blocks[0]
            assert len(set(block["tokens"]) - {block["text"]}) >= 2, block
            seen[scheme] = block
            assert not watch.problems(), watch.problems()
    assert luminance(seen["dark"]["background"]) < luminance(seen["light"]["background"])
    assert luminance(seen["dark"]["text"]) > luminance(seen["dark"]["background"]), seen
    assert luminance(seen["light"]["text"]) < luminance(seen["light"]["background"]), seen


# --- the README's pictures -------------------------------------------------------------------

@browser
def test_screenshots_of_the_site(open_page: Opener, example: str, tmp_path: Path) -> None:
    """Home, issue, topic and item, desktop (1440 px) and phone (360 px), light and dark: the
    first screen of each. With DIGEST_SCREENSHOTS=DIR they go to DIR (docs/screenshots/)."""
    folder = Path(os.environ.get("DIGEST_SCREENSHOTS") or tmp_path)
    for device, options in (("desktop", DESKTOP), ("phone", {**PHONE, "device_scale_factor": 1})):
        for scheme in ("light", "dark"):
            page, watch = open_page(example.removesuffix(PREFIX), color_scheme=scheme,
                                    **options)
            for name, path in PAGES.items():
                page.goto(example + path)
                shot = folder / f"{name}-{device}-{scheme}.png"
                page.screenshot(path=str(shot))
                assert shot.stat().st_size > 10_000
            assert not watch.problems(), watch.problems()
