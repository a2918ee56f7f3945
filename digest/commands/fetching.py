"""The commands that bring sources and items in: fetch, add, opml import/export, migrate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from digest.commands.context import Context
    from digest.config import Config, FeedConfig
    from digest.ingest import FeedOutcome
    from digest.store import ReprocessReport

Feeds = tuple["FeedConfig", ...]


@click.command()
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
def fetch(ctx: Context, jobs: int, only: tuple[str, ...], update_config: bool,
          force: bool, reprocess: bool) -> None:
    """Fetch every feed; new entries become content files under content/items/."""
    from datetime import UTC, datetime

    from digest.system.report import fetch_summary

    config = ctx.load_config()
    feeds = _chosen(config, only)
    if reprocess:
        _downloads_nothing(force=force, update_config=update_config)
        _reprocess(ctx, config, feeds)
        return
    outcomes = _ingest(ctx, config, feeds, jobs, force)
    summary = fetch_summary(outcomes, Path.cwd(), config.site.timezone, datetime.now(UTC))
    if not ctx.quiet:
        ctx.out.print(summary.table)
    for line in summary.warnings:
        ctx.warn(line)
    if config.site.images == "mirror":
        _mirror(ctx, config, [p for o in outcomes if o.report is not None
                              for p in (*o.report.new, *o.report.updated)])
    if update_config:
        _update_urls(ctx, config, outcomes)
    ctx.say(summary.line)
    if summary.failed:
        sys.exit(1)


def _chosen(config: Config, only: tuple[str, ...]) -> Feeds:
    """The feeds `--feed` names (all without it); an unknown slug is refused."""
    from digest.errors import ConfigError, did_you_mean

    for slug in only:
        if config.feed(slug) is None:
            raise ConfigError(f"no feed '{slug}'", key="--feed",
                              hint=did_you_mean(slug, [f.slug for f in config.feeds]))
    return tuple(f for f in config.feeds if f.slug in only) if only else config.feeds


def _downloads_nothing(*, force: bool, update_config: bool) -> None:
    """Refuse the flags that only mean something when fetch downloads."""
    from digest.errors import ConfigError

    for flag, given in (("--force", force), ("--update-config", update_config)):
        if given:
            raise ConfigError(f"{flag} does nothing with --reprocess", key=flag,
                              hint="--reprocess downloads nothing: drop one of them")


def _ingest(ctx: Context, config: Config, feeds: Feeds, jobs: int, force: bool
            ) -> tuple[FeedOutcome, ...]:
    """Fetch, parse and store each feed, showing the progress."""
    from digest.ingest import ingest
    from digest.system.report import FetchProgress

    if not feeds:
        ctx.warn(f"{config.path.name} lists no feeds: add [[feeds]] tables, or run "
                 "`digest opml import FILE`")
    with FetchProgress(ctx.err, len(feeds), ctx.quiet, ctx.verbose) as progress:
        return ingest(config, feeds, jobs=jobs, on_done=progress.done, force=force)


def _update_urls(ctx: Context, config: Config, outcomes: tuple[FeedOutcome, ...]
                 ) -> None:
    """--update-config: the new URL of each feed that moved permanently, into digest.toml."""
    from digest.project.editconfig import replace_urls

    moved = {o.feed.url: o.moved_to for o in outcomes if o.moved_to}
    if moved:
        replace_urls(config.path, moved)
        ctx.say(f"Updated {len(moved)} feed URL(s) in {config.path.name}")


def _reprocess(ctx: Context, config: Config, feeds: Feeds) -> None:
    """`fetch --reprocess`: the cleanup rules applied again; counts, and each file left."""
    from digest.ingest import reprocess

    reports = reprocess(config, feeds)
    for slug, report in reports.items():
        for path in report.rewritten:
            ctx.detail(f"  ~ {ctx.shown(path)}")
        for path in report.edited:
            ctx.say(f"  skipped (edited by a person): {ctx.shown(path)}")
        for path in report.unstable:
            ctx.warn(f"{ctx.shown(path)}: left as it is: a replace rule of feeds.{slug} would "
                     "change its own result again (make its pattern not match its `with`)")
    ctx.say(_reprocessed(list(reports.values())))


def _reprocessed(reports: list[ReprocessReport]) -> str:
    """The line that counts what `fetch --reprocess` did."""
    rewritten = sum(len(r.rewritten) for r in reports)
    unchanged = sum(r.unchanged for r in reports)
    edited = sum(len(r.edited) for r in reports)
    unstable = sum(len(r.unstable) for r in reports)
    line = (f"Reprocessed {rewritten + unchanged + edited + unstable} stored items: "
            f"{rewritten} rewritten, {unchanged} unchanged, {edited} skipped (edited by a "
            "person)")
    return line + (f", {unstable} left (unstable rules)" if unstable else "")


def _mirror(ctx: Context, config: Config, stored: list[Path]) -> None:
    """[site] images = "mirror": copy the new items' images; one warning per image kept
    remote."""
    from digest.mirror import mirror

    report = mirror(config, stored)
    for url, why in report.failed:
        ctx.warn(f"image kept remote: {url}: {why}")
    if report.mirrored or report.failed:
        ctx.say(f"Mirrored {report.mirrored} image(s) into content/media/"
                + (f"; {len(report.failed)} kept remote" if report.failed else ""))


@click.command()
@click.argument("url")
@click.option("-t", "--topic", "topics", multiple=True,
              help="A topic of digest.toml for the feed's items (repeatable).")
@click.option("-s", "--slug", help="The feed's slug (default: from its title).")
@click.pass_obj
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


@click.group()
def opml() -> None:
    """Import sources from, or export them to, an OPML file."""


@opml.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
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
    for url in imported.not_web:
        ctx.warn(f"{file}: skipped {url or 'a feed with no address'}: not an http(s) address "
                 f"(a feed file of another project? add it to {config.path.name} by hand)")
    ctx.say(f"Added {imported.feeds} feeds and {imported.topics} topics to "
            f"{config.path.name}; skipped {imported.skipped} already there")


@opml.command("export")
@click.pass_obj
def opml_export(ctx: Context) -> None:
    """Print the feeds of digest.toml as OPML."""
    from digest.project.opml import export_opml

    sys.stdout.buffer.write(export_opml(ctx.load_config()))


@click.command()
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.pass_obj
def migrate(ctx: Context, dry_run: bool) -> None:
    """Remove the `topics:` an older `digest fetch` wrote into item files.

    Only where the fetch state shows that fetch wrote them; every other byte stays, and
    files where that cannot be told are listed with what to do."""
    from digest.project.migrate import migrate as run_migrate

    config = ctx.load_config()
    done = run_migrate(config, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for path, topics in done.changed:
        ctx.say(f"{ctx.shown(path, config.root)}: {verb} topics: "
                f"[{', '.join(topics)}] (written by an older fetch)")
    for line in done.left:
        ctx.warn(line)
    for name in done.unreadable:
        ctx.warn(f"{name}: cannot be read as a content file, not migrated: `digest check` says "
                 "why")
    files = f"{len(done.changed)} file{'s' if len(done.changed) != 1 else ''}"
    what = f"{'Would migrate' if dry_run else 'Migrated'} {files}"
    ctx.say(f"{what}; {len(done.left)} old files left for you (listed above)" if done.left
            else f"{what}; no old files left")
