"""Search as a reader meets it: the count of results in the site's language, with every plural
form right ("2 результата", "5 результатов", "21 результат", not Pagefind's "4 результатов"),
and each result's source and date.

The fast tests read the built search page. The browser tests (marked `browser`, skipped
without Debian's Chromium or Playwright, as in test_browser.py) serve small built projects
under the sub-path /digest/, like GitHub Pages, and search them: each project's items hold
made-up words a known number of times, so every count is exact. With DIGEST_SCREENSHOTS=DIR,
test_screenshots_of_the_search writes the README's pictures of the search page into DIR."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from babel import Locale

from digest.html.theme import plural_forms, theme_dirs, translations
from tests.browser import PREFIX, Watch, build, chromium_browser, static_site
from tests.conftest import write_project

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Made-up words (none a prefix of another: Pagefind matches the last word as a prefix), each
# in the first N items of the project.
COUNTS = {"arvex": 1, "blint": 2, "corvo": 4, "dremb": 5, "elkun": 11, "fyrst": 21, "gwath": 22}
RUSSIAN = {1: "1 результат", 2: "2 результата", 4: "4 результата", 5: "5 результатов",
           11: "11 результатов", 21: "21 результат", 22: "22 результата"}
ENGLISH = {1: "1 result", 2: "2 results", 4: "4 results", 5: "5 results", 11: "11 results",
           21: "21 results", 22: "22 results"}
HOSTILE_SOURCE = "<img src=x onerror=alert('meta')> & Co"

CONFIG = """\
[site]
title = "Проверка поиска"
base_url = "https://example.github.io/digest/"
language = "{language}"
timezone = "Europe/Moscow"
date_format = "dd.MM.y HH:mm"

[[feeds]]
slug = "lab"
title = "Лаборатория"
url = "feeds/lab.xml"

[[feeds]]
slug = "odd"
title = "<img src=x onerror=alert('meta')> & Co"
url = "feeds/odd.xml"

[selection]
max_items = 500
max_per_source = 500
max_per_topic = 500
"""

ITEM = """\
---
id: item-{n:02d}
title: Заметка номер {n}
link: https://lab.example/notes/{n}
source: {source}
published: '2026-03-{day:02d}T{hour:02d}:00:00+00:00'
status: selected
---

Текст заметки {n}. {words}
"""


def search_project(root: Path, language: str = "ru") -> Path:
    """22 items of "Лаборатория", item n holding each word of COUNTS whose count is above n,
    and one of a source whose title is markup ("hwyl"); returns the project folder."""
    files: dict[str, str | bytes] = {"digest.toml": CONFIG.replace("{language}", language)}
    for n in range(max(COUNTS.values())):
        words = " ".join(w for w, count in COUNTS.items() if n < count)
        files[f"content/items/2026/03/item-{n:02d}.md"] = ITEM.format(
            n=n, source="lab", day=9 + n % 5, hour=n % 24, words=words)
    files["content/items/2026/03/item-99.md"] = ITEM.format(
        n=99, source="odd", day=10, hour=7, words="hwyl")
    return write_project(root, files)


class _SearchElement(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if dict(attrs).get("id") == "search":
            self.attrs = dict(attrs)


def search_attributes(output: Path) -> dict[str, str | None]:
    parser = _SearchElement()
    parser.feed((output / "search" / "index.html").read_text(encoding="utf-8"))
    assert parser.attrs is not None, "no #search on the search page"
    return parser.attrs


# --- the forms the build writes ------------------------------------------------------------------

@pytest.fixture(scope="module")
def russian_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(search_project(tmp_path_factory.mktemp("ru")))


def test_the_search_page_carries_every_russian_form(russian_site: Path) -> None:
    attrs = search_attributes(russian_site)
    results = {k.removeprefix("data-results-"): v for k, v in attrs.items()
               if k.startswith("data-results-")}
    assert results == {"one": "[COUNT] результат по запросу «[SEARCH_TERM]»",
                       "few": "[COUNT] результата по запросу «[SEARCH_TERM]»",
                       "many": "[COUNT] результатов по запросу «[SEARCH_TERM]»"}
    assert attrs["data-meta-source"] == "Источник"
    assert attrs["data-meta-date"] == "Опубликовано"


def test_the_catalogue_and_cldr_agree_on_every_count() -> None:
    """The form of each CLDR category (what the browser picks by) is the form the catalogue's
    own Plural-Forms gives every count of that category, 0 to 10 000."""
    singular, plural = "%(num)s result for %(term)s", "%(num)s results for %(term)s"
    for language in ("ru", "en"):
        tr = translations(theme_dirs(None), language)
        forms = plural_forms(tr, language, singular, plural, num="%(num)s", term="%(term)s")
        rule = Locale.parse(language).plural_form
        wrong = [n for n in range(10_001) if forms[rule(n)] != tr.ngettext(singular, plural, n)]
        assert not wrong, (language, wrong[:10])


def test_a_language_without_the_message_keeps_pagefinds_words(tmp_path: Path) -> None:
    """German: Babel knows its plurals, but the theme has no German catalogue: no English
    sentence replaces Pagefind's German one."""
    attrs = search_attributes(build(search_project(tmp_path, "de")))
    assert not [k for k in attrs if k.startswith("data-results-")], attrs
    tr = translations(theme_dirs(None), "en")
    assert plural_forms(tr, "en", "%(num)s item", "%(num)s items", num="7") == {
        "one": "7 item", "other": "7 items"}


