"""Polite and honest fetching, against a real HTTP server on 127.0.0.1 and the real CLI.

A server that answers 429 or 503 is not asked again until the time it named (Retry-After, in
seconds or as an HTTP date) or, without one, until a back-off that grows with each such answer
in a row (30 min, doubled, at most 24 h); the wait is kept in .digest/state.json, survives
across runs, is reported as "waiting until HH:MM (<site time zone>)", and `--force` asks
anyway; a success clears it. A feed feedparser finds malformed (cut off, broken) is a warning
with feedparser's reason, on the console and on the sources page, and its readable entries
are stored; entries with neither a link nor a body are not stored. Other feeds in the same
run are never affected."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.test_fetch_http import (
    SMALL,
    atom,
    error_lines,
    fixture,
    front_matter,
    items,
    warning_lines,
)

Run = Callable[..., Result]
Project = Callable[..., Path]

OTHER = atom([("urn:x", "Xray"), ("urn:y", "Yankee")], link="https://other.example/")
CLOCK = re.compile(r"waiting until (?:(\d{4}-\d\d-\d\d) )?(\d\d:\d\d) \(([\w/]+)\)")



def site(timezone: str = "UTC", *feeds: tuple[str, str]) -> str:
    text = ('[site]\ntitle = "Polite"\nbase_url = "https://user.github.io/my-digest/"\n'
            f'language = "en"\ntimezone = "{timezone}"\n\n'
            '[[topics]]\nslug = "news"\ntitle = "News"\n')
    for slug, url in feeds:
        text += (f'\n[[feeds]]\nslug = "{slug}"\ntitle = "{slug.title()}"\nurl = "{url}"\n'
                 'topics = ["news"]\n')
    return text


def with_other(project: Project, server: HTTPServer, path: str, timezone: str = "UTC"
               ) -> Path:
    """A project with the feed under test at `path` and another feed on the same server,
    which must be asked and stored on every run whatever happens to the first."""
    server.expect_request("/other.atom").respond_with_data(
        OTHER, content_type="application/atom+xml")
    return project(config=site(timezone, ("bad", server.url_for(path)),
                               ("other", server.url_for("/other.atom"))))


def asked(server: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in server.log if request.path == path)


def feed_state(root: Path, slug: str) -> dict[str, object]:
    data = json.loads((root / ".digest" / "state.json").read_text(encoding="utf-8"))
    found = data["feeds"][slug]
    assert isinstance(found, dict)
    return found


def wait_until(root: Path, slug: str) -> datetime:
    return datetime.fromisoformat(str(feed_state(root, slug)["wait_until"]))


def sources(root: Path, slug: str) -> list[str]:
    return sorted(str(front_matter(p)["source"]) for p in items(root) if
                  front_matter(p)["source"] == slug)


def other_stored(root: Path) -> None:
    assert len(sources(root, "other")) == 2


def lines_about(result: Result, slug: str) -> list[str]:
    return [line for line in warning_lines(result) if f"feeds.{slug}:" in line]


def shown_clock(when: datetime, timezone: str) -> tuple[str | None, str]:
    """What "waiting until" must say for `when`: the site's local time, rounded up to the
    minute, with the date when that is not today there."""
    local = when.astimezone(ZoneInfo(timezone))
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    today = datetime.now(ZoneInfo(timezone)).date()
    return (None if local.date() == today else f"{local:%Y-%m-%d}"), f"{local:%H:%M}"


def says_waiting_until(line: str, when: datetime, timezone: str) -> None:
    found = CLOCK.search(line)
    assert found is not None, line
    assert (found.group(1), found.group(2)) == shown_clock(when, timezone), line
    assert found.group(3) == timezone, line


def table_row(result: Result, slug: str) -> list[str]:
    rows = [line.split() for line in result.output.splitlines() if line.split()[:1] == [slug]]
    assert len(rows) == 1, result.output
    return rows[0]


# --- 429 and 503: the wait ------------------------------------------------------------------


def test_429_with_retry_after_120_is_not_asked_again_on_the_next_run(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed.atom").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"})
    root = with_other(project, httpserver, "/feed.atom")
    before = datetime.now(UTC)
    first = run(root, "fetch")
    after = datetime.now(UTC)
    assert first.exit_code == 1, first.output  # this run failed for that feed
    assert "Traceback" not in first.output
    errors = error_lines(first)
    assert len(errors) == 1 and "feeds.bad" in errors[0] and "429" in errors[0], first.output
    until = wait_until(root, "bad")
    assert before + timedelta(seconds=120) <= until <= after + timedelta(seconds=121)
    [told] = lines_about(first, "bad")
    says_waiting_until(told, until, "UTC")
    assert "Retry-After: 120" in told and "--force" in told
    assert asked(httpserver, "/feed.atom") == 1
    other_stored(root)

    second = run(root, "fetch")  # a second later: the server is not asked
    assert asked(httpserver, "/feed.atom") == 1
    assert asked(httpserver, "/other.atom") == 2  # the other feed is
    assert second.exit_code == 0, second.output  # waiting as asked is not a failure
    assert error_lines(second) == []
    [waiting] = lines_about(second, "bad")
    says_waiting_until(waiting, until, "UTC")
    assert "429" in waiting and "--force" in waiting
    assert table_row(second, "bad")[1] == "waiting"
    assert "1 waiting" in second.output
    assert wait_until(root, "bad") == until  # the wait is not moved by not asking
    other_stored(root)


def test_the_wait_survives_across_processes_and_ends_when_its_time_has_passed(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    answers = iter([Response("busy", status=503, headers={"Retry-After": "600"}),
                    Response(SMALL, status=200, content_type="application/atom+xml")])
    httpserver.expect_request("/feed.atom").respond_with_handler(lambda _: next(answers))
    root = with_other(project, httpserver, "/feed.atom", timezone="Asia/Tokyo")
    assert run(root, "fetch").exit_code == 1
    until = wait_until(root, "bad")
    # A new process, as the weekly job or the editor's next command would be.
    env = {**os.environ, "NO_COLOR": "1"}
    again = subprocess.run([sys.executable, "-m", "digest", "fetch"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert asked(httpserver, "/feed.atom") == 1
    [waiting] = [line for line in again.stderr.splitlines() if "feeds.bad:" in line]
    says_waiting_until(waiting, until, "Asia/Tokyo")
    # The time passes (the state says so, as it would ten minutes later): asked again.
    path = root / ".digest" / "state.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["feeds"]["bad"]["wait_until"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    path.write_text(json.dumps(data), encoding="utf-8")
    later = run(root, "fetch")
    assert later.exit_code == 0, later.output
    assert asked(httpserver, "/feed.atom") == 2
    assert len(sources(root, "bad")) == 3
    assert lines_about(later, "bad") == []
    saved = feed_state(root, "bad")
    assert "wait_until" not in saved and "throttled" not in saved  # a success clears it


def test_an_http_date_retry_after_is_waited_for_and_shown_in_the_sites_time_zone(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    when = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    header = format_datetime(when, usegmt=True)  # "Tue, 10 Mar 2026 15:04:00 GMT"
    httpserver.expect_request("/feed.atom").respond_with_data(
        "slow down", status=429, headers={"Retry-After": header})
    root = with_other(project, httpserver, "/feed.atom", timezone="Europe/Moscow")
    first = run(root, "fetch")
    assert first.exit_code == 1, first.output
    assert wait_until(root, "bad") == when
    [told] = lines_about(first, "bad")
    says_waiting_until(told, when, "Europe/Moscow")  # Moscow's clock, not the server's GMT
    second = run(root, "fetch")
    assert asked(httpserver, "/feed.atom") == 1
    [waiting] = lines_about(second, "bad")
    says_waiting_until(waiting, when, "Europe/Moscow")
    other_stored(root)


def test_503_repeated_without_retry_after_backs_off_longer_each_time(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed.atom").respond_with_data("down", status=503)
    root = with_other(project, httpserver, "/feed.atom")
    waits = []
    for n in range(1, 4):
        start = datetime.now(UTC)
        result = run(root, "fetch", "--force") if n > 1 else run(root, "fetch")
        assert result.exit_code == 1, result.output
        assert asked(httpserver, "/feed.atom") == n  # --force asked even though waiting
        waits.append(wait_until(root, "bad") - start)
        [told] = lines_about(result, "bad")
        assert "without Retry-After" in told
        says_waiting_until(told, wait_until(root, "bad"), "UTC")
        assert feed_state(root, "bad")["throttled"] == n
        skipped = run(root, "fetch")  # and without --force it waits
        assert asked(httpserver, "/feed.atom") == n
        assert skipped.exit_code == 0, skipped.output
    # 30 min, then 1 h, then 2 h (give or take the run's own seconds)
    for wait, minutes in zip(waits, (30, 60, 120), strict=True):
        assert timedelta(minutes=minutes) <= wait <= timedelta(minutes=minutes, seconds=30)
    assert "backing off 2 h" in told and "3 times in a row" in told
    assert asked(httpserver, "/other.atom") == 6
    other_stored(root)


def test_the_back_off_stops_growing_at_a_day(project: Project, run: Run,
                                             httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.atom").respond_with_data("busy", status=429)
    root = with_other(project, httpserver, "/feed.atom")
    assert run(root, "fetch").exit_code == 1
    path = root / ".digest" / "state.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["feeds"]["bad"]["throttled"] = 40  # forty refusals in a row: 2**40 half-hours
    path.write_text(json.dumps(data), encoding="utf-8")
    start = datetime.now(UTC)
    result = run(root, "fetch", "--force")
    wait = wait_until(root, "bad") - start
    assert timedelta(hours=24) <= wait <= timedelta(hours=24, seconds=30)
    [told] = lines_about(result, "bad")
    assert "backing off 24 h" in told and "41 times in a row" in told


@pytest.mark.parametrize(("header", "expected", "says"), [
    ("99999999999", timedelta(days=7), "the most we wait, 7 days"),
    ("soon, please", timedelta(minutes=30), "without Retry-After"),
], ids=["absurdly long", "unreadable"])
def test_a_hostile_retry_after_is_capped_or_ignored(
    project: Project, run: Run, httpserver: HTTPServer, header: str, expected: timedelta,
    says: str
) -> None:
    httpserver.expect_request("/feed.atom").respond_with_data(
        "no", status=429, headers={"Retry-After": header})
    root = with_other(project, httpserver, "/feed.atom")
    start = datetime.now(UTC)
    result = run(root, "fetch")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert expected <= wait_until(root, "bad") - start <= expected + timedelta(seconds=30)
    [told] = lines_about(result, "bad")
    assert says in told
    other_stored(root)


def test_force_asks_anyway_and_a_success_clears_the_wait(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    answers = iter([Response("slow down", status=429, headers={"Retry-After": "3600"}),
                    Response(SMALL, status=200, content_type="application/atom+xml",
                             headers={"ETag": '"v1"'})])

    def answer(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return next(answers)

    httpserver.expect_request("/feed.atom").respond_with_handler(answer)
    root = with_other(project, httpserver, "/feed.atom")
    assert run(root, "fetch").exit_code == 1
    assert run(root, "fetch").exit_code == 0
    assert asked(httpserver, "/feed.atom") == 1
    forced = run(root, "fetch", "--force")
    assert forced.exit_code == 0, forced.output
    assert asked(httpserver, "/feed.atom") == 2
    assert len(sources(root, "bad")) == 3
    assert lines_about(forced, "bad") == []
    saved = feed_state(root, "bad")
    assert not {"wait_until", "wait_reason", "throttled", "failures"} & saved.keys(), saved
    normal = run(root, "fetch")  # no wait any more: asked (and answers 304)
    assert normal.exit_code == 0, normal.output
    assert asked(httpserver, "/feed.atom") == 3
    assert table_row(normal, "bad")[1] == "not-modified"


def test_force_is_in_the_fetch_help(project: Project, run: Run) -> None:
    root = project(config=site())
    result = run(root, "fetch", "--help")
    assert "--force" in result.output and "waiting" in result.output


# --- malformed feeds and empty entries ------------------------------------------------------


def test_a_truncated_feed_is_a_warning_with_feedparsers_reason_on_console_and_sources_page(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    whole = fixture("qemu.atom")
    cut = whole[: len(whole) // 2]
    served = iter([cut, whole])
    httpserver.expect_request("/feed.atom").respond_with_handler(
        lambda _: Response(next(served), content_type="application/atom+xml"))
    url = httpserver.url_for("/feed.atom")
    root = with_other(project, httpserver, "/feed.atom")
    headers = {"content-type": "application/atom+xml"}
    reason = feedparser.parse(cut, response_headers=headers).bozo_exception  # its own words
    said = f"line {reason.getLineNumber()}, column {reason.getColumnNumber()}: " \
           f"{reason.getMessage()}"
    assert reason.getMessage() == "unclosed CDATA section"

    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert error_lines(result) == []
    [told] = [line for line in lines_about(result, "bad") if "malformed" in line]
    assert url in told and said in told
    assert table_row(result, "bad")[1] == "malformed"  # not "ok"
    assert table_row(result, "other")[1] == "ok"
    readable = [e for e in feedparser.parse(cut, response_headers=headers).entries
                if e.get("link")]
    assert len(sources(root, "bad")) == len(readable) == 5  # its good entries are stored
    other_stored(root)
    assert feed_state(root, "bad")["warning"] == said

    assert run(root, "build").exit_code == 0
    page = (root / "output" / "sources" / "index.html").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(
        r'<li class="row">\s*<h2 class="row-title"><a [^>]*>(\w+)</a>.*?</li>', page, re.S)}
    assert f'<span class="failing">malformed feed: {said}</span>' in rows["Bad"]
    assert "malformed" not in rows["Other"]
    own = (root / "output" / "sources" / "bad" / "index.html").read_text(encoding="utf-8")
    assert f"malformed feed: {said}" in own

    # The site mends its feed: the warning goes, from the state and from the page.
    mended = run(root, "fetch")
    assert mended.exit_code == 0 and lines_about(mended, "bad") == [], mended.output
    assert table_row(mended, "bad")[1] == "ok"
    assert len(sources(root, "bad")) == 10
    assert "warning" not in feed_state(root, "bad")
    assert run(root, "build").exit_code == 0
    page = (root / "output" / "sources" / "index.html").read_text(encoding="utf-8")
    assert "malformed" not in page


def test_a_malformed_reason_is_escaped_on_the_sources_page(project: Project,
                                                           run: Run) -> None:
    root = project(config=site("UTC", ("bad", "feeds/bad.atom")), files={
        "feeds/bad.atom": SMALL,
        ".digest/state.json": json.dumps({"version": 1, "feeds": {"bad": {
            "configured": "feeds/bad.atom", "last_success": "2026-03-10T10:00:00+00:00",
            "last_status": "200", "warning": '<script>alert("x")</script> & <b>'}}}),
    })
    assert run(root, "build").exit_code == 0
    page = (root / "output" / "sources" / "index.html").read_text(encoding="utf-8")
    assert ("malformed feed: &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;"
            in page)
    assert "<script>alert" not in page


RSS_WITH_EMPTIES = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Mixed</title><link>https://mixed.example/</link>
<description>Some entries are empty</description>
<item><guid isPermaLink="false">full</guid><title>Full</title>
  <link>https://mixed.example/full</link><description>Body of full.</description></item>
<item><guid isPermaLink="false">title-only</guid><title>Only a title</title></item>
<item><guid isPermaLink="false">empty-markup</guid><title>Empty markup</title>
  <description>&lt;p&gt; &lt;/p&gt;&lt;div&gt;&lt;/div&gt;</description></item>
<item><guid isPermaLink="false">link-only</guid><title>Link only</title>
  <link>https://mixed.example/link-only</link></item>
<item><guid isPermaLink="false">body-only</guid><title>Body only</title>
  <description>A note without a link.</description></item>
<item><guid isPermaLink="false">image-only</guid><title>Image only</title>
  <description>&lt;img src="https://mixed.example/a.png" alt=""&gt;</description></item>
<item><guid isPermaLink="false">episode</guid><title>Episode</title>
  <enclosure url="https://mixed.example/ep.mp3" type="audio/mpeg" length="100"/></item>
<item><guid isPermaLink="false">bad-link</guid><title>A javascript link</title>
  <link>javascript:alert(1)</link></item>
</channel></rss>
"""

