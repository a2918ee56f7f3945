"""The published example site, as a visitor's tools see it: valid HTML and CSS (the Nu Html
Checker), every page in the language it says it is in, no broken or escaping links when it is
served under its sub-path, and a light item page.

Uses the session `example_site` fixture (the bundled example, built once). The HTML check runs
the current Nu Html Checker, vnu.jar from the npm package `vnu-jar`, with a Java runtime:
$DIGEST_VNU names the jar, else it is looked for where .ci/run installs it; skipped without
them."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

PREFIX = "/digest/"  # the path the example's base_url puts the site under
BASE_URL = "https://example.github.io/digest/"
ITEM = "items/selectively-reducing-eval-awareness-and-murder-in-gemma-3-0be7cc/index.html"
WEIGHT_BUDGET = 30 * 1024  # bytes: the item page's own HTML, CSS and JS, without the item's text


def site_pages(output: Path) -> list[Path]:
    """Every HTML page digest wrote (not Pagefind's bundle)."""
    return sorted(p for p in output.rglob("*.html")
                  if p.relative_to(output).parts[0] != "pagefind")


# --- a. The Nu Html Checker ----------------------------------------------------------------------

def vnu_jar() -> Path:
    """The Nu Html Checker: $DIGEST_VNU, or the npm package `vnu-jar` where .ci/run installs
    it. Skips without it or without Java."""
    named = os.environ.get("DIGEST_VNU")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    jar = Path(named) if named else \
        cache / "digest-ci/vnu/node_modules/vnu-jar/build/dist/vnu.jar"
    if not jar.is_file():
        if named:
            pytest.fail(f"DIGEST_VNU={named} is not a file (the Nu checker's vnu.jar)")
        pytest.skip(f"the Nu Html Checker is not installed at {jar} "
                    "(.ci/run installs the npm package vnu-jar there)")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for the Nu Html Checker "
                    "(apt-get install default-jre-headless)")
    return jar


