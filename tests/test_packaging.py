"""Packaging: the distribution `digest-ssg`, its release notes, and a wheel that works elsewhere."""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from tests.conftest import FIXTURES, MINIMAL_CONFIG, ROOT
from tests.test_serve import free_port, get

NOTES_SCRIPT = ROOT / ".github" / "release_notes.py"
SOURCE_VERSION = re.search(r'^__version__ = "([^"]+)"$',
                           (ROOT / "digest" / "__init__.py").read_text(encoding="utf-8"),
                           re.MULTILINE)

CHANGELOG = """\
# Changelog

Some words about the format.

## [Unreleased]

### Added
- Something not released yet.

## [1.10.0] - 2027-03-01

### Fixed
- The ten.

## [1.1.0] - 2027-01-15

### Added
- Feeds from the moon.

### Changed
- `digest build` is faster.

## [1.0.0] - 2026-12-24

First release.

[Unreleased]: https://github.com/digest-ssg/digest/compare/v1.10.0...HEAD
[1.10.0]: https://github.com/digest-ssg/digest/compare/v1.1.0...v1.10.0
[1.1.0]: https://github.com/digest-ssg/digest/compare/v1.0.0...v1.1.0
[1.0.0]: https://github.com/digest-ssg/digest/releases/tag/v1.0.0
"""


def release_notes(changelog: Path, version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(NOTES_SCRIPT), version, "--changelog",
                           str(changelog)], capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("tag", "notes"), [
    ("v1.1.0", "### Added\n- Feeds from the moon.\n\n### Changed\n- `digest build` is faster."),
    ("1.10.0", "### Fixed\n- The ten."),
    ("refs/tags/v1.0.0", "First release."),
])
def test_a_release_gets_its_own_section_of_the_changelog(tmp_path: Path, tag: str,
                                                         notes: str) -> None:
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(CHANGELOG, encoding="utf-8")
    result = release_notes(changelog, tag)
    assert result.returncode == 0, result.stderr
    assert result.stdout == notes + "\n"


SECTION_1_1_0 = """\
### Added
- Feeds from the moon.

### Changed
- `digest build` is faster.

"""


@pytest.mark.parametrize(("text", "message"), [
    pytest.param(CHANGELOG.replace("## [1.1.0] - 2027-01-15\n\n" + SECTION_1_1_0, ""),
                 "no '## [1.1.0]' section", id="no-section"),
    pytest.param(CHANGELOG.replace(SECTION_1_1_0, ""), "section for 1.1.0 is empty",
                 id="empty-section"),
])
def test_a_version_without_notes_stops_the_release(tmp_path: Path, text: str,
                                                   message: str) -> None:
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(text, encoding="utf-8")
    assert text != CHANGELOG
    result = release_notes(changelog, "v1.1.0")
    assert result.returncode == 1
    assert result.stdout == ""
    assert str(changelog) in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_current_version_has_release_notes() -> None:
    """Tagging the version in digest/__init__.py would publish: its notes must be written."""
    assert SOURCE_VERSION is not None
    result = release_notes(ROOT / "CHANGELOG.md", SOURCE_VERSION[1])
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) > 40


