"""Content file problems: one line each, naming the file and line, all listed at once, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

Run = Callable[..., Result]
Project = Callable[..., Path]

ITEM = "content/items/2026/03/a-post-abc123.md"


def item(extra: str = "", *, id_: str = "blog-1", source: str = "blog",
         published: str = "2026-03-10T10:00:00+03:00", title: str = "A post") -> str:
    """An item file; `extra` front matter lines start at line 7."""
    return (f"---\nid: {id_}\ntitle: {title}\nlink: https://blog.example/post\n"
            f"source: {source}\npublished: {published}\n{extra}---\n\nBody in *Markdown*.\n")


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def assert_content_error(result: Result, where: str, *fragments: str) -> str:
    """Exactly one error line, starting with `where` (file, maybe :line), exit 1, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {where}"), result.output
    for fragment in fragments:
        assert fragment in lines[0], result.output
    return lines[0]


def test_a_valid_item_checks_clean(project: Project, run: Run) -> None:
    result = run(project(files={ITEM: item()}), "check")
    assert result.exit_code == 0, result.output
    assert "1 item," in result.output


# (file text, where the error is, what the line must say)
ONE_PROBLEM = {
    "malformed YAML on a value": (
        item(title="Foo: bar"), f"{ITEM}:3:", ["invalid YAML", "quote values"]),
    "malformed YAML in an editor key": (
        item("note: read this: it matters\n"), f"{ITEM}:7:", ["invalid YAML"]),
    "a key given twice (the editor's choice unclear)": (
        item("status: rejected\nnote: why\nstatus: selected\n"), f"{ITEM}:9:",
        ["'status' is there twice (also on line 7)", "keep the one you mean"]),
    "a quote never closed (found where it opens, not at the end)": (
        item('note: "unterminated\ntopics: [ai]\n'), f"{ITEM}:7:",
        ["invalid YAML", "end of stream"]),
    "no front matter": (
        "id: blog-1\ntitle: A post\n\nBody.\n", f"{ITEM}:1:", ["no front matter", "'---'"]),
    "front matter not closed": (
        "---\nid: blog-1\ntitle: A post\n", f"{ITEM}:1:", ["not closed", "'---'"]),
    "unknown key": (
        item("stauts: rejected\n"), f"{ITEM}:7:", ["stauts: unknown key",
                                                   "did you mean 'status'?"]),
    "status maybe": (
        item("status: maybe\n"), f"{ITEM}:7:", ["status:", "'maybe' is not a status",
                                                "'selected' or 'rejected'"]),
    "pinned as a string": (
        item('pinned: "yes"\n'), f"{ITEM}:7:", ["pinned:", "true or false"]),
    "published not a date": (
        item(published="next tuesday"), f"{ITEM}:6:", ["published:",
                                                        "'next tuesday' is not a date",
                                                        "ISO 8601"]),
    "published missing": (
        "---\nid: blog-1\ntitle: A post\nsource: blog\n---\nBody.\n", ITEM,
        ["published:", "is required"]),
    "unknown source": (
        item(source="blgo"), f"{ITEM}:5:", ["source:", "unknown source 'blgo'",
                                            "did you mean 'blog'?"]),
    "unknown topic": (
        item("topics: [aii]\n"), f"{ITEM}:7:", ["topics:", "unknown topic 'aii'",
                                                "did you mean 'ai'?"]),
    "topics not a list": (
        item("topics: 3\n"), f"{ITEM}:7:", ["topics:", "list of strings"]),
    "issue without a W": (
        item("issue: 2026-11\n"), f"{ITEM}:7:", ["issue:", "'2026-11' is not an ISO week",
                                                 "2026-W11"]),
    "issue week that does not exist": (
        item("issue: 2026-W99\n"), f"{ITEM}:7:", ["issue:", "'2026-W99' is not an ISO week"]),
    "not UTF-8": (
        item().encode("utf-8").replace(b"A post", b"A p\xf6st"), ITEM, ["not UTF-8"]),
}


@pytest.mark.parametrize(("text", "where", "expected"), list(ONE_PROBLEM.values()),
                         ids=list(ONE_PROBLEM))
def test_one_content_problem_is_one_line_naming_file_and_line(
    project: Project, run: Run, text: str | bytes, where: str, expected: list[str]
) -> None:
    result = run(project(files={ITEM: text}), "check")
    assert_content_error(result, where, *expected)


def test_published_on_a_day_that_does_not_exist_is_one_line(project: Project, run: Run) -> None:
    root = project(files={ITEM: item(published="2026-02-30")})
    result = run(root, "check")
    assert_content_error(result, f"{ITEM}:6:", "published")


