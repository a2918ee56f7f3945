"""`digest init` makes a project that builds, in place and from a plain `pip install .`."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from digest.project.init import PLACEHOLDER
from tests.conftest import ROOT


def test_init_writes_a_project_that_builds(tmp_path: Path, run: Callable[..., Result]) -> None:
    target = tmp_path / "new"
    result = run(tmp_path, "init", str(target), "--yes", "--title", "Тестовый дайджест",
                 "--language", "ru", "--timezone", "Europe/Moscow",
                 "--base-url", "https://me.github.io/weekly", "--feed",
                 "https://example.org/feed.xml")
    assert result.exit_code == 0, result.output
    config = tomllib.loads((target / "digest.toml").read_text(encoding="utf-8"))
    assert config["site"]["title"] == "Тестовый дайджест"
    assert config["site"]["base_url"] == "https://me.github.io/weekly/"
    assert config["feeds"][0]["url"] == "https://example.org/feed.xml"
    assert (target / "content" / "pages" / "about.md").is_file()
    assert list((target / "content" / "issues").glob("*-W*.md"))
    assert "/output/" in (target / ".gitignore").read_text()
    built = run(target, "build")
    assert built.exit_code == 0, built.output
    home = (target / "output" / "index.html").read_text(encoding="utf-8")
    assert "Тестовый дайджест" in home and 'href="/weekly/static/style.css"' in home


def test_the_new_config_shows_selection_rules_that_work_once_uncommented(
        tmp_path: Path, run: Callable[..., Result]) -> None:
    """With no [selection] every item of the week is in its issue: the new digest.toml says
    so, with a few rules that are valid as they stand. Its comments line up, whatever the
    title."""
    target = tmp_path / "new"
    assert run(tmp_path, "init", str(target), "--yes", "--title", "Interactive Digest",
               "--feed", "https://example.org/feed.xml").exit_code == 0
    path = target / "digest.toml"
    text = path.read_text(encoding="utf-8")
    assert "With no [selection], every item of the week does" in text
    site = text[text.index("[site]"):text.index("\n\n", text.index("[site]"))]
    columns = {line.index("#") for line in site.splitlines()[1:] if " # " in line
               and not line.startswith(("base_url", "#"))}
    assert columns == {38}, site
    start = text.index("# [selection]")
    block = text[start:text.index("\n\n", start)]
    path.write_text(text.replace(block, "\n".join(line.removeprefix("# ")
                                                  for line in block.splitlines())),
                    encoding="utf-8")
    chosen = run(target, "check")
    assert chosen.exit_code == 0, chosen.output
    assert tomllib.loads(path.read_text(encoding="utf-8"))["selection"]["max_items"] == 12


def test_init_does_not_ask_when_stdin_is_not_a_terminal(tmp_path: Path,
                                                        run: Callable[..., Result]) -> None:
    result = run(tmp_path, "init", str(tmp_path / "quiet"))
    assert result.exit_code == 0, result.output
    assert "My digest" in (tmp_path / "quiet" / "digest.toml").read_text(encoding="utf-8")


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path,
                                                 run: Callable[..., Result]) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    result = run(tmp_path, "init", str(target), "--yes")
    assert result.exit_code == 2
    assert "not empty" in result.output and "--force" in result.output
    assert not (target / "digest.toml").exists()
    assert run(tmp_path, "init", str(target), "--yes", "--force").exit_code == 0
    assert (target / "notes.txt").read_text() == "mine"


def test_init_rejects_a_bad_time_zone(tmp_path: Path, run: Callable[..., Result]) -> None:
    result = run(tmp_path, "init", str(tmp_path / "x"), "--yes", "--timezone", "Mars/Olympus")
    assert result.exit_code == 2
    assert "--timezone" in result.output and "Mars/Olympus" in result.output
    assert "Traceback" not in result.output


def test_init_writes_the_weekly_workflow_and_explains_the_60_day_rule(
        tmp_path: Path, run: Callable[..., Result]) -> None:
    target = tmp_path / "weekly"
    result = run(tmp_path, "init", str(target), "--yes")
    assert result.exit_code == 0, result.output
    workflow = (target / ".github" / "workflows" / "digest.yml").read_text(encoding="utf-8")
    assert "digest fetch" in workflow and "actions/deploy-pages@" in workflow
    assert "gh pr create" not in workflow
    readme = (target / "README.md").read_text(encoding="utf-8")
    assert ".github/workflows/digest.yml" in readme
    assert "60 days" in readme and "by hand" in readme


OPML_FILE = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Tech">
      <outline type="rss" text="Python Insider" xmlUrl="https://blog.python.org/feeds/posts/default"/>
      <outline type="rss" text="Python Insider again" xmlUrl="https://blog.python.org/feeds/posts/default"/>
      <outline type="rss" text="PSF" xmlUrl="https://blog.python.org/feeds/psf"/>
      <outline type="rss" text="Saved file" xmlUrl="feeds/local.xml"/>
      <outline type="rss" text="LWN" xmlUrl="http://lwn.net/headlines/rss"/>
    </outline>
  </body>
</opml>
"""


