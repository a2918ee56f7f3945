"""`digest fetch` against real HTTP servers on 127.0.0.1: conditional GET, redirects, status
codes, hostile and broken servers, deadlines and caps. Every failure is one line naming the
feed and its URL; the other feeds are still stored."""

from __future__ import annotations

import gzip
import json
import re
import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from digest.config import load_config
from digest.fetch import Limits
from digest.ingest import ingest
from tests.conftest import FIXTURES, write_project

Run = Callable[..., Result]
Project = Callable[..., Path]

FEEDS = FIXTURES / "feeds"
SITE = """\
[site]
title = "HTTP test"
base_url = "https://user.github.io/my-digest/"
language = "en"
timezone = "UTC"

[[topics]]
slug = "news"
title = "News"
"""



def feed(slug: str, url: str, comment: str = "") -> str:
    tail = f"  # {comment}" if comment else ""
    return (f'\n[[feeds]]\nslug = "{slug}"\ntitle = "{slug.title()}"\nurl = "{url}"{tail}\n'
            'topics = ["news"]\n')


def config(*feeds: str) -> str:
    return SITE + "".join(feeds)


def fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def atom(entries: list[tuple[str, str]], link: str = "https://made.example/") -> bytes:
    """A small Atom feed of (id, title) entries."""
    body = "".join(
        f"<entry><id>{escape(i)}</id><title>{escape(t)}</title>"
        f'<link rel="alternate" href="https://made.example/{n}"/>'
        f"<updated>2026-03-1{n % 10}T10:00:00Z</updated>"
        f'<content type="html">{escape(f"<p>Text of {t}.</p>")}</content></entry>'
        for n, (i, t) in enumerate(entries))
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f'<title>Made up</title><id>urn:made</id><link href="{link}"/>'
            f"<updated>2026-03-10T10:00:00Z</updated>{body}</feed>").encode()


SMALL = atom([("urn:a", "Alpha"), ("urn:b", "Beta"), ("urn:c", "Gamma")])


def items(root: Path) -> list[Path]:
    return sorted((root / "content" / "items").rglob("*.md"))


def front_matter(path: Path) -> dict[str, object]:
    head = path.read_text(encoding="utf-8")[4:].partition("\n---\n")[0]
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data


def titles(root: Path) -> list[str]:
    return sorted(str(front_matter(p)["title"]) for p in items(root))


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in items(root)}


def state(root: Path) -> dict[str, dict[str, object]]:
    data = json.loads((root / ".digest" / "state.json").read_text(encoding="utf-8"))
    feeds = data["feeds"]
    assert isinstance(feeds, dict)
    return feeds


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def warning_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("warning:")]


def one_error(result: Result, slug: str, url: str) -> str:
    """The run failed (exit 1) with exactly one error line, naming the feed and its URL."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 1, result.output
    assert f"feeds.{slug}" in lines[0] and url in lines[0], lines[0]
    return lines[0]


def with_good_feed(project: Project, bad_url: str, slug: str = "bad") -> Path:
    """A project with the feed under test and a good local feed that must still be stored."""
    return project(config=config(feed(slug, bad_url), feed("good", "feeds/good.atom")),
                   files={"feeds/good.atom": SMALL})


def good_stored(root: Path) -> None:
    assert titles(root) == ["Alpha", "Beta", "Gamma"]
    assert {str(front_matter(p)["source"]) for p in items(root)} == {"good"}


# --- raw socket servers: for what a well-behaved HTTP server cannot do ---------------------


@contextmanager
def raw_server(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """A TCP server on 127.0.0.1 that hands each connection to `handle`; yields its URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()

    def one(conn: socket.socket) -> None:
        try:
            handle(conn, stop)
        except OSError:
            pass
        finally:
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


# --- 200 and conditional GET -----------------------------------------------------------------


def test_a_served_feed_is_stored(project: Project, run: Run, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.atom").respond_with_data(
        SMALL, content_type="application/atom+xml")
    root = project(config=config(feed("made", httpserver.url_for("/feed.atom"))))
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert error_lines(result) == []
    assert titles(root) == ["Alpha", "Beta", "Gamma"]
    assert "3 new" in result.output
    assert state(root)["made"]["last_status"] == "200"


