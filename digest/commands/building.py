"""The commands that make and ship the site: select, build, check, publish."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

if TYPE_CHECKING:
    from digest.commands.context import Context
    from digest.config import Config
    from digest.model import Corpus, Item


@click.command("select")
@click.option("--issue", "week", metavar="YYYY-Www", help="The issue's week (default: the latest).")
@click.option("--explain", is_flag=True, help="Every candidate, with why it is in or out.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_obj
def select(ctx: Context, week: str | None, explain: bool, fmt: str) -> None:
    """Show what goes into an issue, and why."""
    from digest.errors import ConfigError
    from digest.load import load
    from digest.select import select as run_select
    from digest.system.report import selection_json, selection_table
    from digest.text.weeks import is_week

    config = ctx.load_config()
    selection = run_select(load(config), config)
    if week is not None and not is_week(week.upper()):
        raise ConfigError(f"'{week}' is not an ISO week", key="--issue", hint="e.g. 2026-W11")
    weeks = selection.weeks
    chosen = week.upper() if week else (max(weeks) if weeks else None)
    if chosen is None:
        raise ConfigError("there are no items yet", hint="run `digest fetch` first")
    decisions = selection.week(chosen)
    if fmt == "json":
        sys.stdout.write(selection_json(chosen, decisions, config.root) + "\n")
    else:
        ctx.out.print(selection_table(chosen, decisions, explain))


@click.command()
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Build here instead of output/.")
@click.option("-b", "--base-url", help="Override site.base_url (e.g. for a preview deploy).")
@click.option("--drafts", is_flag=True, help="Include issues marked 'status: draft'.")
@click.option("--clean", is_flag=True,
              help="Delete the files in the output folder that no build of this digest wrote.")
@click.pass_obj
def build(ctx: Context, output: Path | None, base_url: str | None, drafts: bool,
          clean: bool) -> None:
    """Build the site into output/.

    The output folder is the build's alone: never the project folder, a folder holding a
    project or above it, the root or your home folder; files in it that no build of this
    digest wrote stop the build (unless --clean)."""
    from digest.incremental.noop import look  # imports no stage of the build: see there
    from digest.incremental.outfolder import check_folder, exclusive
    from digest.incremental.paths import CachePaths

    config = _with_base_url(ctx.load_config(), base_url)
    target = check_folder(config, output or config.output_dir)
    with exclusive(CachePaths.of(config.state_dir).lock(target), lambda: ctx.say(
            f"Waiting for the build into {ctx.shown(target)} that is under way…")):
        seen = look(config, output, drafts, clean=clean)
        if seen.fresh:  # nothing to do: no stage of the build is imported
            counts = seen.manifest.counts
            _say_built(ctx, seen.target, counts.get("issues", 0), counts.get("items", 0),
                       counts.get("files", 0), 0)
            return
        try:
            from digest.build import build as run_build

            report = run_build(config, output=output, drafts=drafts, clean=clean, seen=seen)
        except BaseException:  # Ctrl-C while the stages are imported: the stamp's process too
            seen.stamped.drop()
            raise
    _say_built(ctx, report.output, report.issues, report.items, report.files, report.written)


def _say_built(ctx: Context, output: Path, issues: int, items: int, files: int,
               written: int) -> None:
    what = f"{written} file{'s' if written != 1 else ''} changed" if written else "up to date"
    ctx.say(f"Built {_count(issues, 'issue')}, {_count(items, 'item')}, "
            f"{_count(files, 'file')} in {output} ({what})")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _with_base_url(config: Config, base_url: str | None) -> Config:
    """The config with `--base-url` in place of site.base_url; refused unless http(s)."""
    if base_url is None:
        return config
    from dataclasses import replace

    from digest.errors import ConfigError

    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"'{base_url}' is not an http(s) URL", key="--base-url",
                          hint="e.g. https://user.github.io/my-digest/")
    fixed = base_url if base_url.endswith("/") else base_url + "/"
    return replace(config, site=replace(config.site, base_url=fixed))


@click.command()
@click.option("--remote", default="origin", show_default=True, help="The git remote to push to.")
@click.option("--branch", default="gh-pages", show_default=True, help="The branch to publish.")
@click.option("--no-build", is_flag=True, help="Publish output/ as it is.")
@click.option("--no-push", is_flag=True, help="Commit to the branch, do not push.")
@click.option("-b", "--base-url", help="Override site.base_url for the build.")
@click.option("-m", "--message", help="The commit message (default: \"Publish <site title>\").")
@click.option("--clean", is_flag=True,
              help="Let the build delete the files in output/ that no build wrote.")
@click.pass_obj
def publish(ctx: Context, remote: str, branch: str, no_build: bool, no_push: bool,
            base_url: str | None, message: str | None, clean: bool) -> None:
    """Build, then commit output/ to the gh-pages branch and push it.

    output/ is published only if it holds nothing but what a build of this digest wrote."""
    from digest.errors import ConfigError
    from digest.project.publish import preflight
    from digest.project.publish import publish as run_publish

    config = _with_base_url(ctx.load_config(), base_url)
    if no_build and clean:
        raise ConfigError("--clean needs a build", key="--clean",
                          hint="leave out --no-build, or run `digest build --clean` first")
    preflight(config.root, remote=remote, push=not no_push)
    _built(ctx, config, no_build=no_build, clean=clean)
    done = run_publish(config.output_dir, config.root, remote=remote, branch=branch,
                       push=not no_push, cname=config.site.cname,
                       message=message or f"Publish {config.site.title}")
    if done.commit is None:
        ctx.say(f"{branch} is up to date: nothing changed, no commit")
    else:
        ctx.say(f"Committed output/ to {branch} ({done.commit[:10]})")
    if done.pushed:
        ctx.say(f"Pushed {branch} to {remote}")


def _built(ctx: Context, config: Config, *, no_build: bool, clean: bool) -> None:
    """output/ built (or, with --no-build, checked to be what a build wrote), holding a site."""
    from digest.build import build as run_build
    from digest.build import check_built
    from digest.errors import DigestError

    if no_build:
        check_built(config)
    else:
        run_build(config, clean=clean, waiting=lambda: ctx.say(
            f"Waiting for the build into {ctx.shown(config.output_dir)} that is under way…"))
    if not (config.output_dir / "index.html").is_file():
        raise DigestError("output/ holds no site", path=config.output_dir,
                          hint="run `digest build`, or publish without --no-build")


@click.command()
@click.option("--online", is_flag=True, help="Also check that every feed answers.")
@click.pass_obj
def check(ctx: Context, online: bool) -> None:
    """Check config, content, output/ (and feeds, with --online) before publishing."""
    from digest.load import load

    config = ctx.load_config()
    corpus = load(config)
    ctx.say("OK: " + ", ".join(_count(n, what) for n, what in (
        (len(config.feeds), "feed"), (len(config.topics), "topic"), (len(corpus.items), "item"),
        (len(corpus.issues), "issue file"), (len(corpus.pages), "page"))))
    _old_topics(ctx, config, corpus.items)
    problems = {"project": _project_problems(ctx, config, corpus),
                "output": _output_problems(config, corpus),
                "feeds": _feed_problems(config) if online else []}
    for line in (line for lines in problems.values() for line in lines):
        ctx.error(line)
    for kind, lines in problems.items():
        if lines:
            ctx.err.print(f"{len(lines)} {CHECK_KINDS[kind][0]}: {CHECK_KINDS[kind][1]}")
    if not problems["output"]:  # (also when the project or a feed has a problem)
        ctx.say("OK: output/ is current, and no link escapes the site or points to nothing"
                if (config.output_dir / "index.html").is_file() else "output/ is not built yet")
    if any(problems.values()):
        sys.exit(1)


# What `digest check` found, by kind: what to call it, and what to do about it.
CHECK_KINDS = {
    "project": ("problem(s) in the project", "fix the file or key named"),
    "output": ("problem(s) in output/",
               "rebuild with `digest build` (a link that escapes the site, in a theme of "
               "yours: write it with url())"),
    "feeds": ("feed(s) that do not answer",
              "check its url in digest.toml (`digest add` finds a site's feed from any of its "
              "pages) or remove it; a server that is down now is asked again on the next fetch"),
}


def _project_problems(ctx: Context, config: Config, corpus: Corpus) -> list[str]:
    """A custom domain that is not the site's host, and the issues that still hold `digest
    init`'s example introduction (a draft that does is only warned about)."""
    from digest.project.audit import placeholders

    problems = []
    if config.site.cname and config.site.urls.host != config.site.cname:
        problems.append(f"site.cname: {config.site.cname} is not the host of "
                        f"site.base_url {config.site.base_url}")
    for issue, draft in placeholders(corpus.issues):
        where = issue.relative_to(config.root) if issue.is_relative_to(config.root) else issue
        if draft:
            ctx.warn(f"{where}: the introduction is still digest init's example (a draft, so "
                     "not published): write your own, then remove `status: draft`")
        else:
            problems.append(
                f"{where}: the introduction is still digest init's example, and the issue is "
                "not a draft: write your own, or add `status: draft`")
    return problems


def _output_problems(config: Config, corpus: Corpus) -> list[str]:
    """The links of output/ that escape the site or lead nowhere, and the item pages of
    items no longer selected (none when output/ is not built)."""
    from digest.model import Urls
    from digest.project.audit import audit, stale_items
    from digest.select import select as run_select

    if not (config.output_dir / "index.html").is_file():
        return []
    chosen = {d.item.slug for d in run_select(corpus, config).decisions if d.selected}
    return [*_build_problems(config),
            *(f"output/{f.page}: {f.url}: {f.problem}"
              for f in audit(config.output_dir, config.site.urls)),
            *(f"output/{Urls.item(slug)}: stale: no such item any more"
              for slug in stale_items(config.output_dir, chosen))]


def _build_problems(config: Config) -> list[str]:
    """Whether output/ is what `digest build` makes of the project as it is now (as a
    build with nothing to do finds it): else what is wrong with it."""
    from digest.errors import DigestError
    from digest.incremental.noop import look
    from digest.incremental.outfolder import busy, check_folder
    from digest.incremental.paths import CachePaths

    try:
        if busy(CachePaths.of(config.state_dir).lock(check_folder(config, config.output_dir))):
            return ["output/: a build is writing there now: check again when it is done"]
        seen = look(config)
    except DigestError as exc:  # files no build wrote
        return [exc.format(Path.cwd())]
    seen.stamped.drop()
    manifest = seen.manifest
    if not manifest.recorded:
        return ["output/ has no record of the build that made it (.digest/cache deleted, "
                "or a new clone)"]
    if manifest.unfinished:
        return ["output/: a build stopped half-way there"]
    if manifest.drafts:
        return [f"output/ shows {manifest.drafts} draft issue(s): built by `digest serve` or "
                "`digest build --drafts`"]
    if not seen.fresh:
        return ["output/ is not known to be what `digest build` makes of the project now (it "
                "changed since, or `digest serve` or `build --drafts` built it)"]
    return []


def _feed_problems(config: Config) -> list[str]:
    """`check --online`: each feed that does not answer."""
    from digest.ingest import reachable

    return [e.format(Path.cwd()) for e in reachable(config)]


def _old_topics(ctx: Context, config: Config, items: tuple[Item, ...]) -> None:
    """Warn about item files of the old content format: whose their `topics:` are taken to
    be, and what to do."""
    from digest.content.legacy import advice

    old = [item for item in items if item.old_topics]
    for item in old:
        feed = config.feed(item.source)
        ctx.warn(advice(ctx.shown(item.path, config.root), item.topics, item.topics_origin,
                        item.source, feed.topics if feed else ()))
    if old:
        ctx.warn(f"{len(old)} item files hold `topics:` in the old content format: since "
                 "content format 2, topics are computed at build time and `topics:` is only "
                 "ever the editor's (see \"Content files\" in the README)")
