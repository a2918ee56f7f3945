"""Every feed of the shared corpora goes through digest's real ingestion: feedparser's own
2,100 test fixtures through the parse stage, and 88 saved real feeds through `digest fetch`,
`digest check` and `digest build`. No traceback, ever; a feed either gives entries or one
error line; nothing that runs survives into a stored body."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest
import yaml
from click.testing import Result

from digest.errors import FeedError
from digest.model import FetchResult
from digest.parse import parse
from tests.conftest import SHARED

Run = Callable[..., Result]
Project = Callable[..., Path]

FEEDPARSER_TESTS = SHARED / "corpus" / "feedparser-tests"
REAL_FEEDS = SHARED / "corpus" / "real-feeds"
BASE = "http://example.com/feeds/feed.xml"

# What must never reach a stored body or title: script, event handlers, script URLs, styles.
DANGEROUS = {
    "script element": re.compile(r"<script", re.IGNORECASE),
    "event attribute": re.compile(r"<[^>]*\son\w+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "vbscript: URL": re.compile(r"vbscript:", re.IGNORECASE),
    "style element": re.compile(r"<style", re.IGNORECASE),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE),
}
SCRIPT_URL_ATTRIBUTE = re.compile(r"""\s(?:href|src|action|formaction|xlink:href)\s*=\s*"""
                                  r"""["']?\s*(?:javascript|vbscript|data):""", re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Fixtures feedparser reads cleanly (entries, no bozo) that digest refuses: none. A new one
# fails test_every_feedparser_fixture_gives_entries_or_one_clean_error, which names it.
KNOWN_REFUSED: set[str] = set()


def needs(folder: Path) -> None:
    if not folder.is_dir():
        pytest.skip(f"the shared corpus is not here: {folder}")


def fixture_headers(data: bytes) -> dict[str, str]:
    """The Content-Type a feedparser fixture asks to be served with, from its comment."""
    found = re.search(rb"^Header:\s*Content-type:\s*(.+?)\s*$", data[:2000],
                      re.IGNORECASE | re.MULTILINE)
    return {"content-type": found.group(1).decode("latin-1")} if found else {}


def dangers(text: str) -> list[str]:
    return [name for name, pattern in DANGEROUS.items() if pattern.search(text)]


# --- feedparser's fixtures, through the parse stage ------------------------------------------


def test_every_feedparser_fixture_gives_entries_or_one_clean_error() -> None:
    needs(FEEDPARSER_TESTS)
    files = sorted(p for p in FEEDPARSER_TESTS.rglob("*") if p.is_file() and p.name != "LICENSE")
    assert len(files) > 2000
    crashed: dict[str, str] = {}
    bad_errors: dict[str, str] = {}
    unsafe: dict[str, list[str]] = {}
    refused_clean: set[str] = set()
    with_entries = 0
    for path in files:
        name = path.relative_to(FEEDPARSER_TESTS).as_posix()
        data = path.read_bytes()
        result = FetchResult("t", BASE, data, fixture_headers(data), final_url=BASE)
        try:
            parsed = parse(result, BASE)
        except FeedError as exc:
            text = exc.format()
            if "\n" in text or "\r" in text or exc.key != "feeds.t" or BASE not in text:
                bad_errors[name] = text
            upstream = feedparser.parse(data)
            if upstream.entries and not upstream.bozo:
                refused_clean.add(name)
            continue
        except Exception as exc:  # what a user would see as a traceback
            crashed[name] = repr(exc)
            continue
        # entries with neither a link nor a body are read, then not kept (`dropped`)
        with_entries += bool(parsed.entries or parsed.dropped)
        for entry in parsed.entries:
            found = dangers(entry.html) + [d for d in dangers(entry.title) if "URL" not in d]
            if CONTROL.search(entry.title) or CONTROL.search(entry.author):
                found.append("control character")
            if entry.link and not entry.link.startswith(("http://", "https://")):
                found.append(f"link {entry.link!r}")
            if not entry.title.strip():
                found.append("empty title")
            if found:
                unsafe[name] = found
    assert crashed == {}
    assert bad_errors == {}
    assert unsafe == {}
    # a feed feedparser itself reads cleanly, entries and all, is never refused
    assert refused_clean == KNOWN_REFUSED
    assert with_entries > 1000


def test_doctype_text_inside_cdata_does_not_swallow_the_next_entry() -> None:
    first = (b"<item><title>Doctype tip</title><guid>https://tips.example/1</guid>"
             b"<description><![CDATA[<p>Every page starts with <code><!DOCTYPE]]>"
             b"</description></item>")
    rest = b"".join(b"<item><title>Tip %d</title><guid>https://tips.example/%d</guid>"
                    b"<description><![CDATA[<p>Tip <b>%d</b></p>]]></description></item>"
                    % (n, n, n) for n in range(2, 5))
    data = (b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>HTML tips</title>'
            b"<link>https://tips.example/</link><description>d</description>"
            + first + rest + b"</channel></rss>")
    titles = ["Doctype tip", "Tip 2", "Tip 3", "Tip 4"]
    assert [e.title for e in feedparser.parse(data).entries] == titles
    parsed = parse(FetchResult("tips", BASE, data, {"content-type": "application/rss+xml"}),
                   BASE)
    assert [e.title for e in parsed.entries] == titles
    assert "Tip" not in parsed.entries[0].html


def test_a_saved_feed_with_no_entries_yet_is_not_an_error(project: Project, run: Run) -> None:
    site = ('[site]\ntitle = "T"\nbase_url = "https://u.github.io/d/"\nlanguage = "en"\n'
            'timezone = "UTC"\n\n[[feeds]]\nslug = "new"\ntitle = "New"\nurl = "feeds/new.xml"\n'
            'homepage = "https://new.example/"\n')
    rss = ('<?xml version="1.0"?><rss version="2.0"><channel><title>New blog</title>'
           "<link>https://new.example/</link><description>Nothing yet</description>"
           "</channel></rss>")
    root = project(config=site, files={"feeds/new.xml": rss})
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert "error" not in result.output


# --- 88 real feeds, through the real command line --------------------------------------------


def real_feed_files() -> list[Path]:
    return sorted(p for p in REAL_FEEDS.iterdir() if p.is_file() and p.name != "MANIFEST.tsv")


@pytest.fixture(scope="module")
def real_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    """A project listing every real feed (by file: URL), fetched once by the real `digest
    fetch`: (root, its output, its exit code)."""
    needs(REAL_FEEDS)
    from click.testing import CliRunner

    from digest.cli import main

    root = tmp_path_factory.mktemp("real-feeds")
    lines = ['[site]\ntitle = "Real feeds"\nbase_url = "https://user.github.io/real/"\n'
             'language = "en"\ntimezone = "Europe/Berlin"\n']
    for n, path in enumerate(real_feed_files()):
        slug = f"feed-{n:02d}"
        lines.append(f'[[feeds]]\nslug = "{slug}"\ntitle = "{path.name}"\n'
                     f'url = "{path.as_uri()}"\n')
    (root / "digest.toml").write_text("\n".join(lines), encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(root / "digest.toml"), "fetch"],
                                catch_exceptions=False)
    return root, result.output, result.exit_code


