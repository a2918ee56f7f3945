"""The command line: the only place that prints errors and picks exit codes.

Exit codes: 0 success; 1 partial failure (some feeds failed) or a failed build/check;
2 a usage or config error.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from rich.console import Console
from rich.markup import escape

from digest import __version__
from digest.errors import DigestError, DigestErrors

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
    """Turn DigestErrors into one line each and an exit code; tracebacks only with --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx: Context = click.get_current_context().obj
        try:
            return func(*args, **kwargs)
        except (DigestError, DigestErrors) as exc:
            if ctx.debug:
                ctx.err.print_exception()
            errors = exc.errors if isinstance(exc, DigestErrors) else [exc]
            for error in errors:
                ctx.error(error.format(relative_to=Path.cwd()))
            if len(errors) > 1:
                ctx.err.print(f"{len(errors)} problems found")
            sys.exit(exc.exit_code)
        except OSError as exc:
            if ctx.debug:
                ctx.err.print_exception()
            where = f"{exc.filename}: " if exc.filename else ""
            ctx.error(f"{where}{exc.strerror or exc}")
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="digest.toml",
              show_default=True, help="The project's configuration file.")
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
      digest serve     preview it, live, at http://127.0.0.1:8000/
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
@click.option("--base-url", help="Where the site will live, e.g. https://user.github.io/digest/.")
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
    from digest.init import Answers, create, opml_feeds

    ask = not yes and sys.stdin.isatty()

    def value(given: str | None, prompt: str, default: str) -> str:
        if given is not None:
            return given
        return str(click.prompt(prompt, default=default)) if ask else default

    answers = Answers(
        title=value(title, "Title", "My digest"),
        language=value(language, "Language (BCP 47)", "en"),
        timezone=value(timezone, "Time zone (IANA)", "UTC"),
        base_url=value(base_url, "Site URL", "https://example.github.io/digest/"),
        feeds=feeds + (opml_feeds(opml) if opml else ()) or tuple(
            u.strip() for u in value(None, "Feed URLs (comma-separated, may be empty)", "")
            .split(",") if u.strip()),
        review=review,
    )
    written = create(directory, answers, force=force)
    ctx.say(f"Created {len(written)} files in {directory}")
    ctx.say(f"Next: cd {directory} && digest fetch && digest serve")


@main.command()
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=64, show_default=True,
              help="Feeds downloaded at once; parsing uses up to this many processes, at most "
                   "one per core.")
@click.option("--feed", "only", multiple=True, help="Fetch only this feed slug (repeatable).")
@click.option("--update-config", is_flag=True,
              help="Write the new URL of a feed that moved permanently into digest.toml.")
@click.pass_obj
@reports_errors
def fetch(ctx: Context, jobs: int, only: tuple[str, ...], update_config: bool) -> None:
    """Fetch every feed; new entries become content files under content/items/."""
    from digest.errors import ConfigError, did_you_mean
    from digest.ingest import ingest
    from digest.report import FetchProgress, fetch_summary

    config = ctx.load_config()
    feeds = config.feeds
    for slug in only:
        if config.feed(slug) is None:
            raise ConfigError(f"no feed '{slug}'", key="--feed",
                              hint=did_you_mean(slug, [f.slug for f in feeds]))
    if only:
        feeds = tuple(f for f in feeds if f.slug in only)
    if not feeds:
        ctx.warn(f"{config.path.name} lists no feeds: add [[feeds]] tables, or run "
                 "`digest opml import FILE`")
    with FetchProgress(ctx.err, len(feeds), ctx.quiet, ctx.verbose) as progress:
        outcomes = ingest(config, feeds, jobs=jobs, on_done=progress.done)
    summary = fetch_summary(outcomes, Path.cwd())
    if not ctx.quiet:
        ctx.out.print(summary.table)
    for line in summary.warnings:
        ctx.warn(line)
    moved = {o.feed.url: o.moved_to for o in outcomes if o.moved_to}
    if moved and update_config:
        from digest.editconfig import replace_urls

        replace_urls(config.path, moved)
        ctx.say(f"Updated {len(moved)} feed URL(s) in {config.path.name}")
    ctx.say(summary.line)
    if summary.failed:
        sys.exit(1)


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
    from digest.report import selection_json, selection_table
    from digest.select import select
    from digest.weeks import is_week

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
@click.option("--output", type=click.Path(path_type=Path), help="Build here instead of output/.")
@click.option("--base-url", help="Override site.base_url (e.g. for a preview deploy).")
@click.option("--drafts", is_flag=True, help="Include issues marked 'status: draft'.")
@click.pass_obj
@reports_errors
def build(ctx: Context, output: Path | None, base_url: str | None, drafts: bool) -> None:
    """Build the site into output/."""
    from digest.build import build as run_build

    config = _with_base_url(ctx.load_config(), base_url)
    report = run_build(config, output=output, drafts=drafts)
    what = (f"{report.written} file{'s' if report.written != 1 else ''} changed"
            if report.written else "up to date")
    ctx.say(f"Built {report.issues} issues, {report.items} items, {report.files} files "
            f"in {report.output} ({what})")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--drafts/--no-drafts", default=True, show_default=True,
              help="Include issues marked 'status: draft'.")
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

    from digest.errors import ConfigError
    from digest.preview import Preview
    from digest.review import Desk
    from digest.serve import APP, LOOPBACK, make_server

    config = ctx.load_config()
    loopback = host in LOOPBACK
    if not loopback:
        ctx.warn(f"serving on {host}: anyone on your network can read the preview "
                 "(the editor's desk is off)")
    preview = Preview(ctx.config_path, drafts, ctx.say, ctx.error)
    preview.rebuild(set())
    observer = preview.watch(poll)  # watching before the port opens: no edit is missed
    app = Desk(config.path).handle if desk and loopback else None
    try:
        server = make_server(config.output_dir, host, port, config.site.base_path,
                             preview.status, app)
    except OSError as exc:
        observer.stop()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                          key="--port", hint="another program uses it; pick another --port"
                          ) from exc
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{server.server_address[1]}{config.site.base_path}"
    ctx.say(f"Serving {address} (Ctrl-C to stop)")
    if app is not None:
        ctx.say(f"Editor's desk: {address}{APP}")
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


