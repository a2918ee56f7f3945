"""Content fingerprints for incremental builds: a page is rendered again only when the
fingerprint of what it shows changed. Pure: hashing of values, of files by their stat, and of
digest's own code (`code`; `known_code` is the same value, found without asking the
libraries' metadata while nothing was installed since it was last remembered: a build with
nothing to do never imports importlib.metadata)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from digest import __version__
from digest.model import Health, Item, ItemView, Ref
from digest.system.atomic import write_bytes

_PACKAGE = Path(__file__).resolve().parent.parent  # digest/, every module of it

# The levels of containers that pagekeys builds for each key and uses once: the key's tuple
# (shared part, variables, plain values), the variables' dict and the plain values' tuple,
# what templates read of each variable, and the (attribute, value) pairs of that.
KEY_LEVELS = 4
# Dataclasses whose fields are only text, numbers, dates and None.
_LEAVES: frozenset[type] = frozenset({Ref, Health})


class Unhashable(TypeError):
    """A value the fingerprint cannot see into: whatever shows it is always rendered."""


class Fingerprints:
    """sha256 of view values (dataclasses, tuples, dicts, text, numbers, dates).

    An item stands for itself by the hash of its file (`Item.digest`), so a page of twenty
    items hashes twenty short strings, not twenty bodies. Results are remembered by object
    identity for the life of this object (one build), where the same ItemView appears on its
    page, its issue, its topics and its source. `digest serve` keeps one object across
    builds and calls `renew` before each: what the last build encoded is still known (by
    identity, so only for the very same objects), what it did not use is forgotten."""

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Any, bytes]] = {}
        self._last: dict[int, tuple[Any, bytes]] = {}
        self._fields: dict[type, tuple[str, ...]] = {}

    def renew(self) -> None:
        """Start another build: keep what this one encoded, forget what it did not use."""
        self._last, self._memo = self._memo, {}

    def of(self, value: object) -> str:
        return hashlib.sha256(self._encode(value, KEY_LEVELS)).hexdigest()

    def _spell(self, values: Sequence[Any], fresh: int) -> bytes:
        """`_encode` of each of `values`, joined: text spelt here, the commonest part of a key
        (a call less for each)."""
        out: list[bytes] = []
        for v in values:
            if type(v) is str:
                data = v.encode()
                out.append(b"s%d:" % len(data))
                out.append(data)
            else:
                out.append(self._encode(v, fresh))
        return b"".join(out)

    def _encode(self, value: Any, fresh: int = 0) -> bytes:
        """An unambiguous byte string for a value: plain values spelt out (with their type
        and length); the plain tuples, lists and dicts of the top `fresh` levels, made for
        this key (see KEY_LEVELS), spelt out too (their kind and length, then their parts),
        so that a key is hashed once; any other container as the digest of its parts, each
        encoded as at the bottom level (so that an object has one digest wherever it is
        met), remembered by identity for the life of this object, unless it sits at those
        top levels (remembering what a key made would keep it alive)."""
        kind = type(value)
        if kind is str:
            data: bytes = value.encode()
            return b"s%d:" % len(data) + data
        if value is None or kind is bool or kind is int or kind is float:
            return f"{kind.__name__}:{value!r};".encode()
        if isinstance(value, datetime | date):
            return f"d:{value.isoformat()};".encode()
        if fresh:  # a container made for this key: its parts spelt out, one hash for all
            if kind is tuple or kind is list:
                return b"seq:%d:" % len(value) + self._spell(value, fresh - 1)
            if kind is dict:
                order = sorted(value, key=repr)
                return b"map:%d:" % len(value) + self._spell(
                    [part for k in order for part in (k, value[k])], fresh - 1)
        known = self._memo.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        known = self._last.get(id(value))
        if known is not None and known[0] is value:
            self._memo[id(value)] = known
            return known[1]
        h = hashlib.sha256()
        if kind in _LEAVES:  # only plain values inside: their repr says it all, quickly
            h.update(repr(value).encode())
        elif isinstance(value, Item) and value.digest:
            h.update(b"item:" + value.digest.encode())
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            names = self._fields.get(kind)
            if names is None:
                names = self._fields[kind] = tuple(f.name for f in dataclasses.fields(value))
            h.update(f"dc:{kind.__qualname__}".encode())
            if isinstance(value, ItemView) and value.item.digest:
                # The commonest value, by far: its item by digest, every other field (Refs
                # and tuples of Refs) in one repr, rather than one call per value.
                h.update(value.item.digest.encode() + repr(
                    [getattr(value, n) for n in names if n != "item"]).encode())
            else:
                for name in names:
                    h.update(self._encode(getattr(value, name)))
        elif isinstance(value, tuple | list):
            h.update(b"seq:%d" % len(value))
            for v in value:
                h.update(self._encode(v))
        elif isinstance(value, Mapping):
            h.update(b"map:%d" % len(value))
            for k in sorted(value, key=repr):
                h.update(self._encode(k) + self._encode(value[k]))
        elif isinstance(value, str | bytes | Enum | Path):
            h.update(f"{kind.__name__}:{value!r}".encode())
        else:
            raise Unhashable(f"cannot fingerprint a {kind.__name__}")
        digest = b"h" + h.digest()
        if not fresh or kind in self._fields:  # a dataclass is the site's, at any level
            self._memo[id(value)] = (value, digest)  # keeps `value`: its id stays its own
        return digest


def file_digest(rel: str, data: bytes) -> str:
    """The fingerprint of one content file: its place and its bytes."""
    return hashlib.sha256(rel.encode() + b"\0" + data).hexdigest()


# The libraries whose output ends up in pages: an upgrade of one of them is a new digest too.
RENDERING_LIBRARIES = ("jinja2", "markdown", "pygments", "nh3", "babel", "css-inline",
                       "python-slugify", "latex2mathml", "lxml", "selectolax")


@functools.cache
def code() -> str:
    """The fingerprint of digest's own code: its version and the bytes of every .py file of
    the package (about a millisecond, once per process). Every build cache and manifest is
    keyed on it, so none is trusted by a digest other than the one that wrote it: an editable
    install after an edit, an upgrade that kept the version number, a bump of itemstore.FORMAT
    or manifest.MANIFEST_FORMAT, an upgrade of a library that renders (RENDERING_LIBRARIES).
    Themes are not in it: what depends on a theme, the bundled one
    too, is keyed on the theme's own files."""
    import importlib.metadata  # a tenth of a build that has nothing to do: see known_code

    h = hashlib.sha256(f"digest {__version__}\n".encode())
    for name in RENDERING_LIBRARIES:  # their upgrades change pages too (a millisecond or two)
        try:
            h.update(f"{name} {importlib.metadata.version(name)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{name} -\n".encode())
    h.update(_sources().encode())
    return h.hexdigest()


