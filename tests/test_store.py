"""Stage 3, digest/store.py, as a specification: entries become content files.

- A new entry becomes one Markdown file, content/items/YYYY/MM/<slug>-<id>.md, named from its
  date (in the site's time zone) and title; its front matter says where it came from.
- The same entry stored again changes nothing.
- An entry that changed upstream rewrites its file only if nobody edited it; a person's file
  is kept byte for byte (and reported as kept).
- A feed never chooses a path: whatever its title, the file lands under content/items/.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml

from digest.model import Entry
from digest.store import Store

NOW = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


def entry(title: str = "A post about alignment", html: str = "<p>Text.</p>",
          guid: str = "urn:a", published: datetime | None = None) -> Entry:
    return Entry(source="blog", guid=guid, link="https://example.org/a", title=title,
                 author="Ann", published=published or datetime(2026, 3, 10, 22, 30, tzinfo=UTC),
                 tags=("ai",), html=html)


def store(root: Path) -> Store:
    return Store(root / "content", "Europe/Moscow", root / "tmp", {})


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted((root / "content").rglob("*.md"))}


def front_matter(text: str) -> dict[str, object]:
    data = yaml.safe_load(text.split("---\n")[1])
    assert isinstance(data, dict)
    return data


def test_a_new_entry_becomes_one_file_named_by_its_local_date_and_title(tmp_path: Path) -> None:
    report = store(tmp_path).put([entry()], NOW)
    [path] = report.new
    # 22:30 UTC on 10 March is 01:30 on 11 March in Moscow: the month folder is still 03.
    assert path.parent == tmp_path / "content" / "items" / "2026" / "03"
    assert path.name.startswith("a-post-about-alignment-") and path.suffix == ".md"
    meta = front_matter(path.read_text("utf-8"))
    assert (meta["title"], meta["link"], meta["source"]) == (
        "A post about alignment", "https://example.org/a", "blog")
    assert "topics" not in meta, "topics are computed at build time, never written by fetch"
    assert path.read_text("utf-8").rstrip().endswith("<p>Text.</p>")


def test_the_same_entry_stored_again_changes_nothing(tmp_path: Path) -> None:
    first = store(tmp_path)
    first.put([entry()], NOW)
    before = files(tmp_path)
    again = store(tmp_path)
    again.written = first.written
    report = again.put([entry()], NOW.replace(day=13))
    assert (report.new, report.updated, report.unchanged) == ((), (), 1)
    assert files(tmp_path) == before


def test_a_change_upstream_rewrites_only_a_file_nobody_edited(tmp_path: Path) -> None:
    first = store(tmp_path)
    [path] = first.put([entry()], NOW).new
    second = store(tmp_path)
    second.written = first.written
    report = second.put([entry(html="<p>Text, corrected.</p>")], NOW)
    assert report.updated == (path,)
    assert "Text, corrected." in path.read_text("utf-8")


def test_a_file_a_person_edited_is_kept_byte_for_byte(tmp_path: Path) -> None:
    first = store(tmp_path)
    [path] = first.put([entry()], NOW).new
    edited = path.read_text("utf-8").replace("<p>Text.</p>", "<p>My own words.</p>")
    path.write_text(edited, encoding="utf-8")
    second = store(tmp_path)
    second.written = first.written
    report = second.put([entry(html="<p>Text, corrected upstream.</p>")], NOW)
    assert report.kept == (path,) and report.updated == ()
    assert path.read_text("utf-8") == edited


def test_a_feed_never_chooses_a_path(tmp_path: Path) -> None:
    report = store(tmp_path).put(
        [entry(title="../../../../etc/passwd", guid="urn:evil"),
         entry(title="/absolute/path", guid="urn:abs")], NOW)
    assert len(report.new) == 2
    for path in report.new:
        assert path.resolve().is_relative_to((tmp_path / "content" / "items").resolve())
    assert not (tmp_path / "etc").exists()
