"""The one error type of digest: a user-facing problem with its place and its fix.

Stages raise `DigestError` (or `DigestErrors`, itself a `DigestError`, when they collected
several): `except DigestError` catches both, and `exc.errors` lists the problems either way.
Only the CLI prints them and picks the exit code.
"""

from __future__ import annotations

import difflib
import errno
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

    @property
    def errors(self) -> list[DigestError]:
        """The problems this error stands for, each with its place: here, itself alone."""
        return [self]

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
                    # the file's own name, where the file is itself a link
                    shown = (self.path.parent.resolve() / self.path.name).relative_to(
                        relative_to.resolve())
                except (ValueError, OSError, RuntimeError):  # elsewhere; a loop of links
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


# What to do about the file errors a user can do something about.
_OS_HINTS = {errno.ENOSPC: "free some space on that disk, then run it again",
             errno.EDQUOT: "free some space on that disk, then run it again",
             errno.EACCES: "check the permissions of that file and its folder",
             errno.EPERM: "check the permissions of that file and its folder",
             errno.EROFS: "that disk is read-only: choose another folder"}


def os_error(exc: OSError) -> DigestError:
    """A file the system would not read or write (a full disk, a folder no one may write) as
    a DigestError: one line naming the file, and what to do where that is known."""
    return DigestError(exc.strerror or str(exc), path=exc.filename or None,
                       hint=_OS_HINTS.get(exc.errno or 0))


class ConfigError(DigestError):
    """A problem in digest.toml or on the command line: exit code 2."""

    exit_code = 2


class ContentError(DigestError):
    """A problem in a content file."""


class FeedError(DigestError):
    """A feed that could not be fetched or parsed."""


class ThemeError(DigestError):
    """A missing or broken template."""


class DigestErrors(DigestError):
    """Several problems found in one pass, reported together; its exit code is the highest
    of theirs."""

    def __init__(self, errors: Sequence[DigestError]) -> None:
        problems = [problem for error in errors for problem in error.errors]
        super().__init__(f"{len(problems)} problems")
        self._errors = problems
        self.exit_code = max((e.exit_code for e in problems), default=1)

    @property
    def errors(self) -> list[DigestError]:
        """The problems, in the order they were found."""
        return list(self._errors)

    def format(self, relative_to: Path | None = None) -> str:
        """One line per problem."""
        return "\n".join(e.format(relative_to) for e in self._errors)

    def __reduce__(self) -> tuple[Any, ...]:
        return (DigestErrors, (self._errors,))


def raise_all(errors: Sequence[DigestError]) -> None:
    """Raise the collected errors, if any: one as itself, several as `DigestErrors`."""
    problems = [problem for error in errors for problem in error.errors]
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise DigestErrors(problems)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a misspelt key or slug, or None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
