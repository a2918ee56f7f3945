"""The desk never loses a person's save (issue 13): a save that lands between the desk's read
and its write is kept and the desk answers 409 with the diff; undo never overwrites a save made
after the desk's write; the undo stack keeps its last UNDO steps. Through a real desk server on
127.0.0.1, with real files (as tests/test_review.py runs it)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from digest.desk.review import UNDO, Desk
from tests.conftest import ROOT
from tests.test_review import PLAIN, PREFIX, WEEK, Served, running, sha256, snapshot

SAVED_MEANWHILE = "сохранили в другой программе, пока стол его записывал: ничего не записано"
NOT_UNDONE = "изменился на диске после записи столом: не отменено"
JSON = {"Accept": "application/json"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A copy of the example, its desk on a real server under /digest/ (as in test_review)."""
    root = tmp_path / "site"
    root.mkdir()
    for name in ("digest.toml", "content", "feeds"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, root / name)
    (root / "output").mkdir()
    desk = Desk(root / "digest.toml")
    with running(root / "output", "127.0.0.1", desk.handle) as port:
        yield Served(root, port, desk)


def edited(data: bytes) -> bytes:
    """The file as the editor's text editor saves it: a note of their own."""
    assert b"tags: []\n" in data
    return data.replace(b"tags: []\n", b"tags: []\nnote: from my editor\n", 1)


