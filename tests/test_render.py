"""Stage 7, render: Site + theme -> files. A short specification, on a real project in a temp
folder (load, select and group real, the default theme real): which files a site is made
of, where each goes, and what a page links to."""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.config import load_config
from digest.errors import ThemeError
from digest.group import group
from digest.html.links import absolute_links
from digest.html.theme import load_theme
from digest.incremental.paths import CachePaths
from digest.load import load
from digest.render import Plan, plan, render_job
from digest.select import select

CONFIG = """\
[site]
title = "Render test"
description = "d"
base_url = "https://user.github.io/sub/"
language = "en"
timezone = "UTC"
page_size = 2
{extra}

[[feeds]]
slug = "blog"
title = "A blog"
url = "feeds/blog.xml"
topics = ["notes"]

[[topics]]
slug = "notes"
title = "Notes"
description = ""
keywords = []
"""


def post(n: int) -> str:
    return (f"---\nid: id{n}\ntitle: Post {n}\nlink: https://example.org/{n}\nsource: blog\n"
            f"published: '2026-03-{9 + n:02d}T10:00:00+00:00'\n---\n\nWords of post {n}.\n")


FILES = {**{f"content/items/p{n}.md": post(n) for n in range(1, 4)},
         "content/pages/about.md": "---\ntitle: About\n---\nUs.\n"}


def planned(project: Callable[..., Path], extra: str = "",
            files: dict[str, str] | None = None) -> Plan:
    root = project({**FILES, **(files or {})}, config=CONFIG.format(extra=extra))
    config = load_config(root / "digest.toml")
    corpus = load(config)
    site = group(select(corpus, config), corpus, config, lambda week: week)
    return plan(site, load_theme(config.site.theme, "en", CachePaths.of(config.state_dir)))


def page(made: Plan, path: str) -> str:
    (job,) = [j for j in made.jobs if j.path == path]
    return render_job(made, job).decode("utf-8")


def test_a_site_is_its_pages_its_feeds_and_its_machine_files(
        project: Callable[..., Path]) -> None:
    made = planned(project)
    rendered = {j.path for j in made.jobs}
    slugs = [v.item.slug for v in made.site.items]
    assert rendered == {
        "index.html", "issues/2026-w11/index.html", "issues/index.html", "topics/index.html",
        "topics/notes/index.html", "topics/notes/page/2/index.html", "sources/index.html",
        "sources/blog/index.html", "sources/blog/page/2/index.html",
        *(f"items/{s}/index.html" for s in slugs), "pages/about/index.html",
        "search/index.html", "404.html", "issues/2026-w11/email.html",
        *(f"{folder}{name}" for folder in ("", "topics/notes/", "sources/blog/")
          for name in ("feed.xml", "rss.xml", "feed.json")),
        "items.xml", "items-rss.xml", "items.json"}
    made_files = {f.path for f in made.files}
    assert {"sitemap.xml", "robots.txt", ".nojekyll", "static/style.css",
            "static/pygments.css"} <= made_files
    assert "feeds.opml" not in made_files  # the build writes it, from digest.toml


def test_the_sitemap_lists_every_page_but_the_404_and_the_email_editions(
        project: Callable[..., Path]) -> None:
    made = planned(project)
    sitemap = next(f.data for f in made.files if f.path == "sitemap.xml").decode()
    assert "<loc>https://user.github.io/sub/topics/notes/page/2/</loc>" in sitemap
    assert "<loc>https://user.github.io/sub/</loc>" in sitemap
    assert "404" not in sitemap and "email" not in sitemap


def test_without_search_there_is_no_search_page(project: Callable[..., Path]) -> None:
    made = planned(project, "search = false")
    assert "search/index.html" not in {j.path for j in made.jobs}
    assert "/sub/search/" not in page(made, "index.html")


def test_links_stay_under_the_sites_path_and_canonical_ones_are_absolute(
        project: Callable[..., Path]) -> None:
    html = page(planned(project), "topics/notes/index.html")
    assert 'href="/sub/static/style.css"' in html
    assert 'rel="canonical" href="https://user.github.io/sub/topics/notes/"' in html
    assert 'href="/sub/topics/notes/page/2/"' in html  # the pager
    assert 'href="/topics/' not in html


def pager_links(html: str) -> list[str]:
    """The pager's numbered links and gaps, in order: "3", "…", "3*" for this page."""
    nav = html[html.index('<nav class="pager"'):]
    nav = nav[:nav.index("</nav>")]
    return [("…" if gap else n + ("*" if current else ""))
            for gap, n, current in re.findall(
                r'(class="pager-gap")|aria-label="Page (\d+)"( aria-current="page")?', nav)]


