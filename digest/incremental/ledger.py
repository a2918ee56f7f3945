"""What this build leaves in output/: each file's manifest entry, decided file by file
against what the last build left there. A page whose key is unchanged is kept and not
rendered; a file made again with the same bytes is not written."""

from __future__ import annotations

from pathlib import Path

from digest.incremental.manifest import Manifest, Stat, Written, file_sha


class Ledger:
    """The entries of this build's files (`files`), against the last build's record
    (`last`) and what output/ holds now (`on_disk`, from `scan`)."""

    def __init__(self, last: Manifest, on_disk: dict[str, Stat]) -> None:
        self.last, self.on_disk = last, on_disk
        self.files: dict[str, Written] = {}

    def recorded(self, path: str) -> bool:
        """Whether output/ holds this file as the last build recorded it: only then may its
        key keep it (a cold build need not fingerprint what it renders anyway)."""
        entry = self.last.files.get(path)
        return entry is not None and self.on_disk.get(path) == (entry.size, entry.mtime_ns)

    def keep_if_fresh(self, path: str, key: str | None) -> bool:
        """Whether output/ holds this file as made from inputs with this key: then it is
        kept as it is, and need not be rendered."""
        if not self.last.fresh(path, key, self.on_disk):
            return False
        self.files[path] = self.last.files[path]
        return True

    def made(self, path: str, key: str | None, sha: str, size: int) -> bool:
        """Record a file made with these bytes (`sha`, `size`) from inputs with this key;
        whether it must be written (False: output/ holds these bytes already)."""
        if self.last.same(path, sha, self.on_disk):
            old = self.last.files[path]
            self.files[path] = Written(key, sha, old.size, old.mtime_ns)
            return False
        self.files[path] = Written(key, sha, size, 0)
        return True

    def moved(self, stats: dict[str, Stat]) -> None:
        """The written files are in output/ now, with these sizes and mtimes."""
        files = self.files
        for path, (size, mtime) in stats.items():
            made = files[path]
            files[path] = Written(made.key, made.sha, size, mtime)

    def as_found(self, prefixes: tuple[str, ...]) -> dict[str, Written]:
        """This build's files, and those under `prefixes` as output/ holds them (the search
        index, which `refresh_search` made)."""
        found = {k: Written(None, "", *stat) for k, stat in self.on_disk.items()
                 if prefixes and k.startswith(prefixes)}
        return {**self.files, **found}

    def differ(self, target: Path, paths: list[str]) -> list[str]:
        """Those of `paths` whose bytes in output/ are not what this build made."""
        return [p for p in paths
                if p not in self.files or file_sha(str(target / p)) != self.files[p].sha]