def in_place(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def by_rename(path: Path, data: bytes) -> None:
    """As vim and many editors save: a new file renamed over the old one."""
    tmp = path.with_name(path.name + ".swp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_during_write(served: Served, path: Path, data: bytes,
                      save: Callable[[Path, bytes], None] = in_place) -> list[Path]:
    """Land a save of `data` in `path` in the desk's window: after it read the file (and wrote
    its temp file), before it replaces the file. The paths the desk was about to replace."""
    seen: list[Path] = []

    def hook(at: Path) -> None:
        seen.append(at)
        if at == path:
            save(path, data)

    served.desk.before_replace = hook
    return seen


def no_litter(served: Served) -> None:
    tmp = served.root / ".digest" / "tmp"
    assert not (tmp.is_dir() and list(tmp.iterdir())), list(tmp.iterdir())
    assert not [p for p in (served.root / "content").rglob("*") if p.name.endswith(".tmp")]


def undo(served: Served, js: bool = True) -> tuple[int, dict[str, str], bytes]:
    return served.request("POST", f"{PREFIX}_review/undo", {"token": served.desk.token,
                                                            "week": WEEK},
                          headers=JSON if js else {})


def intro_sha(served: Served, week: str) -> str:
    found = re.search(r'name="sha" value="([^"]+)">\s*<label for="intro-title-field"',
                      served.page(f"?week={week}"))
    assert found
    return found.group(1)


# --- a save in the window between the desk's read and its write --------------------------------

@pytest.mark.parametrize("save", [in_place, by_rename])
def test_a_save_between_the_desks_read_and_its_write_is_kept(served: Served,
                                                             save: Callable[[Path, bytes], None]
                                                             ) -> None:
    path = served.file(PLAIN)
    shown = path.read_bytes()  # the page showed this version: its sha is the one sent
    person = edited(shown)
    seen = save_during_write(served, path, person, save)
    status, _, body = served.act(PLAIN, "reject", sha=sha256(shown))
    assert seen == [path]  # the save landed where it would have been lost
    assert status == 409, body
    result = json.loads(body)
    assert result["ok"] is False and SAVED_MEANWHILE in result["message"]
    assert "+note: from my editor" in result["diff"]
    assert path.read_bytes() == person  # the person's bytes, not the desk's
    assert len(served.desk.undo) == 0  # nothing written, nothing to undo
    no_litter(served)
    # Reloaded, the desk shows the person's version; deciding again keeps their note.
    served.desk.before_replace = None
    assert served.act(PLAIN, "reject")[0] == 200
    assert path.read_bytes() == person.replace(b"note: from my editor\n",
                                               b"note: from my editor\nstatus: rejected\n")


def test_without_javascript_the_refusal_is_a_page_with_the_diff(served: Served) -> None:
    path = served.file(PLAIN)
    shown = path.read_bytes()
    person = edited(shown).replace(b"note: from my editor", b"note: <b>mine</b> & yours")
    save_during_write(served, path, person)
    status, headers, body = served.act(PLAIN, "pin", js=False, sha=sha256(shown))
    assert status == 409
    page = body.decode()
    assert headers["content-type"].startswith("text/html")
    assert SAVED_MEANWHILE in page
    diff = re.search(r'<pre class="diff">(.*?)</pre>', page, re.S)
    assert diff and "+note: &lt;b&gt;mine&lt;/b&gt; &amp; yours" in diff.group(1)
    assert path.read_bytes() == person


def test_a_save_of_the_same_bytes_in_the_window_is_not_overwritten(served: Served) -> None:
    """The stat counts as well as the bytes: a person who saved the file as it was (their
    editor touched it) made a decision the desk does not override without showing it."""
    path = served.file(PLAIN)
    shown = path.read_bytes()
    before = os.stat(path).st_mtime_ns

    def resave(at: Path, data: bytes) -> None:
        at.write_bytes(data)
        os.utime(at, ns=(before + 5_000_000_000, before + 5_000_000_000))

    save_during_write(served, path, shown, resave)
    status, _, body = served.act(PLAIN, "reject", sha=sha256(shown))
    assert status == 409, body
    result = json.loads(body)
    assert SAVED_MEANWHILE in result["message"]
    assert result["diff"] == "(тем временем файл сохранили снова, с теми же байтами)"
    assert path.read_bytes() == shown and os.stat(path).st_mtime_ns == before + 5_000_000_000


def test_an_introduction_saved_during_the_desks_write_is_kept(served: Served) -> None:
    path = served.root / "content" / "issues" / f"{WEEK}.md"
    shown = path.read_bytes()
    form = {"token": served.desk.token, "week": WEEK, "sha": intro_sha(served, WEEK),
            "do": "save", "title": "The desk's title", "body": "The desk's text."}
    person = shown + b"\nA paragraph from my editor.\n"
    save_during_write(served, path, person)
    status, _, body = served.request("POST", f"{PREFIX}_review/intro", form, headers=JSON)
    assert status == 409, body
    assert "+A paragraph from my editor." in json.loads(body)["diff"]
    assert path.read_bytes() == person
    no_litter(served)


def test_an_introduction_created_during_the_desks_write_is_kept(served: Served) -> None:
    path = served.root / "content" / "issues" / "2025-W35.md"
    sha = intro_sha(served, "2025-W35")
    assert sha == "absent"
    person = b"---\ntitle: Mine\n---\n\nWritten in my editor.\n"
    save_during_write(served, path, person)
    form = {"token": served.desk.token, "week": "2025-W35", "sha": sha, "do": "save",
            "title": "The desk's", "body": "The desk's text."}
    status, _, body = served.request("POST", f"{PREFIX}_review/intro", form, headers=JSON)
    assert status == 409, body
    assert "+Written in my editor." in json.loads(body)["diff"]
    assert path.read_bytes() == person
    no_litter(served)


# --- a save after the page was loaded: the page's sha is old ------------------------------

def test_a_save_after_the_page_loaded_is_kept(served: Served) -> None:
    path = served.file(PLAIN)
    page = served.page()
    sha = re.search(rf'name="id" value="{PLAIN}">\s*<input type="hidden" name="sha" '
                    r'value="([0-9a-f]{64})"', page)
    assert sha and sha.group(1) == sha256(path.read_bytes())
    person = edited(path.read_bytes())
    path.write_bytes(person)  # the text editor saves, then the editor clicks on the old page
    for do in ("reject", "pin", "select"):
        status, _, body = served.act(PLAIN, do, sha=sha.group(1))
        assert status == 409, body
        assert "+note: from my editor" in json.loads(body)["diff"]
    status, _, body = served.act(PLAIN, "reject", js=False, sha=sha.group(1))
    assert status == 409 and "+note: from my editor" in html.unescape(body.decode())
    assert path.read_bytes() == person and len(served.desk.undo) == 0
    # The introduction the same way.
    intro = served.root / "content" / "issues" / f"{WEEK}.md"
    form = {"token": served.desk.token, "week": WEEK, "sha": intro_sha(served, WEEK),
            "do": "save", "title": "T", "body": "The desk's text."}
    mine = intro.read_bytes() + b"\nMine.\n"
    intro.write_bytes(mine)
    status, _, body = served.request("POST", f"{PREFIX}_review/intro", form, headers=JSON)
    assert status == 409 and "+Mine." in json.loads(body)["diff"]
    assert intro.read_bytes() == mine


# --- undo --------------------------------------------------------------------------------

@pytest.mark.parametrize("save", [in_place, by_rename])
def test_undo_refuses_after_a_newer_save(served: Served,
                                         save: Callable[[Path, bytes], None]) -> None:
    path = served.file(PLAIN)
    assert served.act(PLAIN, "reject")[0] == 200
    person = edited(path.read_bytes())
    save(path, person)
    status, _, body = undo(served)
    assert status == 409, body
    result = json.loads(body)
    assert NOT_UNDONE in result["message"] and "+note: from my editor" in result["diff"]
    assert path.read_bytes() == person
    assert len(served.desk.undo) == 0  # taken off the list: it can never overwrite that save


def test_undo_refuses_after_the_same_bytes_were_saved_again(served: Served) -> None:
    path = served.file(PLAIN)
    assert served.act(PLAIN, "reject")[0] == 200
    written = path.read_bytes()
    by_rename(path, written)  # the person looked at the desk's change and saved it
    status, _, body = undo(served)
    assert status == 409, body
    assert json.loads(body)["diff"] == "(тем временем файл сохранили снова, с теми же байтами)"
    assert path.read_bytes() == written


def test_a_save_during_the_undos_write_is_kept(served: Served) -> None:
    path = served.file(PLAIN)
    assert served.act(PLAIN, "reject")[0] == 200
    person = edited(path.read_bytes())
    seen = save_during_write(served, path, person)
    status, _, body = undo(served)
    assert seen == [path]
    assert status == 409, body
    assert "+note: from my editor" in json.loads(body)["diff"]
    assert path.read_bytes() == person
    no_litter(served)


def test_undo_does_not_delete_an_introduction_a_person_saved_into(served: Served) -> None:
    path = served.root / "content" / "issues" / "2025-W35.md"
    form = {"token": served.desk.token, "week": "2025-W35", "sha": "absent", "do": "save",
            "title": "Late summer", "body": "Hello."}
    assert served.request("POST", f"{PREFIX}_review/intro", form)[0] == 303
    person = path.read_bytes() + b"\nMore, from my editor.\n"
    save_during_write(served, path, person)
    status, _, body = undo(served, js=False)
    assert status == 409 and "+More, from my editor." in html.unescape(body.decode())
    assert path.read_bytes() == person


def test_undo_still_steps_back_through_the_desks_own_writes(served: Served) -> None:
    """Each write is a new file (another inode): the stat the desk keeps follows its undo."""
    path = served.file(PLAIN)
    versions = [path.read_bytes()]
    for do in ("reject", "pin", "unpin", "unreject"):
        assert served.act(PLAIN, do)[0] == 200
        versions.append(path.read_bytes())
    for version in reversed(versions[:-1]):
        status, _, body = undo(served)
        assert status == 200, body
        assert path.read_bytes() == version


# --- the undo stack's bound --------------------------------------------------------------

def test_the_undo_stack_keeps_the_last_steps_and_drops_the_oldest(served: Served) -> None:
    path = served.file(PLAIN)
    for other in (served.root / "content" / "items").rglob("*.md"):
        if other != path:  # fewer items: each of the 200 requests rebuilds the selection
            other.unlink()
    versions = [path.read_bytes()]
    for step in range(UNDO + 5):
        status, _, body = served.act(PLAIN, "note", note=f"step {step}")
        assert status == 200, body
        versions.append(path.read_bytes())
        assert len(served.desk.undo) == min(step + 1, UNDO)
    others = {k: v for k, v in snapshot(served.root).items() if not k.endswith(path.name)}
    for back in range(1, UNDO + 1):
        status, _, body = undo(served)
        assert status == 200, body
        assert path.read_bytes() == versions[-1 - back]
    assert path.read_bytes() == versions[5] and b'note: "step 4"' in versions[5]
    status, _, body = undo(served)  # the five oldest steps were dropped
    assert status == 409 and json.loads(body)["message"] == "Нечего отменять."
    assert path.read_bytes() == versions[5]
    assert {k: v for k, v in snapshot(served.root).items() if not k.endswith(path.name)} \
        == others