def test_a_long_list_links_its_first_and_last_pages_and_those_near(
        project: Callable[..., Path]) -> None:
    """Ten pages: each links the first and the last, and two on each side of itself; the
    pages left out are an ellipsis, unless one page would be."""
    posts = {f"content/items/p{n}.md": post(n) for n in range(1, 21)}
    made = planned(project, files=posts)
    on = {n: pager_links(page(made, "topics/notes/" + ("" if n == 1 else f"page/{n}/")
                              + "index.html")) for n in (1, 4, 5, 6, 10)}
    assert on[1] == ["1*", "2", "3", "…", "10"]
    assert on[4] == ["1", "2", "3", "4*", "5", "6", "…", "10"]  # 1-2-3: no gap to hide
    assert on[5] == ["1", "2", "3", "4", "5*", "6", "7", "…", "10"]
    assert on[6] == ["1", "…", "4", "5", "6*", "7", "8", "9", "10"]
    assert on[10] == ["1", "…", "8", "9", "10*"]
    sixth = page(made, "topics/notes/page/6/index.html")
    assert 'href="/sub/topics/notes/page/7/" rel="next"' in sixth


def test_a_topic_page_advertises_the_sites_feeds_and_its_own(
        project: Callable[..., Path]) -> None:
    made = planned(project)
    topic = page(made, "topics/notes/index.html")
    home = page(made, "index.html")
    for html in (topic, home):
        assert 'rel="alternate" type="application/atom+xml"' in html
        assert 'href="/sub/items.json"' in html
    assert 'href="/sub/topics/notes/feed.xml"' in topic
    assert "topics/notes/feed.xml" not in home


def test_the_email_edition_links_absolutely(project: Callable[..., Path]) -> None:
    html = page(planned(project), "issues/2026-w11/email.html")
    assert 'href="https://user.github.io/sub/issues/2026-w11/"' in html
    assert 'href="https://user.github.io/sub/feed.xml"' in html
    assert 'href="/sub/' not in html
    assert "<style" not in html.split("<body", 1)[1]  # its CSS is inlined


def test_only_link_attributes_are_made_absolute() -> None:
    """href, src and srcset, also as the last word of a longer name (data-src); never a
    name that only ends in one of them."""
    html = ('<a href="a/b">1</a><img data-src="p.png" srcset="s.png 1x, t.png 2x">'
            '<b xhref="q" xsrcset="r">2</b><a href="https://e.org/">3</a><a href="#top">4</a>')
    assert absolute_links(html, "https://s.org/w/") == (
        '<a href="https://s.org/w/a/b">1</a><img data-src="https://s.org/w/p.png" '
        'srcset="https://s.org/w/s.png 1x, https://s.org/w/t.png 2x">'
        '<b xhref="q" xsrcset="r">2</b><a href="https://e.org/">3</a><a href="#top">4</a>')


def test_a_template_that_fails_is_one_error_naming_it(project: Callable[..., Path]) -> None:
    made = planned(project, 'theme = "mine"',
                   {"mine/templates/page.html": "{{ page.no_such_thing }}"})
    with pytest.raises(ThemeError, match=r"page\.html"):
        page(made, "pages/about/index.html")


def test_every_template_sees_the_globals_the_build_set(project: Callable[..., Path]) -> None:
    """Templates get the environment's globals copied when they load (html/theme.py,
    `_Environment`: a plain dict, quicker than Jinja's ChainMap over them). That holds only
    while no global is set or changed once a template has loaded: after every page and
    feed is made, each loaded template still sees exactly the environment's globals."""
    made = planned(project)
    for job in made.jobs:
        render_job(made, job)
    loaded = list(made.env.cache.values()) if made.env.cache is not None else []
    assert {t.name for t in loaded} >= {"base.html", "item.html", "issue.html", "topic.html"}
    for template in loaded:
        assert template.globals.keys() == made.env.globals.keys(), template.name
        assert all(template.globals[k] is v for k, v in made.env.globals.items()), template.name


def test_the_menu_marks_the_page_or_the_section_a_reader_is_in(
        project: Callable[..., Path]) -> None:
    made = planned(project)

    def current(path: str) -> dict[str, str]:
        nav = page(made, path).split('<nav class="site-nav"', 1)[1].split("</nav>", 1)[0]
        return dict(re.findall(r'<a href="/sub/([^"]*)" aria-current="(\w+)"', nav))

    assert current("topics/index.html") == {"topics/": "page"}
    assert current("topics/notes/index.html") == {"topics/": "true"}
    assert current("pages/about/index.html") == {"pages/about/": "page"}
    assert current("items/p1/index.html") == {}  # an item is in no section of the menu
    assert current("index.html") == {}


def test_the_default_themes_pages_leave_no_garbage_in_cycles(
        project: Callable[..., Path]) -> None:
    """A page rendered leaves nothing that only the cyclic garbage collector frees (a macro
    defined in the template a page extends would: it is tied to the page's context), so that
    a build of 10,000 item pages does not pay for collecting them (docs/theme.md)."""
    made = planned(project)
    pages = [j for j in made.jobs if j.page is not None and j.page.template in
             ("item.html", "topic.html", "source.html", "page.html", "topics.html")]
    assert {j.page.template for j in pages if j.page} == {
        "item.html", "topic.html", "source.html", "page.html", "topics.html"}
    for job in pages:
        render_job(made, job)  # the theme's templates and cached parts made once
    gc.collect()
    gc.disable()
    try:
        for job in pages:
            render_job(made, job)
        assert gc.collect() == 0
    finally:
        gc.enable()
