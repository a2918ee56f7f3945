"""The Context every command gets: the global options, where to say things, and the
project's configuration, loaded on demand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from digest.config import Config


@dataclass(frozen=True)
class Context:
    """What every command gets: the global options, and where to say things."""

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

    def load_config(self) -> Config:
        from digest.config import load_config

        return load_config(self.config_path)

    def shown(self, path: Path, root: Path | None = None) -> str:
        """A path as the user reads it: relative to `root` (default: the current folder)."""
        try:
            return path.resolve().relative_to((root or Path.cwd()).resolve()).as_posix()
        except ValueError:
            return str(path)