def test_an_item_page_gives_pagefind_its_source_and_date(russian_site: Path) -> None:
    pages = [p.read_text(encoding="utf-8") for p in (russian_site / "items").glob("*/index.html")]
    text = next(t for t in pages if "<h1>Заметка номер 3</h1>" in t)
    found = re.search(r"<article[^>]*>", text, re.S)
    assert found is not None
    article = html.unescape(found[0])
    assert 'data-pagefind-meta="source[data-source], date[data-date]"' in article
    assert 'data-source="Лаборатория"' in article
    assert 'data-date="12.03.2026 06:00"' in article  # 03:00 UTC in Moscow, the site's pattern


# --- in the browser ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def russian(russian_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with static_site(russian_site, tmp_path_factory.mktemp("docroot")) as origin:
        yield origin + PREFIX


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    output = build(search_project(tmp_path_factory.mktemp("en"), "en"))
    with static_site(output, tmp_path_factory.mktemp("docroot")) as origin:
        yield origin + PREFIX


def open_search(browser: Browser, site: str, **options: Any) -> tuple[Page, Watch]:
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    watch = Watch(site.removesuffix(PREFIX)).attach(context)
    return context.new_page(), watch


def message(page: Page) -> str:
    return page.locator(".pagefind-ui__message").inner_text()


@pytest.mark.browser
def test_russian_counts_take_the_right_plural_form(chromium: Browser, russian: str) -> None:
    """Each count from ?q=, then each word typed into the field in turn (the message Pagefind
    writes again, from one form to another and back to one result)."""
    from playwright.sync_api import expect

    page, watch = open_search(chromium, russian)
    for word, count in COUNTS.items():
        page.goto(russian + "search/?q=" + word)
        expect(page.locator(".pagefind-ui__message")).to_have_text(
            f"{RUSSIAN[count]} по запросу «{word}»")
    field = page.locator(".pagefind-ui__search-input")
    for word in ["fyrst", "blint", "elkun", "arvex", "gwath", "dremb", "arvex"]:
        field.fill(word)
        expect(page.locator(".pagefind-ui__message")).to_have_text(
            f"{RUSSIAN[COUNTS[word]]} по запросу «{word}»")
    field.fill("zzyzxq")
    expect(page.locator(".pagefind-ui__message")).to_contain_text("Ничего не найдено")
    assert not watch.problems(), watch.problems()