class Conditional:
    """A feed server that honours one validator header and records what it was sent."""

    def __init__(self, header: str, value: str, condition: str) -> None:
        self.header, self.value, self.condition = header, value, condition
        self.seen: list[dict[str, str]] = []

    def __call__(self, request: Request) -> Response:
        self.seen.append(dict(request.headers))
        if request.headers.get(self.condition) == self.value:
            return Response(status=304, headers={self.header: self.value})
        return Response(SMALL, status=200, content_type="application/atom+xml",
                        headers={self.header: self.value})


CONDITIONAL = {
    "etag": ("ETag", '"v1-abc"', "If-None-Match", "etag"),
    "last-modified": ("Last-Modified", "Tue, 10 Mar 2026 10:00:00 GMT", "If-Modified-Since",
                      "last_modified"),
}


@pytest.mark.parametrize("kind", list(CONDITIONAL))
def test_an_unchanged_feed_answers_304_and_no_file_is_rewritten(
    project: Project, run: Run, httpserver: HTTPServer, kind: str
) -> None:
    header, value, condition, key = CONDITIONAL[kind]
    server = Conditional(header, value, condition)
    httpserver.expect_request("/feed.atom").respond_with_handler(server)
    root = project(config=config(feed("made", httpserver.url_for("/feed.atom"))))
    assert run(root, "fetch").exit_code == 0
    assert len(items(root)) == 3
    assert state(root)["made"][key] == value
    assert condition not in server.seen[0]
    before = snapshot(root)
    time.sleep(0.01)  # a rewrite would show in the mtimes
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert server.seen[1].get(condition) == value
    assert snapshot(root) == before
    assert "not-modified" in result.output
    assert state(root)["made"][key] == value  # kept for the next run
    assert state(root)["made"]["last_status"] == "304"


def test_a_deleted_file_comes_back_when_its_feed_changes(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    server = Conditional("ETag", '"v1"', "If-None-Match")
    httpserver.expect_request("/feed.atom").respond_with_handler(server)
    root = project(config=config(feed("made", httpserver.url_for("/feed.atom"))))
    assert run(root, "fetch").exit_code == 0
    deleted = items(root)[0]
    deleted.unlink()
    assert run(root, "fetch").exit_code == 0  # 304: nothing is read, nothing comes back
    assert not deleted.exists()
    server.value = '"v2"'  # the feed changes upstream
    assert run(root, "fetch").exit_code == 0
    assert deleted.exists()


def test_the_user_agent_names_digest_and_a_url(project: Project, run: Run,
                                               httpserver: HTTPServer) -> None:
    server = Conditional("ETag", '"x"', "If-None-Match")
    httpserver.expect_request("/feed.atom").respond_with_handler(server)
    root = project(config=config(feed("made", httpserver.url_for("/feed.atom"))))
    assert run(root, "fetch").exit_code == 0
    agent = server.seen[0]["User-Agent"]
    assert re.search(r"\bdigest/\d", agent), agent
    assert re.search(r"https?://\S+", agent), agent


def test_a_gzip_encoded_feed_is_stored(project: Project, run: Run,
                                       httpserver: HTTPServer) -> None:
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("Accept-Encoding", ""))
        return Response(gzip.compress(fixture("qemu.atom")), content_type="application/atom+xml",
                        headers={"Content-Encoding": "gzip"})

    httpserver.expect_request("/qemu.atom").respond_with_handler(handler)
    root = project(config=config(feed("qemu", httpserver.url_for("/qemu.atom"))))
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert "gzip" in seen[0]
    assert len(items(root)) == 10
    assert "QEMU version 10.1.0 released" in titles(root)


