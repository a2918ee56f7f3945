"""`digest opml import` and `export`, and the site's `feeds.opml`: sources move in and out of
other feed readers without losing the editor's digest.toml."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import listparser
import pytest
from click.testing import Result

Run = Callable[..., Result]
Project = Callable[..., Path]

CONFIG = """\
# My digest. These comments are mine: keep them.
[site]
title = "OPML test"
base_url = "https://user.github.io/my-digest/"
language = "en"
timezone = "UTC"

[[feeds]]
slug = "real-python"          # taken on purpose: an imported feed must pick another slug
title = "Real Python (mine)"
url = "https://realpython.com/atom.xml"   # already here: importing it again is a duplicate
topics = ["python"]

[[feeds]]
slug = "local"
title = "Saved copy"
url = "feeds/local.xml"       # a local file: not for the public OPML

[[topics]]
slug = "python"
title = "Python"
# end of my config
"""

OPML = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Tech">
      <outline text="Python">
        <outline type="rss" text="Real Python" title="Real Python"
                 xmlUrl="https://realpython.com/atom.xml" htmlUrl="https://realpython.com/"/>
        <outline type="rss" text="Python Insider" title="Python Insider"
                 xmlUrl="https://blog.python.org/feeds/posts/default"/>
      </outline>
      <outline text="Systems">
        <outline text="Rust">
          <outline type="rss" text="Rust Blog" xmlUrl="https://blog.rust-lang.org/feed.xml"/>
        </outline>
      </outline>
      <outline type="rss" text="LWN" xmlUrl="https://lwn.net/headlines/rss"/>
    </outline>
    <outline text="Elsewhere">
      <outline type="rss" text="Python Insider again"
               xmlUrl="https://blog.python.org/feeds/posts/default"/>
      <outline type="rss" text="Not the web" xmlUrl="file:///etc/passwd"/>
    </outline>
    <outline type="rss" text="Uncategorised" xmlUrl="http://plain.example/rss"/>
  </body>
</opml>
"""


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def toml(root: Path) -> dict[str, object]:
    return tomllib.loads((root / "digest.toml").read_text(encoding="utf-8"))


def feeds(root: Path) -> dict[str, dict[str, object]]:
    data = toml(root)["feeds"]
    assert isinstance(data, list)
    return {str(f["url"]): f for f in data}


def topics(root: Path) -> dict[str, str]:
    data = toml(root).get("topics", [])
    assert isinstance(data, list)
    return {str(t["slug"]): str(t["title"]) for t in data}


def imported(project: Project, run: Run) -> tuple[Path, Result]:
    root = project(config=CONFIG, files={"subs.opml": OPML, "feeds/local.xml": "<rss/>"})
    return root, run(root, "opml", "import", "subs.opml")


# --- import ----------------------------------------------------------------------------------


def test_import_adds_new_feeds_with_their_innermost_category_as_topic(project: Project,
                                                                      run: Run) -> None:
    root, result = imported(project, run)
    assert result.exit_code == 0, result.output
    found = feeds(root)
    assert list(found) == [
        "https://realpython.com/atom.xml", "feeds/local.xml",  # what was there, first
        "https://blog.python.org/feeds/posts/default", "https://blog.rust-lang.org/feed.xml",
        "https://lwn.net/headlines/rss", "http://plain.example/rss",
    ]
    insider = found["https://blog.python.org/feeds/posts/default"]
    # listed twice in the file: once, with the innermost category of each place
    assert insider["title"] == "Python Insider"
    assert insider["topics"] == ["python", "elsewhere"]
    assert found["https://blog.rust-lang.org/feed.xml"]["topics"] == ["rust"]
    assert found["https://lwn.net/headlines/rss"]["topics"] == ["tech"]
    assert found["http://plain.example/rss"]["topics"] == []
    assert topics(root) == {"python": "Python", "rust": "Rust", "tech": "Tech",
                            "elsewhere": "Elsewhere"}
    assert "Added 4 feeds and 3 topics" in result.output
    assert "skipped 1 already there" in result.output  # Real Python (in digest.toml)
    assert "skipped file:///etc/passwd: not an http(s) address" in result.output


def test_import_keeps_the_editors_file_and_comments(project: Project, run: Run) -> None:
    root, result = imported(project, run)
    assert result.exit_code == 0, result.output
    text = (root / "digest.toml").read_text(encoding="utf-8")
    assert text.startswith(CONFIG)  # every byte of the editor's file, new tables after it
    slugs = [str(f["slug"]) for f in feeds(root).values()]
    assert len(set(slugs)) == len(slugs)
    assert "real-python" in slugs
    check = run(root, "check")
    assert check.exit_code == 0, check.output
    assert "6 feeds, 4 topics" in check.output


def test_importing_the_same_file_twice_adds_nothing(project: Project, run: Run) -> None:
    root, first = imported(project, run)
    assert first.exit_code == 0, first.output
    before = (root / "digest.toml").read_bytes()
    again = run(root, "opml", "import", "subs.opml")
    assert again.exit_code == 0, again.output
    assert "Added 0 feeds and 0 topics" in again.output
    assert (root / "digest.toml").read_bytes() == before