def test_front_matter_that_is_a_list_is_reported_as_such(project: Project, run: Run) -> None:
    root = project(files={ITEM: "---\n- id: blog-1\n- title: A post\n---\nBody.\n"})
    assert_content_error(run(root, "check"), f"{ITEM}:2:", "key: value")


def test_issue_file_must_be_named_after_its_week(project: Project, run: Run) -> None:
    root = project(files={"content/issues/week-11.md": "---\ntitle: Week 11\n---\nHello.\n",
                          "content/issues/2026-W11.md": "---\ntitle: Week 11\n---\nHello.\n"})
    result = run(root, "check")
    assert_content_error(result, "content/issues/week-11.md", "ISO week", "2026-W11.md")


def test_issue_file_status_must_be_draft(project: Project, run: Run) -> None:
    root = project(files={"content/issues/2026-W11.md": "---\nstatus: later\n---\nHello.\n"})
    result = run(root, "check")
    assert_content_error(result, "content/issues/2026-W11.md:2:", "status", "'later'")


def test_two_items_with_the_same_id_are_reported(project: Project, run: Run) -> None:
    first = "content/items/2026/03/first-aaaaaa.md"
    second = "content/items/2026/03/second-bbbbbb.md"
    root = project(files={first: item(id_="same"), second: item(id_="same", title="Other")})
    result = run(root, "check")
    text = assert_content_error(result, second, "id: id 'same'", "first-aaaaaa.md")
    assert "own id" in text


def test_duplicate_id_names_the_other_file_relative_to_the_project(project: Project,
                                                                   run: Run) -> None:
    first = "content/items/2026/03/first-aaaaaa.md"
    second = "content/items/2026/03/second-bbbbbb.md"
    root = project(files={first: item(id_="same"), second: item(id_="same", title="Other")})
    result = run(root, "check")
    assert f"also used by {first}" in result.output, result.output


def test_all_problems_in_all_files_are_listed_in_one_run(project: Project, run: Run) -> None:
    broken = {
        "content/items/2026/03/one-aaaaaa.md": item("stauts: selected\n", id_="one"),
        "content/items/2026/03/two-bbbbbb.md": item(published="soon", id_="two"),
        "content/items/2026/03/three-cccccc.md": "no front matter here\n",
        "content/items/2026/03/fine-dddddd.md": item(id_="fine"),
    }
    result = run(project(files=broken), "check")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 3, result.output
    for name in ["one-aaaaaa.md:7:", "two-bbbbbb.md:6:", "three-cccccc.md:1:"]:
        assert sum(name in line for line in lines) == 1, (name, result.output)
    assert "3 problems found" in result.output


def test_build_reports_content_problems_like_check(project: Project, run: Run) -> None:
    root = project(files={ITEM: item("status: maybe\n")})
    assert_content_error(run(root, "build"), f"{ITEM}:7:", "'maybe' is not a status")


def test_failed_build_leaves_the_previous_site_in_place(project: Project, run: Run) -> None:
    root = project(files={ITEM: item(),
                          "content/items/2026/03/bad-eeeeee.md": item(published="?", id_="x"),
                          "output/index.html": "<p>previous site MARKER</p>\n"})
    result = run(root, "build")
    assert result.exit_code == 1
    assert (root / "output" / "index.html").read_text(encoding="utf-8") == \
        "<p>previous site MARKER</p>\n"
    assert sorted(p.name for p in (root / "output").iterdir()) == ["index.html"]


def test_fixing_the_file_makes_the_build_succeed(project: Project, run: Run) -> None:
    root = project(files={ITEM: item("status: maybe\n")})
    assert run(root, "build").exit_code == 1
    (root / ITEM).write_text(item("status: selected\n"), encoding="utf-8")
    result = run(root, "build")
    assert result.exit_code == 0, result.output
    assert (root / "output" / "items" / "a-post-abc123" / "index.html").is_file()


def test_an_issue_week_with_a_line_break_is_no_week(project: Project, run: Run) -> None:
    """A quoted week with a trailing newline once made a phantom newest issue."""
    root = project({ITEM: item('issue: "2026-W12\\n"\n')})
    assert_content_error(run(root, "check"), ITEM, "issue", "is not an ISO week")


def test_an_edited_file_keeps_its_permissions(tmp_path: Path) -> None:
    from digest.system.atomic import write_bytes

    path = tmp_path / "post.md"
    path.write_text("old")
    path.chmod(0o600)
    write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and path.stat().st_mode & 0o777 == 0o600
    fresh = tmp_path / "fresh.md"
    write_bytes(fresh, b"x")
    assert fresh.stat().st_mode & 0o777 == 0o644


