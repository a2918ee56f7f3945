"""`digest serve`, end to end: a real process, real HTTP, real file edits."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def example(root: Path) -> Path:
    root.mkdir(parents=True)
    for name in ("digest.toml", "content", "feeds"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)
    return root


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """The example digest copied into a temp folder and served by `digest serve`."""
    with serving(example(tmp_path / "site")) as port:
        yield tmp_path / "site", port


@contextmanager
def serving(root: Path, *options: str, said: list[str] | None = None) -> Iterator[int]:
    """`digest serve` of the project `root`, stopped after the block: its port. `said`: its
    output's lines go there once it has stopped."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "digest", "serve", "--port", str(port),
                             *options],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"serve did not start: {proc.stdout.read() if proc.stdout else ''}")
    try:
        yield port
    finally:
        stop(proc)
        if said is not None and proc.stdout is not None:
            said += proc.stdout.read().splitlines()


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def get(port: int, path: str, host: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", path, skip_host=host is not None)
    if host is not None:
        conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    return response.status, response.read()


def test_pages_are_served_under_the_sub_path_with_the_reload_script(
        served: tuple[Path, int]) -> None:
    _, port = served
    status, body = get(port, "/digest/")
    assert status == 200
    assert b"/__digest__/reload.js" in body
    status, body = get(port, "/digest/static/style.css")
    assert status == 200 and b"__digest__" not in body
    assert get(port, "/digest/nope/")[0] == 404


def test_the_built_output_has_no_reload_script(served: tuple[Path, int]) -> None:
    root, _ = served
    for page in (root / "output").rglob("*.html"):
        assert "__digest__" not in page.read_text(encoding="utf-8"), page


@pytest.mark.parametrize("path", ["/digest/../digest.toml", "/digest/%2e%2e/digest.toml",
                                  "/digest/%2E%2E%2Fdigest.toml", "/digest/..%2fdigest.toml",
                                  "/digest/static/..%2f..%2fdigest.toml"])
def test_paths_outside_output_are_refused(served: tuple[Path, int], path: str) -> None:
    _, port = served
    status, body = get(port, path)
    assert status in (403, 404)
    assert b"[site]" not in body


def test_a_symlink_out_of_output_is_refused(served: tuple[Path, int]) -> None:
    root, port = served
    (root / "output" / "leak").symlink_to(root)
    status, body = get(port, "/digest/leak/digest.toml")
    assert status in (403, 404) and b"[site]" not in body


def test_a_foreign_host_header_is_refused(served: tuple[Path, int]) -> None:
    _, port = served
    assert get(port, "/digest/", host=f"attacker.example:{port}")[0] == 403
    assert get(port, "/digest/", host=f"localhost:{port}")[0] == 200


def test_an_edit_rebuilds_and_announces_a_reload(served: tuple[Path, int]) -> None:
    root, port = served
    page = root / "content" / "pages" / "about.md"
    reloaded_after(port, lambda: page.write_text(page.read_text(encoding="utf-8").replace(
        "еженедельная подборка", "ЕЖЕНЕДЕЛЬНАЯ ПОДБОРКА"), encoding="utf-8"))
    assert "ЕЖЕНЕДЕЛЬНАЯ ПОДБОРКА" in get(port, "/digest/pages/about/")[1].decode()


def reloaded_after(port: int, edit: Callable[[], None]) -> None:
    """Make `edit`, and wait for the reload event that follows it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("GET", "/__digest__/events")
    events = conn.getresponse()
    first = events.fp.readline()
    assert first.startswith(b"data: ")
    edit()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the stream says "keep-alive" every 15 s
        line = events.fp.readline()
        if line.startswith(b"data: ") and line != first:
            break
    else:
        pytest.fail("no reload within 20 s of the edit")
    conn.close()


SLUG = "selectively-reducing-eval-awareness-and-murder-in-gemma-3-0be7cc"


def saved_title_shows(root: Path, items: Path, words: str) -> None:
    """In `digest serve` of `root`: `words` saved into the title of the item SLUG (its file
    under `items`) reload the page, which then shows them."""
    item = next(items.rglob(f"{SLUG}.md"))
    text = item.read_text(encoding="utf-8")
    with serving(root) as port:
        reloaded_after(port, lambda: item.write_text(text.replace(
            "\ntitle: ", f"\ntitle: {words} ", 1), encoding="utf-8"))
        assert words in get(port, f"/digest/items/{SLUG}/")[1].decode()


def test_an_edit_in_a_linked_items_folder_rebuilds(tmp_path: Path) -> None:
    """content/items may be a link to a folder kept elsewhere: a save there is seen (the
    file system reports it under the folder the link leads to, which is watched too)."""
    root = example(tmp_path / "site")
    (root / "content" / "items").rename(tmp_path / "items")
    (root / "content" / "items").symlink_to(tmp_path / "items", target_is_directory=True)
    saved_title_shows(root, tmp_path / "items", "Edited through the link")


def test_a_project_in_a_folder_named_output_sees_its_saves(tmp_path: Path) -> None:
    """output/, .git/ and node_modules/ are never inputs inside the project; a project kept
    under a folder of one of those names (~/output/digest, a build box's work folder) is
    still watched, and a save there reloads the page with the edit."""
    root = example(tmp_path / "output" / "node_modules" / "site")
    saved_title_shows(root, root / "content" / "items", "Edited under output")


def test_only_git_and_the_builds_own_folders_are_never_inputs(tmp_path: Path) -> None:
    """Inside content/ (`exact`: the build reads every folder there), only a .git/ folder
    and the folders the build writes (its output and state, passed as `skip`) change no
    page: saves there start no build, while content/items/output/ and node_modules/ hold
    content files like any other folder. In a theme, tools' folders (node_modules/) are
    passed over too. Above the project, such names mean nothing (above)."""
    from digest.preview.watch import watch

    site = tmp_path / ".git" / "output" / "site"
    content, theme = site / "content", site / "themes" / "mine"
    for folder in ("output", "node_modules"):
        (content / "items" / folder).mkdir(parents=True)
    (theme / "templates").mkdir(parents=True)
    seen: list[set[str]] = []
    observer = watch([content, theme], seen.append, skip=[content / "built"], exact=[content])
    inputs = {"content/items/output/a.md", "content/items/node_modules/a.md",
              "content/items/#idea.md", "themes/mine/templates/page.html"}
    try:
        for folder in (content / ".git", content / "built", content / "items/.git",
                       theme / "node_modules", theme / "__pycache__"):
            folder.mkdir()  # made while watched: no build
            (folder / "x.md").write_text("not an input", encoding="utf-8")
        time.sleep(0.3)  # after those, inputs
        for folder in ("output", "node_modules"):
            (content / "items" / folder / "a.md").write_text("an input", encoding="utf-8")
        # a name like an editor's backup, but a content file the build reads
        (content / "items" / "#idea.md").write_text("an input", encoding="utf-8")
        (theme / "templates" / "page.html").write_text("an input", encoding="utf-8")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not inputs <= changed(site, seen):
            time.sleep(0.05)  # in one change set or several, as the machine's load has it
        time.sleep(0.3)  # anything else that was coming
    finally:
        observer.stop()
        observer.join()
    assert changed(site, seen) == inputs


def changed(root: Path, seen: list[set[str]]) -> set[str]:
    """The paths in the change sets `seen`, relative to `root`."""
    return {Path(p).relative_to(root.resolve()).as_posix() for s in list(seen) for p in s}


def test_a_save_in_an_items_folder_named_output_shows(tmp_path: Path) -> None:
    """The build reads content/items/output/ like any folder of items; so does serve."""
    root = example(tmp_path / "site")
    items = root / "content" / "items"
    item = next(items.rglob(f"{SLUG}.md"))
    (items / "output").mkdir()
    item.rename(items / "output" / item.name)
    saved_title_shows(root, items / "output", "Edited in a folder named output")


def front_page_becomes(port: int, code: int) -> bytes:
    """The front page's body, once it answers `code` (within 20 s)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, body = get(port, "/digest/")
        if status == code:
            return body
        time.sleep(0.1)
    pytest.fail(f"the front page never answered {code}")


NOWHERE = b"content/items/moved.md: is a link to nowhere (remove the link, or put back the file"


def test_a_link_to_nowhere_is_an_error_page_until_removed(tmp_path: Path) -> None:
    """`digest build` stops on a content file that is a link to nowhere (a post moved away
    that a link still names); serve shows the same error, in its first (full) build and for
    a save (the file read again), and recovers when it is removed."""
    root = example(tmp_path / "site")
    link = root / "content" / "items" / "moved.md"
    link.symlink_to(root / "elsewhere" / "moved.md")
    with serving(root) as port:
        assert NOWHERE in front_page_becomes(port, 500)
        link.unlink()
        front_page_becomes(port, 200)
        link.symlink_to(root / "elsewhere" / "moved.md")
        assert NOWHERE in front_page_becomes(port, 500)
        link.unlink()
        front_page_becomes(port, 200)


def test_a_folder_moved_in_with_a_link_to_nowhere_is_an_error_page(tmp_path: Path) -> None:
    """A folder of posts moved into content/items at once (one change, with --poll) is read
    whole: a link to nowhere in it is the same error as in `digest build`."""
    root = example(tmp_path / "site")
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "moved.md").symlink_to(root / "elsewhere" / "moved.md")
    with serving(root, "--poll") as port:
        front_page_becomes(port, 200)
        folder.rename(root / "content" / "items" / "batch")
        assert b"content/items/batch/moved.md: is a link to nowhere" in \
            front_page_becomes(port, 500)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX's")
def test_a_named_pipe_saved_among_the_posts_stops_no_build(served: tuple[Path, int]) -> None:
    """A named pipe called like a post is no content (reading it would wait forever): the
    next edit still reloads the page with it."""
    root, port = served
    os.mkfifo(root / "content" / "items" / "pipe.md")
    time.sleep(0.5)  # its own change set
    saved = next((root / "content" / "items").rglob(f"{SLUG}.md"))
    text = saved.read_text(encoding="utf-8")
    reloaded_after(port, lambda: saved.write_text(text.replace(
        "\ntitle: ", "\ntitle: Edited beside a pipe ", 1), encoding="utf-8"))
    assert "Edited beside a pipe" in get(port, f"/digest/items/{SLUG}/")[1].decode()


def test_a_link_from_content_to_output_starts_no_build_of_its_own(tmp_path: Path) -> None:
    """The folders a build writes are never watched, even where a link leads to them:
    an edit is one build, not a build of the build's own files after it."""
    root = example(tmp_path / "site")
    (root / "content" / "preview").symlink_to(root / "output", target_is_directory=True)
    said: list[str] = []
    with serving(root, said=said) as port:
        page = root / "content" / "pages" / "about.md"
        reloaded_after(port, lambda: page.write_text(
            page.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8"))
        time.sleep(2)  # the search index written, and any build it would start
    builds = [line for line in said if " built " in f" {line}"]
    assert len(builds) == 2, said  # the first, and the edit's


def test_a_build_that_cannot_write_its_record_is_an_error_page_not_a_crash(
        tmp_path: Path) -> None:
    """A failure that is no problem of the project's files (here .digest/cache made a
    file, so the build cannot save its record; a full disk is the same): the error page
    names it, and serve goes on to build the next save, once the folder is back. (Search
    off: no index is being installed in the background meanwhile.)"""
    root = example(tmp_path / "site")
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[site]\n", "[site]\nsearch = false\n", 1), encoding="utf-8")
    with serving(root) as port:
        cache = root / ".digest" / "cache"
        cache.rename(root / ".digest" / "aside")
        cache.write_text("not a folder", encoding="utf-8")
        config.write_text(config.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        page = front_page_becomes(port, 500)  # (the note of what it is about to write)
        assert re.search(rb"\.digest/cache/manifest-\w+-writing\.json: Not a directory", page)
        cache.unlink()
        (root / ".digest" / "aside").rename(cache)
        config.write_text(config.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        front_page_becomes(port, 200)


def test_the_search_index_follows_an_edit_after_the_reload(served: tuple[Path, int]) -> None:
    """The page reloads first; Pagefind then indexes the new text in the background."""
    root, port = served
    fragments = root / "output" / "pagefind" / "fragment"
    deadline = time.monotonic() + 60
    while not fragments.is_dir() and time.monotonic() < deadline:
        time.sleep(0.2)  # the first index, made after the first build
    before = {p.name for p in fragments.iterdir()}
    item = next((root / "content" / "items").rglob("selectively-reducing-*.md"))
    item.write_text(re.sub(r"^title: .*$", "title: 'Unmistakable searchable title'",
                           item.read_text(encoding="utf-8"), count=1, flags=re.MULTILINE),
                    encoding="utf-8")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = {p.name for p in fragments.iterdir()} if fragments.is_dir() else set()
        if now and now != before:
            break
        time.sleep(0.2)
    assert now != before and len(now) == len(before)
    assert b"Unmistakable searchable title" in get(
        port, "/digest/items/" + item.stem + "/")[1]


def test_a_broken_edit_shows_an_error_page_and_a_fix_recovers(
        served: tuple[Path, int]) -> None:
    root, port = served
    config = root / "digest.toml"
    good = config.read_text(encoding="utf-8")
    config.write_text(good.replace("[site]", "[site]\ntitel = 'x'"), encoding="utf-8")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, body = get(port, "/digest/")
        if status == 500:
            break
        time.sleep(0.2)
    assert status == 500
    assert re.search(rb"site\.titel.*unknown key", body)
    config.write_text(good, encoding="utf-8")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and get(port, "/digest/")[0] != 200:
        time.sleep(0.2)
    assert get(port, "/digest/")[0] == 200




def test_ctrl_c_the_instant_the_port_opens_is_a_clean_stop(
        project: Callable[..., Path], run: Callable[..., Result],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or `kill PID`) just as serve opens its port and says where, before it waits
    for the next one: a clean stop, exit 0, the port closed. (CI once sent SIGTERM in that
    instant, and serve ended as click's "Aborted!", exit 1.)"""
    from digest.commands.context import Context

    say = Context.say

    def interrupted(self: Context, message: str) -> None:
        say(self, message)
        if message.startswith("Serving "):  # a real Ctrl-C, in that instant
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Context, "say", interrupted)
    # Ctrl-C as a terminal sends it, also where the tests run as a background job (which
    # the shell starts with SIGINT ignored: the signal would be lost, and serve never stop).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    root = project({"content/items/2026/03/a-post-aaaaaa.md": "---\nid: a\ntitle: A post\n"
                    "link: https://example.org/a\nsource: blog\n"
                    "published: '2026-03-10T10:00:00+00:00'\n---\n\nText.\n",
                    "feeds/blog.xml": ""})
    port = free_port()
    try:
        result = run(root, "serve", "--port", str(port))
    finally:
        signal.signal(signal.SIGINT, before)
    assert result.exit_code == 0, result.output
    assert "Stopped." in result.output
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
