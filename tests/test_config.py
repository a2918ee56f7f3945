"""digest.toml problems: one line each, naming the file and the key path, exit code 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import MINIMAL_CONFIG

Run = Callable[..., Result]
Project = Callable[..., Path]


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def assert_config_error(result: Result, *fragments: str) -> str:
    """Exactly one error line, in digest.toml, with every fragment; exit 2; no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 1, result.output
    assert "digest.toml" in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], result.output
    return lines[0]


def edited(old: str, new: str) -> str:
    assert old in MINIMAL_CONFIG
    return MINIMAL_CONFIG.replace(old, new, 1)


SECOND_FEED = """
[[feeds]]
slug = "blog"
title = "Another blog"
url = "feeds/other.xml"
"""

SECOND_TOPIC = """
[[topics]]
slug = "ai"
title = "AI again"
"""


def test_the_minimal_config_checks_clean(project: Project, run: Run) -> None:
    result = run(project(), "check")
    assert result.exit_code == 0, result.output
    assert "OK: 1 feed, 1 topic" in result.output
    assert error_lines(result) == []


# (config, what the one error line must say)
ONE_PROBLEM = {
    "unknown top-level key": (
        MINIMAL_CONFIG + '\n[[feed]]\nslug = "x"\n',
        ["feed: unknown key", "did you mean 'feeds'?"]),
    "unknown key in [site]": (
        edited('description = "A digest for tests"', 'descripton = "A digest for tests"'),
        ["site.descripton: unknown key", "did you mean 'description'?"]),
    "unknown key in [[feeds]]": (
        edited('url = "feeds/blog.xml"', 'url = "feeds/blog.xml"\nhompage = "https://a.b/"'),
        ["feeds[0].hompage: unknown key", "did you mean 'homepage'?"]),
    "unknown key in [[topics]]": (
        edited('keywords = ["alignment"]', 'keywrods = ["alignment"]'),
        ["topics[0].keywrods: unknown key", "did you mean 'keywords'?"]),
    "page_size is a string": (
        edited('timezone = "Europe/Moscow"', 'timezone = "Europe/Moscow"\npage_size = "20"'),
        ["site.page_size", "must be an integer"]),
    "page_size is zero": (
        edited('timezone = "Europe/Moscow"', 'timezone = "Europe/Moscow"\npage_size = 0'),
        ["site.page_size", "at least 1"]),
    "feed topics is a string": (
        edited('topics = ["ai"]', 'topics = "ai"'),
        ["feeds[0].topics", "must be a list"]),
    "feed names an undefined topic": (
        edited('topics = ["ai"]', 'topics = ["aii"]'),
        ["feeds[0].topics", "unknown topic 'aii'", "did you mean 'ai'?"]),
    "duplicate feed slug": (
        MINIMAL_CONFIG + SECOND_FEED,
        ["feeds[1].slug", "duplicate slug 'blog'"]),
    "duplicate topic slug": (
        MINIMAL_CONFIG + SECOND_TOPIC,
        ["topics[1].slug", "duplicate slug 'ai'"]),
    "feed slug that is not a slug": (
        edited('slug = "blog"', 'slug = "My Blog"'),
        ["feeds[0].slug", "'My Blog' is not a slug"]),
    "bad timezone": (
        edited('timezone = "Europe/Moscow"', 'timezone = "Europe/Moskva"'),
        ["site.timezone", "unknown time zone 'Europe/Moskva'", "IANA"]),
    "bad language": (
        edited('language = "ru"', 'language = "russian"'),
        ["site.language", "unknown language 'russian'", "BCP 47"]),
    "base_url without a scheme": (
        edited('base_url = "https://user.github.io/my-digest/"',
               'base_url = "user.github.io/my-digest/"'),
        ["site.base_url", "is not an http(s) URL"]),
    "base_url with another scheme": (
        edited('base_url = "https://user.github.io/my-digest/"', 'base_url = "ftp://host/"'),
        ["site.base_url", "is not an http(s) URL"]),
    "missing required key": (
        edited('title = "Test digest"\n', ""),
        ["site.title", "is required"]),
    "theme folder that does not exist": (
        edited('timezone = "Europe/Moscow"', 'timezone = "Europe/Moscow"\ntheme = "themes/mine"'),
        ["site.theme", "no theme folder at 'themes/mine'"]),
    "bad keyword regex": (
        edited('keywords = ["alignment"]', 'keywords = ["/(unclosed/"]'),
        ["topics[0].keywords[0]", "bad regular expression"]),
}


