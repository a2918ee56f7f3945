"""`digest publish` (output/ -> the gh-pages branch, then a push) in real git repositories, and
`digest check` as the check before publishing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import FIXTURES

Run = Callable[..., Result]

BASE_URL = "https://user.github.io/my-digest/"
QEMU_FEED = """
[[feeds]]
slug = "qemu"
title = "QEMU"
url = "qemu.atom"
homepage = "https://www.qemu.org/"
topics = []
"""


@pytest.fixture(autouse=True)
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Git with a known identity and none of the user's configuration; no repository above
    tmp_path is ever found."""
    for key in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Editor")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "editor@example.org")


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check:
        assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def branch_sha(repo: Path, branch: str = "gh-pages") -> str | None:
    return git(repo, "rev-parse", "-q", "--verify", f"refs/heads/{branch}", check=False) or None


def branch_files(repo: Path, branch: str = "gh-pages") -> set[str]:
    return set(git(repo, "ls-tree", "-r", "--name-only", branch).splitlines())


def commits(repo: Path, branch: str = "gh-pages") -> int:
    return int(git(repo, "rev-list", "--count", branch))


def one_error_line(result: Result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error:") and "Traceback" not in result.output
    return lines[0]


def new_digest(tmp_path: Path, run: Run, *flags: str, site: str = "",
               name: str = "site") -> Path:
    """`digest init --yes` with the saved QEMU feed as a local file, fetched."""
    root = tmp_path / name
    result = run(tmp_path, "init", str(root), "--yes", "--title", "Weekly QEMU",
                 "--base-url", BASE_URL, *flags)
    assert result.exit_code == 0, result.output
    shutil.copy(FIXTURES / "feeds" / "qemu.atom", root / "qemu.atom")
    config = (root / "digest.toml").read_text(encoding="utf-8")
    config = config.replace("[site]\n", "[site]\n" + site, 1) + QEMU_FEED
    (root / "digest.toml").write_text(config, encoding="utf-8")
    fetched = run(root, "fetch")
    assert fetched.exit_code == 0, fetched.output
    return root


def built_repo(tmp_path: Path, run: Run, **kwargs: str) -> Path:
    """A fetched and built digest, in a git repository with the project committed on main."""
    root = new_digest(tmp_path, run, **kwargs)
    built = run(root, "build")
    assert built.exit_code == 0, built.output
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "New digest")
    return root


def item_file(root: Path, title_slug: str = "qemu-version-10-1-0-released") -> Path:
    [path] = (root / "content" / "items").rglob(f"{title_slug}-*.md")
    return path


def add_note(path: Path, note: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, _, body = text[4:].partition("\n---\n")
    path.write_text(f"---\n{head}\nnote: {note!r}\n---\n{body}", encoding="utf-8")


def bare_remote(tmp_path: Path, root: Path, name: str = "origin") -> Path:
    remote = tmp_path / f"{name}.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(root, "remote", "add", name, str(remote))
    git(root, "push", "-q", name, "main")
    return remote


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- publish ----------------------------------------------------------------------------------

def test_publish_writes_the_site_to_gh_pages_without_touching_the_work_tree(
        tmp_path: Path, run: Run) -> None:
    root = built_repo(tmp_path, run)
    # the editor is in the middle of something: an edit, a staged edit, a new file
    about = root / "content" / "pages" / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + "\nHalf-written.\n", encoding="utf-8")
    (root / "notes.txt").write_text("todo\n")
    issue = next((root / "content" / "issues").glob("*.md"))
    issue.write_text("---\ntitle: Staged\n---\n", encoding="utf-8")
    git(root, "add", str(issue))
    state = {what: git(root, *args) for what, args in {
        "head": ("rev-parse", "HEAD"), "branch": ("symbolic-ref", "HEAD"),
        "status": ("status", "--porcelain", "--untracked-files=all"),
        "unstaged": ("diff",), "staged": ("diff", "--cached")}.items()}

    result = run(root, "publish", "--no-push")

    assert result.exit_code == 0, result.output
    assert "Committed output/ to gh-pages" in result.output
    files = branch_files(root)
    assert {"index.html", ".nojekyll", "feed.xml", "sitemap.xml"} <= files
    assert any(f.startswith("items/") for f in files)
    assert not any(f.startswith(("content/", "output/")) or f == "digest.toml" for f in files)
    assert commits(root) == 1
    assert git(root, "show", "gh-pages:index.html") == \
        (root / "output" / "index.html").read_text(encoding="utf-8").strip()
    after = {what: git(root, *args) for what, args in {
        "head": ("rev-parse", "HEAD"), "branch": ("symbolic-ref", "HEAD"),
        "status": ("status", "--porcelain", "--untracked-files=all"),
        "unstaged": ("diff",), "staged": ("diff", "--cached")}.items()}
    assert after == state
    assert (root / "notes.txt").read_text() == "todo\n"
    assert "Half-written." in about.read_text(encoding="utf-8")


