"""The item store (.digest/items/, see paths.py): what `load` derives from each content file,
kept so that it is derived once: when `digest fetch` writes the file, or at the first build
after a person changes it; never again at a cold build.

Two tables, keyed by content, never by time alone, so that the store can only be missing or
stale-and-ignored, never wrong:

  * bodies: each body or note rendered (safe HTML, word count, excerpt, whether it has
    images: digest/content/body.py), by the hash of the text it was rendered from;
  * files: for each content file, its size and mtime, the hash of its place and bytes, its
    item's fields as validated (digest/content/itemfile.py) and the keys of its body and note.
    A file whose size and mtime are unchanged is not read at all; one whose mtime is too
    close to the moment it was recorded is read and hashed again (a second save within the
    file system's clock tick keeps the mtime: "racy" entries).

Each table is tagged with the fingerprint of exactly the code that makes its entries
(fingerprint.modules_code: body.py and the modules under digest/html/ it runs, with the
versions of nh3, Markdown, Pygments, lxml and latex2mathml; itemfile.py and what it runs, with
PyYAML's), Python's version and FORMAT; not with digest's whole code, so that an edit
elsewhere in digest keeps every entry. A file of the store another tag wrote, or a damaged
one, is ignored and replaced.

Where: .digest/items/, beside the build cache (.digest/cache/), not in it. Both are derived
data, safe to delete at any time (the next build is slower, never wrong), and never committed
(the folder holds its own .gitignore). But they are derived from different things:
.digest/cache/ from the last build (its output folder, theme, pages), .digest/items/ from
content/ alone. Deleting the build cache, or a "cold build" that starts without it, keeps the
work done on each item; deleting .digest/items/ renders every body again.

Entries are spread over SHARDS files per table, so that editing one item rewrites a few small
files. Bodies are kept with marshal (plain text and numbers: the fastest to read back at 10,000
items), files with a pickle of plain tuples and dates that may name no other class. Each file
starts with its tag, read before anything else of it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import marshal
import pickle
import sys
import time
import zlib
from dataclasses import fields
from pathlib import Path
from typing import Any, NamedTuple

from digest.content.body import Body
from digest.incremental.fingerprint import modules_code
from digest.incremental.paths import CachePaths
from digest.model import Item
from digest.system.atomic import clean_tmp, write_bytes

# Bump when the layout of the store changes (not when rendering does: the code's fingerprint
# says that).
FORMAT = 1
# A file changed this close to the moment it was recorded may change again unseen.
RACY_NS = 2_000_000_000
SHARDS = 64
BODIES, FILES = "bodies", "files"
# The code that makes each table's entries (see fingerprint.modules_code).
MAKERS = {BODIES: ("digest.content.body",), FILES: ("digest.content.itemfile",)}

# An item's fields that the store keeps; the others come from its file's place, its body and
# its note when it is loaded.
_OWN = ("slug", "path", "html", "words", "excerpt", "note_html", "digest")
KEPT = tuple(f.name for f in fields(Item) if f.name not in _OWN)


class FileEntry(NamedTuple):
    """What the store knows of one content file."""

    size: int
    mtime_ns: int
    recorded_ns: int
    digest: str  # fingerprint.file_digest: its place and bytes
    fields: tuple[object, ...]  # its item's fields named in KEPT, in that order
    body_key: str  # "" when it has no body
    note_key: str


@functools.cache
def tag(table: str) -> bytes:
    """The first line of each file of `table`: who may read its entries."""
    names = ",".join(KEPT) if table == FILES else ""
    text = f"digest-items {FORMAT} {table} {modules_code(MAKERS[table])} {names}"
    return hashlib.sha256(text.encode()).hexdigest().encode() + b"\n"


def key(kind: str, text: str) -> str:
    """The key of a body ("body") or note ("note") in the bodies table."""
    return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()


def fields_of(item: Item) -> tuple[object, ...]:
    return tuple(getattr(item, name) for name in KEPT)


def item_of(entry: FileEntry, path: Path, body: Body | None, note: Body | None) -> Item:
    """The item of a stored file, at `path`, with its body and note (images not resolved).
    Made as `copy` and `pickle` make a dataclass, its fields set without `__init__` (a third
    of the time of a warm load otherwise): Item has no `__post_init__` to skip."""
    html, words, summary, _ = body or ("", 0, "", False)
    item: Item = _new(Item)
    state = item.__dict__
    state.update(zip(KEPT, entry.fields, strict=True))
    state.update(slug=path.stem, path=path, html=html, words=words, excerpt=summary,
                 note_html=note[0] if note else "", digest=entry.digest)
    return item


_new = object.__new__
assert not hasattr(Item, "__post_init__") and not hasattr(Item, "__slots__"), \
    "item_of sets Item's fields directly: make it call Item() instead"


class ItemStore:
    def __init__(self, paths: CachePaths | None, read_only: bool = False,
                 adding: bool = False) -> None:
        """The store as earlier runs left it under `paths` (None: one that keeps nothing).
        `read_only`: `save` writes nothing (commands that only read, such as `select`).
        `adding` (`fetch`): nothing is read now; `save` adds what was put to the shards on
        disk, reading only those it rewrites, and forgets it (a long fetch saves as it goes,
        when `pending` grows, so that it never holds every body at once)."""
        self.paths = paths
        self.read_only = read_only
        self.adding = adding
        self.old: dict[str, dict[str, Any]] = {BODIES: {}, FILES: {}}
        self.used: dict[str, dict[str, Any]] = {BODIES: {}, FILES: {}}
        self.foreign: dict[str, set[str]] = {BODIES: set(), FILES: set()}  # to replace
        self.rendered = 0  # bodies and notes rendered since the last `renew`
        self.pending = 0  # characters of HTML put since the last save
        self.now = time.time_ns()
        if paths is not None and adding:
            # The temp files of a run killed while it saved (`digest fetch` holds the
            # project's lock: no other fetch is writing them now).
            clean_tmp(paths.items)
        if paths is not None and paths.items.is_dir() and not adding:
            for table in (BODIES, FILES):
                for shard in range(SHARDS):
                    self.old[table].update(self._read(table, _name(shard)))

    def _read(self, table: str, name: str) -> dict[str, Any]:
        """A shard's entries if this digest's code made them; else none, and the shard is
        marked to be replaced (a damaged or foreign file is a few missing entries)."""
        assert self.paths is not None
        try:
            with self.paths.item_shard(table, name).open("rb") as f:
                if f.readline() != tag(table):
                    self.foreign[table].add(name)
                    return {}
                return _decode(table, f.read())
        except FileNotFoundError:
            return {}
        except Exception:  # whatever a damaged file raises: it is replaced
            self.foreign[table].add(name)
            return {}

    def renew(self) -> None:
        """Start another build with what this one knows (a long-lived `serve` keeps its
        store in memory instead of reading it again)."""
        for table in (BODIES, FILES):  # a failed build's partial `used` loses nothing
            self.old[table] = {**self.old[table], **self.used[table]}
            self.used[table] = {}
        self.rendered = 0
        self.now = time.time_ns()

    key = staticmethod(key)

    # --- bodies -------------------------------------------------------------------------

    def get(self, body_key: str) -> Body | None:
        """A rendered body or note, by its key; None when not known."""
        if not body_key:
            return None
        value: Body | None = self.used[BODIES].get(body_key)
        if value is None:
            value = self.old[BODIES].get(body_key)
            if value is not None:
                self.used[BODIES][body_key] = value
        return value

    def put(self, body_key: str, value: Body) -> None:
        self.used[BODIES][body_key] = value
        self.pending += len(value[0])

    # --- files --------------------------------------------------------------------------

    def file(self, rel: str, size: int, mtime_ns: int) -> FileEntry | None:
        """The entry of a content file whose size and mtime say it has not changed."""
        entry = self.old[FILES].get(rel)
        if entry is None or entry.size != size or entry.mtime_ns != mtime_ns:
            return None
        if entry.mtime_ns >= entry.recorded_ns - RACY_NS:
            return None  # changed too close to when it was recorded: read it again
        return entry  # type: ignore[no-any-return]

    def file_by_digest(self, rel: str, digest: str) -> FileEntry | None:
        """The entry of a content file whose bytes are unchanged (its mtime was touched)."""
        entry = self.old[FILES].get(rel)
        if entry is not None and entry.digest == digest:
            return entry  # type: ignore[no-any-return]
        return None

    def keep_file(self, rel: str, entry: FileEntry) -> None:
        self.used[FILES][rel] = entry

    # --- persistence --------------------------------------------------------------------

    def save(self) -> None:
        """Write what changed, rewriting only the shards whose entries changed. A build,
        which saw every file, keeps only what it used, so that the entries of deleted items
        and old bodies go; an `adding` store adds its entries to those on disk."""
        if self.paths is None or self.read_only:
            return
        try:
            self.paths.items.mkdir(parents=True, exist_ok=True)
            ignore = self.paths.items / ".gitignore"
            if not ignore.exists():
                write_bytes(ignore, b"# digest's item store: derived from content/, never "
                            b"committed, safe to delete\n*\n")
            for table in (BODIES, FILES):
                self._save(table)
        except OSError:
            return  # a read-only project still builds, only slower next time
        self.pending = 0
        if self.adding:  # on disk now: an adding store holds only what is yet to be saved
            self.old = {BODIES: {}, FILES: {}}
            self.used = {BODIES: {}, FILES: {}}
        self.paths.remove_old_load_cache()

    def _save(self, table: str) -> None:
        assert self.paths is not None
        old, used = self.old[table], self.used[table]
        forget = not self.adding
        kept = used if forget else {**old, **used}
        dirty = set(self.foreign[table])
        dirty.update(_shard(k) for k, value in used.items() if old.get(k) is not value)
        if forget:
            dirty.update(_shard(k) for k in old.keys() - used.keys())
        if not dirty:
            return
        shards: dict[str, dict[str, Any]] = {}
        if self.adding:  # what is on disk, then what this run adds
            shards = {name: self._read(table, name) for name in dirty}
        for k, value in kept.items():
            shard = _shard(k)
            if shard in dirty:
                shards.setdefault(shard, {})[k] = value
        for shard in sorted(dirty):
            path = self.paths.item_shard(table, shard)
            entries = shards.get(shard)
            if not entries:
                path.unlink(missing_ok=True)
                continue
            # In key order: a shard's bytes do not depend on which worker finished first.
            entries = dict(sorted(entries.items()))
            write_bytes(path, tag(table) + _encode(table, entries), tmp_dir=self.paths.items)
        self.old[table] = dict(kept)
        self.foreign[table] = set()


def _name(shard: int) -> str:
    return f"{shard:02x}"


def _shard(k: str) -> str:
    return _name(zlib.crc32(k.encode()) % SHARDS)


def _encode(table: str, entries: dict[str, Any]) -> bytes:
    if table == BODIES:
        return marshal.dumps(entries)
    return pickle.dumps({k: tuple(v) for k, v in entries.items()},
                        protocol=pickle.HIGHEST_PROTOCOL)


def _decode(table: str, data: bytes) -> dict[str, Any]:
    if table == BODIES:
        entries = marshal.loads(data)
        if not isinstance(entries, dict):
            raise ValueError("not a table")
        return entries
    rows = _Unpickler(io.BytesIO(data)).load()
    if not isinstance(rows, dict):
        raise ValueError("not a table")
    return {k: FileEntry._make(v) for k, v in rows.items()}


class _Unpickler(pickle.Unpickler):
    """Plain values and dates only: a file of the store can make no other object."""

    ALLOWED = frozenset({("datetime", "datetime"), ("datetime", "timezone"),
                         ("datetime", "timedelta"), ("datetime", "date")})

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the item store")
        return getattr(sys.modules[module], name)
