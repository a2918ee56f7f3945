"""The command line: the only place that prints errors and picks exit codes.

The `digest` group, its global options and the Context every command gets live here; the
commands themselves live in digest/commands/, one module per group of commands, and are
registered below. Every command raises DigestError for what the user can fix: this module
turns it into one line per problem and an exit code.

Exit codes: 0 success; 1 partial failure (some feeds failed) or a failed build/check, or
a command stopped by Ctrl-C or SIGTERM (`serve`, after its first build: 0); 2 a usage or
config error.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import ParamSpec, TypeVar

import click

from digest import __version__
from digest.commands import building, fetching, init, serving
from digest.commands.context import Context
from digest.errors import DigestError, os_error

P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """A DigestError's problems as one line each, and its exit code; tracebacks only with
    --debug."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx: Context = click.get_current_context().obj
        try:
            return func(*args, **kwargs)
        except DigestError as exc:
            _report(ctx, exc)
            sys.exit(exc.exit_code)
        except OSError as exc:
            _report(ctx, os_error(exc))  # (with --debug, the traceback)
            sys.exit(1)

    return wrapper


def _report(ctx: Context, exc: DigestError) -> None:
    if ctx.debug:
        ctx.err.print_exception()
    for error in exc.errors:
        ctx.error(error.format(relative_to=Path.cwd()))
    if len(exc.errors) > 1:
        ctx.err.print(f"{len(exc.errors)} problems found")


def _set_global(click_ctx: click.Context, param: click.Parameter, value: object) -> None:
    """An option of every command given after the command (`digest build -q`): it updates the
    Context made from the options before it; a value given here wins."""
    if value is None or value is False:
        return
    click_ctx.obj = replace(click_ctx.obj, **{str(param.name): value})


GLOBAL_OPTIONS = [
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


def _prepare(command: click.Command) -> None:
    """A command of `digest` (or of one of its groups): it takes the options of `digest`
    itself after its own (as MkDocs and Hugo accept them: `-c/--config`, `-v/--verbose`,
    `-q/--quiet`, `--debug`), and its errors are reported here."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _prepare(sub)
        return
    for option in GLOBAL_OPTIONS:
        option(command)
    if command.callback is not None:
        command.callback = reports_errors(command.callback)


class _Digest(click.Group):
    """The `digest` group: every command takes the global options and has its errors
    reported; the help shows the preview's real address when run in a project."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _prepare(cmd)
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
        return load_config(config_path).site.urls.served("127.0.0.1", 8000)
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
    click_ctx.obj = Context(config_path, verbose, quiet, debug,
                            no_color=bool(os.environ.get("NO_COLOR")))


for _command in (init.init,
                 fetching.fetch, fetching.add, fetching.opml, fetching.migrate,
                 building.select, building.build, building.publish, building.check,
                 serving.serve):
    main.add_command(_command)


def run() -> None:
    """The program (`digest`, `python -m digest`): `main`, with SIGTERM taken as Ctrl-C,
    then a quick exit.

    `kill PID` (a CI job cancelled, a service stopped) ends a command as Ctrl-C does: what
    it was writing is left whole or not at all, its temporary folders are removed, and the
    processes it started end with it (`serve` stops its search index's Pagefind). Worker
    processes forked from it end at once on SIGTERM, as before.

    A build's process holds its site to the end, and the interpreter would free it object
    by object before exiting: 0.2 s at 10,000 items, 0.7 s at 50,000, that the operating
    system does at once. So once `main` is done, what an exit does for others is done here
    (the exit functions run, the output is flushed) and the process ends without freeing
    its objects. Whatever else, an exception (a traceback), an exit that is not a number,
    threads still running, ends the usual way."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, functools.partial(_terminated, os.getpid()))
        os.register_at_fork(after_in_child=_default_sigterm)
    try:
        main()
        code: int = 0
    except SystemExit as exc:
        if not (exc.code is None or isinstance(exc.code, int)) or threading.active_count() > 1:
            raise
        code = exc.code or 0
    finally:
        _default_sigterm()  # the command is over: what is left to do is not interrupted
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone (`digest build | head -1`), or closed
            code = code or 120  # as Python's own exit says it
    os._exit(code)


def _terminated(main_pid: int, signum: int, frame: FrameType | None) -> None:
    """SIGTERM: in the command's process, what Ctrl-C does now (KeyboardInterrupt; in
    `fetch`'s event loop, asyncio's own handler, which cancels it properly); in a process
    forked from it (which `_default_sigterm` did not reach), the end."""
    if os.getpid() != main_pid:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    ctrl_c = signal.getsignal(signal.SIGINT)
    if callable(ctrl_c):
        ctrl_c(signal.SIGINT, frame)
        return
    raise KeyboardInterrupt  # Ctrl-C ignored (a background job): SIGTERM still ends it


def _default_sigterm() -> None:
    """SIGTERM ends the process at once again (a forked worker, as before `run`)."""
    with contextlib.suppress(ValueError):  # not the main thread: `_terminated` sees to it
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
