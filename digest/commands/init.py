"""`digest init`: a new project, from flags or from questions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from digest.errors import DigestError

if TYPE_CHECKING:
    from digest.commands.context import Context

Check = Callable[[str], str]


@click.command()
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
def init(ctx: Context, directory: Path, title: str | None, language: str | None,
         timezone: str | None, base_url: str | None, feeds: tuple[str, ...],
         opml: Path | None, review: bool, yes: bool, force: bool) -> None:
    """Create a new digest project in DIRECTORY."""
    from digest.project import init as project

    project.check_folder(directory, force)  # before any question
    ask = _Asker(not yes and sys.stdin.isatty())
    answers = project.Answers(
        title=ask(title, "Title", "My digest", project.check_title),
        language=ask(language, "Language (BCP 47)", "en", project.check_language),
        timezone=ask(timezone, "Time zone (IANA)", "UTC", project.check_timezone),
        base_url=ask(base_url, "Site URL", "https://example.github.io/digest/",
                     project.check_base_url),
        feeds=feeds + (project.opml_feeds(opml) if opml else ()) or _asked_feeds(ask, directory),
        review=review,
    )
    written = project.create(directory, answers, force=force)
    ctx.say(f"Created {len(written)} files in {directory}")
    ctx.say(f"Next: cd {directory} && digest fetch && digest serve")


class _Asker:
    """A value from its flag, else (on a terminal, without --yes) from a question, else its
    default."""

    def __init__(self, ask: bool) -> None:
        self.ask = ask

    def __call__(self, given: str | None, prompt: str, default: str, check: Check) -> str:
        if given is not None and self.ask:
            return check(given)  # a bad flag is said before the first question
        if given is not None or not self.ask:
            return given if given is not None else default
        return str(click.prompt(prompt, default=default, value_proc=_asked(check)))


def _asked_feeds(ask: _Asker, directory: Path) -> tuple[str, ...]:
    """The feeds typed in answer to the question (none without one)."""
    from digest.project import init as project

    def feed_list(typed: str) -> str:
        for url in (u.strip() for u in typed.split(",") if u.strip()):
            project.check_feed(url, directory)
        return typed

    typed = ask(None, "Feed URLs or files (comma-separated, may be empty)", "", feed_list)
    return tuple(u.strip() for u in typed.split(",") if u.strip())


def _asked(check: Check) -> Check:
    """A prompt's check: a failed answer is said (without the flag's name, which the user did
    not type) and asked again."""

    def proc(typed: str) -> str:
        try:
            return check(typed)
        except DigestError as exc:
            raise click.UsageError(exc.message + (f" ({exc.hint})" if exc.hint else "")
                                   ) from exc

    return proc
