"""One contract for topics (issue 13, part 2): an item's topics are computed at build time
from its feed and the [[topics]] rules; `topics:` in front matter is only ever a person's and
then replaces them. Real CLI (`fetch`, `select`, `build`, `check`, `migrate`) on real project
folders; the desk over real HTTP on 127.0.0.1, as tests/test_review.py runs it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml
from click.testing import Result

from digest.desk.review import Desk
from tests.test_review import Served, running

Run = Callable[..., Result]
Project = Callable[..., Path]

WEEK = "2026-W11"
CONFIG = """\
[site]
title = "Topics"
base_url = "https://example.github.io/digest/"
language = "en"
timezone = "UTC"

[[feeds]]
slug = "blog"
title = "A blog"
url = "feeds/blog.xml"
topics = [{feed_topics}]
{rules}
[[topics]]
slug = "ai"
title = "AI"

[[topics]]
slug = "safety"
title = "Safety"
keywords = ["alignment"]

[[topics]]
slug = "news"
title = "News"
"""


def config(feed_topics: tuple[str, ...] = ("ai",), rules: str = "") -> str:
    return CONFIG.format(feed_topics=", ".join(f'"{t}"' for t in feed_topics), rules=rules)


def title(n: int) -> str:
    return f"Alignment note {n}" if n % 3 == 0 else f"Weekly note {n}"


def feed(count: int = 20, changed: int | None = None) -> str:
    """An RSS feed of `count` posts in 2026-W11; every third is about alignment. `changed`:
    that post's text changed upstream."""
    posts = []
    for n in range(count):
        text = f"Post number {n} with enough words to read." + (" Revised." if n == changed
                                                                else "")
        posts.append(f"""<item><title>{title(n)}</title>
<link>https://blog.example/{n}</link><guid>https://blog.example/{n}</guid>
<pubDate>Wed, 11 Mar 2026 {n % 24:02d}:00:00 +0000</pubDate>
<description>&lt;p&gt;{text}&lt;/p&gt;</description></item>""")
    return ("<?xml version='1.0'?><rss version='2.0'><channel><title>Blog</title>"
            "<link>https://blog.example/</link><description>d</description>"
            + "".join(posts) + "</channel></rss>")


def fetched(project: Project, run: Run, count: int = 20, **kw: str) -> Path:
    root = project(config=config(**kw), files={"feeds/blog.xml": feed(count)})
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    return root


def items(root: Path) -> list[Path]:
    return sorted((root / "content" / "items").rglob("*.md"))


def by_title(root: Path, name: str) -> Path:
    found = [p for p in items(root) if f"title: {name}\n" in p.read_text(encoding="utf-8")]
    assert len(found) == 1, name
    return found[0]


def front(path: Path) -> dict[str, object]:
    head = path.read_text(encoding="utf-8").split("---\n")[1]
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in items(root)}


def candidates(run: Run, root: Path) -> dict[str, dict[str, object]]:
    """`digest select --explain --format json`: each candidate of the week, by title."""
    result = run(root, "select", "--explain", "--format", "json", "--issue", WEEK)
    assert result.exit_code == 0, result.output
    return {str(c["title"]): c for c in json.loads(result.stdout)["candidates"]}


def make_old(root: Path, topics: tuple[str, ...] = ("ai",)) -> None:
    """Turn fetched files into what an older `digest fetch` wrote, byte for byte (no
    `content_format`, the feed's topics in `topics:` before `tags:`), with its state."""
    state_path = root / ".digest" / "state.json"
    state = json.loads(state_path.read_text(encoding="utf-8"))
    block = "topics:\n" + "".join(f"- {t}\n" for t in topics) if topics else "topics: []\n"
    for path in items(root):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("---\ncontent_format: 2\n")
        text = text.replace("content_format: 2\n", "", 1).replace("\ntags:", f"\n{block}tags:", 1)
        path.write_text(text, encoding="utf-8")
        state["written"][str(front(path)["id"])] = sha(text.encode())
    state_path.write_text(json.dumps(state), encoding="utf-8")


def add_key(path: Path, line: str) -> None:
    """What an editor does by hand: a line added at the end of the front matter."""
    text = path.read_text(encoding="utf-8")
    head, _, body = text[4:].partition("\n---\n")
    path.write_text(f"---\n{head}\n{line}\n---\n{body}", encoding="utf-8")


# --- the scenario of the issue ------------------------------------------------------------------