@pytest.mark.parametrize("data", [b"this is not OPML \x00\x01\x02",
                                  b"<?xml version='1.0'?><html><body>Hi</body></html>",
                                  b"<opml version='2.0'><body><outline text='no url'/>",
                                  b""],
                         ids=["garbage", "html", "no feeds", "empty"])
def test_a_file_that_is_not_opml_is_one_error_line(project: Project, run: Run,
                                                   data: bytes) -> None:
    root = project(config=CONFIG, files={"subs.opml": data})
    result = run(root, "opml", "import", "subs.opml")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 1 and "subs.opml" in lines[0], result.output
    assert (root / "digest.toml").read_text(encoding="utf-8") == CONFIG


def test_a_missing_opml_file_is_one_error_line(project: Project, run: Run) -> None:
    root = project(config=CONFIG)
    result = run(root, "opml", "import", "nowhere.opml")
    assert result.exit_code == 2, result.output
    lines = error_lines(result)
    assert len(lines) == 1 and "nowhere.opml" in lines[0], result.output
    assert (root / "digest.toml").read_text(encoding="utf-8") == CONFIG


def test_an_odd_character_in_a_title_never_breaks_digest_toml(project: Project,
                                                              run: Run) -> None:
    opml = ('<?xml version="1.0" encoding="UTF-8"?><opml version="2.0"><head/><body>'
            '<outline text="Odd\x7fTitle" category="Odd\x7fCat" type="rss" '
            'xmlUrl="https://odd.example/feed"/></body></opml>')
    root = project(config=CONFIG, files={"subs.opml": opml})
    result = run(root, "opml", "import", "subs.opml")
    assert "Traceback" not in result.output
    check = run(root, "check")
    assert check.exit_code == 0, check.output
    assert result.exit_code == 0, result.output


# --- export ----------------------------------------------------------------------------------


def test_export_prints_opml_that_feed_readers_read_back(project: Project, run: Run) -> None:
    root, result = imported(project, run)
    assert result.exit_code == 0, result.output
    exported = run(root, "opml", "export")
    assert exported.exit_code == 0, exported.output
    parsed = listparser.parse(exported.stdout_bytes)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [f.url for f in parsed.feeds] == list(feeds(root))
    assert [f.title for f in parsed.feeds] == [str(f["title"]) for f in feeds(root).values()]
    assert parsed.meta.title == "OPML test"


def test_export_then_import_into_a_new_digest_gives_the_same_feeds(
    project: Project, run: Run, tmp_path: Path
) -> None:
    root, result = imported(project, run)
    assert result.exit_code == 0, result.output
    exported = run(root, "opml", "export").stdout_bytes
    other = tmp_path / "other"
    other.mkdir()
    head = CONFIG.split("[[feeds]]")[0]
    (other / "digest.toml").write_text(head, encoding="utf-8")
    (other / "subs.opml").write_bytes(exported)
    again = run(other, "opml", "import", "subs.opml")
    assert again.exit_code == 0, again.output
    public = {u: f for u, f in feeds(root).items() if u.startswith(("http://", "https://"))}
    assert list(feeds(other)) == list(public)
    for url, feed in feeds(other).items():
        assert feed["title"] == public[url]["title"]
        assert feed["topics"] == public[url]["topics"]
    assert run(other, "check").exit_code == 0


def test_build_writes_feeds_opml_with_only_web_feeds(project: Project, run: Run) -> None:
    root, result = imported(project, run)
    assert result.exit_code == 0, result.output
    build = run(root, "build")
    assert build.exit_code == 0, build.output
    opml = root / "output" / "feeds.opml"
    parsed = listparser.parse(opml.read_bytes())
    assert not parsed.bozo
    urls = [f.url for f in parsed.feeds]
    assert urls == [u for u in feeds(root) if u.startswith(("http://", "https://"))]
    assert "feeds/local.xml" not in opml.read_text(encoding="utf-8")
    assert len(urls) == 5


def test_a_feed_file_of_another_project_is_named_not_counted_as_already_there(
        project: Project, run: Run) -> None:
    """Another project's private OPML lists its local feed files by path: not addresses this
    digest can fetch. Import names each one, and does not call it a duplicate."""
    root = project(config=CONFIG, files={"subs.opml": OPML.replace(
        'xmlUrl="https://lwn.net/headlines/rss"', 'xmlUrl="/home/me/other/feeds/heise.atom"')})
    before = (root / "digest.toml").read_bytes()
    result = run(root, "opml", "import", "subs.opml")
    assert result.exit_code == 0, result.output
    assert "warning: subs.opml: skipped /home/me/other/feeds/heise.atom: not an http(s) " \
        "address" in result.output
    assert "skipped 1 already there" in result.output  # Real Python, and only it
    assert b"heise" not in (root / "digest.toml").read_bytes()
    assert (root / "digest.toml").read_bytes() != before  # the others were added
