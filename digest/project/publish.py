"""`digest publish`: output/ -> the gh-pages branch (ghp-import), then push.

The working tree is never touched: ghp-import writes the branch with git fast-import. A
publish that would change nothing makes no commit."""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import ghp_import

from digest.errors import ConfigError, DigestError


@dataclass(frozen=True)
class Published:
    branch: str
    commit: str | None  # None: nothing changed, no commit made
    pushed: bool


def publish(output: Path, repo: Path, *, remote: str, branch: str, push: bool,
            cname: str | None, message: str) -> Published:
    """Commit `output` as the whole content of `branch` in the git repository at `repo`."""
    preflight(repo, remote=remote, push=push)
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
        try:
            _git(repo, "push", "--porcelain", remote,
                 f"refs/heads/{branch}:refs/heads/{branch}",
                 error=f"the push of {branch} to {remote} was refused",
                 hint=f"fetch and look at {remote}/{branch}; it may have commits made elsewhere")
        except DigestError as exc:
            if any(s in exc.message for s in _UNREACHABLE):
                raise DigestError(f"cannot reach the git remote '{remote}' to push {branch}"
                                  f"{exc.message.partition(' was refused')[2]}",
                                  hint="check its address with `git remote -v`; the branch "
                                       "was committed here and is pushed next time") from exc
            raise
        pushed = True
    return Published(branch, after, pushed)


# What git says when the remote is not there at all (rather than refusing the push).
_UNREACHABLE = ("does not appear to be a git repository", "Could not read from remote",
                "Could not resolve host", "Repository not found", "unable to access",
                "Connection refused")


def _check_local_remote(repo: Path, remote: str, url: str) -> None:
    """A remote that is a path on this machine must exist: say so before anything is
    committed, rather than letting the push fail after."""
    path = Path(url[len("file://"):]) if url.startswith("file://") else \
        (Path(url) if "://" not in url and ":" not in url.split("/")[0] else None)
    if path is None:
        return
    if not (path if path.is_absolute() else repo / path).exists():
        raise DigestError(f"the git remote '{remote}' is the folder {url}, which does not "
                          "exist", hint=f"fix it with `git remote set-url {remote} PATH_OR_URL`, "
                                        "or publish with --no-push")


def preflight(repo: Path, *, remote: str, push: bool) -> None:
    """What a publish needs before anything is built or committed: a git repository and, to
    push, a remote of that name that is there."""
    _git(repo, "rev-parse", "--show-toplevel", error="not a git repository",
         hint="run `git init`, or publish from your repository", quiet=True, usage=True)
    if push:
        url = _git(repo, "remote", "get-url", remote, error=f"no git remote named '{remote}'",
                   hint=f"add it with `git remote add {remote} URL`, or pass --remote NAME "
                        "or --no-push", quiet=True, usage=True)
        _check_local_remote(repo, remote, url)


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
         quiet: bool = False, usage: bool = False) -> str:
    """Run git in `repo`; a DigestError (a ConfigError when `usage`: the command line named
    something that is not there) with git's own reason when it fails."""
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
        kind = ConfigError if usage else DigestError
        raise kind(f"{error or 'git ' + args[0] + ' failed'}{detail}", hint=hint)
    return done.stdout.strip()