def test_publishing_again_with_no_change_makes_no_commit(tmp_path: Path, run: Run) -> None:
    # without the search index: see test_two_builds_publish_nothing_new_with_search
    root = built_repo(tmp_path, run, site="search = false\n")
    assert run(root, "publish", "--no-push").exit_code == 0
    first = branch_sha(root)

    again = run(root, "publish", "--no-push")  # builds again: the same site

    assert again.exit_code == 0, again.output
    assert "up to date" in again.output and "no commit" in again.output
    assert "Committed" not in again.output
    assert branch_sha(root) == first and commits(root) == 1
    assert run(root, "publish", "--no-push", "--no-build").exit_code == 0
    assert branch_sha(root) == first


def test_two_builds_publish_nothing_new_with_search(tmp_path: Path, run: Run) -> None:
    root = built_repo(tmp_path, run)
    assert run(root, "publish", "--no-push").exit_code == 0
    first = branch_sha(root)
    for _ in range(8):  # the order is random: one publish alone could pass by chance
        result = run(root, "publish", "--no-push")
        assert result.exit_code == 0, result.output
        assert branch_sha(root) == first, git(root, "diff", "--stat", first, "gh-pages")


def test_an_edited_note_makes_exactly_one_new_commit(tmp_path: Path, run: Run) -> None:
    root = built_repo(tmp_path, run)
    assert run(root, "publish", "--no-push").exit_code == 0
    first = branch_sha(root)
    item = item_file(root)
    add_note(item, "Pick of the week: confidential guests under TDX.")
    assert run(root, "build").exit_code == 0

    result = run(root, "publish", "--no-push")

    assert result.exit_code == 0, result.output
    assert "Committed output/ to gh-pages" in result.output
    assert commits(root) == 2
    assert git(root, "rev-parse", "gh-pages^") == first
    page = git(root, "show", f"gh-pages:items/{item.stem}/index.html")
    assert "Pick of the week: confidential guests under TDX." in page
    assert "confidential guests under TDX" not in git(root, "show",
                                                      f"{first}:items/{item.stem}/index.html")


def test_cname_is_in_every_published_commit(tmp_path: Path, run: Run) -> None:
    root = new_digest(tmp_path, run, site='cname = "digest.example.org"\n', name="custom")
    config = (root / "digest.toml").read_text(encoding="utf-8")
    (root / "digest.toml").write_text(config.replace(BASE_URL, "https://digest.example.org/"),
                                      encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "New digest")

    result = run(root, "publish", "--no-push")

    assert result.exit_code == 0, result.output
    assert "CNAME" in branch_files(root)
    assert git(root, "show", "gh-pages:CNAME") == "digest.example.org"
    assert 'href="/static/style.css"' in git(root, "show", "gh-pages:index.html")
    add_note(item_file(root), "A note.")
    assert run(root, "publish", "--no-push").exit_code == 0
    assert commits(root) == 2 and git(root, "show", "gh-pages:CNAME") == "digest.example.org"


def test_publish_pushes_gh_pages_to_the_remote(tmp_path: Path, run: Run) -> None:
    root = built_repo(tmp_path, run)
    remote = bare_remote(tmp_path, root)
    main_there = git(tmp_path, "--git-dir", str(remote), "rev-parse", "main")

    result = run(root, "publish")

    assert result.exit_code == 0, result.output
    assert "Pushed gh-pages to origin" in result.output
    there = set(git(tmp_path, "--git-dir", str(remote), "ls-tree", "-r", "--name-only",
                    "gh-pages").splitlines())
    assert {"index.html", ".nojekyll", "feed.xml", "sitemap.xml"} <= there
    assert git(tmp_path, "--git-dir", str(remote), "rev-parse", "gh-pages") == branch_sha(root)
    assert git(tmp_path, "--git-dir", str(remote), "rev-parse", "main") == main_there


