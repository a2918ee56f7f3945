"""Shared fixtures: real projects in temporary folders, run through the real CLI."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = ROOT.parent / "shared"

MINIMAL_CONFIG = """\
[site]
title = "Test digest"
description = "A digest for tests"
base_url = "https://user.github.io/my-digest/"
language = "ru"
timezone = "Europe/Moscow"

[[feeds]]
slug = "blog"
title = "A blog"
url = "feeds/blog.xml"
topics = ["ai"]

[[topics]]
slug = "ai"
title = "ИИ"
description = "Artificial intelligence"
keywords = ["alignment"]
"""


def write_project(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path -> text or bytes) under `root`; return root."""
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(textwrap.dedent(data) if name.endswith(".md") else data,
                            encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test talks only to servers on 127.0.0.1: never through a proxy from the
    environment."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """`project(files={...}, config=...)` writes a real digest project into a temp folder."""

    def make(files: dict[str, str | bytes] | None = None, config: str = MINIMAL_CONFIG) -> Path:
        root = tmp_path / "site"
        root.mkdir(exist_ok=True)
        return write_project(root, {"digest.toml": config, **(files or {})})

    return make


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`run(root, "build", ...)`: the real `digest` command in `root`, its output captured."""

    def invoke(root: Path, *args: str) -> Result:
        monkeypatch.chdir(root)
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def example_project(root: Path) -> Path:
    """A copy of the bundled example digest at `root` (search off: Pagefind is not what
    the test that asks for it tests)."""
    root.mkdir(parents=True)
    for name in ("content", "feeds"):
        shutil.copytree(ROOT / name, root / name)
    config = (ROOT / "digest.toml").read_text(encoding="utf-8")
    (root / "digest.toml").write_text(config.replace("[site]\n", "[site]\nsearch = false\n", 1),
                                      encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example digest, copied and built once: the built output/ folder."""
    root = tmp_path_factory.mktemp("example")
    for name in ("digest.toml", "content", "feeds"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)
    result = CliRunner().invoke(main, ["--config", str(root / "digest.toml"), "build"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root / "output"
