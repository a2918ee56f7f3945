"""An ordered registry of named parts: the seams where digest is extended (selection rules
in rules.py, page kinds in render.py, feed formats in feeds.py), after Python-Markdown's
`markdown.util.Registry`. A part is added with one line, placed by its priority (higher
first; equal priorities keep the order they were added in), replaced by registering its
name again, and removed by its name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Parts by name, read in priority order."""

    def __init__(self) -> None:
        self._parts: dict[str, tuple[float, T]] = {}

    def register(self, part: T, name: str, priority: float) -> None:
        """Add `part` as `name` (replacing a part of that name) at `priority`."""
        self._parts.pop(name, None)
        self._parts[name] = (priority, part)

    def deregister(self, name: str) -> None:
        """Remove the part `name`; KeyError if there is none."""
        del self._parts[name]

    def names(self) -> list[str]:
        """The names, in order."""
        return sorted(self._parts, key=lambda name: -self._parts[name][0])

    def __getitem__(self, name: str) -> T:
        return self._parts[name][1]

    def __iter__(self) -> Iterator[T]:
        return (self._parts[name][1] for name in self.names())

    def __contains__(self, name: object) -> bool:
        return name in self._parts

    def __len__(self) -> int:
        return len(self._parts)
