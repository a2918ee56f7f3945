"""Every file incremental building keeps, and where: all of it under .digest/cache/, which
the user may delete at any time (the next build is slower, never wrong). No other module
names a path in it.

    .digest/cache/
      manifest-<hash of the output folder>.json  what a build left there (manifest.py)
      render/<two hex digits>.pickle             the load cache, in shards (loadcache.py)
      templates/__jinja2_<code>_<hash>.cache     Jinja's compiled templates
      templates/reads-<key>.json                 what the templates read (reads.py)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import jinja2

from digest.config import Config
from digest.incremental.fingerprint import code

CACHE = "cache"  # the folder, inside the project's .digest/


@dataclass(frozen=True)
class CachePaths:
    """Where each store of one project's build cache lives."""

    root: Path  # .digest/cache

    @classmethod
    def of(cls, config: Config) -> CachePaths:
        return cls(config.state_dir / CACHE)

    def manifest(self, target: Path) -> Path:
        """The manifest of one output folder: `--output` elsewhere keeps its own record and
        never confuses output/'s."""
        name = hashlib.sha256(str(target).encode()).hexdigest()[:12]
        return self.root / f"manifest-{name}.json"

    @property
    def bodies(self) -> Path:
        """The load cache's folder."""
        return self.root / "render"

    def shard(self, name: str) -> Path:
        """One shard of the load cache (`name`: two hex digits)."""
        return self.bodies / f"{name}.pickle"

    def shards(self) -> list[Path]:
        """The load cache's shards on disk, sorted."""
        if not self.bodies.is_dir():
            return []
        return sorted(self.bodies.glob("[0-9a-f][0-9a-f].pickle"))

    @property
    def templates(self) -> Path:
        """The folder of what is known of the theme's templates."""
        return self.root / "templates"

    def reads(self, key: str) -> Path:
        """What the templates read, for the theme and code whose fingerprint is `key`."""
        return self.templates / f"reads-{key[:16]}.json"

    def old_reads(self, key: str) -> list[Path]:
        """The reads files of other themes or code: never read again."""
        keep = self.reads(key)
        return [p for p in self.templates.glob("reads-*.json") if p != keep]

    def compiled_templates(self) -> jinja2.BytecodeCache | None:
        """Jinja's cache of compiled templates, its files named after digest's code; those
        an earlier digest compiled are removed. None when the folder cannot be written."""
        prefix = f"__jinja2_{code()[:16]}_"
        try:
            self.templates.mkdir(parents=True, exist_ok=True)
            for old in self.templates.glob("__jinja2_*.cache"):
                if not old.name.startswith(prefix):
                    old.unlink(missing_ok=True)
        except OSError:
            return None  # a read-only project still builds, only slower
        return jinja2.FileSystemBytecodeCache(str(self.templates), prefix + "%s.cache")
