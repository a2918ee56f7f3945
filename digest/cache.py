"""The build cache in .digest/cache/: rendered bodies by the hash of their text, so an
unchanged item is never sanitized or run through Markdown twice. Keyed by content, not by
time: a cache can only be missing or stale-and-ignored, never wrong."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

from digest import __version__
from digest.atomic import write_bytes

# Bump when rendering changes (sanitizer rules, Markdown extensions): old entries are dropped.
FORMAT = 3


class RenderCache:
    def __init__(self, folder: Path | None) -> None:
        self.path = folder / "render.pickle" if folder is not None else None
        self.tag = f"{__version__}/{FORMAT}"
        self.old: dict[str, Any] = {}
        self.used: dict[str, Any] = {}
        if self.path is not None and self.path.is_file():
            try:
                with self.path.open("rb") as f:
                    tag, entries = pickle.load(f)
                if tag == self.tag:
                    self.old = entries
            except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
                self.old = {}  # a damaged cache is no cache

    @staticmethod
    def key(kind: str, text: str) -> str:
        return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()

    def get(self, key: str) -> Any | None:
        value = self.old.get(key)
        if value is not None:
            self.used[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self.used[key] = value

    def save(self) -> None:
        """Keep what this build used (entries of deleted items are dropped)."""
        if self.path is None or self.used.keys() == self.old.keys():
            return
        data = pickle.dumps((self.tag, self.used), protocol=pickle.HIGHEST_PROTOCOL)
        write_bytes(self.path, data, tmp_dir=self.path.parent)