JSON_WITH_EMPTIES = json.dumps({
    "version": "https://jsonfeed.org/version/1.1", "title": "J",
    "home_page_url": "https://json.example/",
    "items": [{"id": "1", "title": "Json full", "url": "https://json.example/1",
               "content_text": "Text."},
              {"id": "2", "title": "Json title only"},
              {"id": "3", "title": "Json empty html", "content_html": "<p></p>"}],
})


def test_entries_with_neither_link_nor_body_are_not_stored_and_counted(
    project: Project, run: Run, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/mixed.xml").respond_with_data(
        RSS_WITH_EMPTIES, content_type="application/rss+xml")
    httpserver.expect_request("/j.json").respond_with_data(
        JSON_WITH_EMPTIES, content_type="application/feed+json")
    root = project(config=site("UTC", ("mixed", httpserver.url_for("/mixed.xml")),
                               ("json", httpserver.url_for("/j.json"))))
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    stored = sorted(str(front_matter(p)["title"]) for p in items(root))
    assert stored == ["Body only", "Episode", "Full", "Image only", "Json full", "Link only"]
    [mixed] = lines_about(result, "mixed")
    assert "skipped 3 entries with neither a link nor a body" in mixed
    [json_line] = lines_about(result, "json")
    assert "skipped 2 entries with neither a link nor a body" in json_line
    assert table_row(result, "mixed")[1:3] == ["ok", "5"]
    again = run(root, "fetch")  # nothing new, and the skipped ones still are not stored
    assert len(items(root)) == 6
    assert table_row(again, "mixed")[1:5] == ["ok", "0", "0", "5"]
