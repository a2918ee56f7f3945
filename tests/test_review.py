"""The editor's desk (digest/desk/review.py, digest/desk/reviewpage.py) over real HTTP on 127.0.0.1:
the page, every action as a byte-level diff of the item's file, undo, the introduction, and
every refusal."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import jinja2.ext
import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from digest.desk.review import DESK, Desk
from digest.preview.serve import App, AppRequest, AppResponse, Status, make_server
from tests.conftest import ROOT
from tests.test_frontedit import diff
from tests.test_serve import get
from tests.test_serve import served as serve_process  # noqa: F401 (a fixture: `digest serve`)

WEEK = "2026-W11"  # the example's newest week
PINNED = "0be7cc4de3c1a696"  # pinned: true, with a note
PLAIN = "d49f6501b199b23d"  # "Don't Let LLMs Write For You": no editor's keys
SELECTED = "49618e4d01f639e2"  # "Interview with Steven Byrnes…": in the issue by the rules
PREFIX = "/digest/"


@dataclass
class Served:
    root: Path
    port: int
    desk: Desk

    def request(self, method: str, path: str, form: dict[str, object] | None = None, *,
                host: str | None = None, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or f"127.0.0.1:{self.port}")
        data = body if body is not None else (
            urlencode(form, doseq=True).encode() if form is not None else b"")
        sent = {"Content-Type": "application/x-www-form-urlencoded"} if method == "POST" else {}
        for name, value in {**sent, **(headers or {})}.items():
            conn.putheader(name, value)
        if method == "POST":
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data if method == "POST" else None)
        response = conn.getresponse()
        result = response.status, {k.lower(): v for k, v in response.getheaders()}, \
            response.read()
        conn.close()
        return result

    def page(self, query: str = "") -> str:
        status, _, body = self.request("GET", f"{PREFIX}_review/{query}")
        assert status == 200, body
        return body.decode()

    def file(self, item_id: str) -> Path:
        for path in (self.root / "content" / "items").rglob("*.md"):
            if re.search(rf"^id: {re.escape(item_id)}", path.read_text(encoding="utf-8"), re.M):
                return path
        raise AssertionError(item_id)

    def act(self, item_id: str, do: str, js: bool = True, sha: str | None = None,
            **fields: object) -> tuple[int, dict[str, str], bytes]:
        path = self.file(item_id)
        form = {"token": self.desk.token, "id": read_id(path), "week": WEEK, "do": do,
                "sha": sha or sha256(path.read_bytes()), **fields}
        headers = {"Accept": "application/json"} if js else {}
        return self.request("POST", f"{PREFIX}_review/act", form, headers=headers)


def read_id(path: Path) -> str:
    found = re.search(r"^id: (\S+)", path.read_text(encoding="utf-8"), re.M)
    assert found
    return found.group(1)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256(p.read_bytes())
            for p in sorted((root / "content").rglob("*")) if p.is_file()}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A copy of the example, its desk mounted on a real server under /digest/ (no build: the
    desk reads content/, not output/)."""
    root = tmp_path / "site"
    root.mkdir()
    for name in ("digest.toml", "content", "feeds"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, root / name)
    (root / "output").mkdir()
    desk = Desk(root / "digest.toml")
    with running(root / "output", "127.0.0.1", desk.handle) as port:
        yield Served(root, port, desk)


