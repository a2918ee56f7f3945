"""Images in posts: every content image is lazy, decoded off the main thread and asked for
without a Referer; http:// images load over https; with `[site] images = "mirror"`, `digest
fetch` keeps a copy of each new item's images in content/media/ (named by the hash of its
bytes), and the site serves the copies under its sub-path with their width and height. Real
CLI, a real HTTP server on 127.0.0.1 serving a feed and real PNG/JPEG bytes."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import Result
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Response

Run = Callable[..., Result]
Project = Callable[..., Path]

BASE = "https://user.github.io/my-digest/"


def config(images: str | None, feed_url: str) -> str:
    line = f'images = "{images}"\n' if images else ""
    return f"""\
[site]
title = "Images"
base_url = "{BASE}"
language = "en"
timezone = "UTC"
{line}
[site.feed_content]
items = "full"

[[feeds]]
slug = "pics"
title = "Pictures"
url = "{feed_url}"
topics = ["news"]

[[topics]]
slug = "news"
title = "News"
"""



def picture(fmt: str, size: tuple[int, int], colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


PNG = picture("PNG", (30, 20))
JPEG = picture("JPEG", (40, 10), "blue")
PNG_2X = picture("PNG", (60, 40), "green")


def atom(entries: list[tuple[str, str, str]]) -> bytes:
    """A small Atom feed of (id, title, HTML body) entries."""
    body = "".join(
        f"<entry><id>{escape(i)}</id><title>{escape(t)}</title>"
        f'<link rel="alternate" href="https://pics.example/{i[4:]}"/>'
        f"<updated>2026-03-1{n}T10:00:00Z</updated>"
        f'<content type="html">{escape(html)}</content></entry>'
        for n, (i, t, html) in enumerate(entries))
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f'<title>Pictures</title><id>urn:pics</id><link href="https://pics.example/"/>'
            f"<updated>2026-03-10T10:00:00Z</updated>{body}</feed>").encode()


def serve_feed(server: HTTPServer, entries: list[tuple[str, str, str]]) -> str:
    server.clear()
    server.expect_request("/feed.xml").respond_with_data(
        atom(entries), content_type="application/atom+xml")
    return server.url_for("/feed.xml")


def serve_images(server: HTTPServer) -> None:
    server.expect_request("/a.png").respond_with_data(PNG, content_type="image/png")
    server.expect_request("/b.jpg").respond_with_data(JPEG, content_type="image/jpeg")
    server.expect_request("/a@2x.png").respond_with_data(PNG_2X, content_type="image/png")


def asked(server: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in server.log if request.path == path)


def image_requests(server: HTTPServer) -> int:
    return sum(1 for request, _ in server.log if request.path != "/feed.xml")


def item_pages(root: Path) -> dict[str, str]:
    """Each built item page by the title in its <h1>."""
    pages = {}
    for page in sorted((root / "output" / "items").rglob("index.html")):
        text = page.read_text(encoding="utf-8")
        title = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.DOTALL)
        assert title is not None
        pages[title.group(1).strip()] = text
    return pages


def imgs(html: str) -> list[str]:
    return re.findall(r"<img\b[^>]*>", html)


def attr(tag: str, name: str) -> str | None:
    found = re.search(rf'\s{name}="([^"]*)"', tag)
    return found.group(1) if found else None


def warnings_of(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("warning:")]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


# --- every image: lazy, async, no referrer, https ------------------------------------------

def test_every_content_image_is_lazy_async_and_sends_no_referrer_over_https(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    """Fetched bodies, the editor's Markdown (a note, a page) and the site's feeds: each
    image gets loading=lazy, decoding=async and referrerpolicy=no-referrer, and an
    http:// src or srcset is asked for over https. The content file keeps what the feed
    said; the default (`remote`) downloads no image."""
    host = httpserver.url_for("/").rstrip("/")  # http://127.0.0.1:port
    url = serve_feed(httpserver, [
        ("urn:1", "Pictured", f'<p>Look: <img src="{host}/a.png" alt="A" loading="eager" '
                              f'srcset="{host}/a@2x.png 2x, https://cdn.example/c.png 3x">'
                              '</p><p><img src="https://cdn.example/d.png"></p>')])
    root = project(config=config(None, url), files={"content/pages/about.md": """\
        ---
        title: About
        ---
        ![Logo](http://logo.example/logo.png)
        """})
    ok(run(root, "fetch"))
    item = next((root / "content" / "items").rglob("*.md"))
    stored = item.read_text(encoding="utf-8")
    assert f'src="{host}/a.png"' in stored  # the feed's words stay as they were
    item.write_text(stored.replace(  # the editor's note, last in the front matter
        "\n---\n", "\nnote: 'See ![chart](http://charts.example/x.png)'\n---\n", 1),
        encoding="utf-8")
    ok(run(root, "build"))

    page = item_pages(root)["Pictured"]
    tags = imgs(page[page.index('class="content"') - 200:])
    assert len(tags) == 3, tags  # the note's image and the body's two
    for tag in tags:
        assert attr(tag, "loading") == "lazy", tag
        assert attr(tag, "decoding") == "async", tag
        assert attr(tag, "referrerpolicy") == "no-referrer", tag
        assert "http://" not in tag, tag
    body = next(t for t in tags if 'alt="A"' in t)
    assert attr(body, "src") == "https" + host[4:] + "/a.png"
    assert attr(body, "srcset") == f"https{host[4:]}/a@2x.png 2x, https://cdn.example/c.png 3x"
    assert any(attr(t, "src") == "https://charts.example/x.png" for t in tags)  # the note

    about = (root / "output" / "pages" / "about" / "index.html").read_text(encoding="utf-8")
    logo = next(t for t in imgs(about) if 'alt="Logo"' in t)
    assert attr(logo, "src") == "https://logo.example/logo.png"
    assert attr(logo, "loading") == "lazy" and attr(logo, "referrerpolicy") == "no-referrer"

    feed = (root / "output" / "items.json").read_text(encoding="utf-8")
    html = json.loads(feed)["items"][0]["content_html"]
    assert 'referrerpolicy="no-referrer"' in html and f"http{host[4:]}" not in html

    assert image_requests(httpserver) == 0  # `remote`: nothing downloaded
    assert not (root / "content" / "media").exists()
    assert not (root / "output" / "media").exists()


def test_images_setting_is_validated(project: Project, run: Run) -> None:
    root = project(config=config("copy", "feeds/none.xml"))
    result = run(root, "build")
    assert result.exit_code == 2, result.output
    assert "site.images" in result.output and "'mirror'" in result.output
    assert "Traceback" not in result.output


# --- mirror ---------------------------------------------------------------------------

def mirrored_project(project: Project, server: HTTPServer) -> tuple[Path, str]:
    host = server.url_for("/").rstrip("/")
    url = serve_feed(server, [
        ("urn:1", "First", f'<p><img src="{host}/a.png" alt="A" '
                           f'srcset="{host}/a@2x.png 2x"></p>'),
        ("urn:2", "Second", f'<p><img src="{host}/b.jpg" alt="B" width="400" height="100">'
                            f'<img src="{host}/a.png" alt="again"></p>')])
    serve_images(server)
    return project(config=config("mirror", url)), host


def media_file(root: Path, data: bytes, ext: str) -> Path:
    sha = hashlib.sha256(data).hexdigest()
    return root / "content" / "media" / sha[:2] / f"{sha}.{ext}"


def test_mirror_keeps_one_copy_of_each_image_and_the_site_serves_it_under_its_sub_path(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    root, host = mirrored_project(project, httpserver)
    fetched = ok(run(root, "fetch"))
    assert warnings_of(fetched) == []
    for path in ("/a.png", "/b.jpg", "/a@2x.png"):
        assert asked(httpserver, path) == 1, path  # /a.png is in both items: asked once

    for data, ext in ((PNG, "png"), (JPEG, "jpg"), (PNG_2X, "png")):
        assert media_file(root, data, ext).read_bytes() == data  # named by its hash
    index = json.loads((root / "content" / "media" / "index.json").read_text("utf-8"))
    a = index["images"][f"{host}/a.png"]
    assert (a["width"], a["height"], a["type"]) == (30, 20, "image/png")

    ok(run(root, "build"))
    pages = item_pages(root)
    first = imgs(pages["First"])[0]
    sha_a = hashlib.sha256(PNG).hexdigest()
    sha_2x = hashlib.sha256(PNG_2X).hexdigest()
    assert attr(first, "src") == f"/my-digest/media/{sha_a[:2]}/{sha_a}.png"
    assert attr(first, "srcset") == f"/my-digest/media/{sha_2x[:2]}/{sha_2x}.png 2x"
    assert (attr(first, "width"), attr(first, "height")) == ("30", "20")
    assert attr(first, "loading") == "lazy" and attr(first, "referrerpolicy") == "no-referrer"
    second = {attr(t, "alt"): t for t in imgs(pages["Second"])}
    sha_b = hashlib.sha256(JPEG).hexdigest()
    assert attr(second["B"], "src") == f"/my-digest/media/{sha_b[:2]}/{sha_b}.jpg"
    # The feed's own size is what its author asked for: kept.
    assert (attr(second["B"], "width"), attr(second["B"], "height")) == ("400", "100")
    assert (attr(second["again"], "width"), attr(second["again"], "height")) == ("30", "20")
    for data, ext in ((PNG, "png"), (JPEG, "jpg"), (PNG_2X, "png")):
        sha = hashlib.sha256(data).hexdigest()
        assert (root / "output" / "media" / sha[:2] / f"{sha}.{ext}").read_bytes() == data
    # A feed reader has no page address to resolve against: absolute URLs in the site's feed.
    feed = json.loads((root / "output" / "items.json").read_text(encoding="utf-8"))
    html = " ".join(i["content_html"] for i in feed["items"])
    assert f'src="{BASE}media/{sha_a[:2]}/{sha_a}.png"' in html
    assert host not in html

    # A second fetch: a new item with an image already mirrored asks for no image at all.
    serve_feed(httpserver, [("urn:3", "Third", f'<p><img src="{host}/a.png" alt="3"></p>')])
    serve_images(httpserver)
    again = ok(run(root, "fetch"))
    assert warnings_of(again) == []
    assert image_requests(httpserver) == 0
    ok(run(root, "build"))
    third = imgs(item_pages(root)["Third"])[0]
    assert attr(third, "src") == f"/my-digest/media/{sha_a[:2]}/{sha_a}.png"


def test_a_copy_that_goes_missing_falls_back_to_the_remote_image(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    """The incremental build sees the mirror change although the item's file did not."""
    root, host = mirrored_project(project, httpserver)
    ok(run(root, "fetch"))
    ok(run(root, "build"))
    assert "/my-digest/media/" in imgs(item_pages(root)["First"])[0]
    media_file(root, PNG, "png").unlink()
    ok(run(root, "build"))
    first = imgs(item_pages(root)["First"])[0]
    assert attr(first, "src") == f"https{host[4:]}/a.png"
    assert attr(first, "width") is None
    sha = hashlib.sha256(PNG).hexdigest()
    assert not (root / "output" / "media" / sha[:2] / f"{sha}.png").exists()


def test_images_that_cannot_be_mirrored_stay_remote_with_one_warning_each(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    host = httpserver.url_for("/").rstrip("/")
    bad = {"/big.png": "larger than 10 MiB", "/page.png": "not an image",
           "/fake.png": "not a readable image", "/evil.svg": "SVG",
           "/loop.png": "redirect loop", "/gone.png": "404"}
    body = "".join(f'<img src="{host}{p}" alt="{p}">' for p in [*bad, "/a.png"])
    url = serve_feed(httpserver, [("urn:1", "Broken", f"<p>{body}</p>"),
                                  ("urn:2", "Again", f'<p><img src="{host}/evil.svg"></p>')])
    serve_images(httpserver)
    big = PNG + b"\0" * (10 * 2**20)
    httpserver.expect_request("/big.png").respond_with_data(big, content_type="image/png")
    httpserver.expect_request("/page.png").respond_with_data(
        "<html><body>hello</body></html>", content_type="text/html")
    httpserver.expect_request("/fake.png").respond_with_data(
        b"<html>not png</html>", content_type="image/png")
    httpserver.expect_request("/evil.svg").respond_with_data(
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        content_type="image/svg+xml")
    httpserver.expect_request("/loop.png").respond_with_response(
        Response(status=302, headers={"Location": "/loop2.png"}))
    httpserver.expect_request("/loop2.png").respond_with_response(
        Response(status=302, headers={"Location": "/loop.png"}))
    httpserver.expect_request("/gone.png").respond_with_data("", status=404)
    root = project(config=config("mirror", url))

    result = ok(run(root, "fetch"))  # images failing never fail the fetch
    warnings = warnings_of(result)
    assert len(warnings) == len(bad), result.output
    for path, why in bad.items():
        mine = [w for w in warnings if f"{host}{path}:" in w]
        assert len(mine) == 1 and why in mine[0], (path, warnings)
    files = sorted(p for p in (root / "content" / "media").rglob("*") if p.is_file())
    assert files == sorted([root / "content" / "media" / "index.json",
                            media_file(root, PNG, "png")])

    ok(run(root, "build"))
    tags = {attr(t, "alt"): t for t in imgs(item_pages(root)["Broken"])}
    for path in bad:
        assert attr(tags[path], "src") == f"https{host[4:]}{path}"  # remote, over https
        assert attr(tags[path], "width") is None
    assert attr(tags["/a.png"], "src").startswith("/my-digest/media/")

    stored = {p: p.read_bytes() for p in (root / "content" / "items").rglob("*.md")}
    before = len(httpserver.log)
    again = ok(run(root, "fetch"))  # nothing new: nothing asked, nothing said again
    assert warnings_of(again) == []
    assert image_requests_since(httpserver, before) == 0
    # The same feed stores the same bytes (image attributes in one order, every run).
    assert {p: p.read_bytes() for p in stored} == stored


def image_requests_since(server: HTTPServer, start: int) -> int:
    return sum(1 for request, _ in server.log[start:] if request.path != "/feed.xml")


def test_a_hand_edited_index_cannot_name_a_path_outside_media(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    root, host = mirrored_project(project, httpserver)
    ok(run(root, "fetch"))
    index_path = root / "content" / "media" / "index.json"
    index = json.loads(index_path.read_text("utf-8"))
    index["images"][f"{host}/a.png"]["file"] = "../../digest.toml"
    index_path.write_text(json.dumps(index), encoding="utf-8")
    result = run(root, "build")
    assert result.exit_code != 0
    assert "index.json" in result.output and "Traceback" not in result.output
    assert not (root / "output").exists() or not any((root / "output").rglob("digest.toml"))


# --- in a browser ------------------------------------------------------------------------

@pytest.mark.browser
def test_images_fit_a_phone_and_a_desktop_and_load_from_the_sub_path(
        project: Project, run: Run, httpserver: HTTPServer, tmp_path: Path) -> None:
    """A mirrored picture much wider than the screen, in the body and in the editor's note:
    nothing scrolls sideways at 360 or 1440 px, and the copies load from under the site's
    sub-path (the page's Content-Security-Policy allows them)."""
    from tests.browser import CHROMIUM, LAUNCH_ARGS, PREFIX, static_site
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")

    host = httpserver.url_for("/").rstrip("/")
    wide = picture("PNG", (2400, 900), "teal")
    url = serve_feed(httpserver, [("urn:1", "Wide", f'<p>Text.</p><figure><img src="{host}/w.png"'
                                                    ' alt="wide"></figure>')])
    httpserver.expect_request("/w.png").respond_with_data(wide, content_type="image/png")
    root = project(config=config("mirror", url).replace("/my-digest/", PREFIX))
    ok(run(root, "fetch"))
    sha = hashlib.sha256(wide).hexdigest()
    item = next((root / "content" / "items").rglob("*.md"))
    item.write_text(item.read_text("utf-8").replace(  # the editor's note, last in the front matter
        "\n---\n", f"\nnote: '![in the note]({PREFIX}media/{sha[:2]}/{sha}.png)'\n---\n", 1),
        encoding="utf-8")
    ok(run(root, "build"))
    page_path = next((root / "output" / "items").iterdir()).name

    docroot = tmp_path / "docroot"
    docroot.mkdir()
    with static_site(root / "output", docroot) as origin, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            for width in (360, 1440):
                context = browser.new_context(viewport={"width": width, "height": 800})
                page = context.new_page()
                complaints: list[str] = []
                page.on("console", lambda m, c=complaints: c.append(m.text)
                        if m.type == "error" else None)
                page.goto(f"{origin}{PREFIX}items/{page_path}/")
                page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # lazy ones
                page.wait_for_function("[...document.querySelectorAll('main img')]"
                                       ".every(i => i.complete)")
                found = page.evaluate("""() => ({
                  scroll: document.documentElement.scrollWidth,
                  view: document.documentElement.clientWidth,
                  images: [...document.querySelectorAll('main img')].map(i => ({
                    src: i.getAttribute('src'), natural: i.naturalWidth,
                    right: i.getBoundingClientRect().right}))})""")
                context.close()
                assert found["scroll"] <= found["view"], (width, found)
                assert len(found["images"]) == 2, found
                for image in found["images"]:
                    assert image["src"].startswith(f"{PREFIX}media/"), image
                    assert image["natural"] == 2400, image  # loaded
                    assert image["right"] <= found["view"], (width, image)
                assert complaints == [], complaints
        finally:
            browser.close()
