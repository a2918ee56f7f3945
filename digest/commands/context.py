"""The Context every command gets: the global options, where to say things, and the
project's configuration, loaded on demand. The consoles are made (and rich imported) for
tables, warnings and errors only: a line said is written as it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console

    from digest.config import Config


# C0 and C1 control characters but tab and line feed, and DEL
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Context:
    """What every command gets: the global options, and where to say things."""

    config_path: Path
    verbose: bool
    quiet: bool
    debug: bool
    no_color: bool = False

    @cached_property
    def out(self) -> Console:
        """Standard output."""
        from rich.console import Console

        return Console(no_color=self.no_color, highlight=False, soft_wrap=True)

    @cached_property
    def err(self) -> Console:
        """Standard error: warnings and errors."""
        from rich.console import Console

        return Console(stderr=True, no_color=self.no_color, highlight=False, soft_wrap=True)

    def say(self, message: str) -> None:
        """One line to standard output, as it is: no markup, no emoji codes (a path or a
        feed's title may hold brackets or colons), and rich not imported for it; control
        characters are left out (a feed's title must not move the cursor or clear a line)."""
        if not self.quiet:
            click.echo(_CONTROL.sub("", message))

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            click.echo(_CONTROL.sub("", message))

    def warn(self, message: str) -> None:
        from rich.markup import escape

        self.err.print(f"[yellow]warning:[/] {escape(message)}")

    def error(self, message: str) -> None:
        from rich.markup import escape

        self.err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)

    def load_config(self) -> Config:
        from digest.config import load_config

        return load_config(self.config_path)

    def shown(self, path: Path, root: Path | None = None) -> str:
        """A path as the user reads it: relative to `root` (default: the current folder)."""
        try:
            return path.resolve().relative_to((root or Path.cwd()).resolve()).as_posix()
        except ValueError:
            return str(path)