@pytest.mark.parametrize("old", [False, True], ids=["new-files", "old-files"])
def test_after_the_feeds_topics_change_every_item_gets_them_and_its_keyword_topics(
        project: Project, run: Run, old: bool) -> None:
    root = fetched(project, run)
    assert not [p for p in items(root) if "topics" in front(p)]  # fetch writes no topics
    if old:
        make_old(root)  # as an older fetch left them: `topics: [ai]` in all 20
    before = candidates(run, root)
    assert len(before) == 20
    assert before["Alignment note 3"]["topics"] == ["ai", "safety"]
    assert before["Weekly note 1"]["topics"] == ["ai"]
    (root / "digest.toml").write_text(config(("news",)), encoding="utf-8")
    after = candidates(run, root)
    for name, cand in after.items():
        wanted = ["safety", "news"] if name.startswith("Alignment") else ["news"]
        assert cand["topics"] == wanted, (name, cand)
        assert "front matter" not in str(cand["reason"]), cand
    result = run(root, "build")
    assert result.exit_code == 0, result.output
    news = (root / "output" / "topics" / "news" / "index.html").read_text(encoding="utf-8")
    assert "Weekly note 1" in news and "Alignment note 3" in news
    assert not (root / "output" / "topics" / "ai").exists() or \
        "Weekly note 1" not in (root / "output" / "topics" / "ai" / "index.html").read_text(
            encoding="utf-8")


def test_fetch_migrates_old_files_nobody_edited_and_says_so(project: Project, run: Run) -> None:
    root = fetched(project, run)
    make_old(root)
    edited = by_title(root, "Weekly note 4")
    add_key(edited, "note: mine")  # an editor's key: fetch leaves the file alone
    old = snapshot(root)
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert "19 unedited old files lost the `topics:` an older fetch wrote" in result.output
    assert "kept your version" not in result.output
    for name, data in snapshot(root).items():
        if name == edited.relative_to(root).as_posix():
            assert data == old[name]
        else:  # the topics lines went, not one other byte
            assert data == old[name].replace(b"topics:\n- ai\n", b"", 1) != old[name]
    again = snapshot(root)
    result = run(root, "fetch")
    assert "0 new, 0 updated" in result.output and "lost" not in result.output
    assert snapshot(root) == again


# --- the editor's topics --------------------------------------------------------------------------


def test_the_editors_topics_win_and_a_refetch_never_rewrites_them(project: Project,
                                                                   run: Run) -> None:
    root = fetched(project, run)
    mine = by_title(root, "Alignment note 3")
    same = by_title(root, "Alignment note 6")
    add_key(mine, "topics: [news]")
    add_key(same, "topics: [ai]")  # exactly the feed's topics: still the editor's choice
    got = candidates(run, root)
    assert got["Alignment note 3"]["topics"] == ["news"]
    assert got["Alignment note 6"]["topics"] == ["ai"]  # no keyword topic added
    assert str(got["Alignment note 6"]["reason"]).endswith("; topics from the front matter")
    assert got["Alignment note 9"]["topics"] == ["ai", "safety"]
    kept = snapshot(root)
    result = run(root, "fetch")  # nothing changed upstream
    assert result.exit_code == 0 and "0 new, 0 updated" in result.output
    assert "kept your version" not in result.output
    assert snapshot(root) == kept
    (root / "feeds" / "blog.xml").write_text(feed(changed=3), encoding="utf-8")
    (root / "digest.toml").write_text(config(("news",)), encoding="utf-8")
    result = run(root, "fetch")  # the post changed upstream; the feed's topics changed too
    assert result.exit_code == 0, result.output
    assert f"{mine.relative_to(root)}: changed upstream, but edited here" in result.output
    assert snapshot(root) == kept
    got = candidates(run, root)
    assert got["Alignment note 3"]["topics"] == ["news"]
    assert got["Alignment note 6"]["topics"] == ["ai"]


# --- old files ---------------------------------------------------------------------------------


def old_project(project: Project, run: Run) -> tuple[Path, dict[str, Path]]:
    """Old files in every state an editor may have left them."""
    root = fetched(project, run, count=8)
    make_old(root)
    files = {
        "untouched": by_title(root, "Weekly note 1"),
        "desk": by_title(root, "Weekly note 2"),  # the desk added `status:` (its last line)
        "chosen": by_title(root, "Alignment note 3"),  # the editor changed its topics
        "typo": by_title(root, "Weekly note 4"),  # the title fixed by hand; topics as fetched
        "hand": by_title(root, "Weekly note 5"),  # topics chosen, format said, by hand
    }
    add_key(files["desk"], "status: selected")
    text = files["chosen"].read_text(encoding="utf-8")
    files["chosen"].write_text(text.replace("topics:\n- ai\n", "topics:\n- news\n"),
                               encoding="utf-8")
    text = files["typo"].read_text(encoding="utf-8")
    files["typo"].write_text(text.replace("title: Weekly note 4", "title: Weekly note four"),
                             encoding="utf-8")
    add_key(files["hand"], "content_format: 2")
    return root, files