def test_the_distribution_is_digest_ssg_with_one_version(run: Callable[..., Result],
                                                         tmp_path: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "digest-ssg"
    assert project["scripts"] == {"digest": "digest.cli:run"}
    assert "version" not in project and "version" in project["dynamic"]
    assert SOURCE_VERSION is not None
    result = run(tmp_path, "--version")
    assert result.output == f"digest, version {SOURCE_VERSION[1]}\n"


def wheel_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def wait_for_port(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"serve did not start: {proc.communicate()[0]}")


@pytest.mark.slow
def test_the_released_files_install_and_work_outside_the_repository(
        tmp_path: Path, httpserver: HTTPServer) -> None:
    """`python -m build` makes what the release workflow uploads: an sdist, and a wheel built
    from that sdist. Both pass `twine check --strict`; the wheel equals one built straight
    from the source tree; installed into a fresh virtual environment it makes and builds a
    new project elsewhere and serves the editor's desk."""
    assert SOURCE_VERSION is not None
    version = SOURCE_VERSION[1]
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"),
                            str(ROOT)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    sdist = tmp_path / "dist" / f"digest_ssg-{version}.tar.gz"
    wheel = tmp_path / "dist" / f"digest_ssg-{version}-py3-none-any.whl"
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == [wheel.name, sdist.name]

    twine = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(sdist),
                            str(wheel)], capture_output=True, text=True, check=False)
    assert twine.returncode == 0, twine.stdout + twine.stderr

    direct = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir",
                             str(tmp_path / "direct"), str(ROOT)],
                            capture_output=True, text=True, check=False)
    assert direct.returncode == 0, direct.stdout + direct.stderr
    files = wheel_files(wheel)
    assert files == wheel_files(tmp_path / "direct" / wheel.name)

    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "digest").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    expected |= {"digest/" + p.relative_to(ROOT).as_posix()
                 for p in (ROOT / "themes" / "default").rglob("*") if p.is_file()}
    assert {"digest/desk/static/desk.js", "digest/themes/default/templates/base.html"} <= expected
    assert expected <= set(files), sorted(expected - set(files))

    metadata = email.parser.BytesParser().parsebytes(
        files[f"digest_ssg-{version}.dist-info/METADATA"])
    assert metadata["Name"] == "digest-ssg" and metadata["Version"] == version
    assert metadata["Description-Content-Type"] == "text/markdown"
    description = metadata.get_payload()
    assert isinstance(description, str) and "pip install digest-ssg" in description
    # the package index shows the README where a repository-relative link leads nowhere
    assert "](docs/" not in description and 'src="docs/' not in description
    assert "https://raw.githubusercontent.com/digest-ssg/digest/main/docs/screenshots/" \
        in description

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    pip = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)],
                         capture_output=True, text=True, check=False)
    assert pip.returncode == 0, pip.stderr
    digest = str(bin_dir / "digest")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def installed(*args: str, cwd: Path = work) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env,
                              check=False)

    where = installed(str(bin_dir / "python"), "-c", "import digest; print(digest.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr
    assert installed(digest, "--version").stdout == f"digest, version {version}\n"
    init = installed(digest, "init", "x", "--yes")
    assert init.returncode == 0, init.stdout + init.stderr
    build = installed(digest, "build", cwd=work / "x")
    assert build.returncode == 0, build.stdout + build.stderr
    assert "<title>" in (work / "x" / "output" / "index.html").read_text(encoding="utf-8")
    assert (work / "x" / "output" / "static" / "style.css").stat().st_size > 500

    # a blog added by its page's address, so that the desk has a week to show
    httpserver.expect_request("/blog/").respond_with_data(
        '<html><head><link rel="alternate" type="application/atom+xml" href="feed.xml">'
        "</head><body>A blog</body></html>", content_type="text/html")
    httpserver.expect_request("/blog/feed.xml").respond_with_data(
        (FIXTURES / "feeds" / "qemu.atom").read_bytes(), content_type="application/atom+xml")
    add = installed(digest, "add", httpserver.url_for("/blog/"), cwd=work / "x")
    assert add.returncode == 0, add.stdout + add.stderr
    fetch = installed(digest, "fetch", cwd=work / "x")
    assert fetch.returncode == 0 and "10 new" in fetch.stdout, fetch.stdout + fetch.stderr
    assert installed(digest, "build", cwd=work / "x").returncode == 0
    assert len(list((work / "x" / "output" / "items").rglob("index.html"))) == 10
    placeholder = b"This week's introduction: write what stood out"
    assert [p for p in (work / "x" / "output").rglob("*")
            if p.is_file() and placeholder in p.read_bytes()] == []

    port = free_port()
    serve = subprocess.Popen([digest, "serve", "--port", str(port)], cwd=work / "x", env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, serve)
        status, desk = get(port, "/digest/_review/")
        assert status == 200 and b'src="/digest/_review/desk.js' in desk, desk[:500]
        assert get(port, "/digest/_review/desk.js")[0] == 200
        assert get(port, "/digest/_review/desk.css")[0] == 200
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=10)
        except subprocess.TimeoutExpired:
            serve.kill()


def test_an_install_without_its_theme_says_how_to_repair_it(tmp_path: Path) -> None:
    """The repair hint names the distribution: `pip install digest` brings another project."""
    broken = tmp_path / "site-packages"
    shutil.copytree(ROOT / "digest", broken / "digest",
                    ignore=shutil.ignore_patterns("__pycache__", "themes"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "digest.toml").write_text(MINIMAL_CONFIG, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(broken)}
    result = subprocess.run([sys.executable, "-m", "digest", "build"], cwd=project, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "default theme is missing" in result.stderr, result.stderr
    assert "pip install --force-reinstall digest-ssg" in result.stderr
    assert "Traceback" not in result.stderr
