"""Page keys: one fingerprint of all a file of the site is made from, so that a rebuild
renders again only the files whose key changed (see Manifest.fresh).

A page's key covers what its templates read of its own variables (reads.py) and what every
page shares: digest's own code, the theme's files, the settings, and what the templates
read of `site`. A file made without a template (a feed) is keyed on digest's code, the
settings and the values it is made from. When a value cannot be fingerprinted, its file
has no key (None) and is rendered every time: builds stay exact, they only do more."""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import os
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import jinja2

from digest.html.themedirs import theme_inputs
from digest.incremental.fingerprint import Fingerprints, Unhashable, code
from digest.incremental.paths import CachePaths
from digest.incremental.reads import Reads
from digest.model import Item
from digest.system.tree import tree_stats

S = TypeVar("S")
T = TypeVar("T")
# A file's plain values (with what it shares with its family), the values its templates
# see, and its key.
Entry = tuple[object, tuple[object, ...], str | None]


class Made:
    """Values made from one object each (a page from an item's view), by that object's
    identity: for the very same object, the value the last build made of it."""

    def __init__(self, last: Made | None = None) -> None:
        self._last = last._now if last is not None else {}
        self._now: dict[int, tuple[object, object, object]] = {}

    def of(self, source: S, make: Callable[[S], T], also: object = None) -> T:
        """The value made of `source` (`make(source)`), unless the last build made it of
        this very object (and of this very `also`, which `make` reads too)."""
        at = id(source)
        found = self._last.get(at)  # (the commonest case: each source once per build)
        if found is None or found[0] is not source or found[1] is not also:
            found = self._now.get(at)
            if found is None or found[0] is not source or found[1] is not also:
                found = (source, also, make(source))
        self._now[at] = found  # holds the source: its id stays its own
        return cast(T, found[2])  # a table holds values of one kind (see Reuse.table)


class Fresh(Made):
    """No memo: every value is made (a build outside `digest serve`)."""

    def of(self, source: S, make: Callable[[S], T], also: object = None) -> T:
        return make(source)


class Reuse:
    """What `render.plan` made in the last build of `digest serve`, for the next one to
    take where its inputs are the same: pages and feed entries by the very objects they are
    made of (the views of unchanged items are the same objects, see group.Memo), a few
    values (the sitemap) by equal inputs. What a build does not use is forgotten after
    the next."""

    def __init__(self) -> None:
        self._tables: dict[Hashable, Made] = {}
        self._tables_now: dict[Hashable, Made] = {}
        self._once: dict[Hashable, tuple[object, object]] = {}
        self._once_now: dict[Hashable, tuple[object, object]] = {}

    def renew(self) -> None:
        if self._tables_now or self._once_now:
            self._tables, self._tables_now = self._tables_now, {}
            self._once, self._once_now = self._once_now, {}

    def table(self, kind: Hashable) -> Made:
        """The values of one kind (made the same way, with the same settings: `kind` says
        all they are made from but their sources)."""
        found = self._tables_now.get(kind)
        if found is None:
            found = self._tables_now[kind] = Made(self._tables.get(kind))
        return found

    def once(self, name: Hashable, inputs: S, make: Callable[[S], T],
             same: Callable[[S, S], bool] = operator.eq) -> T:
        """The value `name` made of `inputs`: the last build's, if its inputs were the same
        (`same`: by ==), else `make(inputs)`."""
        last = self._once.get(name)
        # What `name` was made of and made, the last time: the same kinds as now.
        if last is not None and same(cast(S, last[0]), inputs):
            value = cast(T, last[1])
        else:
            value = make(inputs)
        self._once_now[name] = (inputs, value)
        return value


class Kept:
    """What `digest serve` keeps between builds to make keys sooner (see `kept`): the
    fingerprints of the values it showed, each file's key by the values it was made
    from, and by the very object (a render.Job) it was made from; and what the plan made
    (`reuse`). The keys are the same as without it."""

    def __init__(self) -> None:
        self.prints = Fingerprints()
        self.keys: dict[object, Entry] = {}
        self.now: dict[object, Entry] = {}
        self.ids: dict[int, tuple[object, str, object, Entry]] = {}
        self.ids_now: dict[int, tuple[object, str, object, Entry]] = {}
        self.pairs: Pairs = {}  # `same`'s answers, for one build
        self.reuse = Reuse()

    def renew(self) -> None:
        """Start another build: remember only what the last one used."""
        self.prints.renew()
        self.pairs = {}
        self.reuse.renew()
        if self.now:
            self.keys, self.now = self.now, {}
        if self.ids_now:
            self.ids, self.ids_now = self.ids_now, {}


_KEPT: ContextVar[Kept | None] = ContextVar("kept_keys", default=None)


def reuse() -> Reuse | None:
    """What the last plan made, inside `kept` (else None: make everything)."""
    memo = _KEPT.get()
    return memo.reuse if memo is not None else None


@contextmanager
def kept(memo: Kept) -> Iterator[None]:
    """The keys made inside this block use (and fill) `memo`: the renderer makes its
    PageKeys itself, and need not know."""
    memo.renew()
    token = _KEPT.set(memo)
    try:
        yield
    finally:
        _KEPT.reset(token)