def test_reading_old_files_keeps_every_possible_editors_choice(project: Project,
                                                               run: Run) -> None:
    root, _ = old_project(project, run)
    got = candidates(run, root)
    assert got["Weekly note 1"]["topics"] == ["ai"]  # fetch's: computed
    assert "front matter" not in str(got["Weekly note 1"]["reason"])
    assert got["Weekly note 2"]["topics"] == ["ai"] and got["Weekly note 2"]["selected"]
    assert got["Alignment note 3"]["topics"] == ["news"]  # the editor's, though it is unsure
    assert "old file" in str(got["Alignment note 3"]["reason"])
    assert got["Weekly note four"]["topics"] == ["ai"]
    assert "old file" in str(got["Weekly note four"]["reason"])
    assert got["Weekly note 5"]["topics"] == ["ai"]  # the editor's: no keyword topics either
    assert str(got["Weekly note 5"]["reason"]).endswith("; topics from the front matter")


def test_digest_check_reports_old_files_with_what_to_do(project: Project, run: Run) -> None:
    root, files = old_project(project, run)
    result = run(root, "check")
    assert result.exit_code == 0, result.output  # a warning: the site still builds the same
    lines = {name: [line for line in result.output.splitlines()
                    if path.relative_to(root).as_posix() in line]
             for name, path in files.items()}
    assert "run `digest migrate` to remove it" in lines["untouched"][0]
    assert "run `digest migrate` to remove it" in lines["desk"][0]
    assert "topics: [news] may be the editor's choice" in lines["chosen"][0]
    assert "add `content_format: 2`" in lines["chosen"][0]
    assert "read as computed topics" in lines["typo"][0]
    assert "delete the `topics:` lines" in lines["typo"][0]
    assert lines["hand"] == []  # says its format: not an old file
    assert "7 item files hold `topics:` in the old content format" in result.output


def test_a_link_to_nowhere_among_the_posts_is_named_and_stops_no_migration(
        project: Project, run: Run) -> None:
    root, _ = old_project(project, run)
    (root / "content/items/moved.md").symlink_to(root / "elsewhere/moved.md")
    result = run(root, "migrate")
    assert result.exit_code == 0, result.output
    assert "Migrated 5 files; 2 old files left for you" in result.output
    assert "content/items/moved.md: cannot be read as a content file, not migrated" \
        in result.output


