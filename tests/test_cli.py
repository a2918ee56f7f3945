"""The command line's conventions: options of `digest` itself before or after the command,
short flags, the help's real preview address, and what `serve` says of drafts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from digest.commands.context import Context
from tests.conftest import ROOT

Project = Callable[..., Path]
Run = Callable[..., Result]

ITEM = """\
---
id: aaaa
title: A post about alignment
link: https://example.org/a
source: blog
published: '2026-03-10T10:00:00+00:00'
---

Some text.
"""
FILES = {"content/items/2026/03/a-post-aaaaaa.md": ITEM, "feeds/blog.xml": ""}


def test_global_options_work_after_the_command(project: Project, run: Run,
                                               tmp_path: Path) -> None:
    root = project(FILES)
    result = run(tmp_path, "build", "--config", str(root / "digest.toml"), "-q", "-o",
                 str(tmp_path / "public"))
    assert result.exit_code == 0, result.output
    assert result.output == "", "-q after the command is quiet"
    assert (tmp_path / "public" / "index.html").is_file()
    assert not (root / "output").exists(), "-o after the command chose the folder"


def test_a_line_said_shows_a_path_as_it_is(project: Project, run: Run, tmp_path: Path) -> None:
    """Brackets and colons in a path are not markup nor emoji codes to the report."""
    root = project(FILES)
    folder = tmp_path / "out [bold]x[/bold] :smile:"
    result = run(root, "build", "-o", str(folder))
    assert result.exit_code == 0, result.output
    assert f" in {folder.resolve()} (" in result.output, result.output


def test_a_line_said_carries_no_control_characters(capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    """A feed's title in a report cannot clear the terminal or move the cursor."""
    context = Context(Path("digest.toml"), verbose=True, quiet=False, debug=False)
    context.say("Added \x1b[2J\x1b]0;pwned\x07Feed\r\x9b1A\ttabbed")
    context.detail("a\x08b")
    assert capsys.readouterr().out == "Added [2J]0;pwnedFeed1A\ttabbed\nab\n"


def test_global_options_before_the_command_keep_working(project: Project, run: Run,
                                                        tmp_path: Path) -> None:
    root = project(FILES)
    result = run(tmp_path, "--config", str(root / "digest.toml"), "--quiet", "build",
                 "--output", str(tmp_path / "public"))
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert (tmp_path / "public" / "index.html").is_file()


def test_short_config_flag_after_a_subgroup_command(project: Project, run: Run,
                                                    tmp_path: Path) -> None:
    root = project(FILES)
    result = run(tmp_path, "opml", "export", "-c", str(root / "digest.toml"))
    assert result.exit_code == 0, result.output
    assert 'xmlUrl="feeds/blog.xml"' in result.output


def test_a_config_option_after_the_command_wins_over_one_before(project: Project, run: Run,
                                                                tmp_path: Path) -> None:
    root = project(FILES)
    result = run(tmp_path, "-c", "missing.toml", "build", "-c", str(root / "digest.toml"))
    assert result.exit_code == 0, result.output
    assert (root / "output" / "index.html").is_file()


def test_base_url_short_flag(project: Project, run: Run) -> None:
    root = project(FILES)
    result = run(root, "build", "-b", "https://preview.example.org/pr-7/")
    assert result.exit_code == 0, result.output
    home = (root / "output" / "index.html").read_text("utf-8")
    assert 'href="/pr-7/static/style.css"' in home


def test_the_help_shows_the_real_preview_address(project: Project, run: Run,
                                                 tmp_path: Path) -> None:
    root = project(FILES)
    inside = run(root, "--help")
    assert "http://127.0.0.1:8000/my-digest/" in inside.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside = run(elsewhere, "--help")
    assert "http://127.0.0.1:8000/<site path>/" in outside.output


def test_publish_takes_a_commit_message(project: Project, run: Run) -> None:
    root = project(FILES)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    result = run(root, "publish", "--no-push", "-m", "Issue 11: alignment")
    assert result.exit_code == 0, result.output
    message = subprocess.run(["git", "log", "-1", "--format=%s", "gh-pages"], cwd=root,
                             capture_output=True, text=True, check=True).stdout.strip()
    assert message == "Issue 11: alignment"


def _serve_says(root: Path, *args: str) -> str:
    """The lines `digest serve` prints on start, until it says where the site is served."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "digest", "serve", "-p", str(port),
                             "--no-desk", *args], cwd=root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Draft issues are" in line:
                break
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return "".join(lines)


def test_serve_shows_drafts_and_says_so(project: Project) -> None:
    root = project(FILES)
    shown = _serve_says(root)
    assert "/my-digest/" in shown and "Draft issues are shown (--no-drafts hides them)" in shown
    hidden = _serve_says(root, "--no-drafts")
    assert "Draft issues are hidden" in hidden


def digest_process(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digest", *args], cwd=root, text=True,
                          capture_output=True, timeout=120, check=False)


def test_the_program_ends_with_its_exit_code_and_all_it_printed(project: Project) -> None:
    """What the quick exit (cli.run: os._exit, the objects not freed one by one) could lose
    is all there: what the program printed, on both streams, and its exit code. (The
    quick exit itself is a speed, measured in bench/, not here.)"""
    root = project({"content/items/2026/03/a-post-aaaaaa.md": ITEM, "feeds/blog.xml": ""})
    done = digest_process(root, "--verbose", "build")
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("Built 1 issue, 1 item, ")
    assert (root / "output" / "index.html").is_file()
    (root / "digest.toml").write_text("[site\n", encoding="utf-8")
    bad = digest_process(root, "build")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: digest.toml") and "Traceback" not in bad.stderr
    assert digest_process(root, "--version").stdout.startswith("digest, version ")
