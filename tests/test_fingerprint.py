"""Fingerprints: any change a page could show changes its fingerprint."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

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
