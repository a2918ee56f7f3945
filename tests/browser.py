"""Helpers for tests/test_browser.py: Debian's Chromium driven by Playwright, a static host
that mounts a built site under its sub-path, a watcher that records everything a page
complains about (console errors, failed requests, CSP violations, calls to `alert`), and the
hostile feeds the browser must survive.

Nothing here imports Playwright: test_browser.py skips itself first when it is missing."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from tests.conftest import FIXTURES

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Dialog,
        Request,
        Response,
        Route,
        WebError,
    )

CHROMIUM = Path(os.environ.get("DIGEST_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--disable-quic"]
PREFIX = "/digest/"  # where the example's base_url puts the site, and where we mount it
CSP = ("default-src 'self'; img-src 'self' https: http: data:; "
       "script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-src 'none'")


@contextmanager
def chromium_browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright, for one module's tests (a module-scoped fixture
    yields from this). Skips when either is missing. Playwright's event loop lives in this
    thread while it runs, so it must stop with the module: later tests run `asyncio.run`."""
    import pytest  # here: this module is imported by tests that never open a browser

    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright for Python is missing")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()

# Runs in every frame before any of the page's scripts: a trap on the dialog functions (the
# classic proof of XSS) and a listener for Content-Security-Policy violations. Both report to
# Python at once (so a report survives a navigation) and keep a copy in the page.
INIT_SCRIPT = """
(() => {
  const seen = [];
  Object.defineProperty(window, "__digestSeen", {value: seen});
  const report = (kind, detail) => {
    seen.push(kind + ": " + detail);
    // A count a selector can wait for (waiting on a JS predicate needs eval, which the CSP bars).
    document.documentElement?.setAttribute("data-digest-seen", String(seen.length));
    try { window.__digestReport(kind, String(detail), location.href); } catch (e) {}
  };
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = function (...args) {
      report("trap", name + "(" + args.map(String).join(", ") + ")");
      return name === "confirm" ? false : null;
    };
  }
  document.addEventListener("securitypolicyviolation", (e) => {
    report("csp", e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " +
           e.sourceFile + ":" + e.lineNumber + " " + JSON.stringify(e.sample || ""));
  }, true);
})();
"""

# A 1x1 transparent GIF: what an external image gets (the sandbox has no internet).
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c000000000100"
                      "01000002024401003b")
STUB_PAGE = b"<!doctype html><title>external</title><p>An external page, not loaded by tests."


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """A plain static host, like GitHub Pages: no directory listings, nothing injected."""

    def list_directory(self, path: Any) -> None:
        self.send_error(404, "No index.html")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the browser cancelled a request (it moved on): nothing to report


@contextmanager
def static_site(output: Path, docroot: Path) -> Iterator[str]:
    """`output` mounted at PREFIX of a real local HTTP server; yields its origin."""
    (docroot / PREFIX.strip("/")).symlink_to(output, target_is_directory=True)
    handler = functools.partial(_StaticHandler, directory=str(docroot))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Watch:
    """Everything the pages of one browser context complain about, with the page's URL.

    External requests never reach the network: navigations get a stub page, images a pixel,
    anything else an empty answer; each is recorded in `external`."""

    origin: str
    console: list[str] = field(default_factory=list)  # errors and warnings
    messages: list[str] = field(default_factory=list)  # every console message
    errors: list[str] = field(default_factory=list)  # uncaught exceptions
    failed: list[str] = field(default_factory=list)  # requests that failed or got >= 400
    reports: list[str] = field(default_factory=list)  # trap and CSP reports from the page
    dialogs: list[str] = field(default_factory=list)  # dialogs that opened anyway
    external: list[tuple[str, str]] = field(default_factory=list)  # (resource type, URL)
    popups: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> Watch:
        context.expose_binding("__digestReport", self._report)
        context.add_init_script(INIT_SCRIPT)
        context.on("console", self._console)
        context.on("weberror", self._weberror)
        context.on("requestfailed", self._requestfailed)
        context.on("response", self._response)
        context.on("dialog", self._dialog)
        context.on("page", self._page)
        context.route(lambda url: not url.startswith(self.origin + "/"), self._external)
        return self

    # -- what the page reports

    def _report(self, source: Any, kind: str, detail: str, where: str) -> None:
        self.reports.append(f"{kind} on {where}: {detail}")

    def _console(self, message: ConsoleMessage) -> None:
        where = message.page.url if message.page else "?"
        line = f"{message.type} on {where}: {message.text}"
        self.messages.append(line)
        if message.type in ("error", "warning"):
            self.console.append(line)

    def _weberror(self, error: WebError) -> None:
        where = error.page.url if error.page else "?"
        self.errors.append(f"{where}: {error.error}")

    def _requestfailed(self, request: Request) -> None:
        # ERR_ABORTED is the browser cancelling a request (a favicon still loading when the test
        # moves on), not a failure: whatever a page needs has arrived by its load event.
        if request.failure != "net::ERR_ABORTED":
            self.failed.append(f"{request.url}: {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url}: HTTP {response.status}")

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _page(self, page: Any) -> None:
        if len(page.context.pages) > 1:
            self.popups.append(page.url)

    def _external(self, route: Route) -> None:
        request = route.request
        self.external.append((request.resource_type, request.url))
        if request.resource_type == "document":
            route.fulfill(status=200, content_type="text/html", body=STUB_PAGE)
        elif request.resource_type == "image":
            route.fulfill(status=200, content_type="image/gif", body=PIXEL)
        else:
            route.fulfill(status=204, body=b"")

    # -- the verdicts

    def problems(self, *, warnings: bool = False) -> list[str]:
        """Console errors (and warnings if asked), exceptions, failed requests, reports."""
        console = self.console if warnings else [c for c in self.console
                                                 if c.startswith("error")]
        return ([f"console {c}" for c in console] + [f"exception {e}" for e in self.errors]
                + [f"request {f}" for f in self.failed] + self.reports
                + [f"dialog {d}" for d in self.dialogs])

    def clear(self) -> None:
        for name in ("console", "messages", "errors", "failed", "reports", "dialogs",
                     "external", "popups"):
            getattr(self, name).clear()


