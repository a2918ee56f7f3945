"""Every file incremental building keeps, and where: the build cache under .digest/cache/
and the item store under .digest/items/, both of which the user may delete at any time (the
next build is slower, never wrong). No other module names a path in them.

    .digest/cache/                               what the last build knows
      manifest-<hash of the output folder>.json  what a build left there (manifest.py)
      manifest-<hash>-writing.json               what a build is putting there, until
                                                 it saves the manifest (manifest.py)
      manifest-<hash>.lock                       held by the build writing there
                                                 (outfolder.exclusive)
      code.json                                  digest's code fingerprint, as last found
                                                 (fingerprint.known_code)
      templates/__jinja2_<code>_<hash>.cache     Jinja's compiled templates
      templates/reads-<key>.json                 what the templates read (reads.py)
    .digest/items/                               what each content file gives (itemstore.py)
      bodies-<two hex digits>                    bodies and notes rendered, in shards
      files-<two hex digits>                     each file's item, in shards
      .gitignore                                 "*": never committed

The item store is kept apart from the build cache because it depends on content/ alone, not
on a build: deleting .digest/cache/ (or a benchmark's "cold build") keeps it, so no body is
rendered again; see itemstore.py. (.digest/cache/render/, where digest kept rendered bodies
before, is removed by the first save of the item store.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from digest.incremental.fingerprint import code

if TYPE_CHECKING:
    import jinja2

CACHE = "cache"  # the folder, inside the project's .digest/
ITEMS = "items"  # the item store's folder, beside it


@dataclass(frozen=True)
class CachePaths:
    """Where each store of one project's build cache lives."""

    root: Path  # .digest/cache

    @classmethod
    def of(cls, state_dir: Path) -> CachePaths:
        """The cache of the project whose .digest/ folder is `state_dir`."""
        return cls(state_dir / CACHE)

    def manifest(self, target: Path) -> Path:
        """The manifest of one output folder: `--output` elsewhere keeps its own record and
        never confuses output/'s."""
        name = hashlib.sha256(str(target).encode()).hexdigest()[:12]
        return self.root / f"manifest-{name}.json"

    def lock(self, target: Path) -> Path:
        """The lock file of one output folder: one build at a time writes into it
        (outfolder.exclusive)."""
        return self.manifest(target).with_suffix(".lock")

    @property
    def code_file(self) -> Path:
        """Where digest's code fingerprint is remembered (fingerprint.known_code)."""
        return self.root / "code.json"

    @property
    def items(self) -> Path:
        """The item store's folder: .digest/items, beside the build cache."""
        return self.root.parent / ITEMS

    def item_shard(self, table: str, name: str) -> Path:
        """One shard of a table of the item store (`name`: two hex digits)."""
        return self.items / f"{table}-{name}"

    def remove_old_load_cache(self) -> None:
        """Remove the load cache an earlier digest kept in .digest/cache/render/ (the item
        store took its place): its own files only, then the folder if that left it empty."""
        old = self.root / "render"
        if not old.is_dir():
            return
        try:
            for shard in old.glob("[0-9a-f][0-9a-f].pickle"):
                shard.unlink(missing_ok=True)
            old.rmdir()
        except OSError:
            pass  # something else in it, or read-only: left as it is

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
        import jinja2  # only a build that renders: see incremental/noop.py

        prefix = f"__jinja2_{code()[:16]}_"
        try:
            self.templates.mkdir(parents=True, exist_ok=True)
            for old in self.templates.glob("__jinja2_*.cache"):
                if not old.name.startswith(prefix):
                    old.unlink(missing_ok=True)
        except OSError:
            return None  # a read-only project still builds, only slower
        return jinja2.FileSystemBytecodeCache(str(self.templates), prefix + "%s.cache")