@pytest.mark.parametrize(("config", "expected"), list(ONE_PROBLEM.values()), ids=list(ONE_PROBLEM))
def test_one_config_problem_is_one_line_naming_the_key(
    project: Project, run: Run, config: str, expected: list[str]
) -> None:
    assert_config_error(run(project(config=config), "check"), *expected)


def test_build_stops_on_a_config_error_and_writes_nothing(project: Project, run: Run) -> None:
    root = project(config=edited('topics = ["ai"]', 'topics = "ai"'))
    result = run(root, "build")
    assert_config_error(result, "feeds[0].topics")
    assert not (root / "output").exists()


def test_fetch_stops_on_a_config_error(project: Project, run: Run) -> None:
    root = project(config=edited('language = "ru"', 'language = "russian"'))
    result = run(root, "fetch")
    assert_config_error(result, "site.language")
    assert not (root / "content").exists()


def test_invalid_toml_names_the_line(project: Project, run: Run) -> None:
    config = edited('title = "A blog"', 'title = "A blog')
    line = config.splitlines().index('title = "A blog') + 1
    result = run(project(config=config), "check")
    text = assert_config_error(result, "invalid TOML")
    assert f"digest.toml:{line}:" in text


def test_every_problem_in_the_file_is_listed_in_one_run(project: Project, run: Run) -> None:
    config = (MINIMAL_CONFIG
              .replace('timezone = "Europe/Moscow"', 'timezone = "Mars/Olympus"')
              .replace('title = "A blog"', 'titel = "A blog"')
              .replace('topics = ["ai"]', 'topics = ["aii"]'))
    result = run(project(config=config), "check")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 4, result.output  # the misspelt title also leaves title missing
    for key in ["site.timezone", "feeds[0].titel", "feeds[0].title", "feeds[0].topics"]:
        assert sum(key + ":" in line for line in lines) == 1, (key, result.output)
    assert "4 problems found" in result.output


def test_missing_config_suggests_digest_init(tmp_path: Path, run: Run) -> None:
    result = run(tmp_path, "check")
    text = assert_config_error(result, "no such file")
    assert "digest init" in text


def test_config_option_reads_a_project_elsewhere(project: Project, run: Run,
                                                  tmp_path: Path) -> None:
    root = project(files={"feeds/blog.xml": "<rss/>"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(elsewhere, "--config", str(root / "digest.toml"), "check")
    assert result.exit_code == 0, result.output
    assert "OK: 1 feed, 1 topic" in result.output
    result = run(elsewhere, "--config", str(root / "digest.toml"), "build")
    assert result.exit_code == 0, result.output
    assert (root / "output" / "index.html").is_file()
    assert not (elsewhere / "output").exists()


def test_config_option_errors_name_that_file(project: Project, run: Run) -> None:
    root = project()
    other = root / "other.toml"
    other.write_text(edited('language = "ru"', 'language = "russian"'), encoding="utf-8")
    result = run(root, "--config", "other.toml", "check")
    assert result.exit_code == 2
    lines = error_lines(result)
    assert len(lines) == 1 and "other.toml" in lines[0] and "site.language" in lines[0]
    missing = run(root, "--config", "nope.toml", "check")
    assert missing.exit_code == 2 and "nope.toml" in missing.output
    assert "Traceback" not in missing.output


def test_debug_shows_the_traceback(project: Project, run: Run) -> None:
    root = project(config=edited('language = "ru"', 'language = "russian"'))
    result = run(root, "--debug", "check")
    assert result.exit_code == 2
    assert "Traceback" in result.output
    assert "site.language" in result.output
