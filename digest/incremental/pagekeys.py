"""Page keys: one fingerprint of all a file of the site is made from, so that a rebuild
renders again only the files whose key changed (see Manifest.fresh).

A page's key covers what its templates read of its own variables (reads.py) and what every
page shares: digest's own code, the theme's files, the settings, and what the templates
read of `site`. A file made without a template (a feed) is keyed on digest's code, the
settings and the values it is made from. When a value cannot be fingerprinted, its file
has no key (None) and is rendered every time: builds stay exact, they only do more."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from digest.incremental.fingerprint import Fingerprints, Unhashable, code
from digest.incremental.paths import CachePaths
from digest.incremental.reads import Reads


class PageKeys:
    """The keys of one build's files, for one set of settings, theme and environment."""

    def __init__(self, settings: object, env: jinja2.Environment, themes: Sequence[Path],
                 paths: CachePaths) -> None:
        self._prints = Fingerprints()
        theme = theme_print(themes)
        self._reads = Reads(env, paths, self._prints.of((code(), theme)))
        self._config = repr(settings)  # the settings rendering uses
        self._theme = theme

    def templated(self, shown: Mapping[str, object], *also: object) -> Family:
        """The pages made from the theme's templates, sharing the variables `shown` (only
        what the templates read of them counts) and the plain values `also`."""
        try:
            view = _view(self._reads, shown)
        except Unhashable:
            return Family(self._prints, self._reads, None)
        return self._family((self._theme, view), also)

    def plain(self, *also: Any) -> Family:
        """The files made without a template, sharing the values `also`."""
        return self._family((), also)

    def _family(self, parts: tuple[Any, ...], also: tuple[Any, ...]) -> Family:
        try:
            base: str | None = self._prints.of((code(), self._config, *parts, also))
        except Unhashable:
            base = None
        return Family(self._prints, self._reads, base)


@dataclass(frozen=True)
class Family:
    """Files that share part of their key (every page shares the theme and `site`)."""

    prints: Fingerprints
    reads: Reads
    base: str | None  # None: what they share cannot be fingerprinted

    def key(self, shown: Mapping[str, object], *also: object) -> str | None:
        """The key of one file of the family, made from the variables `shown` (given to
        its templates: only what they read counts) and the plain values `also`."""
        if self.base is None:
            return None
        try:
            return self.prints.of((self.base, _view(self.reads, shown), also))
        except Unhashable:
            return None  # a value we cannot see into: render it every time


def _view(reads: Reads, shown: Mapping[str, Any]) -> dict[str, Any]:
    """What the templates can see of each variable."""
    return {name: reads.view(name, value) for name, value in shown.items()}


def theme_print(themes: Sequence[Path]) -> str:
    """The fingerprint of the themes' files: their names and bytes."""
    theme = hashlib.sha256()
    for folder in themes:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                theme.update(path.relative_to(folder).as_posix().encode() + b"\0")
                theme.update(hashlib.sha256(path.read_bytes()).digest())
    return theme.hexdigest()