@contextmanager
def running(folder: Path, host: str, app: App) -> Iterator[int]:
    """A server for `folder` under PREFIX with `app` mounted, in a thread; its port."""
    server = make_server(folder, host, 0, PREFIX, Status(), app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


# --- the page ----------------------------------------------------------------------------------

def test_the_page_lists_every_candidate_of_the_newest_week(served: Served) -> None:
    status, headers, body = served.request("GET", f"{PREFIX}_review/")
    assert status == 200
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    page = body.decode()
    assert f"Неделя {WEEK}" in page and '<html lang="ru">' in page
    assert page.count('<li class="row ') == 20
    assert "В выпуске: 14 · 20 кандидатов" in page
    # title, source, date, topics, score, reason and excerpt of a candidate
    assert "Selectively reducing eval awareness and murder in Gemma 3 27B via steering" in page
    assert "10 марта 2026, 22:51" in page and "Безопасность ИИ" in page and "балл 1,14" in page
    assert "selected: pinned by the editor (pinned: true)" in page
    assert "Gemma 3 is a suite of models by Google" in page
    assert re.search(r"too short: \d+ words, min_words = 200", page)
    assert "rejected by the editor (status: rejected)" in page
    assert f'content="{served.desk.token}"' in page
    assert "<script>" not in page and " style=" not in page  # nothing inline: the CSP holds


def test_a_chosen_week_and_the_filters(served: Served) -> None:
    page = served.page("?week=2023-w34")
    assert "Неделя 2023-W34" in page and "QEMU version 8.1.0 released" in page
    page = served.page(f"?week={WEEK}&show=selected")
    hidden = re.findall(r'<li class="row state-(\w+)"[^>]*?( hidden)?>', page)
    assert {state for state, h in hidden if not h} == {"selected"}
    assert sum(1 for _, h in hidden if not h) == 14
    page = served.page(f"?week={WEEK}&show=out&source=lesswrong")
    assert {state for state, h in re.findall(r'<li class="row state-(\w+)"[^>]*?( hidden)?>',
                                             page) if not h} == {"out"}
    page = served.page(f"?week={WEEK}&topic=ai-safety")
    rows = re.findall(r'data-topics="([^"]*)"[^>]*aria-labelledby="[^"]+"( hidden)?>', page)
    assert len(rows) == 20 and any(hidden for _, hidden in rows)
    assert all(("ai-safety" in topics.split()) != bool(hidden) for topics, hidden in rows)
    assert served.request("GET", f"{PREFIX}_review/?week=2026-W99")[0] == 400


def test_a_duplicate_is_shown_with_the_copy_that_was_kept(served: Served) -> None:
    original = served.file(SELECTED)
    copy = original.with_name("copy-of-the-interview.md")
    copy.write_bytes(original.read_bytes().replace(f"id: {SELECTED}".encode(), b"id: copy1",
                                                   1))
    page = served.page("?show=duplicates")
    rows = re.findall(r'<li class="row state-(\w+)"[^>]*data-id="([^"]+)"[^>]*?( hidden)?>',
                      page)
    assert [(state, item) for state, item, hidden in rows if not hidden] == \
        [("duplicate", "copy1")]
    assert "duplicate of “Interview with Steven Byrnes on His Mainline Takeoff Scenario”" in page
    assert "Дубликат" in page


def test_the_desk_speaks_the_sites_language(served: Served) -> None:
    config = served.root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('language = "ru"',
                                                                 'language = "en"'),
                      encoding="utf-8")
    page = served.page()
    assert f"The week {WEEK}" in page and "In the issue: 14 · 20 candidates" in page
    assert "March 10, 2026" in page and "score 1.14" in page