@functools.cache
def _sources() -> str:
    """The fingerprint of the bytes of every .py file of digest (a random one when there are
    none to read: a zip, a frozen build, which then trusts no earlier cache)."""
    h = hashlib.sha256()
    found = False
    try:
        for dirpath, dirnames, filenames in os.walk(_PACKAGE):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(".py"):
                    path = os.path.join(dirpath, name)
                    with open(path, "rb") as f:
                        data = f.read()
                    rel = os.path.relpath(path, _PACKAGE).replace(os.sep, "/")
                    h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
                    found = True
    except OSError:
        found = False
    if not found:
        h.update(os.urandom(16))
    return h.hexdigest()


# A folder changed this close to the moment it was looked at may change again unseen.
_RACY_NS = 2_000_000_000


def known_code(remembered: Path) -> tuple[str, bytes | None]:
    """`code()`, as the file `remembered` (in the build cache) holds it, when digest's .py
    files are as they were then and so is every folder Python finds libraries in (the
    entries of sys.path): installing, upgrading or removing a library there adds or removes
    its metadata folder (named after its version), which changes the folder's mtime. Else
    `code()`, asked of the libraries' metadata. A build that has nothing to do asks this, so
    as not to import importlib.metadata (a tenth of what it costs).

    With it, the bytes `remember` should write to that file (None: it holds them): this
    only reads, so that a stamp made in a forked process, for a build that is then refused,
    changes nothing."""
    sources, folders, now = _sources(), _folders(), time.time_ns()
    try:
        data = json.loads(remembered.read_bytes())
        known: object = data["code"]
        if isinstance(known, str) and data["sources"] == sources and \
                data["folders"] == folders and data["python"] == sys.version:
            return known, None
    except (OSError, ValueError, KeyError, TypeError):
        pass
    value = code()
    if any(mtime >= now - _RACY_NS for _, mtime in folders if mtime is not None):
        folders = []  # one may change again within its clock tick: not trusted yet
    return value, json.dumps({
        "python": sys.version, "sources": sources, "folders": folders, "code": value,
    }).encode()


def remember(remembered: Path, record: bytes) -> None:
    """Write what `known_code` found to its file, for the next build to find."""
    try:
        remembered.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(remembered, record, tmp_dir=remembered.parent)
    except OSError:
        pass  # a read-only project still builds, only slower


def _folders() -> list[list[Any]]:
    """[path, mtime in ns (None: not there)] of every entry of sys.path."""
    found: list[list[Any]] = []
    for entry in sys.path:
        try:
            found.append([entry, os.stat(entry or ".").st_mtime_ns])
        except OSError:
            found.append([entry, None])
    return found