# --- the hostile feeds ---------------------------------------------------------------------------

PAYLOADS: list[str] = json.loads((FIXTURES / "xss-basic.json").read_text(encoding="utf-8"))

# Bodies: every vector class beyond OWASP's basics, each in an ordinary paragraph.
VECTORS: dict[str, str] = {
    "svg script": "<svg><script>alert('svg-script')</script></svg>",
    "svg onload": '<svg onload="alert(\'svg-onload\')"><circle r="4"/></svg>',
    "svg xlink:href": '<svg><a xlink:href="javascript:alert(\'svg-a\')"><text y="15">svg a'
                      "</text></a></svg>",
    "svg animate href": '<svg><a><animate attributeName="href" values="javascript:alert(\'anim\')"'
                        '/><text y="15">animate</text></a></svg>',
    "svg set handler": '<svg><set attributeName="onmouseover" to="alert(\'set\')"/>'
                       '<animate onbegin="alert(\'onbegin\')" attributeName="x" dur="1s"/></svg>',
    "svg use data:": '<svg><use href="data:image/svg+xml;base64,PHN2ZyBpZD0neCcgeG1sbnM9J2h0dHA6Ly9'
                     '3d3cudzMub3JnLzIwMDAvc3ZnJz48aW1hZ2UgaHJlZj0neCcgb25lcnJvcj0nYWxlcnQoMSknLz48'
                     'L3N2Zz4=#x"/></svg>',
    "svg foreignObject": '<svg><foreignObject><iframe srcdoc="<script>alert(\'fo\')</script>">'
                         "</iframe></foreignObject></svg>",
    "img svg data:": '<img alt="svg" src="data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000'
                     '/svg%22 onload=%22alert(\'imgsvg\')%22/>">',
    "data: link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>',
    "data: iframe": "<iframe src=\"data:text/html,<script>alert('dataframe')</script>\"></iframe>",
    "data: object": "<object data=\"data:text/html,<script>alert('dataobj')</script>\"></object>",
    "data: embed": "<embed src=\"data:image/svg+xml,<svg onload=alert('embed')>\">",
    "srcset javascript:": '<img alt="s" src="https://img.example/a.png" '
                          'srcset="javascript:alert(\'srcset\') 1x, https://img.example/b.png 2x">',
    "srcset data:": "<img alt=\"s\" srcset=\"data:image/svg+xml,<svg onload=alert('ss')> 1x\">",
    "picture source": '<picture><source srcset="javascript:alert(\'pic\')">'
                      '<img alt="p" src="https://img.example/c.png"></picture>',
    "decimal entities": '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;'
                        "alert('dec')\">dec</a>",
    "padded entities": '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114'
                       "&#0000105&#0000112&#0000116&#0000058alert('pad')\">pad</a>",
    "hex entities": '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;'
                    "alert('hex')\">hex</a>",
    "named entities": "<a href=\"java&NewLine;script&colon;alert('named')\">named</a>"
                      "<a href=\"jav&Tab;ascript:alert('tab')\">tab</a>",
    "control characters": "<a href=\" &#14;  javascript:alert('ctrl')\">ctrl</a>"
                          "<a href=\"java&#0;script:alert('nul')\">nul</a>",
    "mixed case": "<a href=\"JaVaScRiPt:alert('case')\">case</a>",
    "vbscript:": '<a href="vbscript:msgbox(1)">vb</a>',
    "area": '<map name="m"><area shape="rect" coords="0,0,9,9" href="javascript:alert(\'area\')">'
            '</map><img alt="m" usemap="#m" src="https://img.example/e.png">',
    "meta refresh": "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('meta')\">",
    "base href": "<base href=\"javascript:alert('base')//\">",
    "forms": "<form action=\"javascript:alert('form')\"><button>go</button></form>"
             "<button formaction=\"javascript:alert('fa')\">b</button>"
             "<input autofocus onfocus=\"alert('focus')\">",
    "event handlers": "<details open ontoggle=\"alert('toggle')\"><summary>s</summary>d</details>"
                      "<video><source onerror=\"alert('video')\"></video>"
                      "<audio src=\"x\" onerror=\"alert('audio')\"></audio>"
                      "<img src=x onerror=\"alert('img')\"><body onload=\"alert('body')\">"
                      "<marquee onstart=\"alert('marquee')\">m</marquee>",
    "styles": "<style>*{background:url(\"javascript:alert('style')\")}</style>"
              "<style>@import 'https://evil.example/x.css';</style>"
              "<p style=\"background-image:url(javascript:alert('sattr'))\">st</p>"
              "<div style=\"width: expression(alert('expr'))\">ex</div>"
              '<link rel="stylesheet" href="https://evil.example/y.css">',
    "iframe srcdoc": "<iframe srcdoc=\"&lt;script&gt;alert('srcdoc')&lt;/script&gt;\"></iframe>",
    "mutation: noscript": "<noscript><p title=\"</noscript><img src=x onerror=alert('mx1')>\">"
                          "</noscript>",
    "mutation: math style": "<math><mtext><table><mglyph><style><img src=x onerror=alert('mx2')>"
                            "</style></mglyph></table></mtext></math>",
    "mutation: nested forms": "<form><math><mtext></form><form><mglyph><style></math>"
                              "<img src onerror=alert('mx3')>",
    "mutation: comments": "<!--><img src=x onerror=alert('mx4')>--><![CDATA[><img src=x "
                          "onerror=alert('mx5')>]]>",
    "math href": "<math href=\"javascript:alert('mathhref')\"><mi>x</mi></math><math><maction "
                 "actiontype=\"statusline\" xlink:href=\"javascript:alert('maction')\"><mtext>m"
                 "</mtext></maction></math>",
    "template and raw text": "<template><script>alert('tpl')</script></template>"
                             "<textarea></textarea><script>alert('ta')</script>"
                             "<xmp></xmp><img src=x onerror=alert('xmp')>"
                             "</title><script>alert('title')</script>",
    "mathjax script": "<script type=\"math/tex\">\\href{javascript:alert('tex')}{x}</script>"
                      "<script type=\"math/tex; mode=display\"></script><img src=x "
                      "onerror=alert('tex2')>",
    "code language": "<pre><code class=\"language-&quot;&gt;&lt;script&gt;alert('lang')&lt;/"
                     "script&gt;\">x = 1</code></pre>",
    "attribute breakout": "<img src=\"https://img.example/f.png\" alt=\"&quot;&gt;&lt;script&gt;"
                          "alert('alt')&lt;/script&gt;\"><img src=\"x\" alt=\"a onerror=alert(1)//",
    "dom clobbering": '<a id="search" name="PagefindUI" href="https://evil.example/c">c</a>'
                      '<img name="getElementById" alt="d" src="https://img.example/d.png">'
                      '<form id="__digestReport"></form><a id="main" name="location">m</a>',
    "tabnabbing": '<a href="https://evil.example/tab" target="_blank">tab</a>',
    "frameset and portal": "<frameset onload=\"alert('frameset')\"></frameset>"
                           "<portal src=\"https://evil.example/\"></portal>",
    "template injection": "{{ 7*7 }} {% for x in range(3) %}{{ x }}{% endfor %} ${7*7} #{7*7}",
    "protocol-relative": '<a href="//evil.example/pr">pr</a>'
                         '<img alt="pr" src="//img.example/g.png">',
}