def test_a_json_feed_1_1_is_stored(project: Project, run: Run, httpserver: HTTPServer) -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON blog",
        "home_page_url": "https://json.example/",
        "items": [
            {"id": "1", "url": "https://json.example/one", "title": "One",
             "content_html": '<p>First <a href="/two">post</a>.</p>',
             "date_published": "2026-03-10T10:00:00Z", "authors": [{"name": "Ann"}],
             "tags": ["x"]},
            {"id": "2", "url": "https://json.example/two", "title": "Two",
             "content_text": "Plain text.", "date_published": "2026-03-11T10:00:00+01:00"},
        ],
    }
    httpserver.expect_request("/feed.json").respond_with_data(
        json.dumps(doc), content_type="application/feed+json")
    root = project(config=config(feed("json", httpserver.url_for("/feed.json"))))
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert titles(root) == ["One", "Two"]
    one = next(p for p in items(root) if front_matter(p)["title"] == "One")
    meta = front_matter(one)
    assert meta["link"] == "https://json.example/one"
    assert meta["author"] == "Ann" and meta["tags"] == ["x"]
    assert meta["published"] == "2026-03-10T10:00:00+00:00"
    assert 'href="https://json.example/two"' in one.read_text(encoding="utf-8")
    two = next(p for p in items(root) if front_matter(p)["title"] == "Two")
    assert "<p>Plain text.</p>" in two.read_text(encoding="utf-8")


# --- redirects -------------------------------------------------------------------------------


def moved_project(project: Project, httpserver: HTTPServer) -> tuple[Path, str, str]:
    old, new = httpserver.url_for("/old.atom"), httpserver.url_for("/new.atom")
    httpserver.expect_request("/old.atom").respond_with_data(
        "", status=301, headers={"Location": "/new.atom"})
    httpserver.expect_request("/new.atom").respond_with_data(
        SMALL, content_type="application/atom+xml")
    toml = ("# My digest: keep these comments\n" + config(feed("made", old, "the made-up blog"))
            + "# trailing comment\n")
    return project(config=toml), old, new