def test_init_takes_the_feeds_from_an_opml_file(tmp_path: Path,
                                                run: Callable[..., Result]) -> None:
    (tmp_path / "subs.opml").write_text(OPML_FILE, encoding="utf-8")
    target = tmp_path / "from-opml"
    result = run(tmp_path, "init", str(target), "--yes", "--opml", "subs.opml",
                 "--feed", "https://example.org/feed.xml")
    assert result.exit_code == 0, result.output
    config = tomllib.loads((target / "digest.toml").read_text(encoding="utf-8"))
    assert [f["url"] for f in config["feeds"]] == [
        "https://example.org/feed.xml", "https://blog.python.org/feeds/posts/default",
        "https://blog.python.org/feeds/psf", "http://lwn.net/headlines/rss"]
    slugs = [f["slug"] for f in config["feeds"]]
    assert len(set(slugs)) == len(slugs)
    checked = run(target, "check")
    assert checked.exit_code == 0, checked.output


@pytest.mark.parametrize("data", [
    pytest.param(b"this is not an OPML file at all\n", id="text"),
    pytest.param(b"<opml><body><outline text='unfinished'", id="broken-xml"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", id="binary"),
])
def test_init_with_a_garbage_opml_file_is_one_error_line(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "subs.opml").write_bytes(data)
    target = tmp_path / "nothing"
    done = subprocess.run([sys.executable, "-m", "digest", "init", str(target), "--yes",
                           "--opml", "subs.opml"], cwd=tmp_path, capture_output=True,
                          text=True)
    assert done.returncode == 2, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "subs.opml" in lines[0] and "--opml" in lines[0]
    assert not target.exists(), "nothing is written"


def test_init_with_a_missing_opml_file_is_one_error_line(tmp_path: Path,
                                                         run: Callable[..., Result]) -> None:
    result = run(tmp_path, "init", str(tmp_path / "x"), "--yes", "--opml", "nowhere.opml")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "nowhere.opml" in lines[0]
    assert not (tmp_path / "x").exists()


def test_init_review_writes_the_review_workflow(tmp_path: Path,
                                                run: Callable[..., Result]) -> None:
    result = run(tmp_path, "init", str(tmp_path / "reviewed"), "--yes", "--review")
    assert result.exit_code == 0, result.output
    workflow = (tmp_path / "reviewed" / ".github" / "workflows" / "digest.yml").read_text(
        encoding="utf-8")
    assert "gh pr create" in workflow and "pull-requests: write" in workflow
    assert "github.event_name == 'push'" in workflow
    plain = run(tmp_path, "init", str(tmp_path / "plain"), "--yes")
    assert plain.exit_code == 0
    assert (tmp_path / "plain" / ".github" / "workflows" / "digest.yml").read_text(
        encoding="utf-8") != workflow


def test_init_takes_a_local_feed_file_as_digest_toml_does(tmp_path: Path,
                                                          run: Callable[..., Result]) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "qemu.atom").write_bytes(
        (ROOT / "tests" / "fixtures" / "feeds" / "qemu.atom").read_bytes())
    result = run(tmp_path, "init", "new", "--yes", "--feed", "feeds/qemu.atom")
    assert result.exit_code == 0, result.output
    feed = tomllib.loads((tmp_path / "new" / "digest.toml").read_text("utf-8"))["feeds"][0]
    assert (feed["slug"], feed["url"]) == ("qemu", str(tmp_path / "feeds" / "qemu.atom"))
    fetched = run(tmp_path / "new", "fetch")
    assert fetched.exit_code == 0, fetched.output
    assert len(list((tmp_path / "new" / "content" / "items").rglob("*.md"))) == 10


def test_init_refuses_a_feed_file_that_is_not_there(tmp_path: Path,
                                                     run: Callable[..., Result]) -> None:
    result = run(tmp_path, "init", "new", "--yes", "--feed", "feeds/none.xml")
    assert result.exit_code == 2
    assert "no feed file" in result.output and "none.xml" in result.output
    assert not (tmp_path / "new").exists()


