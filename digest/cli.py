"""The command line: the only place that prints errors and picks exit codes.

Exit codes: 0 success; 1 partial failure (some feeds failed) or a failed build/check;
2 a usage or config error.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from rich.console import Console
from rich.markup import escape

from digest import __version__
from digest.errors import DigestError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Context:
    config_path: Path
    verbose: bool
    quiet: bool
    debug: bool
    out: Console
    err: Console

    def say(self, message: str) -> None:
        if not self.quiet:
            self.out.print(message)

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            self.out.print(message)

    def warn(self, message: str) -> None:
        self.err.print(f"[yellow]warning:[/] {escape(message)}")

    def error(self, message: str) -> None:
        self.err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)

    def load_config(self) -> Any:
        from digest.config import load_config

        return load_config(self.config_path)


def _consoles() -> tuple[Console, Console]:
    no_color = bool(os.environ.get("NO_COLOR"))
    return (Console(no_color=no_color, highlight=False, soft_wrap=True),
            Console(stderr=True, no_color=no_color, highlight=False, soft_wrap=True))


def reports_errors(func: F) -> F:
    """A DigestError's problems as one line each, and its exit code; tracebacks only with
    --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx: Context = click.get_current_context().obj
        try:
            return func(*args, **kwargs)
        except DigestError as exc:
            if ctx.debug:
                ctx.err.print_exception()
            for error in exc.errors:
                ctx.error(error.format(relative_to=Path.cwd()))
            if len(exc.errors) > 1:
                ctx.err.print(f"{len(exc.errors)} problems found")
            sys.exit(exc.exit_code)
        except OSError as exc:
            if ctx.debug:
                ctx.err.print_exception()
            where = f"{exc.filename}: " if exc.filename else ""
            ctx.error(f"{where}{exc.strerror or exc}")
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _set_global(click_ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """An option of every command given after the command (`digest build -q`): it updates the
    Context made from the options before it; a value given here wins."""
    if value is None or value is False:
        return
    names = {"config_path": "config_path", "verbose": "verbose", "quiet": "quiet",
             "debug": "debug"}
    click_ctx.obj = replace(click_ctx.obj, **{names[str(param.name)]: value})


def global_options(func: F) -> F:
    """The options of `digest` itself, accepted after any command too (as MkDocs and Hugo
    accept them): `-c/--config`, `-v/--verbose`, `-q/--quiet`, `--debug`."""
    options = [
        click.option("-c", "--config", "config_path", type=click.Path(path_type=Path),
                     expose_value=False, callback=_set_global,
                     help="The project's configuration file (default: digest.toml)."),
        click.option("-v", "--verbose", is_flag=True, default=None, expose_value=False,
                     callback=_set_global, help="Say more about what happens."),
        click.option("-q", "--quiet", is_flag=True, default=None, expose_value=False,
                     callback=_set_global, help="Print only warnings and errors."),
        click.option("--debug", is_flag=True, default=None, expose_value=False,
                     callback=_set_global, help="Show tracebacks for errors."),
    ]
    if isinstance(func, click.Command):  # a command already made: options go to its end
        for option in options:
            option(func)
        return func
    for option in reversed(options):
        func = option(func)
    return func


class _Digest(click.Group):
    """The `digest` group: every command takes the global options; the help shows the
    preview's real address when run in a project."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not isinstance(cmd, click.Group):
            global_options(cmd)
        super().add_command(cmd, name)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        text = self.help or ""
        try:
            self.help = text.replace(PREVIEW, preview_address(Path("digest.toml")))
            super().format_help_text(ctx, formatter)
        finally:
            self.help = text


PREVIEW = "http://127.0.0.1:8000/<site path>/"


def preview_address(config_path: Path) -> str:
    """Where `digest serve` shows the site of this digest.toml (by default)."""
    from digest.config import load_config

    try:
        return f"http://127.0.0.1:8000{load_config(config_path).site.base_path}"
    except (DigestError, OSError):
        return PREVIEW


@click.group(cls=_Digest, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path),
              default="digest.toml", show_default=True,
              help="The project's configuration file.")
@click.option("-v", "--verbose", is_flag=True, help="Say more about what happens.")
@click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, "--version", prog_name="digest")
@click.pass_context
def main(click_ctx: click.Context, config_path: Path, verbose: bool, quiet: bool,
         debug: bool) -> None:
    """digest: a weekly digest of feeds, curated by you, published as a static site.

    \b
    The weekly routine:
      digest fetch     new feed entries become files under content/
      digest select    what goes into this week's issue, and why
      digest serve     preview it, live, at http://127.0.0.1:8000/<site path>/
      digest build     content/ becomes the site in output/
      digest publish   output/ goes to the gh-pages branch
    Start a new digest with `digest init DIR`; `digest check` before publishing.
    """
    out, err = _consoles()
    click_ctx.obj = Context(config_path, verbose, quiet, debug, out, err)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--title", help="The digest's title.")
@click.option("--language", help="BCP 47 language of the site, e.g. ru or en.")
@click.option("--timezone", help="IANA time zone, e.g. Europe/Moscow.")
@click.option("-b", "--base-url",
              help="Where the site will live, e.g. https://user.github.io/digest/.")
@click.option("--feed", "feeds", multiple=True, help="A feed URL (repeatable).")
@click.option("--opml", type=click.Path(path_type=Path, dir_okay=False),
              help="Take the first feeds from an OPML subscription list.")
@click.option("--review", is_flag=True,
              help="The weekly workflow opens a pull request instead of publishing.")
@click.option("-y", "--yes", is_flag=True, help="Ask nothing; use the flags and defaults.")
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
@click.pass_obj
@reports_errors
def init(ctx: Context, directory: Path, title: str | None, language: str | None,
         timezone: str | None, base_url: str | None, feeds: tuple[str, ...],
         opml: Path | None, review: bool, yes: bool, force: bool) -> None:
    """Create a new digest project in DIRECTORY."""
    from digest.project import init as project

    project.check_folder(directory, force)  # before any question
    ask = not yes and sys.stdin.isatty()

    def value(given: str | None, prompt: str, default: str, check: Callable[[str], str]
              ) -> str:
        if given is not None and ask:
            return check(given)  # a bad flag is said before the first question
        if given is not None or not ask:
            return given if given is not None else default
        return str(click.prompt(prompt, default=default, value_proc=_asked(check)))

    def feed_list(typed: str) -> str:
        for url in (u.strip() for u in typed.split(",") if u.strip()):
            project.check_feed(url, directory)
        return typed

    answers = project.Answers(
        title=value(title, "Title", "My digest", project.check_title),
        language=value(language, "Language (BCP 47)", "en", project.check_language),
        timezone=value(timezone, "Time zone (IANA)", "UTC", project.check_timezone),
        base_url=value(base_url, "Site URL", "https://example.github.io/digest/",
                       project.check_base_url),
        feeds=feeds + (project.opml_feeds(opml) if opml else ()) or tuple(
            u.strip() for u in value(None, "Feed URLs or files (comma-separated, may be empty)",
                                     "", feed_list).split(",") if u.strip()),
        review=review,
    )
    written = project.create(directory, answers, force=force)
    ctx.say(f"Created {len(written)} files in {directory}")
    ctx.say(f"Next: cd {directory} && digest fetch && digest serve")


@main.command()
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=64, show_default=True,
              help="Feeds downloaded at once; parsing uses up to this many processes, at most "
                   "one per core.")
@click.option("--feed", "only", multiple=True, help="Fetch only this feed slug (repeatable).")
@click.option("--update-config", is_flag=True,
              help="Write the new URL of a feed that moved permanently into digest.toml.")
@click.option("--force", is_flag=True,
              help="Ask feeds that are waiting (a 429/503 answer) anyway.")
@click.option("--reprocess", is_flag=True,
              help="Download nothing: apply the feeds' cleanup rules (remove, replace) again "
                   "to stored items whose files nobody edited.")
@click.pass_obj
@reports_errors
def fetch(ctx: Context, jobs: int, only: tuple[str, ...], update_config: bool,
          force: bool, reprocess: bool) -> None:
    """Fetch every feed; new entries become content files under content/items/."""
    from datetime import UTC, datetime

    from digest.errors import ConfigError, did_you_mean
    from digest.ingest import ingest
    from digest.system.report import FetchProgress, fetch_summary

    config = ctx.load_config()
    feeds = config.feeds
    for slug in only:
        if config.feed(slug) is None:
            raise ConfigError(f"no feed '{slug}'", key="--feed",
                              hint=did_you_mean(slug, [f.slug for f in feeds]))
    if only:
        feeds = tuple(f for f in feeds if f.slug in only)
    if reprocess:
        for flag, given in (("--force", force), ("--update-config", update_config)):
            if given:
                raise ConfigError(f"{flag} does nothing with --reprocess", key=flag,
                                  hint="--reprocess downloads nothing: drop one of them")
        _reprocess(ctx, config, feeds)
        return
    if not feeds:
        ctx.warn(f"{config.path.name} lists no feeds: add [[feeds]] tables, or run "
                 "`digest opml import FILE`")
    with FetchProgress(ctx.err, len(feeds), ctx.quiet, ctx.verbose) as progress:
        outcomes = ingest(config, feeds, jobs=jobs, on_done=progress.done, force=force)
    summary = fetch_summary(outcomes, Path.cwd(), config.site.timezone, datetime.now(UTC))
    if not ctx.quiet:
        ctx.out.print(summary.table)
    for line in summary.warnings:
        ctx.warn(line)
    if config.site.images == "mirror":
        _mirror(ctx, config, [p for o in outcomes if o.report is not None
                              for p in (*o.report.new, *o.report.updated)])
    moved = {o.feed.url: o.moved_to for o in outcomes if o.moved_to}
    if moved and update_config:
        from digest.project.editconfig import replace_urls

        replace_urls(config.path, moved)
        ctx.say(f"Updated {len(moved)} feed URL(s) in {config.path.name}")
    ctx.say(summary.line)
    if summary.failed:
        sys.exit(1)


def _reprocess(ctx: Context, config: Any, feeds: Any) -> None:
    """`fetch --reprocess`: the cleanup rules applied again; counts, and each file left."""
    from digest.ingest import reprocess

    reports = reprocess(config, feeds)
    rewritten = sum(len(r.rewritten) for r in reports.values())
    unchanged = sum(r.unchanged for r in reports.values())
    for slug, report in reports.items():
        for path in report.rewritten:
            ctx.detail(f"  ~ {_shown(path)}")
        for path in report.edited:
            ctx.say(f"  skipped (edited by a person): {_shown(path)}")
        for path in report.unstable:
            ctx.warn(f"{_shown(path)}: left as it is: a replace rule of feeds.{slug} would "
                     "change its own result again (make its pattern not match its `with`)")
    edited = sum(len(r.edited) for r in reports.values())
    unstable = sum(len(r.unstable) for r in reports.values())
    line = (f"Reprocessed {rewritten + unchanged + edited + unstable} stored items: "
            f"{rewritten} rewritten, {unchanged} unchanged, {edited} skipped (edited by a "
            "person)")
    ctx.say(line + (f", {unstable} left (unstable rules)" if unstable else ""))


def _shown(path: Path, root: Path | None = None) -> str:
    """A path as the user reads it: relative to `root` (default: the current folder)."""
    try:
        return path.resolve().relative_to((root or Path.cwd()).resolve()).as_posix()
    except ValueError:
        return str(path)


def _mirror(ctx: Context, config: Any, stored: list[Path]) -> None:
    """[site] images = "mirror": copy the new items' images; one warning per image kept
    remote."""
    from digest.mirror import mirror

    report = mirror(config, stored)
    for url, why in report.failed:
        ctx.warn(f"image kept remote: {url}: {why}")
    if report.mirrored or report.failed:
        ctx.say(f"Mirrored {report.mirrored} image(s) into content/media/"
                + (f"; {len(report.failed)} kept remote" if report.failed else ""))


@main.command()
@click.argument("url")
@click.option("-t", "--topic", "topics", multiple=True,
              help="A topic of digest.toml for the feed's items (repeatable).")
@click.option("-s", "--slug", help="The feed's slug (default: from its title).")
@click.pass_obj
@reports_errors
def add(ctx: Context, url: str, topics: tuple[str, ...], slug: str | None) -> None:
    """Add a source: a feed's URL, or a site's page that advertises its feed.

    \b
    Examples:
      digest add https://www.lesswrong.com/
      digest add https://example.org/feed.xml --topic news --slug example
    """
    from digest.project.add import add_feed

    added = add_feed(ctx.load_config(), url, tuple(topics), slug)
    ctx.say(f"Added feed '{added.slug}' ({added.title}): {added.url}")
    if added.others:
        ctx.say("The page also offers: " + ", ".join(added.others))
    ctx.say("Next: `digest fetch`")


@main.command("select")
@click.option("--issue", "week", metavar="YYYY-Www", help="The issue's week (default: the latest).")
@click.option("--explain", is_flag=True, help="Every candidate, with why it is in or out.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_obj
@reports_errors
def select_command(ctx: Context, week: str | None, explain: bool, fmt: str) -> None:
    """Show what goes into an issue, and why."""
    from digest.errors import ConfigError
    from digest.load import load
    from digest.select import select
    from digest.system.report import selection_json, selection_table
    from digest.text.weeks import is_week

    config = ctx.load_config()
    selection = select(load(config), config)
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


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Build here instead of output/.")
@click.option("-b", "--base-url", help="Override site.base_url (e.g. for a preview deploy).")
@click.option("--drafts", is_flag=True, help="Include issues marked 'status: draft'.")
@click.option("--clean", is_flag=True,
              help="Delete the files in the output folder that no build of this digest wrote.")
@click.pass_obj
@reports_errors
def build(ctx: Context, output: Path | None, base_url: str | None, drafts: bool,
          clean: bool) -> None:
    """Build the site into output/.

    The output folder is the build's alone: never the project folder, a folder holding a
    project or above it, the root or your home folder; files in it that no build of this
    digest wrote stop the build (unless --clean)."""
    from digest.build import build as run_build

    config = _with_base_url(ctx.load_config(), base_url)
    report = run_build(config, output=output, drafts=drafts, clean=clean)
    what = (f"{report.written} file{'s' if report.written != 1 else ''} changed"
            if report.written else "up to date")
    ctx.say(f"Built {_count(report.issues, 'issue')}, {_count(report.items, 'item')}, "
            f"{_count(report.files, 'file')} in {report.output} ({what})")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="0 picks a free port.")
@click.option("--drafts/--no-drafts", default=True, show_default=True,
              help="Show issues marked 'status: draft' (the published site never does).")
@click.option("--poll", is_flag=True, help="Poll for changes (network or VM file systems).")
@click.option("--desk/--no-desk", default=True, show_default=True,
              help="The editor's desk at <site path>_review/ (loopback only).")
@click.pass_obj
@reports_errors
def serve(ctx: Context, host: str, port: int, drafts: bool, poll: bool, desk: bool) -> None:
    """Build, serve output/, and rebuild and reload the browser on every edit.

    The editor's desk, at <site path>_review/, reviews a week's candidates in the browser and
    writes each decision into the item's front matter (the preview then rebuilds)."""
    import threading

    from digest.desk.review import Desk
    from digest.preview.loop import Preview
    from digest.preview.serve import APP, LOOPBACK, make_server

    config = ctx.load_config()
    loopback = host in LOOPBACK
    preview = Preview(ctx.config_path, drafts, ctx.say, ctx.error)
    app = Desk(config.path).handle if desk and loopback else None
    # The port first: a busy one refuses the command before it builds anything. Connections
    # are accepted once the site is built and watched: an open port means a ready preview.
    try:
        server = make_server(config.output_dir, host, port, config.site.base_path,
                             preview.status, app, listen=False)
    except OSError as exc:
        raise _cannot_listen(host, port, exc) from exc
    if not loopback:
        ctx.warn(f"serving on {host}: anyone on your network can read the preview "
                 "(the editor's desk is off)")
    preview.rebuild(set(), strict=True)  # a refused output folder stops here, exit 2
    observer = preview.watch(poll)  # watching before the port opens: no edit is missed
    try:
        server.server_activate()
    except OSError as exc:
        observer.stop()
        raise _cannot_listen(host, port, exc) from exc
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{server.server_address[1]}{config.site.base_path}"
    ctx.say(f"Serving {address} (Ctrl-C to stop)")
    if app is not None:
        ctx.say(f"Editor's desk: {address}{APP}")
    ctx.say("Draft issues are shown (--no-drafts hides them)" if drafts
            else "Draft issues are hidden, as on the published site")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        ctx.say("Stopped.")
    finally:
        observer.stop()
        server.shutdown()
        server.server_close()


def _cannot_listen(host: str, port: int, exc: OSError) -> DigestError:
    """Why `serve` cannot open host:port, naming the option to change."""
    import errno
    import socket

    from digest.errors import ConfigError

    message = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return ConfigError(message, key="--host",
                           hint="use an address of this machine, e.g. 127.0.0.1")
    if exc.errno == errno.EACCES:
        return ConfigError(message, key="--port",
                           hint="ports below 1024 need privileges; pick another --port")
    return ConfigError(message, key="--port",
                       hint="another program uses it; pick another --port")


@main.group(cls=_Digest)
def opml() -> None:
    """Import sources from, or export them to, an OPML file."""


@opml.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
@reports_errors
def opml_import(ctx: Context, file: Path) -> None:
    """Add the feeds of an OPML FILE to digest.toml (categories become topics)."""
    from digest.config import load_config
    from digest.project.editconfig import append
    from digest.project.opml import import_opml

    config = ctx.load_config()
    imported = import_opml(file, config)
    if imported.feeds:
        append(config.path, imported.block)
        load_config(config.path)  # what we wrote must be valid
    ctx.say(f"Added {imported.feeds} feeds and {imported.topics} topics to "
            f"{config.path.name}; skipped {imported.skipped} already there")


@opml.command("export")
@click.pass_obj
@reports_errors
def opml_export(ctx: Context) -> None:
    """Print the feeds of digest.toml as OPML."""
    from digest.project.opml import export_opml

    sys.stdout.buffer.write(export_opml(ctx.load_config()))


@main.command()
@click.option("--remote", default="origin", show_default=True, help="The git remote to push to.")
@click.option("--branch", default="gh-pages", show_default=True, help="The branch to publish.")
@click.option("--no-build", is_flag=True, help="Publish output/ as it is.")
@click.option("--no-push", is_flag=True, help="Commit to the branch, do not push.")
@click.option("-b", "--base-url", help="Override site.base_url for the build.")
@click.option("-m", "--message", help="The commit message (default: \"Publish <site title>\").")
@click.option("--clean", is_flag=True,
              help="Let the build delete the files in output/ that no build wrote.")
@click.pass_obj
@reports_errors
def publish(ctx: Context, remote: str, branch: str, no_build: bool, no_push: bool,
            base_url: str | None, message: str | None, clean: bool) -> None:
    """Build, then commit output/ to the gh-pages branch and push it.

    output/ is published only if it holds nothing but what a build of this digest wrote."""
    from digest.build import build as run_build
    from digest.build import check_built
    from digest.errors import ConfigError, DigestError
    from digest.project.publish import preflight
    from digest.project.publish import publish as run_publish

    config = _with_base_url(ctx.load_config(), base_url)
    if no_build and clean:
        raise ConfigError("--clean needs a build", key="--clean",
                          hint="leave out --no-build, or run `digest build --clean` first")
    preflight(config.root, remote=remote, push=not no_push)
    if no_build:
        check_built(config)
    else:
        run_build(config, clean=clean)
    if not (config.output_dir / "index.html").is_file():
        raise DigestError("output/ holds no site", path=config.output_dir,
                          hint="run `digest build`, or publish without --no-build")
    done = run_publish(config.output_dir, config.root, remote=remote, branch=branch,
                       push=not no_push, cname=config.site.cname,
                       message=message or f"Publish {config.site.title}")
    if done.commit is None:
        ctx.say(f"{branch} is up to date: nothing changed, no commit")
    else:
        ctx.say(f"Committed output/ to {branch} ({done.commit[:10]})")
    if done.pushed:
        ctx.say(f"Pushed {branch} to {remote}")


@main.command()
@click.option("--online", is_flag=True, help="Also check that every feed answers.")
@click.pass_obj
@reports_errors
def check(ctx: Context, online: bool) -> None:
    """Check config, content, output/ (and feeds, with --online) before publishing."""
    from digest.load import load
    from digest.project.audit import audit, placeholders, stale_items
    from digest.select import select

    config = ctx.load_config()
    corpus = load(config)
    ctx.say(f"OK: {len(config.feeds)} feeds, {len(config.topics)} topics, "
            f"{len(corpus.items)} items, {len(corpus.issues)} issue files, "
            f"{len(corpus.pages)} pages")
    _old_topics(ctx, config, corpus.items)
    problems: dict[str, list[str]] = {"project": [], "output": [], "feeds": []}
    if config.site.cname and urlsplit(config.site.base_url).netloc != config.site.cname:
        problems["project"].append(f"site.cname: {config.site.cname} is not the host of "
                                   f"site.base_url {config.site.base_url}")
    for issue, draft in placeholders(corpus.issues):
        where = issue.relative_to(config.root) if issue.is_relative_to(config.root) else issue
        if draft:
            ctx.warn(f"{where}: the introduction is still digest init's example (a draft, so "
                     "not published): write your own, then remove `status: draft`")
        else:
            problems["project"].append(
                f"{where}: the introduction is still digest init's example, and the issue is "
                "not a draft: write your own, or add `status: draft`")
    if (config.output_dir / "index.html").is_file():
        problems["output"] += [f"output/{f.page}: {f.url}: {f.problem}"
                               for f in audit(config.output_dir, config.site.base_url)]
        chosen = {d.item.slug for d in select(corpus, config).decisions if d.selected}
        problems["output"] += [f"output/items/{slug}/: stale: no such item any more"
                               for slug in stale_items(config.output_dir, chosen)]
    if online:
        from digest.ingest import reachable

        problems["feeds"] += [e.format(Path.cwd()) for e in reachable(config)]
    for line in (line for lines in problems.values() for line in lines):
        ctx.error(line)
    for kind, lines in problems.items():
        if lines:
            ctx.err.print(f"{len(lines)} {CHECK_KINDS[kind][0]}: {CHECK_KINDS[kind][1]}")
    if any(problems.values()):
        sys.exit(1)
    ctx.say("OK: output/ is current, and no link escapes the site or points to nothing"
            if (config.output_dir / "index.html").is_file() else "output/ is not built yet")


# What `digest check` found, by kind: what to call it, and what to do about it.
CHECK_KINDS = {
    "project": ("problem(s) in the project", "fix the file or key named"),
    "output": ("problem(s) in output/",
               "rebuild with `digest build`; in a theme, write every link with url()"),
    "feeds": ("feed(s) that do not answer",
              "check its url in digest.toml (`digest add` finds a site's feed from any of its "
              "pages) or remove it; a server that is down now is asked again on the next fetch"),
}


def _asked(check: Callable[[str], str]) -> Callable[[str], str]:
    """A prompt's check: a failed answer is said (without the flag's name, which the user did
    not type) and asked again."""

    def proc(typed: str) -> str:
        try:
            return check(typed)
        except DigestError as exc:
            raise click.UsageError(exc.message + (f" ({exc.hint})" if exc.hint else "")
                                   ) from exc

    return proc


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _old_topics(ctx: Context, config: Any, items: Any) -> None:
    """Warn about item files of the old content format: whose their `topics:` are taken to
    be, and what to do."""
    from digest.content.legacy import advice

    old = [item for item in items if item.old_topics]
    for item in old:
        feed = config.feed(item.source)
        ctx.warn(advice(_shown(item.path, config.root), item.topics, item.topics_origin,
                        item.source, feed.topics if feed else ()))
    if old:
        ctx.warn(f"{len(old)} item files hold `topics:` in the old content format: since "
                 "content format 2, topics are computed at build time and `topics:` is only "
                 "ever the editor's (see \"Content files\" in the README)")


@main.command()
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.pass_obj
@reports_errors
def migrate(ctx: Context, dry_run: bool) -> None:
    """Remove the `topics:` an older `digest fetch` wrote into item files.

    Only where the fetch state shows that fetch wrote them; every other byte stays, and
    files where that cannot be told are listed with what to do."""
    from digest.project.migrate import migrate as run_migrate

    config = ctx.load_config()
    done = run_migrate(config, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for path, topics in done.changed:
        ctx.say(escape(f"{_shown(path, config.root)}: {verb} topics: [{', '.join(topics)}] "
                       "(written by an older fetch)"))
    for line in done.left:
        ctx.warn(line)
    for name in done.unreadable:
        ctx.warn(f"{name}: does not parse, not migrated: `digest check` says why")
    files = f"{len(done.changed)} file{'s' if len(done.changed) != 1 else ''}"
    ctx.say(f"{'Would migrate' if dry_run else 'Migrated'} {files}; "
            f"{len(done.left)} old files left for you (listed above)" if done.left else
            f"{'Would migrate' if dry_run else 'Migrated'} {files}; no old files left")


def _with_base_url(config: Any, base_url: str | None) -> Any:
    if base_url is None:
        return config
    from dataclasses import replace
    from urllib.parse import urlsplit

    from digest.errors import ConfigError

    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"'{base_url}' is not an http(s) URL", key="--base-url",
                          hint="e.g. https://user.github.io/my-digest/")
    fixed = base_url if base_url.endswith("/") else base_url + "/"
    return replace(config, site=replace(config.site, base_url=fixed))