def test_a_permanent_redirect_is_followed_remembered_and_reported(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    root, _, new = moved_project(project, httpserver)
    toml = (root / "digest.toml").read_text(encoding="utf-8")
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert titles(root) == ["Alpha", "Beta", "Gamma"]
    assert state(root)["made"]["url"] == new
    warnings = [w for w in warning_lines(result) if "made" in w]
    assert len(warnings) == 1, result.output
    assert new in warnings[0] and "digest.toml" in warnings[0]
    assert (root / "digest.toml").read_text(encoding="utf-8") == toml  # not without asking
    # the next run asks the new address directly
    before = len(httpserver.log)
    assert run(root, "fetch").exit_code == 0
    assert [req.path for req, _ in httpserver.log[before:]] == ["/new.atom"]
    assert len(items(root)) == 3


def test_update_config_rewrites_the_moved_url_and_keeps_comments(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    root, old, new = moved_project(project, httpserver)
    toml = (root / "digest.toml").read_text(encoding="utf-8")
    result = run(root, "fetch", "--update-config")
    assert result.exit_code == 0, result.output
    text = (root / "digest.toml").read_text(encoding="utf-8")
    assert text == toml.replace(old, new)
    assert "# My digest: keep these comments" in text and "# the made-up blog" in text
    assert run(root, "check").exit_code == 0
    again = run(root, "fetch")
    assert again.exit_code == 0, again.output
    assert warning_lines(again) == []
    assert len(items(root)) == 3  # the ids did not change with the url


def test_update_config_after_the_warning_as_the_warning_suggests(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    root, _, new = moved_project(project, httpserver)
    first = run(root, "fetch")
    assert any("--update-config" in w for w in warning_lines(first)), first.output
    result = run(root, "fetch", "--update-config")
    assert result.exit_code == 0, result.output
    assert f'url = "{new}"' in (root / "digest.toml").read_text(encoding="utf-8")


def test_a_redirect_loop_is_one_error_line(project: Project, run: Run,
                                           httpserver: HTTPServer) -> None:
    a, b = httpserver.url_for("/a.xml"), httpserver.url_for("/b.xml")
    httpserver.expect_request("/a.xml").respond_with_data("", status=301,
                                                          headers={"Location": b})
    httpserver.expect_request("/b.xml").respond_with_data("", status=302,
                                                          headers={"Location": a})
    root = with_good_feed(project, a)
    result = run(root, "fetch")
    line = one_error(result, "bad", a)
    assert "redirect loop" in line
    good_stored(root)
    assert len(httpserver.log) <= 4


def test_too_many_redirects_is_one_error_line(project: Project, run: Run,
                                              httpserver: HTTPServer) -> None:
    for n in range(20):
        httpserver.expect_request(f"/r{n}").respond_with_data(
            "", status=302, headers={"Location": f"/r{n + 1}"})
    url = httpserver.url_for("/r0")
    root = with_good_feed(project, url)
    line = one_error(run(root, "fetch"), "bad", url)
    assert "redirects" in line
    good_stored(root)
    assert len(httpserver.log) <= 8


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml",
                                    "javascript:alert(1)", "data:text/xml,<rss/>"])
def test_a_redirect_to_another_scheme_is_refused(
    project: Project, run: Run, httpserver: HTTPServer, target: str
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        "", status=302, headers={"Location": target})
    url = httpserver.url_for("/feed.xml")
    root = with_good_feed(project, url)
    result = run(root, "fetch")
    line = one_error(result, "bad", url)
    assert "refused" in line and target.split(":")[0] in line
    good_stored(root)
    for path in items(root):
        assert "root:x:0:0" not in path.read_text(encoding="utf-8")


# --- status codes ----------------------------------------------------------------------------


def test_a_gone_feed_is_marked_and_skipped_afterwards(project: Project, run: Run,
                                                      httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone.xml").respond_with_data("Gone", status=410)
    url = httpserver.url_for("/gone.xml")
    root = with_good_feed(project, url, slug="gone")
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    warnings = [w for w in warning_lines(result) if "feeds.gone" in w]
    assert len(warnings) == 1 and "410" in warnings[0] and url in warnings[0], result.output
    assert state(root)["gone"]["gone"] is True
    good_stored(root)
    asked = len(httpserver.log)
    again = run(root, "fetch")
    assert again.exit_code == 0, again.output
    assert len(httpserver.log) == asked  # not asked again
    skipped = [w for w in warning_lines(again) if "feeds.gone" in w]
    assert len(skipped) == 1 and "not fetched" in skipped[0] and url in skipped[0]
    assert "remove" in skipped[0]


def test_429_with_a_short_retry_after_is_retried(project: Project, run: Run,
                                                 httpserver: HTTPServer) -> None:
    answers = iter([Response("slow down", status=429, headers={"Retry-After": "1"}),
                    Response(SMALL, status=200, content_type="application/atom+xml")])
    httpserver.expect_request("/feed.atom").respond_with_handler(lambda _: next(answers))
    root = project(config=config(feed("made", httpserver.url_for("/feed.atom"))))
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert error_lines(result) == []
    assert len(httpserver.log) == 2
    assert titles(root) == ["Alpha", "Beta", "Gamma"]


def test_429_with_a_long_retry_after_fails_fast(project: Project, run: Run,
                                                httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.atom").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3600"})
    url = httpserver.url_for("/feed.atom")
    root = with_good_feed(project, url)
    start = time.monotonic()
    result = run(root, "fetch")
    assert time.monotonic() - start < 15  # it did not wait an hour (nor the 10 s cap)
    line = one_error(result, "bad", url)
    assert "429" in line
    good_stored(root)


def test_a_feed_failing_three_runs_in_a_row_is_reported_dead(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("Oops", status=500)
    url = httpserver.url_for("/feed.xml")
    root = with_good_feed(project, url)
    outputs = []
    for _ in range(3):
        result = run(root, "fetch")
        one_error(result, "bad", url)
        outputs.append(result.output)
    assert "dead" not in outputs[0] and "dead" not in outputs[1]
    dead = [w for w in outputs[2].splitlines() if w.startswith("warning:") and "dead" in w]
    assert len(dead) == 1 and "bad" in dead[0] and "3 runs in a row" in dead[0]
    assert state(root)["bad"]["failures"] == 3
    # one good answer and the count starts again
    httpserver.clear()
    httpserver.expect_request("/feed.xml").respond_with_data(
        SMALL, content_type="application/atom+xml")
    assert run(root, "fetch").exit_code == 0
    assert "failures" not in state(root)["bad"]


# --- bodies that are not feeds ---------------------------------------------------------------


def test_an_html_page_names_the_feed_it_advertises(project: Project, run: Run,
                                                   httpserver: HTTPServer) -> None:
    page = ('<!doctype html><html><head><title>Blog</title>'
            '<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.xml">'
            "</head><body><h1>Welcome</h1></body></html>")
    httpserver.expect_request("/blog/").respond_with_data(page, content_type="text/html")
    url = httpserver.url_for("/blog/")
    root = with_good_feed(project, url)
    line = one_error(run(root, "fetch"), "bad", url)
    assert "HTML page" in line
    assert httpserver.url_for("/feed.xml") in line
    good_stored(root)


def test_an_empty_body_is_one_error_line(project: Project, run: Run,
                                         httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        b"", content_type="application/rss+xml")
    url = httpserver.url_for("/feed.xml")
    root = with_good_feed(project, url)
    line = one_error(run(root, "fetch"), "bad", url)
    assert "empty" in line
    good_stored(root)


def test_truncated_xml_never_shows_a_traceback(project: Project, run: Run,
                                               httpserver: HTTPServer) -> None:
    whole = fixture("qemu.atom")
    cut = whole[: len(whole) // 2]
    httpserver.expect_request("/half.atom").respond_with_data(
        cut, content_type="application/atom+xml")
    httpserver.expect_request("/stub.atom").respond_with_data(
        whole[:200], content_type="application/atom+xml")
    half, stub = httpserver.url_for("/half.atom"), httpserver.url_for("/stub.atom")
    root = project(config=config(feed("half", half), feed("stub", stub),
                                 feed("good", "feeds/good.atom")),
                   files={"feeds/good.atom": SMALL})
    result = run(root, "fetch")
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    stored = {str(front_matter(p)["source"]) for p in items(root)}
    for slug, url in (("half", half), ("stub", stub)):
        lines = [line for line in error_lines(result) if f"feeds.{slug}" in line]
        # either its entries were stored, or it failed with one line naming it
        assert (slug in stored) != (len(lines) == 1), result.output
        if lines:
            assert url in lines[0]
    assert "half" in stored  # the first half of a feed holds complete entries
    assert "good" in stored
    assert run(root, "check").exit_code == 0


def test_a_server_that_does_not_speak_http_is_one_error_line(project: Project,
                                                             run: Run) -> None:
    def garbage(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 not http at all\r\n\r\n")

    with raw_server(garbage) as url:
        root = with_good_feed(project, url)
        result = run(root, "fetch")
    line = one_error(result, "bad", url)
    assert "HTTP" in line
    good_stored(root)


def reset_mid_body(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                 b"Content-Length: 5000\r\n\r\n<rss version=\"2.0\"><channel>")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def reset_before_answering(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("handle", [reset_mid_body, reset_before_answering],
                         ids=["mid-body", "before answering"])
def test_a_connection_reset_is_one_error_line(
    project: Project, run: Run, handle: Callable[[socket.socket, threading.Event], None]
) -> None:
    with raw_server(handle) as url:
        root = with_good_feed(project, url)
        result = run(root, "fetch")
    line = one_error(result, "bad", url)
    assert "connection" in line or "disconnected" in line.lower(), line
    good_stored(root)


def test_a_refused_connection_is_one_error_line(project: Project, run: Run) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.xml"
    root = with_good_feed(project, url)
    line = one_error(run(root, "fetch"), "bad", url)
    assert "connect" in line
    good_stored(root)


# --- deadlines and caps: the real pipeline with lower limits ---------------------------------


def ingest_project(root: Path, limits: Limits) -> dict[str, str]:
    """Run the real fetch pipeline with `limits`; each feed's status, or its one-line error."""
    outcomes = ingest(load_config(root / "digest.toml"), jobs=4, limits=limits)
    result = {}
    for outcome in outcomes:
        if outcome.error is not None:
            text = outcome.error.format()
            assert "\n" not in text, text
            result[outcome.feed.slug] = f"{outcome.status}: {text}"
        else:
            result[outcome.feed.slug] = outcome.status
    return result


def test_a_server_dripping_a_byte_a_second_is_cut_off_by_the_deadline(
    project: Project,
) -> None:
    def drip(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                     b"Content-Length: 600\r\n\r\n")
        for byte in (b"<rss version='2.0'><channel>" + b" " * 600)[:600]:
            if stop.wait(1):
                return
            conn.sendall(bytes([byte]))  # 600 s for the whole answer

    with raw_server(drip) as url:
        root = with_good_feed(project, url)
        start = time.monotonic()
        outcome = ingest_project(root, Limits(deadline=2))
        took = time.monotonic() - start
    assert took < 15, took  # the server would take ten minutes
    assert outcome["good"] == "ok"
    assert outcome["bad"].startswith("failed:") and url in outcome["bad"]
    assert "within 2 s" in outcome["bad"]
    good_stored(root)
    assert state(root)["bad"]["failures"] == 1


def test_an_oversized_body_fails(project: Project, httpserver: HTTPServer) -> None:
    big = atom([(f"urn:{n}", f"Entry {n} " + "x" * 2000) for n in range(600)])
    assert len(big) > 2**20
    httpserver.expect_request("/big.atom").respond_with_data(
        big, content_type="application/atom+xml")
    url = httpserver.url_for("/big.atom")
    root = with_good_feed(project, url)
    outcome = ingest_project(root, Limits(max_bytes=2**20))
    assert outcome["bad"].startswith("failed:") and url in outcome["bad"]
    assert "larger than 1 MiB" in outcome["bad"]
    good_stored(root)


def test_an_oversized_chunked_body_without_length_fails(project: Project) -> None:
    def endless(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"<!-- " + b"x" * 65000 + b" -->"
        while not stop.is_set():
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    with raw_server(endless) as url:
        root = with_good_feed(project, url)
        outcome = ingest_project(root, Limits(deadline=20, max_bytes=2**20))
    assert outcome["bad"].startswith("failed:") and "larger than 1 MiB" in outcome["bad"]
    good_stored(root)


def test_a_gzip_bomb_stops_at_the_cap_without_using_much_memory(project: Project) -> None:
    bomb = gzip.compress(b"\0" * (256 * 2**20), compresslevel=9)  # 256 MiB in ~250 KB
    assert len(bomb) < 300_000

    def serve_bomb(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                     b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb)

    with raw_server(serve_bomb) as url:
        root = with_good_feed(project, url)
        tracemalloc.start()
        try:
            outcome = ingest_project(root, Limits(max_bytes=2**20))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert outcome["bad"].startswith("failed:") and url in outcome["bad"]
    assert "after decompression" in outcome["bad"]
    assert peak < 32 * 2**20, f"peak {peak / 2**20:.0f} MiB for a 1 MiB cap"
    good_stored(root)


# --- concurrency -----------------------------------------------------------------------------


def normalised(root: Path) -> dict[str, str]:
    """Each item file, without the times of the run that wrote it."""
    stamps = re.compile(r"^(fetched|first_seen): .*$", re.MULTILINE)
    return {p.relative_to(root).as_posix(): stamps.sub(r"\1: -", p.read_text(encoding="utf-8"))
            for p in items(root)}


def test_one_job_and_eight_jobs_store_the_same_files(
    tmp_path: Path, run: Run, httpserver: HTTPServer
) -> None:
    served = {"qemu": ("qemu.atom", "application/atom+xml"),
              "lw": ("lesswrong-3.xml", "application/rss+xml"),
              "pap": ("pappacoda.atom", "application/atom+xml"),
              "ins": ("rss_2.0_relurl_1.xml", "application/rss+xml")}
    for slug, (name, kind) in served.items():
        httpserver.expect_request(f"/{slug}").respond_with_data(fixture(name), content_type=kind)
    toml = config(*(feed(slug, httpserver.url_for(f"/{slug}")) for slug in served),
                  feed("made", "feeds/made.atom"), feed("dead", "http://127.0.0.1:1/x"))
    results = {}
    for jobs in ("1", "8"):
        root = write_project(tmp_path / f"jobs-{jobs}",
                             {"digest.toml": toml, "feeds/made.atom": SMALL})
        result = run(root, "fetch", "--jobs", jobs)
        assert result.exit_code == 1, result.output  # the dead feed
        assert len(error_lines(result)) == 1
        results[jobs] = normalised(root)
    assert len(results["1"]) == 10 + 3 + 3 + 2 + 3
    assert results["1"] == results["8"]
