"""The site's own feeds, sitemap and machine files, on the built example digest."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest
from click.testing import Result

BASE = "https://example.github.io/digest/"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def feed_files(output: Path) -> list[Path]:
    names = {"feed.xml", "rss.xml", "feed.json", "items.xml", "items-rss.xml", "items.json"}
    return sorted(p for p in output.rglob("*") if p.name in names)


def test_every_list_has_atom_rss_and_json_feeds(example_site: Path) -> None:
    for folder in ["", "topics/ai-safety/", "sources/lesswrong/"]:
        for name in ("feed.xml", "rss.xml", "feed.json"):
            assert (example_site / folder / name).is_file(), folder + name
    for name in ("items.xml", "items-rss.xml", "items.json"):
        assert (example_site / name).is_file(), name


def test_every_feed_parses_back_cleanly_with_absolute_urls(example_site: Path) -> None:
    files = feed_files(example_site)
    assert len(files) > 20
    for path in files:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            assert data["version"] == "https://jsonfeed.org/version/1.1"
            assert data["feed_url"].startswith(BASE)
            assert all(i["url"].startswith(BASE) for i in data["items"])
            continue
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        assert parsed.feed.title
        for entry in parsed.entries:
            assert entry.link.startswith(BASE), (path, entry.link)
            assert entry.get("published_parsed"), (path, entry.title)


def test_issue_feed_has_one_entry_per_issue_with_its_items(example_site: Path) -> None:
    parsed = feedparser.parse((example_site / "feed.xml").read_bytes())
    issues = [p for p in (example_site / "issues").iterdir() if p.is_dir()]
    assert len(parsed.entries) == len(issues)
    latest = parsed.entries[0]
    assert latest.link == BASE + "issues/2026-w11/"
    assert "Selectively reducing eval awareness" in latest.content[0].value
    assert "<script" not in latest.content[0].value


def test_feeds_carry_summaries_or_full_texts_as_configured(example_site: Path) -> None:
    items = feedparser.parse((example_site / "items.xml").read_bytes())
    longest = max(len(e.content[0].value) for e in items.entries)
    assert longest < 5000  # "items" feeds carry summaries by default


def test_every_page_advertises_the_feeds_and_topics_their_own(example_site: Path) -> None:
    home = (example_site / "index.html").read_text(encoding="utf-8")
    for kind, href in [("application/atom+xml", "/digest/feed.xml"),
                       ("application/rss+xml", "/digest/rss.xml"),
                       ("application/feed+json", "/digest/feed.json")]:
        assert re.search(rf'<link rel="alternate" type="{re.escape(kind)}"[^>]*'
                         rf'href="{re.escape(href)}"', home), kind
    topic = (example_site / "topics" / "ai-safety" / "index.html").read_text(encoding="utf-8")
    assert 'href="/digest/topics/ai-safety/feed.xml"' in topic


def test_sitemap_lists_every_page_with_lastmod(example_site: Path) -> None:
    root = ET.parse(example_site / "sitemap.xml").getroot()
    listed = {u.findtext(f"{SITEMAP}loc") for u in root.iter(f"{SITEMAP}url")}
    pages = {BASE + p.parent.relative_to(example_site).as_posix() + "/"
             for p in example_site.rglob("index.html") if "pagefind" not in p.parts}
    pages = {p.replace(BASE + "./", BASE) for p in pages}
    assert listed == pages
    lastmods = [u.findtext(f"{SITEMAP}lastmod") for u in root.iter(f"{SITEMAP}url")]
    assert sum(1 for m in lastmods if m) > len(lastmods) // 2
    assert all(m is None or re.fullmatch(r"\d{4}-\d\d-\d\d", m) for m in lastmods)


def test_machine_files(example_site: Path) -> None:
    robots = (example_site / "robots.txt").read_text()
    assert f"Sitemap: {BASE}sitemap.xml" in robots
    assert (example_site / ".nojekyll").is_file()
    assert not (example_site / "CNAME").exists()
    opml = (example_site / "feeds.opml").read_text(encoding="utf-8")
    assert "<opml" in opml


def test_cname_is_written_when_configured(project: Callable[..., Path],
                                          run: Callable[..., Result]) -> None:
    from tests.conftest import MINIMAL_CONFIG

    config = MINIMAL_CONFIG.replace('timezone = "Europe/Moscow"',
                                    'timezone = "Europe/Moscow"\ncname = "digest.example.org"'
                                    '\nsearch = false')
    root = project(config=config)
    assert run(root, "build").exit_code == 0
    assert (root / "output" / "CNAME").read_text() == "digest.example.org\n"


def test_email_edition_is_self_contained(example_site: Path) -> None:
    email = (example_site / "issues" / "2026-w11" / "email.html").read_text(encoding="utf-8")
    assert "<script" not in email.lower()
    assert "<link" not in email.lower()
    assert 'style="' in email  # CSS inlined
    hrefs = re.findall(r'href="([^"]*)"', email)
    assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs), hrefs
    assert "Selectively reducing eval awareness" in email


def test_search_index_covers_items_under_the_sub_path(example_site: Path) -> None:
    assert (example_site / "search" / "index.html").is_file()
    assert (example_site / "pagefind" / "pagefind-ui.js").is_file()
    search = (example_site / "search" / "index.html").read_text(encoding="utf-8")
    assert "/digest/pagefind/" in search


@pytest.mark.parametrize("language,expect", [("ru", "Темы"), ("en", "Topics")])
def test_theme_strings_follow_the_site_language(project: Callable[..., Path],
                                                run: Callable[..., Result],
                                                language: str, expect: str) -> None:
    from tests.conftest import MINIMAL_CONFIG

    config = MINIMAL_CONFIG.replace('language = "ru"', f'language = "{language}"').replace(
        'timezone = "Europe/Moscow"', 'timezone = "Europe/Moscow"\nsearch = false')
    root = project(config=config)
    assert run(root, "build").exit_code == 0
    page = (root / "output" / "topics" / "index.html").read_text(encoding="utf-8")
    assert f"<h1>{expect}</h1>" in page


def test_a_project_theme_overrides_one_template_and_inherits_the_rest(
        project: Callable[..., Path], run: Callable[..., Result]) -> None:
    from tests.conftest import MINIMAL_CONFIG

    config = MINIMAL_CONFIG.replace('timezone = "Europe/Moscow"',
                                    'timezone = "Europe/Moscow"\ntheme = "mytheme"\nsearch = false')
    root = project({"mytheme/templates/page.html":
                    "{% extends 'base.html' %}{% block main %}<p id=mine>{{ page.title }}</p>"
                    "{% endblock %}",
                    "mytheme/static/extra.css": "p { color: red }",
                    "content/pages/about.md": "---\ntitle: About us\n---\nHi\n"}, config=config)
    result = run(root, "build")
    assert result.exit_code == 0, result.output
    out = root / "output"
    assert "<p id=mine>About us</p>" in (out / "pages" / "about" / "index.html").read_text()
    assert (out / "static" / "extra.css").is_file()
    assert (out / "static" / "style.css").is_file()  # from the default theme
    assert "<h1>" in (out / "topics" / "index.html").read_text()  # default template


def test_check_flags_links_that_escape_the_sub_path(project: Callable[..., Path],
                                                   run: Callable[..., Result]) -> None:
    from tests.conftest import MINIMAL_CONFIG

    config = MINIMAL_CONFIG.replace('timezone = "Europe/Moscow"',
                                    'timezone = "Europe/Moscow"\nsearch = false')
    root = project(config=config)
    assert run(root, "build").exit_code == 0
    assert run(root, "check").exit_code == 0
    page = root / "output" / "topics" / "index.html"
    page.write_text(page.read_text().replace("</main>", '<a href="/about/">x</a>'
                                             '<a href="nowhere/">y</a></main>'))
    result = run(root, "check")
    assert result.exit_code == 1
    assert "output/topics/index.html: /about/: escapes the site's path /my-digest/" in result.output
    assert "nowhere/: points to nothing" in result.output