def test_every_string_of_the_desk_has_a_russian_translation() -> None:
    keywords = {"gettext": None, "g": None, "ngettext": (1, 2)}
    found = {m[1] if isinstance(m[1], str) else m[1][0]
             for module in ("review.py", "reviewpage.py")
             for m in extract_from_file("python", str(ROOT / "digest" / "desk" / module),
                                        keywords=keywords)}
    for template in sorted((DESK / "templates").glob("*.html")):
        found |= {m[1] if isinstance(m[1], str) else m[1][0] for m in extract_from_file(
            jinja2.ext.babel_extract, str(template),
            options={"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                     "lstrip_blocks": "true"})}
    with (DESK / "locale" / "ru.po").open("rb") as f:
        catalog = read_po(f, locale="ru")
    missing = sorted(m for m in found if not catalog.get(m) or not catalog.get(m).string)
    assert not missing, missing
    assert len(found) > 60


def test_the_assets_and_the_desk_only_under_the_base_path(served: Served) -> None:
    status, headers, script = served.request("GET", f"{PREFIX}_review/desk.js")
    assert b"X-Digest-Token" in script
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert served.request("GET", f"{PREFIX}_review/desk.css")[0] == 200
    assert served.request("GET", "/_review/")[0] == 404
    status, headers, _ = served.request("GET", f"{PREFIX}_review")
    assert status == 301 and headers["location"] == f"{PREFIX}_review/"


def test_no_desk_on_a_server_for_the_network(tmp_path: Path) -> None:
    desk = Desk(ROOT / "digest.toml")
    with running(tmp_path, "0.0.0.0", desk.handle) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"{PREFIX}_review/")
        assert conn.getresponse().status == 404
        conn.close()


# --- actions: exactly one key changes ----------------------------------------------------------

@pytest.mark.parametrize(("item", "do", "fields", "removed", "added"), [
    (PLAIN, "select", {}, [], [b"status: selected\n"]),
    (PLAIN, "reject", {}, [], [b"status: rejected\n"]),
    (PLAIN, "pin", {}, [], [b"pinned: true\n"]),
    (PLAIN, "note", {"note": "Read the *second* half: it's the point."}, [],
     [b'note: "Read the *second* half: it\'s the point."\n']),
    (PLAIN, "note", {"note": "Two lines,\r\nas a textarea sends them."}, [],
     [b"note: |-\n", b"  Two lines,\n", b"  as a textarea sends them.\n"]),
    # a file fetch wrote before content format 2 also gets its format: its topics are ours
    (PLAIN, "topics", {"topics": ["software", "ai-safety"]}, [],
     [b"content_format: 2\n", b"topics:\n", b"- ai-safety\n", b"- software\n"]),
    (PLAIN, "issue", {"issue": "2026-w12"}, [], [b"issue: 2026-W12\n"]),
    (PINNED, "unpin", {}, [b"pinned: true\n"], []),
    (PINNED, "note", {"note": ""}, None, []),
])
def test_each_action_changes_exactly_its_key(served: Served, item: str, do: str,
                                              fields: dict[str, object],
                                              removed: list[bytes] | None,
                                              added: list[bytes]) -> None:
    path = served.file(item)
    before = path.read_bytes()
    others = snapshot(served.root)
    status, _, body = served.act(item, do, **fields)
    assert status == 200, body
    result = json.loads(body)
    assert result["ok"] is True and result["message"]
    after = path.read_bytes()
    gone, new = diff(before, after)
    if removed is None:  # the note's one line, whatever it is
        assert len(gone) == 1 and gone[0].startswith(b"note: ")
    else:
        assert sorted(gone) == sorted(removed)
    assert sorted(new) == sorted(added)
    changed = {k for k, v in snapshot(served.root).items() if others.get(k) != v}
    assert changed == {path.relative_to(served.root).as_posix()}


def test_the_answer_updates_the_rows(served: Served) -> None:
    status, _, body = served.act(PLAIN, "reject")
    assert status == 200
    result = json.loads(body)
    rows = dict(result["rows"])
    assert len(rows) == 20 and PLAIN in rows
    assert "rejected by the editor (status: rejected)" in rows[PLAIN]
    assert 'value="unreject"' in rows[PLAIN] and 'aria-pressed="true"' in rows[PLAIN]
    assert result["undo"].startswith("Отклонено: Don")
    assert "В выпуске:" in result["summary"]


def test_toggling_back_removes_the_line(served: Served) -> None:
    path = served.file(PLAIN)
    original = path.read_bytes()
    for do in ("select", "unselect", "reject", "unreject", "pin", "unpin"):
        assert served.act(PLAIN, do)[0] == 200
    assert path.read_bytes() == original


def test_a_plain_form_is_answered_with_a_redirect_back(served: Served) -> None:
    status, headers, _ = served.act(PLAIN, "reject", js=False, show="out", topic="rationality")
    assert status == 303
    location = headers["location"]
    assert location.startswith(f"{PREFIX}_review/?week={WEEK}&show=out&topic=rationality&flash=")
    assert re.search(r"#item-[0-9a-f]{12}$", location)
    page = served.page(location.removeprefix(f"{PREFIX}_review/"))
    assert re.search(r'role="status" aria-live="polite">Отклонено: Don', page)
    assert "status: rejected" in served.file(PLAIN).read_text(encoding="utf-8")


def test_undo_restores_the_bytes_exactly(served: Served) -> None:
    path = served.file(PLAIN)
    text = path.read_bytes()
    crlf = b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n").replace(
        b"tags: []", b"tags: []   # from the feed")
    path.write_bytes(crlf)
    served.page()  # the page saw this version
    steps = [("reject", {}), ("pin", {}), ("note", {"note": "Ёлки: «да»"}),
             ("topics", {"topics": ["software"]}), ("issue", {"issue": "2026-W12"})]
    versions = [crlf]
    for do, fields in steps:
        status, _, body = served.act(PLAIN, do, **fields)
        assert status == 200, body
        versions.append(path.read_bytes())
    assert b"\r\nstatus: rejected\r\n" in versions[-1] and b"# from the feed" in versions[-1]
    for version in reversed(versions[:-1]):
        status, _, body = served.request("POST", f"{PREFIX}_review/undo",
                                         {"token": served.desk.token, "week": WEEK},
                                         headers={"Accept": "application/json"})
        assert status == 200, body
        assert path.read_bytes() == version
    status, _, body = served.request("POST", f"{PREFIX}_review/undo",
                                     {"token": served.desk.token, "week": WEEK},
                                     headers={"Accept": "application/json"})
    assert status == 409 and json.loads(body)["message"] == "Нечего отменять."


# --- refusals ----------------------------------------------------------------------------------

def test_requests_without_the_token_are_refused(served: Served) -> None:
    path = served.file(PLAIN)
    before = snapshot(served.root)
    form = {"id": PLAIN, "week": WEEK, "do": "reject", "sha": sha256(path.read_bytes())}
    for token in ({}, {"token": ""}, {"token": served.desk.token[:-1] + "x"}):
        status, _, body = served.request("POST", f"{PREFIX}_review/act", {**form, **token})
        assert status == 403, body
    assert served.request("POST", f"{PREFIX}_review/undo", {"week": WEEK})[0] == 403
    assert served.request("POST", f"{PREFIX}_review/intro",
                          {"week": WEEK, "body": "x", "sha": "absent"})[0] == 403
    assert snapshot(served.root) == before
    # In a header instead of the form: accepted.
    status, _, _ = served.request("POST", f"{PREFIX}_review/act", form,
                                  headers={"X-Digest-Token": served.desk.token})
    assert status == 303 and "status: rejected" in path.read_text(encoding="utf-8")


def test_a_foreign_host_or_origin_is_refused(served: Served) -> None:
    before = snapshot(served.root)
    path = served.file(PLAIN)
    form = {"token": served.desk.token, "id": PLAIN, "week": WEEK, "do": "reject",
            "sha": sha256(path.read_bytes())}
    assert served.request("GET", f"{PREFIX}_review/",
                          host=f"attacker.example:{served.port}")[0] == 403
    assert served.request("POST", f"{PREFIX}_review/act", form,
                          host=f"attacker.example:{served.port}")[0] == 403
    assert served.request("POST", f"{PREFIX}_review/act", form,
                          headers={"Origin": "http://attacker.example"})[0] == 403
    assert served.request("POST", f"{PREFIX}_review/act", form,
                          headers={"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert snapshot(served.root) == before
    status, _, _ = served.request("POST", f"{PREFIX}_review/act", form, headers={
        "Origin": f"http://127.0.0.1:{served.port}", "Sec-Fetch-Site": "same-origin"})
    assert status == 303


@pytest.mark.parametrize("fields", [
    {"path": "content/items/2026/03/don-t-let-llms-write-for-you-d49f65.md"},
    {"id": "content/items/2026/03/don-t-let-llms-write-for-you-d49f65.md"},
    {"id": "../../digest.toml"},
    {"id": "..\\digest.toml"},
    {"id": "/etc/passwd"},
    {"id": "don-t-let-llms-write-for-you-d49f65.md"},
])
def test_a_path_instead_of_an_id_is_refused(served: Served, fields: dict[str, str]) -> None:
    before = snapshot(served.root)
    form = {"token": served.desk.token, "week": WEEK, "do": "reject", "sha": "x", **fields}
    status, _, body = served.request("POST", f"{PREFIX}_review/act", form,
                                     headers={"Accept": "application/json"})
    assert status == 400, body
    assert "по его id" in json.loads(body)["message"]
    assert snapshot(served.root) == before


def test_other_bad_requests_are_refused(served: Served) -> None:
    before = snapshot(served.root)
    token = served.desk.token
    act = f"{PREFIX}_review/act"
    assert served.request("POST", act, {"token": token, "id": "nope", "do": "reject",
                                        "sha": "x", "week": WEEK})[0] == 404
    assert served.request("GET", act)[0] == 405
    assert served.request("POST", f"{PREFIX}_review/nothing", {"token": token})[0] == 404
    assert served.request("POST", act, headers={"Content-Type": "application/json"},
                          body=b'{"token": "x"}')[0] == 415
    assert served.request("POST", act, headers={"Content-Length": str(2 << 20)},
                          body=b"")[0] == 413
    assert served.request("POST", f"{PREFIX}somewhere/", {"token": token})[0] == 405
    sha = sha256(served.file(PLAIN).read_bytes())
    for fields in ({"do": "explode"}, {"do": "issue", "issue": "next week"},
                   {"do": "topics", "topics": ["no-such-topic"]}):
        status, _, _ = served.request("POST", act, {"token": token, "id": PLAIN, "sha": sha,
                                                    "week": WEEK, **fields})
        assert status == 400, fields
    assert snapshot(served.root) == before


def test_a_content_file_that_leads_elsewhere_is_not_written(served: Served,
                                                          tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    path = served.file(PLAIN)
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    status, _, _ = served.act(PLAIN, "reject", sha=sha256(outside.read_bytes()))
    assert status == 403
    issue = served.root / "content" / "issues" / "2025-W35.md"
    issue.symlink_to(outside)
    form = {"token": served.desk.token, "week": "2025-W35", "sha": sha256(outside.read_bytes()),
            "title": "x", "body": "y", "do": "save"}
    assert served.request("POST", f"{PREFIX}_review/intro", form)[0] == 403
    assert b"status:" not in outside.read_bytes() and b"title: x" not in outside.read_bytes()


def test_a_symbolic_link_is_not_replaced_by_a_file(served: Served) -> None:
    """An atomic write replaces a link with a file: the file it pointed to would keep the old
    bytes and the item would exist twice. Even a link that stays inside content/ is refused,
    and so is a dangling one where an introduction would go."""
    path = served.file(PLAIN)
    target = path.with_name("the-real-file.txt")  # inside content/items/, not read as an item
    path.rename(target)
    path.symlink_to(target.name)
    before = target.read_bytes()
    status, _, body = served.act(PLAIN, "reject", sha=sha256(before))
    assert status == 403, body
    assert "символическая ссылка" in json.loads(body)["message"]
    assert path.is_symlink() and target.read_bytes() == before
    issue = served.root / "content" / "issues" / "2025-W35.md"
    issue.symlink_to(served.root / "nowhere.md")
    form = {"token": served.desk.token, "week": "2025-W35", "sha": "absent", "title": "x",
            "body": "y", "do": "save"}
    assert served.request("POST", f"{PREFIX}_review/intro", form)[0] == 403
    assert issue.is_symlink() and not (served.root / "nowhere.md").exists()


def test_a_sha_that_is_not_a_sha_is_a_conflict_not_a_crash(served: Served) -> None:
    before = snapshot(served.root)
    for sha in ("é" * 64, " ", "absent", "0" * 64):
        status, _, body = served.act(PLAIN, "reject", sha=sha)
        assert status == 409, (sha, body)
        assert "ничего не записано" in json.loads(body)["message"]
    assert snapshot(served.root) == before


def test_a_bad_week_is_refused_before_anything_is_written(served: Served) -> None:
    """The week only says where to come back to, yet a bad one must not leave the editor
    told 'refused' about a change that was written."""
    before = snapshot(served.root)
    for week in ("2026-W99", "next week"):
        status, _, _ = served.act(PLAIN, "reject", week=week)
        assert status == 400
    assert snapshot(served.root) == before
    assert served.act(PLAIN, "reject")[0] == 200
    written = snapshot(served.root)
    undo = {"token": served.desk.token, "week": "2026-W99"}
    assert served.request("POST", f"{PREFIX}_review/undo", undo)[0] == 400
    assert snapshot(served.root) == written and len(served.desk.undo) == 1


def test_an_introduction_names_its_week_and_nothing_else(served: Served) -> None:
    issues = served.root / "content" / "issues"
    form = {"token": served.desk.token, "sha": "absent", "title": "", "body": "Hi", "do": "save"}
    for week in ("", "2025-W35/../../x", "2025-W99"):
        assert served.request("POST", f"{PREFIX}_review/intro", {**form, "week": week})[0] \
            == 400
    # '$' in a pattern matches before a final line break: the week is read without it.
    status, _, _ = served.request("POST", f"{PREFIX}_review/intro",
                                  {**form, "week": "2025-w35\n"})
    assert status == 303
    assert sorted(p.name for p in issues.iterdir() if "2025" in p.name) == [
        "2025-W35.md", "2025-W42.md"]  # W42: the example's own introduction


def test_another_site_may_link_to_the_desk_but_not_load_it(served: Served) -> None:
    cross = {"Sec-Fetch-Site": "cross-site"}
    for mode, dest in (("no-cors", "image"), ("no-cors", "script"), ("cors", "empty")):
        status, _, _ = served.request("GET", f"{PREFIX}_review/", headers={
            **cross, "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest})
        assert status == 403, (mode, dest)
    status, _, body = served.request("GET", f"{PREFIX}_review/", headers={
        **cross, "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"})
    assert status == 200 and served.desk.token in body.decode()
    status, _, _ = served.request("GET", f"{PREFIX}_review/desk.js", headers={
        "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"})
    assert status == 200


def test_a_failing_application_answers_500_as_plain_text(tmp_path: Path) -> None:
    def failing(request: AppRequest) -> AppResponse:
        raise RuntimeError("<script>alert(1)</script>")

    with running(tmp_path, "127.0.0.1", failing) as port:
        served = Served(tmp_path, port, Desk(tmp_path / "digest.toml"))
        status, headers, _ = served.request("GET", f"{PREFIX}_review/")
    assert status == 500
    assert headers["content-type"].startswith("text/plain")
    assert headers["x-content-type-options"] == "nosniff"


def test_a_file_changed_behind_the_page_is_not_overwritten(served: Served) -> None:
    path = served.file(PLAIN)
    page = served.page()
    seen = re.search(rf'name="id" value="{PLAIN}">\s*<input type="hidden" name="sha" '
                     r'value="([0-9a-f]{64})"', page)
    assert seen and seen.group(1) == sha256(path.read_bytes())
    # The editor's text editor saves the file meanwhile.
    edited = path.read_bytes().replace(b"tags: []\n", b"tags: []\nnote: from my editor\n")
    path.write_bytes(edited)
    status, _, body = served.act(PLAIN, "reject", sha=seen.group(1))
    assert status == 409
    result = json.loads(body)
    assert "ничего не записано" in result["message"]
    assert "+note: from my editor" in result["diff"]
    assert path.read_bytes() == edited
    # Without JavaScript: a page that says so, with the diff.
    status, headers, body = served.act(PLAIN, "reject", js=False, sha=seen.group(1))
    assert status == 409 and "+note: from my editor" in body.decode()
    assert headers["content-security-policy"]
    assert path.read_bytes() == edited


def test_undo_does_not_overwrite_a_later_edit(served: Served) -> None:
    path = served.file(PLAIN)
    assert served.act(PLAIN, "reject")[0] == 200
    later = path.read_bytes() + b"\n<p>Added by hand.</p>\n"
    path.write_bytes(later)
    status, _, body = served.request("POST", f"{PREFIX}_review/undo",
                                     {"token": served.desk.token, "week": WEEK},
                                     headers={"Accept": "application/json"})
    assert status == 409 and "+<p>Added by hand.</p>" in json.loads(body)["diff"]
    assert path.read_bytes() == later


# --- the introduction --------------------------------------------------------------------------

def intro_form(served: Served, week: str, **fields: str) -> dict[str, str]:
    page = served.page(f"?week={week}")
    sha = re.search(r'name="sha" value="([^"]+)">\s*<label for="intro-title-field"', page)
    assert sha
    return {"token": served.desk.token, "week": week, "sha": sha.group(1), "do": "save",
            **fields}


def test_the_introduction_is_saved_keeping_its_front_matter(served: Served) -> None:
    path = served.root / "content" / "issues" / f"{WEEK}.md"
    path.write_bytes(path.read_bytes().replace(b"---\n\n", b"status: draft  # not yet\n---\n\n"))
    before = path.read_bytes()
    body = before.split(b"---\n\n", 1)[1].decode().replace("В нескольких постах",
                                                           "В некоторых постах")
    form = intro_form(served, WEEK, title="Неделя 11: модели, которые знают, что их проверяют",
                      body=body.replace("\n", "\r\n"))
    status, _, answer = served.request("POST", f"{PREFIX}_review/intro", form,
                                       headers={"Accept": "application/json"})
    assert status == 200, answer
    removed, added = diff(before, path.read_bytes())
    assert len(removed) == 1 and "В нескольких постах".encode() in removed[0]
    assert added == [removed[0].replace("нескольких".encode(), "некоторых".encode())]
    assert b"status: draft  # not yet\n" in path.read_bytes()


def test_a_new_introduction_is_created_and_undone(served: Served) -> None:
    path = served.root / "content" / "issues" / "2025-W35.md"
    assert not path.exists()
    form = intro_form(served, "2025-W35", title="Late summer", body="Hello, **readers**.")
    assert form["sha"] == "absent"
    status, headers, _ = served.request("POST", f"{PREFIX}_review/intro", form)
    assert status == 303 and headers["location"].endswith("#intro")
    assert path.read_bytes() == b"---\ntitle: Late summer\n---\n\nHello, **readers**.\n"
    page = served.page("?week=2025-W35")
    assert "<p>Hello, <strong>readers</strong>.</p>" in page
    # Saved again with the same sha: refused, the file is what the page has not seen.
    status, _, body = served.request("POST", f"{PREFIX}_review/intro",
                                     {**form, "body": "Other"})
    assert status == 409 and "+Hello" in body.decode()
    assert path.read_bytes().endswith(b"readers**.\n")
    status, _, _ = served.request("POST", f"{PREFIX}_review/undo",
                                  {"token": served.desk.token, "week": "2025-W35"})
    assert status == 303 and not path.exists()


def test_the_live_preview_is_digests_markdown_sanitized(served: Served) -> None:
    text = ("**bold** [x](javascript:alert(1)) <script>alert(2)</script> "
            "<img src=x onerror=alert(3)>\n\n```python\nprint(1)\n```")
    status, _, body = served.request("POST", f"{PREFIX}_review/preview",
                                     {"token": served.desk.token, "body": text},
                                     headers={"Accept": "application/json"})
    assert status == 200
    html = json.loads(body)["html"]
    assert "<strong>bold</strong>" in html and 'class="codehilite"' in html
    assert "javascript:" not in html and "<script" not in html and "onerror" not in html
    assert served.request("POST", f"{PREFIX}_review/preview", {"body": text})[0] == 403
    # Without JavaScript, the Preview button shows the page with the text and its preview.
    form = intro_form(served, WEEK, title="T", body="*draft*")
    status, _, page = served.request("POST", f"{PREFIX}_review/intro",
                                     {**form, "do": "preview"})
    assert status == 200 and b"<p><em>draft</em></p>" in page
    assert b"*draft*</textarea>" in page


# --- with digest serve: the preview rebuilds through the watcher ------------------------------

def test_a_decision_reaches_the_preview_site_and_never_the_build(
        serve_process: tuple[Path, int]) -> None:  # noqa: F811 (the fixture, not the import)
    root, port = serve_process
    status, page = get(port, f"{PREFIX}_review/")
    assert status == 200
    token = re.search(rb'name="digest-desk-token" content="([^"]+)"', page)
    assert token
    title = "Interview with Steven Byrnes on His Mainline Takeoff Scenario"
    assert title in get(port, f"{PREFIX}issues/2026-w11/")[1].decode()
    served = Served(root, port, Desk(root / "digest.toml", token=token.group(1).decode()))
    assert served.act(SELECTED, "reject")[0] == 200
    deadline = time.monotonic() + 30
    while title in get(port, f"{PREFIX}issues/2026-w11/")[1].decode():
        assert time.monotonic() < deadline, "the preview did not rebuild"
        time.sleep(0.2)
    assert not (root / "output" / "_review").exists()
    assert not any("_review" in p.read_text(encoding="utf-8", errors="replace")
                   for p in (root / "output").rglob("*.html"))