LOCK = "editor@host.4242:1733500000"  # what Emacs' lock link leads to: nowhere


def test_what_editors_and_tools_keep_beside_the_posts_is_no_content(
        project: Project, run: Run) -> None:
    """A name that starts with a dot, of a file or a folder, is never a content file: Emacs'
    lock beside a post with unsaved changes (a link to nowhere, which stopped every build),
    the `._` file macOS writes beside each file on a shared drive, a post Obsidian moved to
    its .trash/, in content/items and in content/issues alike (`check` and `build` agree);
    `fetch` still knows the ids of posts in a dot-folder, and no dot-file's."""
    from digest.store import scan_ids

    root = project(files={
        ITEM: item(),
        "content/items/2026/03/._a-post-abc123.md": b"\x00\x05\x16\x07\x00\x02Mac OS X    ",
        "content/items/.trash/thrown-away.md": item(id_="blog-2", title="Thrown away"),
        "content/issues/2026-W11.md": "---\ntitle: Week 11\n---\nThe intro.\n"})
    (root / "content/items/2026/03/.#a-post-abc123.md").symlink_to(LOCK)
    (root / "content/issues/.#2026-W11.md").symlink_to(LOCK)

    checked = run(root, "check")
    assert checked.exit_code == 0, checked.output
    assert "1 item," in checked.output
    built = run(root, "build")
    assert built.exit_code == 0, built.output
    pages = sorted(p.parent.name for p in (root / "output/items").glob("*/index.html"))
    assert pages == ["a-post-abc123"]
    assert not any("Thrown away" in p.read_text(encoding="utf-8")
                   for p in (root / "output").rglob("*.html"))
    assert scan_ids(root / "content/items") == {  # what fetch knows: no new copy
        "blog-1": root / ITEM, "blog-2": root / "content/items/.trash/thrown-away.md"}


def test_a_post_that_is_a_link_to_nowhere_is_one_error_naming_it(
        project: Project, run: Run) -> None:
    """Not a dot-file: a post the editor linked in, whose target is gone, is reported, with
    what to do, beside the other problems (and `fetch`'s scan of ids passes over it)."""
    from digest.store import scan_ids

    root = project(files={ITEM: item()})
    (root / "content/items/2026/03/linked.md").symlink_to(root / "elsewhere/linked.md")
    (root / "content/items/2026/03/broken.md").write_text("no front matter", encoding="utf-8")
    (root / "content/pages").mkdir()
    (root / "content/pages/about.md").symlink_to(root / "elsewhere/about.md")
    result = run(root, "build")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    # one line each, with what to do; the other bad files are reported too
    hint = "(remove the link, or put back the file it leads to)"
    assert result.output.splitlines() == [
        f"error: content/items/2026/03/linked.md: is a link to nowhere {hint}",
        "error: content/items/2026/03/broken.md:1: no front matter (start the file with a line "
        "'---', the YAML keys, then '---')",
        f"error: content/pages/about.md: is a link to nowhere {hint}",
        "3 problems found"], result.output
    assert not (root / "output").exists()
    assert scan_ids(root / "content/items") == {"blog-1": root / ITEM}


def test_content_items_that_is_a_link_to_nowhere_is_an_error_not_an_empty_site(
        project: Project, run: Run) -> None:
    """content/items kept on a drive that is not mounted: the build stops, naming it,
    and output/ keeps the pages it had."""
    root = project(files={ITEM: item()})
    assert run(root, "build").exit_code == 0
    before = sorted(p.relative_to(root) for p in (root / "output").rglob("*"))
    items = root / "content/items"
    items.rename(root / "items-elsewhere")
    items.symlink_to(root / "unmounted/items", target_is_directory=True)
    result = run(root, "build")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        "error: content/items: is a link to nowhere (remove the link, or put back the file it "
        "leads to)"]
    assert sorted(p.relative_to(root) for p in (root / "output").rglob("*")) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX's")
def test_a_named_pipe_called_like_a_post_is_no_content(project: Project) -> None:
    """A named pipe is no file to read: opened, it waits for a writer forever. Named like
    a post or a page, it is passed over, and the build ends (it hung before)."""
    root = project(files={ITEM: item()})
    os.mkfifo(root / "content/items/2026/03/pipe.md")
    (root / "content/pages").mkdir()
    os.mkfifo(root / "content/pages/pipe.md")
    built = subprocess.run([sys.executable, "-m", "digest", "build"], cwd=root, timeout=60,
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    pages = sorted(p.parent.name for p in (root / "output/items").glob("*/index.html"))
    assert pages == ["a-post-abc123"]