@pytest.fixture(scope="module")
def vnu_messages(example_site: Path) -> dict[str, list[dict[str, Any]]]:
    """Everything the checker says (errors and warnings) about every page and the theme's
    stylesheets, by path relative to output/ (one JVM run); nothing is filtered out."""
    jar = vnu_jar()
    pages = site_pages(example_site)
    assert len(pages) > 50
    styles = sorted((example_site / "static").glob("*.css"))
    assert styles
    proc = subprocess.run(
        ["java", "-Xss4m", "-jar", str(jar), "--format", "json", "--stdout",
         "--also-check-css", *map(str, pages + styles)],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.stdout.strip(), f"vnu.jar said nothing (exit {proc.returncode}): {proc.stderr}"
    report = json.loads(proc.stdout)
    found: dict[str, list[dict[str, Any]]] = {
        p.relative_to(example_site).as_posix(): [] for p in pages + styles}
    for message in report["messages"]:
        url = message.get("url", "")
        name = url.removeprefix(example_site.as_uri() + "/").removeprefix(
            "file:" + str(example_site) + "/")
        found.setdefault(name, []).append(message)
    return found


def errors(found: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The errors (bad markup or CSS, or a file the checker could not read): not its
    warnings, which are type "info"."""
    bad = {n: [m for m in messages if m.get("type") != "info"]
           for n, messages in found.items()}
    return {n: m for n, m in bad.items() if m}


def describe(found: dict[str, list[dict[str, Any]]]) -> str:
    return "\n".join(f"{name}:{m.get('lastLine')}: {m.get('message')}  [{m.get('extract', '')!r}]"
                     for name, messages in found.items() for m in messages)


def test_every_page_is_valid_html(vnu_messages: dict[str, list[dict[str, Any]]]) -> None:
    pages = {n: m for n, m in vnu_messages.items()
             if n.endswith(".html") and not n.endswith("/email.html")}
    assert {"index.html", "404.html", "issues/2026-w11/index.html", ITEM} <= pages.keys()
    assert not errors(pages), describe(errors(pages))


def test_every_email_edition_is_valid_html(vnu_messages: dict[str, list[dict[str, Any]]]) -> None:
    emails = {n: m for n, m in vnu_messages.items() if n.endswith("/email.html")}
    assert "issues/2026-w11/email.html" in emails
    assert not errors(emails), describe(errors(emails))


def test_the_themes_stylesheets_are_valid_css(
        vnu_messages: dict[str, list[dict[str, Any]]]) -> None:
    styles = {n: m for n, m in vnu_messages.items() if n.endswith(".css")}
    assert "static/style.css" in styles
    assert not errors(styles), describe(errors(styles))


_LANGUAGE = re.compile(r"\blang\b|language", re.IGNORECASE)


def test_every_page_is_in_the_language_it_declares(
        vnu_messages: dict[str, list[dict[str, Any]]]) -> None:
    """The example is a Russian site of English posts: the checker's language detection
    ("This document appears to be written in English…") finds every page, email edition
    included, in the language its `lang` attributes say."""
    said = {n: [m for m in messages if _LANGUAGE.search(m.get("message", ""))]
            for n, messages in vnu_messages.items() if n.endswith(".html")}
    said = {n: m for n, m in said.items() if m}
    assert not said, describe(said)


# --- b. Links, with the site served under /digest/ -----------------------------------------------

class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """A plain static host, like GitHub Pages: no directory listings, nothing injected."""

    def list_directory(self, path: Any) -> None:
        self.send_error(404, "No index.html")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(example_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The built site mounted at /digest/ of a real local HTTP server: its origin."""
    docroot = tmp_path_factory.mktemp("docroot")
    (docroot / PREFIX.strip("/")).symlink_to(example_site, target_is_directory=True)
    handler = functools.partial(_StaticHandler, directory=str(docroot))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a link that needs a redirect is reported, not followed


_opener = urllib.request.build_opener(_NoRedirect)


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with _opener.open(url, timeout=10) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, "", b""


class _Links(HTMLParser):
    """Every URL a page refers to, and its element ids (fragment targets)."""

    ATTRS = ("href", "src", "action", "poster", "data-base")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.feeds: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v for k, v in attrs if v is not None}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        self.urls.extend(a[k] for k in self.ATTRS if k in a)
        if "srcset" in a:
            self.urls.extend(part.split()[0] for part in a["srcset"].split(",") if part.strip())
        if tag == "link" and "alternate" in a.get("rel", "").split() and "href" in a:
            self.feeds.append(a["href"])
        if tag == "div" and "data-bundle" in a:  # Pagefind loads these from data-bundle
            bundle = a["data-bundle"]
            self.urls += [bundle + "pagefind.js", bundle + "pagefind-entry.json"]


_PUBLIC = re.compile(r"https://example\.github\.io/[^\s\"'<>)\]]*")


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON document (so that escaping does not hide or mangle a URL)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass
class Crawl:
    origin: str
    pages: dict[str, set[str]] = field(default_factory=dict)  # HTML page URL -> its ids
    status: dict[str, int] = field(default_factory=dict)
    outside: list[str] = field(default_factory=list)
    feeds: set[str] = field(default_factory=set)
    fragments: list[tuple[str, str, str]] = field(default_factory=list)  # (page, target, id)
    linked_from: dict[str, str] = field(default_factory=dict)  # URL -> the first page to link it

    def local(self, url: str, page: str) -> str | None:
        """`url` (found on `page`) as a URL on the local server, or None if it is external."""
        absolute = urljoin(page, url)
        if absolute.startswith("https://example.github.io/"):  # the site's public address
            absolute = self.origin + absolute.removeprefix("https://example.github.io")
        parts = urlsplit(absolute)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            return None
        if not parts.path.startswith(PREFIX):
            self.outside.append(f"{page} -> {url}")
            return None
        return absolute

    def visit(self, seeds: list[str]) -> None:
        queue = list(seeds)
        while queue:
            url = queue.pop()
            page, _ = urldefrag(url)
            if page in self.status:
                continue
            code, kind, body = fetch(page)
            self.status[page] = code
            if code != 200:
                continue
            if kind == "text/html":
                parser = _Links()
                parser.feed(body.decode("utf-8"))
                self.pages[page] = parser.ids
                for feed in parser.feeds:
                    if (target := self.local(feed, page)) is not None:
                        self.feeds.add(target)
                for ref in parser.urls + parser.feeds:
                    target = self.local(ref, page)
                    if target is None:
                        continue
                    self.note(page, target)
                    queue.append(target)
            elif kind in ("application/xml", "text/xml", "application/json", "text/plain",
                          "application/atom+xml", "application/rss+xml", "text/x-opml"):
                # Feeds, sitemap, robots.txt: the site's own public URLs inside them.
                text = body.decode("utf-8")
                if kind == "application/json":
                    text = "\n".join(_strings(json.loads(text)))
                for ref in _PUBLIC.findall(text):
                    target = self.local(ref, page)
                    if target is not None:
                        self.note(page, target)
                        queue.append(target)

    def note(self, page: str, target: str) -> None:
        path, fragment = urldefrag(target)
        if fragment:
            self.fragments.append((page, path, fragment))
        self.linked_from.setdefault(path, page)


@pytest.fixture(scope="module")
def crawl(served: str, example_site: Path) -> Crawl:
    site = served + PREFIX
    seeds = [site, site + "404.html", site + "sitemap.xml", site + "robots.txt"]
    # The email editions are not linked from the site: start from them too.
    seeds += [site + p.relative_to(example_site).as_posix()
              for p in sorted(example_site.glob("issues/*/email.html"))]
    result = Crawl(served)
    result.visit(seeds)
    return result


def test_no_broken_internal_links_under_the_sub_path(crawl: Crawl, example_site: Path) -> None:
    broken = [f"{url} ({code}), linked from {crawl.linked_from.get(url, 'a seed')}"
              for url, code in sorted(crawl.status.items()) if code != 200]
    assert not broken, "\n".join(broken)
    assert not crawl.outside, "links that leave " + PREFIX + ":\n" + "\n".join(crawl.outside)
    # The crawl reached every page digest wrote (the 404 page and email editions as seeds).
    reached = {urlsplit(u).path for u in crawl.pages}
    for page in site_pages(example_site):
        rel = page.relative_to(example_site).as_posix()
        path = PREFIX + (rel.removesuffix("index.html") if rel.endswith("index.html") else rel)
        assert path in reached, f"{rel} is not reachable by links from {PREFIX}"


def test_in_page_fragments_point_at_an_id(crawl: Crawl) -> None:
    missing = sorted({f"{page} -> {target}#{fragment}"
                      for page, target, fragment in crawl.fragments
                      if target in crawl.pages and fragment not in crawl.pages[target]})
    assert not missing, "\n".join(missing)


def test_every_alternate_feed_resolves(crawl: Crawl) -> None:
    assert len(crawl.feeds) >= 6
    for feed in sorted(crawl.feeds):
        code, _, body = fetch(feed)
        assert code == 200, feed
        if feed.endswith(".json"):
            assert json.loads(body)["version"].startswith("https://jsonfeed.org/version/")
        else:
            assert ET.fromstring(body).tag in ("{http://www.w3.org/2005/Atom}feed", "rss"), feed


# --- c. Page weight ------------------------------------------------------------------------------

class _Weight(HTMLParser):
    """The stylesheets and scripts a page loads, and where its `div.content` starts and ends
    (character offsets)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.line_starts = [0]
        for line in text.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.assets: list[str] = []
        self.depth = 0  # of <div> inside div.content, once it started
        self.span: tuple[int, int] | None = None
        self.start: int | None = None

    def position(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if self.start is None and self.span is None:
            rel = a.get("rel", "").split()
            if tag == "link" and "stylesheet" in rel:
                self.assets.append(a["href"])
            elif tag == "script" and "src" in a:
                self.assets.append(a["src"])
            elif tag == "div" and "content" in a.get("class", "").split():
                self.start = self.position()
                self.depth = 1
        elif self.start is not None and tag == "div":
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.start is not None and tag == "div":
            self.depth -= 1
            if self.depth == 0:
                self.span = (self.start, self.position() + len("</div>"))
                self.start = None


def test_item_page_weight(example_site: Path) -> None:
    text = (example_site / ITEM).read_text(encoding="utf-8")
    parser = _Weight(text)
    parser.feed(text)
    parser.close()
    assert parser.span is not None, "no <div class=\"content\"> on the item page"
    begin, end = parser.span
    assert text[begin:].startswith('<div class="content"') and text[:end].endswith("</div>")
    content = len(text[begin:end].encode("utf-8"))
    html = len(text.encode("utf-8"))
    files = {src: example_site / src.removeprefix(PREFIX) for src in parser.assets}
    assert PREFIX + "static/style.css" in files
    assert PREFIX + "static/pygments.css" not in files  # the item has no highlighted code
    assets = sum(path.stat().st_size for path in files.values())
    weight = html - content + assets
    assert weight < WEIGHT_BUDGET, (
        f"item page: {html} B HTML - {content} B item text + {assets} B of "
        f"{sorted(files)} = {weight} B, over {WEIGHT_BUDGET} B")