def _atom_entry(n: int, title: str, author: str, category: str, body: str, *,
                link: str, base: str | None = None, content_base: str | None = None,
                extra: str = "") -> str:
    day = 2 + n % 26
    entry_base = f" xml:base={quoteattr(base)}" if base else ""
    body_base = f" xml:base={quoteattr(content_base)}" if content_base else ""
    return (f"<entry{entry_base}><id>urn:evil:{n}</id><title type=\"text\">{escape(title)}</title>"
            f"<link rel=\"alternate\" href={quoteattr(link)}/>"
            f"<updated>2026-03-{day:02d}T10:00:00Z</updated>"
            f"<author><name>{escape(author)}</name><uri>javascript:alert('uri')</uri>"
            f"<email>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;@x</email></author>"
            f"<category term={quoteattr(category)} label={quoteattr(category)}/>"
            f"<link rel=\"enclosure\" href=\"javascript:alert('enclosure')\" type=\"audio/mpeg\" "
            f"length=\"1\"/>{extra}"
            f"<content type=\"html\"{body_base}>"
            f"{escape('<p>Intro about alert and svg.</p>' + body)}</content></entry>")


def atom_feed() -> bytes:
    """Each OWASP payload in an entry's title, author, category and body; each vector class in a
    body; hostile links, enclosures, xml:base, XHTML and HTML-typed titles."""
    entries = [_atom_entry(n, p, p, p, p, link=f"javascript:alert({n})")
               for n, p in enumerate(PAYLOADS)]
    links = ["data:text/html,<script>alert('link')</script>", "vbscript:msgbox('link')",
             "&#106;avascript:alert('link')", " JAVASCRIPT:alert('link')"]
    for n, (name, body) in enumerate(VECTORS.items(), start=len(entries)):
        entries.append(_atom_entry(n, f"Vector: {name} <svg onload=alert('{n}')>",
                                   f"\"><img src=x onerror=alert('{n}')>", f"<b>{name}</b>", body,
                                   link=links[n % len(links)]))
    n = len(entries)
    relative = ('<p><a href="relative/path">relative link</a> <img alt="rel" src="pic.png"> '
                '<a href="?q=1">query</a></p>')
    entries += [
        _atom_entry(n, "xml:base javascript: on the entry", "base", "base", relative,
                    link="relative/entry", base="javascript:alert('xmlbase')//"),
        _atom_entry(n + 1, "xml:base data: on the content", "base", "base", relative,
                    link="https://blog.example/ok", content_base="data:text/html,<script>"
                    "alert('xmlbase2')</script>/"),
        _atom_entry(n + 2, "xml:base vbscript: and a relative entry link", "base", "base", relative,
                    link="entry", base="vbscript:msgbox(1)//"),
    ]
    xhtml = ('<entry><id>urn:evil:xhtml</id><title type="html">&lt;img src=x '
             'onerror=alert(&apos;html-title&apos;)&gt;XHTML content</title>'
             '<link href="https://blog.example/xhtml"/><updated>2026-03-20T10:00:00Z</updated>'
             '<author><name>x</name></author><content type="xhtml"><div xmlns="http://www.w3.org/'
             '1999/xhtml"><p onclick="alert(\'xhtml\')">XHTML alert body</p><script>alert('
             "'xhtml-script')</script><a href=\"javascript:alert('xhtml-a')\">x</a><svg xmlns="
             '"http://www.w3.org/2000/svg" onload="alert(\'xhtml-svg\')"/></div></content>'
             '</entry>')
    text = ('<entry><id>urn:evil:text</id><title>Text content with markup</title>'
            '<link href="https://blog.example/text"/><updated>2026-03-21T10:00:00Z</updated>'
            '<content type="text">[md](javascript:alert(\'md\')) &lt;script&gt;alert(\'text\')'
            '&lt;/script&gt; &lt;javascript:alert(1)&gt; alert svg</content></entry>')
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>Evil &lt;script&gt;alert(1)'
            '&lt;/script&gt;</title><id>urn:evil</id><link href="javascript:alert(\'feed\')"/>'
            f"<updated>2026-03-21T10:00:00Z</updated>{''.join(entries)}{xhtml}{text}"
            "</feed>").encode()


