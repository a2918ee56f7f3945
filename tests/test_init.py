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


@pytest.mark.slow
def test_plain_pip_install_builds_an_initialised_project(tmp_path: Path) -> None:
    """A non-editable install carries the default theme: a project elsewhere builds."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    pip = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(ROOT)],
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr
    digest = str(bin_dir / "digest")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    init = subprocess.run([digest, "init", "x", "--yes", "--language", "ru"], cwd=work,
                          capture_output=True, text=True, env=env)
    assert init.returncode == 0, init.stderr
    build = subprocess.run([digest, "build"], cwd=work / "x", capture_output=True, text=True,
                           env=env)
    assert build.returncode == 0, build.stderr
    home = (work / "x" / "output" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ru">' in home
    assert (work / "x" / "output" / "static" / "style.css").stat().st_size > 500
    version = subprocess.run([str(bin_dir / "python"), "-m", "digest", "--version"],
                             capture_output=True, text=True, env=env, cwd=work)
    assert "digest, version" in version.stdout
