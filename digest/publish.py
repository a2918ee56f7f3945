"""`digest publish`: output/ -> the gh-pages branch (ghp-import), then push.

The working tree is never touched: ghp-import writes the branch with git fast-import. A
publish that would change nothing makes no commit."""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import ghp_import

from digest.errors import DigestError


@dataclass(frozen=True)
class Published:
    branch: str
    commit: str | None  # None: nothing changed, no commit made
    pushed: bool


def publish(output: Path, repo: Path, *, remote: str, branch: str, push: bool,
            cname: str | None, message: str) -> Published:
    """Commit `output` as the whole content of `branch` in the git repository at `repo`."""
    _git(repo, "rev-parse", "--show-toplevel",
         error="not a git repository", hint="run `git init`, or publish from your repository")
    if push:
        _git(repo, "remote", "get-url", remote, error=f"no git remote named '{remote}'",
             hint=f"add it with `git remote add {remote} URL`, or pass --remote or --no-push",
             quiet=True)
    before = _ref(repo, branch)
    try:
        with contextlib.chdir(repo):
            ghp_import.ghp_import(str(output), nojekyll=True, cname=cname, mesg=message,
                                  push=False, remote=remote, branch=branch)
    except ghp_import.GhpError as exc:
        raise DigestError(f"cannot write the {branch} branch: {exc.message}") from exc
    after = _ref(repo, branch)
    if before is not None and after is not None and _tree(repo, before) == _tree(repo, after):
        _git(repo, "update-ref", f"refs/heads/{branch}", before, after)  # undo the empty commit
        after = None
    pushed = False
    if push and (after is not None or not _pushed(repo, remote, branch, before)):
        _git(repo, "push", "--porcelain", remote, f"refs/heads/{branch}:refs/heads/{branch}",
             error=f"the push of {branch} to {remote} was refused",
             hint=f"fetch and look at {remote}/{branch}; it may have commits made elsewhere")
        pushed = True
    return Published(branch, after, pushed)


def _ref(repo: Path, branch: str) -> str | None:
    done = subprocess.run(["git", "rev-parse", "-q", "--verify", f"refs/heads/{branch}"],
                          cwd=repo, capture_output=True, text=True)
    return done.stdout.strip() or None


def _tree(repo: Path, commit: str) -> str:
    return _git(repo, "rev-parse", f"{commit}^{{tree}}")


def _pushed(repo: Path, remote: str, branch: str, commit: str | None) -> bool:
    """Whether the remote already has `commit` as its `branch`."""
    done = subprocess.run(["git", "ls-remote", remote, f"refs/heads/{branch}"], cwd=repo,
                          capture_output=True, text=True)
    return commit is not None and done.stdout.split()[:1] == [commit]


def _git(repo: Path, *args: str, error: str | None = None, hint: str | None = None,
         quiet: bool = False) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise DigestError("git is not installed", hint="install git") from exc
    if done.returncode != 0:
        lines = [x.strip() for x in (done.stderr + "\n" + done.stdout).splitlines() if x.strip()]
        # git's reason, not its hints: "! [rejected] … (fetch first)", "error: …", "fatal: …"
        reason = next((x for x in lines if x.startswith("!")),
                      next((x for x in lines if x.startswith(("error:", "fatal:"))),
                           lines[-1] if lines else ""))
        reason = " ".join(reason.replace("\t", " ").split())
        detail = "" if quiet or not reason else f": {reason}"
        raise DigestError(f"{error or 'git ' + args[0] + ' failed'}{detail}", hint=hint)
    return done.stdout.strip()