def test_a_new_project_never_publishes_the_example_introduction(
        tmp_path: Path, run: Callable[..., Result], httpserver: HTTPServer) -> None:
    """init, add a blog by its page, fetch, build: the example introduction is a draft, so no
    page or feed of the site holds it, and `digest check` says it is still there."""
    feed = (ROOT / "tests" / "fixtures" / "feeds" / "qemu.atom").read_bytes()
    httpserver.expect_request("/blog/").respond_with_data(
        '<html><head><link rel="alternate" type="application/atom+xml" href="feed.xml">'
        "</head></html>", content_type="text/html")
    httpserver.expect_request("/blog/feed.xml").respond_with_data(
        feed, content_type="application/atom+xml")
    target = tmp_path / "x"
    assert run(tmp_path, "init", str(target), "--yes").exit_code == 0
    empty = run(target, "build")
    assert empty.exit_code == 0 and "Built 0 issues, 0 items" in empty.output
    added = run(target, "add", httpserver.url_for("/blog/"))
    assert added.exit_code == 0, added.output
    assert run(target, "fetch").exit_code == 0
    built = run(target, "build")
    assert built.exit_code == 0, built.output
    assert "Built 0 issues" not in built.output
    published = [p for p in (target / "output").rglob("*") if p.is_file() and
                 PLACEHOLDER.encode() in p.read_bytes()]
    assert published == []
    checked = run(target, "check")
    assert checked.exit_code == 0, checked.output
    assert "still digest init's example (a draft" in checked.output


def test_check_fails_on_the_example_introduction_once_it_is_no_draft(
        tmp_path: Path, run: Callable[..., Result]) -> None:
    target = tmp_path / "x"
    assert run(tmp_path, "init", str(target), "--yes").exit_code == 0
    (issue,) = (target / "content" / "issues").glob("*.md")
    issue.write_text(issue.read_text("utf-8").replace("status: draft\n", ""), "utf-8")
    checked = run(target, "check")
    assert checked.exit_code == 1
    assert f"{issue.relative_to(target)}: the introduction is still digest init's example, " \
           "and the issue is not a draft" in checked.output


class Terminal:
    """`digest init` run on a real pseudo-terminal, answered as a person would type."""

    def __init__(self, cwd: Path, *args: str) -> None:
        import pty

        self.master, slave = pty.openpty()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "200"}
        self.proc = subprocess.Popen([sys.executable, "-m", "digest", "init", *args], cwd=cwd,
                                     stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 30) -> str:
        """Everything printed until `text` appears (which it must, within `timeout`)."""
        import select
        import time

        deadline = time.monotonic() + timeout
        start = len(self.seen)
        while text not in self.seen[start:]:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.master], [], [], max(0.0, left))
            if not ready:
                raise AssertionError(f"never printed {text!r}; printed: {self.seen[start:]!r}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                raise AssertionError(f"ended before {text!r}; printed: {self.seen[start:]!r}")
            self.seen += chunk.decode("utf-8", "replace")
        end = self.seen.index(text, start) + len(text)
        said, self.seen = self.seen[start:end], self.seen[:start] + self.seen[end:]
        return said

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=30)
        finally:
            os.close(self.master)


def test_interactive_init_checks_each_answer_and_asks_again(tmp_path: Path) -> None:
    term = Terminal(tmp_path, "new")
    term.expect("Title [My digest]:")
    term.type("Weekly\x1b[31m red")
    assert "control characters (U+001B)" in term.expect("Title [My digest]:")
    term.type("Неделя в ИИ")
    term.expect("Language (BCP 47) [en]:")
    term.type("klingon-xx")
    assert "unknown language 'klingon-xx'" in term.expect("Language (BCP 47) [en]:")
    term.type("ru")
    term.expect("Time zone (IANA) [UTC]:")
    term.type("Mars/Olympus")
    assert "unknown time zone 'Mars/Olympus'" in term.expect("Time zone (IANA) [UTC]:")
    term.type("Europe/Moscow")
    term.expect("Site URL [https://example.github.io/digest/]:")
    term.type("me.github.io/weekly")
    assert "is not an http(s) URL" in term.expect("Site URL")
    term.type("https://me.github.io/weekly/")
    term.expect("(comma-separated, may be empty) []:")
    term.type("https://example.org/feed.xml, feeds/none.xml")
    assert "no feed file 'feeds/none.xml'" in term.expect("(comma-separated, may be empty) []:")
    term.type("https://example.org/feed.xml")
    term.expect("Created")
    assert term.close() == 0
    everything = term.seen
    assert "--" not in everything.replace("--no-", ""), "no flag the user never typed is named"
    config = tomllib.loads((tmp_path / "new" / "digest.toml").read_text("utf-8"))
    assert config["site"]["title"] == "Неделя в ИИ"
    assert (config["site"]["language"], config["site"]["timezone"]) == ("ru", "Europe/Moscow")
    assert config["feeds"][0]["url"] == "https://example.org/feed.xml"


def test_interactive_init_refuses_a_busy_folder_before_asking(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    term = Terminal(tmp_path, "busy")
    said = term.expect("\n")
    assert "folder is not empty" in said
    assert term.close() == 2
    assert "Title" not in term.seen


def test_a_control_character_in_a_title_flag_is_refused(tmp_path: Path,
                                                         run: Callable[..., Result]) -> None:
    result = run(tmp_path, "init", "x", "--yes", "--title", "Line one\nLine two")
    assert result.exit_code == 2
    assert "--title: the title holds control characters (U+000A)" in result.output
    assert not (tmp_path / "x").exists()