def test_publish_pushes_to_another_remote_and_branch(tmp_path: Path, run: Run) -> None:
    root = built_repo(tmp_path, run)
    remote = bare_remote(tmp_path, root, name="upstream")

    result = run(root, "publish", "--no-build", "--remote", "upstream", "--branch", "pages")

    assert result.exit_code == 0, result.output
    assert branch_sha(root, "gh-pages") is None
    assert git(tmp_path, "--git-dir", str(remote), "rev-parse", "pages") == \
        branch_sha(root, "pages")


def test_a_push_that_was_not_done_is_done_by_the_next_publish(tmp_path: Path,
                                                              run: Run) -> None:
    """Committed with --no-push, nothing changed since: a plain publish still pushes it."""
    root = built_repo(tmp_path, run)
    remote = bare_remote(tmp_path, root)
    assert run(root, "publish", "--no-push").exit_code == 0

    result = run(root, "publish", "--no-build")

    assert result.exit_code == 0, result.output
    assert git(tmp_path, "--git-dir", str(remote), "rev-parse", "gh-pages") == branch_sha(root)


def test_publishing_nothing_new_does_not_claim_a_push(tmp_path: Path, run: Run) -> None:
    root = built_repo(tmp_path, run)
    bare_remote(tmp_path, root)
    assert run(root, "publish", "--no-build").exit_code == 0

    again = run(root, "publish", "--no-build")

    assert again.exit_code == 0, again.output
    assert "up to date" in again.output
    assert "Pushed" not in again.output


# -- publish: errors --------------------------------------------------------------------------

def test_publish_outside_a_git_repository_is_one_line(tmp_path: Path, run: Run) -> None:
    root = new_digest(tmp_path, run)

    result = run(root, "publish", "--no-push")

    assert result.exit_code == 2  # as a missing remote: the command asked for what is not there
    line = one_error_line(result)
    assert "not a git repository" in line and "git init" in line
    assert "fatal" not in line  # git's own words, which say the same again
    assert not (root / ".git").exists()


def test_publish_to_a_missing_remote_is_one_line(tmp_path: Path, run: Run) -> None:
    root = built_repo(tmp_path, run)

    result = run(root, "publish", "--remote", "nope")

    assert result.exit_code != 0
    line = one_error_line(result)
    assert "'nope'" in line and "remote" in line
    assert branch_sha(root) is None, "nothing is committed when it cannot be pushed"


def diverge(tmp_path: Path, remote: Path) -> str:
    """Someone else pushes their own commit to the remote's gh-pages."""
    other = tmp_path / "elsewhere"
    git(tmp_path, "clone", "-q", "--branch", "gh-pages", str(remote), str(other))
    (other / "theirs.html").write_text("<p>made elsewhere</p>\n")
    git(other, "add", "theirs.html")
    git(other, "commit", "-q", "-m", "Their change")
    git(other, "push", "-q", "origin", "gh-pages")
    return git(other, "rev-parse", "HEAD")


def test_a_refused_push_is_one_line_naming_branch_and_remote(tmp_path: Path,
                                                             run: Run) -> None:
    root = built_repo(tmp_path, run)
    remote = bare_remote(tmp_path, root)
    assert run(root, "publish").exit_code == 0
    theirs = diverge(tmp_path, remote)
    add_note(item_file(root), "Changed here too.")

    result = run(root, "publish")

    assert result.exit_code != 0
    line = one_error_line(result)
    assert "gh-pages" in line and "origin" in line and "refused" in line
    assert git(tmp_path, "--git-dir", str(remote), "rev-parse", "gh-pages") == theirs, \
        "their commit is kept: never a forced push"


def test_a_refused_push_says_why(tmp_path: Path, run: Run) -> None:
    root = built_repo(tmp_path, run)
    remote = bare_remote(tmp_path, root)
    assert run(root, "publish").exit_code == 0
    diverge(tmp_path, remote)
    add_note(item_file(root), "Changed here too.")

    line = one_error_line(run(root, "publish"))

    assert "hint:" not in line
    assert "fetch first" in line or "non-fast-forward" in line