class PageKeys:
    """The keys of one build's files, for one set of settings, theme and environment."""

    def __init__(self, settings: object, env: jinja2.Environment, themes: Sequence[Path],
                 paths: CachePaths) -> None:
        self._kept = _KEPT.get()
        self._prints = self._kept.prints if self._kept else Fingerprints()
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
            return Family(self._prints, self._reads, None, self._kept)
        return self._family((self._theme, view), also)

    def plain(self, *also: object) -> Family:
        """The files made without a template, sharing the values `also`."""
        return self._family((), also)

    def _family(self, parts: tuple[object, ...], also: tuple[object, ...]) -> Family:
        try:
            base: str | None = self._prints.of((code(), self._config, *parts, also))
        except Unhashable:
            base = None
        return Family(self._prints, self._reads, base, self._kept)


@dataclass(frozen=True)
class Family:
    """Files that share part of their key (every page shares the theme and `site`)."""

    prints: Fingerprints
    reads: Reads
    base: str | None  # None: what they share cannot be fingerprinted
    kept: Kept | None = field(default=None, compare=False)

    def recall(self, whole: object) -> tuple[bool, str | None]:
        """(True, the key) of a file made from `whole`, if the last build made its key from
        that very object (see `key`); else (False, None)."""
        if self.base is None:
            return True, None
        if self.kept is None:
            return False, None
        last = self.kept.ids.get(id(whole))
        if last is None or last[0] is not whole or last[1] != self.base:
            return False, None
        self.kept.ids_now[id(whole)] = last
        self.kept.now[last[2]] = last[3]  # for a file made again of values like these
        return True, last[3][2]

    def key(self, shown: Mapping[str, object], *also: object, file: str | None = None,
            whole: object = None) -> str | None:
        """The key of one file of the family, made from the variables `shown` (given to
        its templates: only what they read counts) and the plain values `also`. `file`:
        its path in output/, if known; `whole`: an immutable object they all come from (for
        `recall` in the next build)."""
        if self.base is None:
            return None
        view = _view(self.reads, shown)
        if self.kept is None:
            return self._print(view, also)
        # The file by its plain values (its route, template, breadcrumbs...; a feed's
        # channel), equal as Python compares them; what templates see of its variables,
        # by `same`. Found by its path (a string: quick to hash) if it has one.
        plain = tuple([tuple(a) if type(a) is list else a for a in also])
        name = (self.base, *shown, *plain)
        memo: object = name if file is None else file
        try:
            last = self.kept.keys.get(memo)
        except TypeError:  # something unhashable: no memo for this file
            return self._print(view, also)
        values = tuple(view.values()) if shown else plain  # a feed shows its channel
        key = last[2] if last is not None and len(last[1]) == len(values) and \
            last[0] == name and _all_same(last[1], values, self.kept.pairs) \
            else self._print(view, also)
        # (holding the values: their ids stay their own)
        self.kept.now[memo] = entry = (name, values, key)
        if whole is not None:
            self.kept.ids_now[id(whole)] = (whole, self.base, memo, entry)
        return key

    def _print(self, view: dict[str, Any], also: tuple[object, ...]) -> str | None:
        try:
            return self.prints.of((self.base, view, also))
        except Unhashable:
            return None  # a value we cannot see into: render it every time


_FIELDS: dict[type, tuple[str, ...]] = {}


Pairs = dict[tuple[int, int], tuple[object, object, bool]]


def same(a: object, b: object, pairs: Pairs | None = None) -> bool:
    """Whether two values have the same fingerprint, without making it: the same object
    (the commonest case in `serve`), or values of the same type, equal as `Fingerprints`
    spells them (an item by its digest), so that they render alike. False when unsure.
    `pairs`: the answers for long sequences, by the two objects (a pager's links, shared by
    every page of a topic, are compared once)."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind in _PLAIN:
        return a == b
    if kind is tuple or kind is list:
        assert isinstance(a, tuple | list) and isinstance(b, tuple | list)
        if len(a) != len(b):
            return False
        if pairs is None or len(a) < 8:
            return _all_same(a, b, pairs)
        known = pairs.get((id(a), id(b)))
        if known is not None and known[0] is a and known[1] is b:
            return known[2]
        answer = _all_same(a, b, pairs)
        pairs[id(a), id(b)] = (a, b, answer)  # holds both: their ids stay theirs
        return answer
    if kind is float:
        return repr(a) == repr(b)
    if isinstance(a, datetime | date):
        return repr(a) == repr(b)  # the same instant, offset and zone
    if isinstance(a, Item) and isinstance(b, Item) and a.digest:
        return a.digest == b.digest
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        names = _FIELDS.get(kind)
        if names is None:
            names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(a))
        return _all_same([getattr(a, n) for n in names], [getattr(b, n) for n in names],
                         pairs)
    return False


_PLAIN = frozenset({str, int, bool, type(None), bytes})


def _all_same(a: Sequence[object], b: Sequence[object], pairs: Pairs | None = None) -> bool:
    """`same` of each pair, the same objects and plain values checked here (the hot loop)."""
    for x, y in zip(a, b, strict=True):
        if x is y:
            continue
        kind = type(x)
        if kind in _PLAIN:
            if type(y) is not kind or x != y:
                return False
        elif not same(x, y, pairs):
            return False
    return True


def _view(reads: Reads, shown: Mapping[str, Any]) -> dict[str, Any]:
    """What the templates can see of each variable."""
    return {name: reads.view(name, value) for name, value in shown.items()}


def theme_print(themes: Sequence[Path]) -> str:
    """The fingerprint of the themes' files a build reads (themedirs.PARTS): their names and
    bytes."""
    theme = hashlib.sha256()
    for folder in themes:
        # linked folders too, as Jinja finds them
        for path, _, _ in tree_stats(theme_inputs([folder])):
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            theme.update(rel.encode() + b"\0")
            with open(path, "rb") as f:
                theme.update(hashlib.sha256(f.read()).digest())
    return theme.hexdigest()
