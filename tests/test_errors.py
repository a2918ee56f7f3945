"""Errors (digest/errors.py): several problems are one DigestError, unwrapped in one place, and
every reader of them (the CLI, the preview, the desk) shows each problem on its own line."""

from __future__ import annotations

import http.client
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.desk.review import Desk
from digest.errors import ConfigError, ContentError, DigestError, DigestErrors, raise_all
from digest.preview.loop import Preview
from tests.conftest import MINIMAL_CONFIG
from tests.test_review import PREFIX, running

Project = Callable[..., Path]
BROKEN = (MINIMAL_CONFIG.replace('timezone = "Europe/Moscow"', 'timezone = "Mars/Olympus"')
          .replace('topics = ["ai"]', 'topics = ["aii"]'))


def test_collected_problems_are_a_digest_error_listing_each_once() -> None:
    bad_item = ContentError("bad date", path="content/items/a.md", line=3, key="date")
    nested = DigestErrors([ConfigError("no such topic", path="digest.toml", key="topics"),
                           ContentError("no title", path="content/items/b.md")])
    with pytest.raises(DigestError) as caught:  # one `except` catches one or several
        raise_all([bad_item, nested])
    error = caught.value
    assert isinstance(error, DigestErrors)
    assert [e.message for e in error.errors] == ["bad date", "no such topic", "no title"]
    assert error.exit_code == 2  # a config problem among them: a usage error
    assert error.format(Path.cwd()).splitlines() == [
        "content/items/a.md:3: date: bad date", "digest.toml: topics: no such topic",
        "content/items/b.md: no title"]


def test_a_single_problem_is_raised_as_itself() -> None:
    only = ContentError("no title", path="content/items/b.md")
    with pytest.raises(ContentError) as caught:
        raise_all([DigestErrors([only])])
    assert caught.value is only
    assert caught.value.errors == [only]
    assert caught.value.exit_code == 1


def test_collected_problems_cross_a_process_boundary_intact() -> None:
    errors = DigestErrors([ConfigError("bad", path="digest.toml", key="site.timezone",
                                       hint="e.g. UTC"), ContentError("no title", line=2)])
    back = pickle.loads(pickle.dumps(errors))
    assert isinstance(back, DigestErrors)
    assert back.format() == errors.format()
    assert [type(e) for e in back.errors] == [ConfigError, ContentError]
    assert back.exit_code == 2


def test_the_preview_shows_every_problem_of_a_broken_config(project: Project) -> None:
    root = project(config=BROKEN)
    said: list[str] = []
    preview = Preview(root / "digest.toml", True, said.append, said.append)
    preview.rebuild(set())
    assert preview.status.error is not None
    shown = preview.status.error.splitlines()
    assert len(shown) == 2, shown
    assert any("site.timezone" in line for line in shown)
    assert any("feeds[0].topics" in line for line in shown)
    assert said == shown  # the terminal says the same, one line each
    assert not (root / "output").exists()  # nothing was built


def test_the_desk_shows_every_problem_of_a_broken_config(project: Project) -> None:
    root = project(config=BROKEN)
    (root / "output").mkdir()
    before = (root / "digest.toml").read_bytes()
    with running(root / "output", "127.0.0.1", Desk(root / "digest.toml").handle) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request("GET", f"{PREFIX}_review/")
        response = conn.getresponse()
        status, body = response.status, response.read().decode()
        conn.close()
    assert status == 500
    lines = body.splitlines()
    assert len(lines) == 2, body
    assert any("site.timezone" in line for line in lines)
    assert any("feeds[0].topics" in line for line in lines)
    assert (root / "digest.toml").read_bytes() == before