def stored(root: Path) -> list[tuple[Path, dict[str, object], str]]:
    found = []
    for path in sorted((root / "content" / "items").rglob("*.md")):
        head, _, body = path.read_text(encoding="utf-8")[4:].partition("\n---\n")
        meta = yaml.safe_load(head)
        assert isinstance(meta, dict), path
        found.append((path, meta, body))
    return found


def test_every_real_feed_is_stored_or_fails_with_one_line(real_site: tuple[Path, str, int]
                                                          ) -> None:
    root, output, code = real_site
    assert "Traceback" not in output
    feeds = real_feed_files()
    assert len(feeds) == 88
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    failed = {m.group(1) for line in errors if (m := re.search(r"feeds\.(feed-\d\d)", line))}
    assert len(failed) == len(errors), errors  # one line per failed feed, naming it
    assert code == (1 if errors else 0), output
    sources = {str(meta["source"]) for _, meta, _ in stored(root)}
    for n, path in enumerate(feeds):
        slug = f"feed-{n:02d}"
        assert (slug in sources) != (slug in failed), (path.name, slug)
    assert len(failed) <= 5, errors  # these are real, working feeds
    assert f"from {88 - len(failed)} of 88 feeds" in output


def test_no_stored_body_carries_script(real_site: tuple[Path, str, int]) -> None:
    root, _, _ = real_site
    files = stored(root)
    assert len(files) > 2000
    unsafe = {}
    for path, meta, body in files:
        # a title is plain text ("JavaScript: the good parts" is fine), but carries no markup
        found = dangers(body) + [d for d in dangers(str(meta["title"])) if "URL" not in d]
        link = str(meta.get("link") or "")
        if link and not link.startswith(("http://", "https://")):
            found.append(f"link {link!r}")
        if CONTROL.search(str(meta["title"])):
            found.append("control character in title")
        if found:
            unsafe[path.name] = found
    assert unsafe == {}


def test_the_real_feeds_pass_check_and_build(real_site: tuple[Path, str, int],
                                            run: Run) -> None:
    root, _, _ = real_site
    check = run(root, "check")
    assert check.exit_code == 0, check.output
    items = len(stored(root))
    assert f"{items} items" in check.output
    build = run(root, "build")
    assert build.exit_code == 0, build.output
    pages = list((root / "output" / "items").glob("*/index.html"))
    # duplicates (the same link or title) fold into one page; most items get their own
    assert items // 2 < len(pages) <= items
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not SCRIPT_URL_ATTRIBUTE.search(text), page
        assert not DANGEROUS["event attribute"].search(text), page