def rss_feed() -> bytes:
    """RSS 2.0: javascript: in link, guid, comments, enclosure and media URLs; payloads in
    CDATA descriptions, content:encoded, dc:creator and categories."""
    items = []
    for n, payload in enumerate(PAYLOADS[:8]):
        items.append(
            f"<item><title>{escape(payload)}</title><link>javascript:alert('rss{n}')</link>"
            f"<guid isPermaLink=\"true\">javascript:alert('guid{n}')</guid>"
            f"<comments>javascript:alert('comments')</comments>"
            f"<pubDate>Mon, {9 + n % 5:02d} Mar 2026 10:00:00 GMT</pubDate>"
            f"<dc:creator>{escape(payload)}</dc:creator><author>x@y ({escape(payload)})</author>"
            f"<category>{escape(payload)}</category>"
            f"<description><![CDATA[<p>RSS alert svg.</p>{payload}]]></description>"
            f"<content:encoded>{escape('<p>Full alert svg.</p>' + payload)}</content:encoded>"
            f"<enclosure url=\"javascript:alert('enc')\" type=\"audio/mpeg\" length=\"1\"/>"
            f"<media:content url=\"javascript:alert('media')\" medium=\"image\"/>"
            f"<media:thumbnail url=\"data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;\"/>"
            "</item>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Evil RSS</title>'
            "<link>javascript:alert('channel')</link><description>d</description>"
            f"{''.join(items)}</channel></rss>").encode()