def test_migrate_removes_only_what_fetch_wrote(project: Project, run: Run) -> None:
    root, files = old_project(project, run)
    old = snapshot(root)
    state = (root / ".digest" / "state.json").read_bytes()
    result = run(root, "migrate", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would migrate 5 files; 2 old files left for you" in result.output
    assert snapshot(root) == old and (root / ".digest" / "state.json").read_bytes() == state

    result = run(root, "migrate")
    assert result.exit_code == 0, result.output
    assert "Migrated 5 files; 2 old files left for you" in result.output
    rel = {name: path.relative_to(root).as_posix() for name, path in files.items()}
    assert f"{rel['untouched']}: removed topics: [ai] (written by an older fetch)" \
        in result.output
    new = snapshot(root)
    for name in old:
        if name in (rel["chosen"], rel["typo"], rel["hand"]):
            assert new[name] == old[name]  # a possible editor's choice: left, byte for byte
        else:
            assert new[name] == old[name].replace(b"topics:\n- ai\n", b"", 1) != old[name]
    assert b"status: selected\n" in new[rel["desk"]]
    got = candidates(run, root)
    assert got["Alignment note 3"]["topics"] == ["news"]
    assert got["Alignment note 6"]["topics"] == ["ai", "safety"]
    assert got["Weekly note 5"]["topics"] == ["ai"]
    # fetch still knows its own files: nothing rewritten, nothing reported as edited by
    # mistake, the desk's file still the editor's
    result = run(root, "fetch")
    assert "0 new, 0 updated" in result.output, result.output
    assert "kept your version" not in result.output, result.output
    assert snapshot(root) == new
    result = run(root, "check")
    assert "2 item files hold `topics:` in the old content format" in result.output


def test_an_unknown_content_format_is_one_line_naming_the_file(project: Project,
                                                               run: Run) -> None:
    root = fetched(project, run, count=3)
    path = by_title(root, "Weekly note 1")
    path.write_text(path.read_text(encoding="utf-8").replace("content_format: 2",
                                                             "content_format: 3"),
                    encoding="utf-8")
    result = run(root, "select")
    assert result.exit_code != 0
    assert re.search(rf"{re.escape(path.name)}:2: content_format: '3' is not a content format "
                     r"this digest reads \(a newer digest wrote it: upgrade digest\)",
                     result.output), result.output
    assert "Traceback" not in result.output


# --- the desk ---------------------------------------------------------------------------------


@pytest.fixture
def desk_on(tmp_path: Path) -> Iterator[Callable[[Path], Served]]:
    """The desk of a project, on a real server (as tests/test_review.py serves it)."""
    with ExitStack() as stack:
        def serve(root: Path) -> Served:
            (root / "output").mkdir(exist_ok=True)
            desk = Desk(root / "digest.toml")
            port = stack.enter_context(running(root / "output", "127.0.0.1", desk.handle))
            return Served(root, port, desk)

        yield serve


def act(served: Served, path: Path, do: str, **fields: object) -> dict[str, object]:
    status, _, body = served.act(str(front(path)["id"]), do, **fields)
    assert status == 200, body
    answer = json.loads(body)
    assert isinstance(answer, dict)
    return answer


@pytest.mark.parametrize("old", [False, True], ids=["new-file", "old-file"])
def test_the_desk_removes_one_topic_of_two_and_goes_back_to_computed(
        project: Project, run: Run, desk_on: Callable[[Path], Served], old: bool) -> None:
    root = fetched(project, run, count=6)
    if old:
        make_old(root)
    path = by_title(root, "Alignment note 3")
    assert candidates(run, root)["Alignment note 3"]["topics"] == ["ai", "safety"]
    served = desk_on(root)
    page = served.page()
    assert "Computed from the feed and the rules" in page
    answer = act(served, path, "topics", topics=["ai"])  # "safety" unchecked
    assert answer["message"] == "Topics saved: Alignment note 3"
    assert front(path)["topics"] == ["ai"]
    got = candidates(run, root)["Alignment note 3"]
    assert got["topics"] == ["ai"], got  # what the build reads changed
    assert str(got["reason"]).endswith("; topics from the front matter")
    rows = dict(answer["rows"])  # type: ignore[call-overload]
    assert "Back to the computed topics" in rows[front(path)["id"]]

    answer = act(served, path, "computed-topics")
    assert answer["message"] == "Topics are computed again: Alignment note 3"
    assert "topics" not in front(path)
    assert front(path)["content_format"] == 2
    got = candidates(run, root)["Alignment note 3"]
    assert got["topics"] == ["ai", "safety"] and "front matter" not in str(got["reason"])
    act(served, path, "topics", topics=["news"])
    act(served, path, "topics")  # none checked: computed again, not "no topics"
    assert "topics" not in front(path)
    assert candidates(run, root)["Alignment note 3"]["topics"] == ["ai", "safety"]


def test_the_desk_says_when_a_topic_change_moves_items_in_or_out(
        project: Project, run: Run, desk_on: Callable[[Path], Served]) -> None:
    root = project(config=config() + "\n[selection]\nmax_per_topic = 1\n",
                   files={"feeds/blog.xml": feed(2)})
    assert run(root, "fetch").exit_code == 0
    got = candidates(run, root)
    # the newer post ranks first; the other is cut by the cap on its (computed) topic
    assert got["Weekly note 1"]["selected"] and not got["Alignment note 0"]["selected"]
    assert "cut: max_per_topic = 1 for ai" in str(got["Alignment note 0"]["reason"])
    first, second = by_title(root, "Weekly note 1"), by_title(root, "Alignment note 0")
    served = desk_on(root)

    answer = act(served, second, "topics", topics=["news"])
    assert answer["message"] == (
        "Topics saved: Alignment note 0 “Alignment note 0” is now in the issue of 2026-W11: "
        f"{candidates(run, root)['Alignment note 0']['reason']}.")

    answer = act(served, first, "topics", topics=["news"])  # both compete for news now
    reason = candidates(run, root)["Alignment note 0"]["reason"]
    assert "cut: max_per_topic = 1 for news" in str(reason)
    assert answer["message"] == (f"Topics saved: Weekly note 1 “Alignment note 0” left the "
                                 f"issue of 2026-W11: {reason}.")

    answer = act(served, first, "note", note="no move")
    assert answer["message"] == "Note saved: Weekly note 1"  # nothing moved: nothing said
