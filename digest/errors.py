"""The one error type of digest: a user-facing problem with its place and its fix.

Stages raise `DigestError` (or `DigestErrors` when they collected several); only the CLI
prints them and picks the exit code.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


class DigestError(Exception):
    """A problem the user can fix, with the file, line or key it concerns and a hint."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.key = key
        self.hint = hint

    def __str__(self) -> str:
        return self.format()

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields survive pickling, so errors can cross process boundaries.
        return (_rebuild, (type(self), self.message, self.path, self.line, self.key, self.hint))

    def format(self, relative_to: Path | None = None) -> str:
        """One line: `file:line: key: message (hint)`."""
        where = []
        if self.path is not None:
            shown = self.path
            if relative_to is not None:
                try:
                    shown = self.path.resolve().relative_to(relative_to.resolve())
                except ValueError:
                    shown = self.path
            where.append(f"{shown}:{self.line}" if self.line else str(shown))
        if self.key:
            where.append(self.key)
        text = ": ".join([*where, self.message])
        if self.hint:
            text += f" ({self.hint})"
        # One line, whatever a file's value holds (a quoted "2026-W12\n", say).
        return text.replace("\r", "\\r").replace("\n", "\\n")


def _rebuild(cls: type[DigestError], message: str, path: Path | None, line: int | None,
             key: str | None, hint: str | None) -> DigestError:
    return cls(message, path=path, line=line, key=key, hint=hint)


class ConfigError(DigestError):
    """A problem in digest.toml or on the command line: exit code 2."""

    exit_code = 2


class ContentError(DigestError):
    """A problem in a content file."""


class FeedError(DigestError):
    """A feed that could not be fetched or parsed."""


class ThemeError(DigestError):
    """A missing or broken template."""


class DigestErrors(Exception):
    """Several problems found in one pass, reported together."""

    def __init__(self, errors: Sequence[DigestError]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = list(errors)

    @property
    def exit_code(self) -> int:
        return max(e.exit_code for e in self.errors)


def raise_all(errors: Sequence[DigestError]) -> None:
    """Raise the collected errors, if any: one as itself, several as `DigestErrors`."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise DigestErrors(errors)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a misspelt key or slug, or None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
