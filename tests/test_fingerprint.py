"""Fingerprints: any change a page could show changes its fingerprint."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from digest.incremental.fingerprint import Fingerprints
from digest.model import Item, ItemView, Ref


def view() -> ItemView:
    item = Item(id="a", slug="a-1", path=Path("a.md"), title="A", link="", source="s",
                author="", published=datetime(2026, 3, 1, tzinfo=UTC), fetched=None,
                first_seen=None, topics=(), tags=(), status=None, pinned=False, note_html="",
                issue=None, html="<p>x</p>", words=1, digest="d1")
    ref = Ref("s", "Source", "sources/s/")
    return ItemView(item, "items/a-1/", ref, (ref,), ref, None, None, (ref,))


def test_every_field_of_an_item_view_counts() -> None:
    base = Fingerprints().of(view())
    other = Ref("o", "Other", "o/")
    for field in dataclasses.fields(ItemView):
        value = getattr(view(), field.name)
        if field.name == "item":
            changed = dataclasses.replace(value, digest="d2")
        elif isinstance(value, tuple):
            changed = (other,)
        elif isinstance(value, str):
            changed = value + "x"
        else:
            changed = other
        assert Fingerprints().of(dataclasses.replace(view(), **{field.name: changed})) != base, \
            field.name


def test_an_item_counts_by_its_file_not_its_rendered_body() -> None:
    same_file = dataclasses.replace(view().item, html="<p>rendered again</p>")
    assert Fingerprints().of(same_file) == Fingerprints().of(view().item)
    assert Fingerprints().of(dataclasses.replace(same_file, digest="")) != \
        Fingerprints().of(dataclasses.replace(view().item, digest=""))


_LEAF = st.one_of(st.text(max_size=3), st.integers(-2, 2), st.booleans(), st.none())
_KEY = st.one_of(st.text(max_size=2), st.integers(0, 2), st.none())
_VALUE = st.recursive(_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(_KEY, inner, max_size=3)), max_leaves=12)


def _canon(value: object) -> object:
    """What a fingerprint must tell apart: each plain value with its type, a list as a
    tuple (templates see them alike), a dict by its pairs."""
    if isinstance(value, list | tuple):
        return ("seq", tuple(_canon(v) for v in value))
    if isinstance(value, dict):
        return ("map", frozenset((_canon(k), _canon(v)) for k, v in value.items()))
    return (type(value).__name__, value)


def _swapped(value: object) -> object:
    """The same value with its lists made tuples and its tuples lists."""
    if isinstance(value, list):
        return tuple(_swapped(v) for v in value)
    if isinstance(value, tuple):
        return [_swapped(v) for v in value]
    if isinstance(value, dict):
        return {k: _swapped(v) for k, v in reversed(value.items())}
    return value


@settings(max_examples=300, deadline=None)
@given(_VALUE, _VALUE, st.booleans())
def test_two_values_share_a_fingerprint_only_when_a_page_shows_them_alike(
        a: object, b: object, same_shape: bool) -> None:
    """At every depth (the levels made for one key are spelt out whole, the deeper ones
    hashed), values differ in fingerprint exactly when they differ in a way a template could
    show: nesting, order, a value or its type; not a list for a tuple, nor a dict's order."""
    if same_shape:
        b = _swapped(a)
    assert (Fingerprints().of(a) == Fingerprints().of(b)) == (_canon(a) == _canon(b))
    wrapped = ((((a,),),),)  # the same values below the levels made for the key
    assert (Fingerprints().of(wrapped) == Fingerprints().of(((((b,),),),))) == \
        (_canon(a) == _canon(b))


def _groups(leaves: list[object], cuts: set[int], bare: set[int]) -> tuple[object, ...]:
    """The leaves in groups, a new group at each index in `cuts`; a group of one leaf whose
    index is in `bare` is that leaf, not in a group."""
    groups: list[list[object]] = [[]]
    for n, leaf in enumerate(leaves):
        if n in cuts:
            groups.append([])
        groups[-1].append(leaf)
    return tuple(g[0] if len(g) == 1 and n in bare else tuple(g)
                 for n, g in enumerate(groups))


_CUTS = st.sets(st.integers(0, 6))


@settings(max_examples=500, deadline=None)
@given(st.lists(_LEAF, min_size=2, max_size=6), _CUTS, _CUTS, _CUTS, _CUTS, st.integers(0, 5))
def test_the_same_values_grouped_otherwise_have_another_fingerprint(
        leaves: list[object], cuts: set[int], others: set[int], bare: set[int],
        other_bare: set[int], depth: int) -> None:
    """A page whose values are the same, in the same order, but split otherwise (two
    crumbs instead of one, an item moved to the next section) is another page, at any depth
    (the levels made for the key spell their parts out one after the other)."""
    one, two = _groups(leaves, cuts, bare), _groups(leaves, others, other_bare)
    for _ in range(depth):
        one, two = (one,), (two,)
    assert (Fingerprints().of(one) == Fingerprints().of(two)) == (one == two)


def test_a_value_has_one_fingerprint_whichever_key_met_it_first() -> None:
    """One Fingerprints object serves a whole build (and `serve` keeps it between builds):
    a container met first deep inside one key and then near the top of another (a named
    tuple, a read-only mapping: kinds that are hashed, not spelt out) gives that second key
    what it gives it in a fresh object, so no page is rendered again for nothing."""
    from collections import namedtuple
    from types import MappingProxyType

    Pair = namedtuple("Pair", "title url")
    for shared in (Pair("Home", ("", ("x",))), MappingProxyType({"a": ("b", ("c",))})):
        page = (shared,)
        alone = Fingerprints().of(page)
        prints = Fingerprints()
        prints.of((((((shared,),),),),))  # deep first
        assert prints.of(page) == alone