def json_feed() -> bytes:
    """JSON Feed 1.1: javascript: in url, external_url, image, banner_image, author URL and
    avatar, attachments; payloads in content_html, content_text, summary, tags, names."""
    items = []
    for n, payload in enumerate(PAYLOADS[8:16]):
        items.append({
            "id": f"json-{n}", "title": payload, "url": f"javascript:alert('json{n}')",
            "external_url": "javascript:alert('external')",
            "content_html": "<p>JSON alert svg.</p>" + payload,
            "content_text": payload, "summary": payload,
            "image": "javascript:alert('image')", "banner_image": "data:text/html,<script>",
            "date_published": f"2026-03-{16 + n % 5:02d}T10:00:00Z", "tags": [payload],
            "authors": [{"name": payload, "url": "javascript:alert('author')",
                         "avatar": "javascript:alert('avatar')"}],
            "attachments": [{"url": "javascript:alert('attachment')", "mime_type": "audio/mpeg"}],
        })
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Evil JSON",
                       "home_page_url": "javascript:alert('home')", "items": items},
                      ensure_ascii=False).encode()


# Written by an editor in Markdown (sanitized after rendering, as the README says).
MARKDOWN_ITEM = """\
---
id: editor-md
title: "<script>alert('md-title')</script> Editor's alert svg"
source: atom
published: 2026-03-12T10:00:00+00:00
note: "[note](javascript:alert('note')) <img src=x onerror=alert('note')>"
---

[md link](javascript:alert('md1')) [md entity](&#106;avascript:alert('md2'))
![md image](javascript:alert('md3')) <javascript:alert('md4')> [ref][1]

<a href="javascript:alert('md5')">raw</a> <img src=x onerror=alert('md6')>
<svg onload="alert('md7')"></svg> <iframe src="https://evil.example"></iframe>

```"><script>alert('fence')</script>
print("alert svg")
```

[1]: javascript:alert('md8')
"""

ISSUE_INTRO = """\
---
title: "<img src=x onerror=alert('issue-title')> Week of payloads"
---

An introduction with [a link](javascript:alert('intro')) and <script>alert('intro')</script>
and <img src=x onerror=alert('intro')>.
"""

HOSTILE_CONFIG = """\
[site]
title = "Hostile feeds"
description = "Everything a feed can send"
base_url = "https://example.github.io/digest/"
language = "en"
timezone = "UTC"
page_size = 10

[[feeds]]
slug = "atom"
title = "Evil Atom"
url = "feeds/evil.atom"
topics = ["xss"]

[[feeds]]
slug = "rss"
title = "Evil RSS"
url = "feeds/evil.rss"

[[feeds]]
slug = "json"
title = "Evil JSON"
url = "feeds/evil.json"

[[topics]]
slug = "xss"
title = "XSS"
keywords = ["alert"]

[[topics]]
slug = "svg"
title = "SVG"
keywords = ["svg"]

[selection]
max_items = 500
max_per_source = 500
max_per_topic = 500
"""


def hostile_project(root: Path) -> Path:
    """A project whose feeds carry every payload; returns its digest.toml."""
    files: dict[str, str | bytes] = {
        "digest.toml": HOSTILE_CONFIG, "feeds/evil.atom": atom_feed(),
        "feeds/evil.rss": rss_feed(), "feeds/evil.json": json_feed(),
        "content/items/2026/03/editor-md.md": MARKDOWN_ITEM,
        "content/issues/2026-W11.md": ISSUE_INTRO,
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return root / "digest.toml"


def build(root: Path) -> Path:
    """`digest build` in a process of its own (Playwright's event loop runs in this thread)."""
    done = subprocess.run([sys.executable, "-m", "digest", "build"], cwd=root,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return root / "output"