def test_publish_no_build_without_a_built_site_is_one_line(tmp_path: Path, run: Run) -> None:
    root = new_digest(tmp_path, run)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "New digest")

    result = run(root, "publish", "--no-build", "--no-push")

    assert result.exit_code != 0
    line = one_error_line(result)
    assert "output" in line and "digest build" in line
    assert branch_sha(root) is None


# -- check, before publishing -----------------------------------------------------------------

def test_check_reports_the_page_of_a_deleted_item(tmp_path: Path, run: Run) -> None:
    root = new_digest(tmp_path, run)
    assert run(root, "build").exit_code == 0
    assert run(root, "check").exit_code == 0
    item = item_file(root)
    assert (root / "output" / "items" / item.stem / "index.html").is_file()
    item.unlink()

    result = run(root, "check")

    assert result.exit_code == 1, result.output
    assert f"output/items/{item.stem}/" in result.output and "stale" in result.output
    assert "Traceback" not in result.output
    assert run(root, "build").exit_code == 0
    assert run(root, "check").exit_code == 0, "a rebuild clears it"


def test_check_reports_a_cname_that_is_not_the_base_url_host(tmp_path: Path,
                                                             run: Run) -> None:
    root = new_digest(tmp_path, run, site='cname = "digest.example.org"\n')

    result = run(root, "check")

    assert result.exit_code == 1, result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert "site.cname" in line and "digest.example.org" in line and "user.github.io" in line
    config = (root / "digest.toml").read_text(encoding="utf-8")
    (root / "digest.toml").write_text(config.replace(BASE_URL, "https://digest.example.org/"),
                                      encoding="utf-8")
    assert run(root, "check").exit_code == 0


def test_check_online_reports_a_feed_that_does_not_answer(tmp_path: Path, run: Run) -> None:
    port = closed_port()
    root = new_digest(tmp_path, run)
    assert run(root, "check", "--online").exit_code == 0, "a local feed file answers"
    with (root / "digest.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[[feeds]]\nslug = "down"\ntitle = "Down"\n'
                     f'url = "http://127.0.0.1:{port}/feed.xml"\n')

    result = run(root, "check", "--online")

    assert result.exit_code == 1, result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("error:")]
    assert f"127.0.0.1:{port}" in line and "down" in line
    assert "Traceback" not in result.output
    assert "1 feed(s) that do not answer: check its url in digest.toml" in result.output
    assert "digest build" not in result.output, "a feed's failure is no reason to rebuild"
    assert "output/ is not built yet" in result.output  # what check found of it, still said
    assert run(root, "check").exit_code == 0, "offline, the feed is not asked"


def test_publish_with_no_remote_is_a_usage_error_naming_remote(tmp_path: Path,
                                                               run: Run) -> None:
    root = built_repo(tmp_path, run)
    before = sorted(p.relative_to(root) for p in (root / "output").rglob("*"))

    result = run(root, "publish")

    assert result.exit_code == 2
    line = one_error_line(result)
    assert "no git remote named 'origin'" in line and "--remote" in line
    assert branch_sha(root) is None
    assert sorted(p.relative_to(root) for p in (root / "output").rglob("*")) == before


def test_publish_to_a_remote_folder_that_does_not_exist_says_so(tmp_path: Path,
                                                                run: Run) -> None:
    root = built_repo(tmp_path, run)
    git(root, "remote", "add", "origin", str(tmp_path / "gone.git"))

    result = run(root, "publish")

    assert result.exit_code == 1
    line = one_error_line(result)
    assert f"the folder {tmp_path / 'gone.git'}, which does not exist" in line
    assert "commits made elsewhere" not in line
    assert branch_sha(root) is None, "nothing is committed when it cannot be pushed"


def test_publish_to_a_remote_that_does_not_answer_says_it_cannot_reach_it(
        tmp_path: Path, run: Run) -> None:
    root = built_repo(tmp_path, run)
    (tmp_path / "not-a-repo").mkdir()
    git(root, "remote", "add", "origin", str(tmp_path / "not-a-repo"))

    result = run(root, "publish")

    assert result.exit_code == 1
    line = one_error_line(result)
    assert "cannot reach the git remote 'origin'" in line and "git remote -v" in line
    assert "commits made elsewhere" not in line