@pytest.mark.browser
def test_english_counts_say_result_and_results(chromium: Browser, english: str) -> None:
    from playwright.sync_api import expect

    page, watch = open_search(chromium, english)
    for word in ["arvex", "blint", "fyrst"]:
        page.goto(english + "search/?q=" + word)
        expect(page.locator(".pagefind-ui__message")).to_have_text(
            f"{ENGLISH[COUNTS[word]]} for {word}")
    tags = page.locator(".pagefind-ui__result").first.locator(".pagefind-ui__result-tag")
    expect(tags).to_have_count(2)
    assert tags.all_inner_texts()[0] == "Source: Лаборатория"
    assert re.fullmatch(r"Published: \d\d\.03\.2026 \d\d:00", tags.all_inner_texts()[1])
    assert not watch.problems(), watch.problems()


@pytest.mark.browser
def test_a_result_shows_its_source_and_date(chromium: Browser, russian: str) -> None:
    """The only item with "arvex" is item 0: published 2026-03-09 00:00 UTC, 03:00 in Moscow,
    shown in the site's date_format; its link opens the item under the sub-path."""
    from playwright.sync_api import expect

    page, watch = open_search(chromium, russian)
    page.goto(russian + "search/?q=arvex")
    result = page.locator(".pagefind-ui__result")
    expect(result).to_have_count(1)
    tags = result.locator(".pagefind-ui__result-tag")
    expect(tags).to_have_text(["Источник: Лаборатория", "Опубликовано: 09.03.2026 03:00"])
    link = result.locator(".pagefind-ui__result-link")
    assert (link.get_attribute("href") or "").startswith(PREFIX + "items/")
    link.click()
    page.wait_for_url(re.compile(re.escape(russian) + r"items/[\w-]+/$"))
    assert page.locator("h1").inner_text() == "Заметка номер 0"
    assert "09.03.2026 03:00" in page.locator(".byline time").inner_text()
    assert not watch.problems(), watch.problems()


@pytest.mark.browser
def test_a_source_title_with_markup_shows_as_text(chromium: Browser, russian: str) -> None:
    """Pagefind shows meta as HTML: a source's title is escaped on the way, never run."""
    from playwright.sync_api import expect

    page, watch = open_search(chromium, russian)
    page.goto(russian + "search/?q=hwyl")
    tags = page.locator(".pagefind-ui__result-tag")
    expect(tags.first).to_have_text("Источник: " + HOSTILE_SOURCE)
    assert page.locator(".pagefind-ui__results img").count() == 0
    assert not watch.problems(), watch.problems()


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_search_with_results_has_no_serious_accessibility_violations(
        chromium: Browser, russian: str, scheme: str) -> None:
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright",
                                     reason="axe-playwright-python is not installed")
    page, watch = open_search(chromium, russian, color_scheme=scheme)
    page.goto(russian + "search/?q=corvo")
    page.locator(".pagefind-ui__result-tag").first.wait_for()
    results = axe_module.Axe().run(page)
    found = [f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
             for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not found, "\n".join(found)
    assert not watch.problems(), watch.problems()


@pytest.mark.browser
def test_screenshots_of_the_search(chromium: Browser, example_site: Path,
                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    """The example's search for "alignment" (4 results) at 360 and 1440 px, light and dark:
    search-phone-light.png ... search-desktop-dark.png in DIGEST_SCREENSHOTS (the README's are
    in docs/screenshots/), else in a temporary folder."""
    from playwright.sync_api import expect

    folder = Path(os.environ.get("DIGEST_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    with static_site(example_site, tmp_path_factory.mktemp("docroot")) as origin:
        for device, width, height in [("phone", 360, 780), ("desktop", 1440, 1000)]:
            for scheme in ("light", "dark"):
                phone = device == "phone"
                page, watch = open_search(
                    chromium, origin + PREFIX, color_scheme=scheme,
                    viewport={"width": width, "height": height}, is_mobile=phone,
                    has_touch=phone, device_scale_factor=2 if phone else 1)
                page.goto(origin + PREFIX + "search/?q=alignment")
                expect(page.locator(".pagefind-ui__message")).to_have_text(
                    "4 результата по запросу «alignment»")
                expect(page.locator(".pagefind-ui__result-tag").first).to_be_visible()
                page.locator(".pagefind-ui__search-input").blur()
                path = folder / f"search-{device}-{scheme}.png"
                page.screenshot(path=str(path))
                assert path.stat().st_size > 10_000
                assert not watch.problems(), watch.problems()
                page.context.close()

