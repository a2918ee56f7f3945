"""The load cache (.digest/cache/render/, see paths.py): what `load` already knows.

Two tables, keyed by content, never by time alone, so that a cache can only be missing or
stale-and-ignored, never wrong:

  * bodies: rendered HTML (with its word count and excerpt) by the hash of the text it was
    rendered from, so an unchanged body is never sanitized or run through Markdown twice;
  * files: for each content file, its size and mtime, the hash of its bytes, and the item
    it gave (without the body). A file whose size and mtime are unchanged is not read at all;
    one whose mtime is too close to the moment it was recorded is read and hashed again
    (a second save within the file system's clock tick keeps the mtime: "racy" entries).

Entries are spread over 256 small files, so that editing one item rewrites one of them.
Each file is tagged with FORMAT and the fingerprint of digest's code (fingerprint.code): one
written by another digest, or before a bump of FORMAT, is ignored and replaced.
"""

from __future__ import annotations

import hashlib
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

from digest.incremental.fingerprint import code
from digest.incremental.paths import CachePaths
from digest.model import Item
from digest.system.atomic import write_bytes

Rendered = tuple[str, int, str]  # a body or a note, rendered: (safe HTML, words, excerpt)

# Bump when rendering changes (sanitizer rules, Markdown extensions): old entries are dropped.
# (Any change of digest's code drops them too, bumped or not: see fingerprint.code.)
FORMAT = 7
# A file changed this close to the moment it was recorded may change again unseen.
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class FileEntry:
    size: int
    mtime_ns: int
    recorded_ns: int
    item: Item  # html, words and excerpt empty: they live in the bodies table
    body_key: str
    note_key: str


Stored = Rendered | FileEntry  # what one key of the load cache holds


class RenderCache:
    def __init__(self, paths: CachePaths | None) -> None:
        """The cache as an earlier build left it in `paths` (None: one that keeps nothing)."""
        self.paths = paths
        self.tag = f"{FORMAT}/{code()}"
        self.old: dict[str, Stored] = {}
        self.used: dict[str, Stored] = {}
        self.foreign: set[str] = set()  # shards another digest wrote (or damaged ones)
        self.now = time.time_ns()
        for shard in paths.shards() if paths is not None else []:
            self._read(shard)

    def _read(self, shard: Path) -> None:
        """Take a shard's entries if this digest wrote them; else mark it to be replaced."""
        try:
            with shard.open("rb") as f:
                tag, entries = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError,
                AttributeError, ImportError):
            self.foreign.add(shard.stem)  # a damaged shard is a few missing entries
            return
        if tag == self.tag and isinstance(entries, dict):
            self.old.update(entries)
        else:
            self.foreign.add(shard.stem)

    def renew(self) -> None:
        """Start another build with what this one knows (a long-lived `serve` keeps its
        cache in memory instead of reading it again)."""
        self.old = {**self.old, **self.used}  # a failed build's partial `used` loses nothing
        self.used = {}
        self.now = time.time_ns()

    @staticmethod
    def key(kind: str, text: str) -> str:
        return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()

    # --- bodies -------------------------------------------------------------------------

    def get(self, key: str) -> Rendered | None:
        if not key:
            return None
        value = self.used.get(key)
        if value is None:
            value = self.old.get(key)
            if value is not None:
                self.used[key] = value
        return value if isinstance(value, tuple) else None

    def put(self, key: str, value: Rendered) -> None:
        self.used[key] = value

    # --- files --------------------------------------------------------------------------

    def file(self, rel: str, size: int, mtime_ns: int) -> FileEntry | None:
        """The entry of a content file whose size and mtime say it has not changed."""
        entry = self.old.get("file:" + rel)
        if not isinstance(entry, FileEntry) or (entry.size, entry.mtime_ns) != (size, mtime_ns):
            return None
        if entry.mtime_ns >= entry.recorded_ns - RACY_NS:
            return None  # changed too close to when it was recorded: read it again
        return entry

    def file_by_digest(self, rel: str, digest: str) -> FileEntry | None:
        """The entry of a content file whose bytes are unchanged (its mtime was touched)."""
        entry = self.old.get("file:" + rel)
        if isinstance(entry, FileEntry) and entry.item.digest == digest:
            return entry
        return None

    def keep_file(self, rel: str, entry: FileEntry) -> None:
        self.used["file:" + rel] = entry

    # --- persistence --------------------------------------------------------------------

    def save(self) -> None:
        """Keep what this build used (entries of deleted items are dropped); rewrite only the
        shards whose entries changed."""
        if self.paths is None:
            return
        shards: dict[str, dict[str, Stored]] = {}
        dirty: set[str] = set()
        for key, value in self.used.items():
            shard = _shard(key)
            shards.setdefault(shard, {})[key] = value
            if self.old.get(key) is not value:
                dirty.add(shard)
        dirty |= {_shard(key) for key in self.old.keys() - self.used.keys()} | self.foreign
        self.paths.bodies.mkdir(parents=True, exist_ok=True)
        for shard in sorted(dirty):
            path = self.paths.shard(shard)
            entries = shards.get(shard)
            if not entries:
                path.unlink(missing_ok=True)
                continue
            data = pickle.dumps((self.tag, entries), protocol=pickle.HIGHEST_PROTOCOL)
            write_bytes(path, data, tmp_dir=self.paths.bodies)
        self.old = dict(self.used)
        self.foreign = set()


def _shard(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:2]