# The distribution of each library a module of digest imports, by its import name: what
# `modules_code` asks the version of. An import missing here keeps a store from ever being
# trusted (never wrong, only slower); tests/test_itemstore.py checks the map is complete.
DISTRIBUTIONS = {
    "babel": "babel", "frontmatter": "python-frontmatter", "latex2mathml": "latex2mathml",
    "lxml": "lxml", "markdown": "markdown", "nh3": "nh3", "pygments": "pygments",
    "selectolax": "selectolax", "slugify": "python-slugify", "yaml": "pyyaml",
}


def imports(seeds: tuple[str, ...]) -> tuple[list[Path], set[str]]:
    """The files of the digest modules `seeds` ("digest.html.markup"), of their packages and
    of every digest module they import, however deep (imports under `if TYPE_CHECKING:` left
    out: types shape no output), and the top-level names of the other libraries they
    import. Read line by line (a few milliseconds, where parsing takes a tenth of a second)."""
    files: dict[str, Path] = {}
    libraries: set[str] = set()
    todo = [".".join(parts[:n]) for seed in seeds
            for parts in [seed.split(".")] for n in range(1, len(parts) + 1)]
    while todo:
        name = todo.pop()
        if name in files:
            continue
        path = _module_file(name)
        if path is None:
            continue  # an attribute imported from a package (`from digest import __version__`)
        files[name] = path
        for module, names in _imported(path.read_text(encoding="utf-8")):
            if module == "digest" or module.startswith("digest."):
                todo.append(module)
                todo.extend(f"{module}.{n}" for n in names)
            elif module.split(".")[0] not in sys.stdlib_module_names:
                libraries.add(module.split(".")[0])
    return sorted(files.values()), libraries


def _module_file(name: str) -> Path | None:
    base = _PACKAGE.parent.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


# An import statement, at any depth: `from a.b import (c, d)` or `import a.b as c, d`.
_IMPORT = re.compile(r"^([ \t]*)(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)"
                     r"|import[ \t]+([^\n]+))", re.MULTILINE)
_TYPE_CHECKING = re.compile(r"^([ \t]*)if[ \t]+(?:typing\.)?TYPE_CHECKING[ \t]*:", re.MULTILINE)
_NAME = re.compile(r"[\w.]+(?:[ \t]+as[ \t]+\w+)?")


def _imported(source: str) -> list[tuple[str, list[str]]]:
    """(module, names) of each import in `source`, those in `if TYPE_CHECKING:` blocks left
    out. (digest has no relative imports: one would read as an unknown library, and a store
    keyed on it would never be trusted: slower, never wrong.)"""
    skipped: list[tuple[int, int]] = []  # spans of TYPE_CHECKING blocks
    for block in _TYPE_CHECKING.finditer(source):
        indent, end = len(block.group(1)), block.end()
        for line in source[end:].splitlines(keepends=True)[1:]:
            stripped = line.strip()
            if stripped and not stripped.startswith("#") and \
                    len(line) - len(line.lstrip()) <= indent:
                break
            end += len(line)
        skipped.append((block.start(), end + len(source[block.end():].split("\n", 1)[0])))
    found: list[tuple[str, list[str]]] = []
    for match in _IMPORT.finditer(source):
        if any(start <= match.start() < end for start, end in skipped):
            continue
        if match.group(2):
            names = [n.split()[0] for n in _NAME.findall(match.group(3).split("#")[0])]
            found.append((match.group(2), names))
        else:
            found += [(n.split()[0], []) for n in _NAME.findall(match.group(4).split("#")[0])]
    return found


@functools.cache
def modules_code(seeds: tuple[str, ...]) -> str:
    """The fingerprint of exactly the code that `seeds` run: the bytes of their modules and
    of every digest module they import (`imports`), the versions of the libraries those
    import, and Python's (its `marshal` format and standard library are code too). Unlike
    `code()`, an edit elsewhere in digest leaves it as it was."""
    import importlib.metadata  # only where a store is read: see known_code

    h = hashlib.sha256(f"python {sys.version}\n".encode())
    try:
        files, libraries = imports(seeds)
        for path in files:
            rel = path.relative_to(_PACKAGE.parent).as_posix()
            h.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    except (OSError, SyntaxError, ValueError):
        files, libraries = [], set()
    if not files:  # no sources to read (a zip, a frozen build): trust no earlier store
        h.update(os.urandom(16))
    for name in sorted(libraries):
        try:
            h.update(f"{name} {importlib.metadata.version(DISTRIBUTIONS[name])}\n".encode())
        except (KeyError, importlib.metadata.PackageNotFoundError):
            h.update(os.urandom(16))  # a library not in the map: never trusted
    return h.hexdigest()