@main.group()
def opml() -> None:
    """Import sources from, or export them to, an OPML file."""


@opml.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
@reports_errors
def opml_import(ctx: Context, file: Path) -> None:
    """Add the feeds of an OPML FILE to digest.toml (categories become topics)."""
    from digest.config import load_config
    from digest.editconfig import append
    from digest.opml import import_opml

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
    from digest.opml import export_opml

    sys.stdout.buffer.write(export_opml(ctx.load_config()))


@main.command()
@click.option("--remote", default="origin", show_default=True, help="The git remote to push to.")
@click.option("--branch", default="gh-pages", show_default=True, help="The branch to publish.")
@click.option("--no-build", is_flag=True, help="Publish output/ as it is.")
@click.option("--no-push", is_flag=True, help="Commit to the branch, do not push.")
@click.option("--base-url", help="Override site.base_url for the build.")
@click.pass_obj
@reports_errors
def publish(ctx: Context, remote: str, branch: str, no_build: bool, no_push: bool,
            base_url: str | None) -> None:
    """Build, then commit output/ to the gh-pages branch and push it."""
    from digest.build import build as run_build
    from digest.errors import DigestError
    from digest.publish import publish as run_publish

    config = _with_base_url(ctx.load_config(), base_url)
    if not no_build:
        run_build(config)
    if not (config.output_dir / "index.html").is_file():
        raise DigestError("output/ holds no site", path=config.output_dir,
                          hint="run `digest build`, or publish without --no-build")
    done = run_publish(config.output_dir, config.root, remote=remote, branch=branch,
                       push=not no_push, cname=config.site.cname,
                       message=f"Publish {config.site.title}")
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
    from digest.audit import audit, stale_items
    from digest.load import load
    from digest.select import select

    config = ctx.load_config()
    corpus = load(config)
    ctx.say(f"OK: {len(config.feeds)} feeds, {len(config.topics)} topics, "
            f"{len(corpus.items)} items, {len(corpus.issues)} issue files, "
            f"{len(corpus.pages)} pages")
    _old_topics(ctx, config, corpus.items)
    problems = [f"site.cname: {config.site.cname} is not the host of site.base_url "
                f"{config.site.base_url}"] if config.site.cname and \
        urlsplit(config.site.base_url).netloc != config.site.cname else []
    if (config.output_dir / "index.html").is_file():
        problems += [f"output/{f.page}: {f.url}: {f.problem}"
                     for f in audit(config.output_dir, config.site.base_url)]
        chosen = {d.item.slug for d in select(corpus, config).decisions if d.selected}
        problems += [f"output/items/{slug}/: stale: no such item any more (rebuild)"
                     for slug in stale_items(config.output_dir, chosen)]
    if online:
        from digest.ingest import reachable

        problems += [e.format(Path.cwd()) for e in reachable(config)]
    for line in problems:
        ctx.error(line)
    if problems:
        ctx.err.print(f"{len(problems)} problems (rebuild with `digest build`; in a theme, "
                      "write every link with url())")
        sys.exit(1)
    ctx.say("OK: output/ is current, and no link escapes the site or points to nothing"
            if (config.output_dir / "index.html").is_file() else "output/ is not built yet")


def _old_topics(ctx: Context, config: Any, items: Any) -> None:
    """Warn about item files of the old content format: whose their `topics:` are taken to
    be, and what to do."""
    from digest.legacy import advice

    old = [item for item in items if item.old_topics]
    for item in old:
        feed = config.feed(item.source)
        ctx.warn(advice(_shown(item.path, config.root), item.topics, item.topics_origin,
                        item.source, feed.topics if feed else ()))
    if old:
        ctx.warn(f"{len(old)} item files hold `topics:` in the old content format: since "
                 "content format 2, topics are computed at build time and `topics:` is only "
                 "ever the editor's (see \"Content files\" in the README)")


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


@main.command()
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.pass_obj
@reports_errors
def migrate(ctx: Context, dry_run: bool) -> None:
    """Remove the `topics:` an older `digest fetch` wrote into item files.

    Only where the fetch state shows that fetch wrote them; every other byte stays, and
    files where that cannot be told are listed with what to do."""
    from digest.migrate import migrate as run_migrate

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
