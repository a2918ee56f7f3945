"""Item files of the old content format, where `digest fetch` wrote its feed's topics into
`topics:`: whose are those topics, the editor's or fetch's? Pure: bytes and hashes in.

Since content format 2 an item's topics are computed at build time, always, and `topics:` is
written only by a person. A file written by fetch says so with `content_format: 2`; a file
without it that fetch wrote (it has `fetched:`) and that holds `topics:` is an old file. Its
topics are fetch's when the file, with the editor's keys taken out, is still exactly what
fetch wrote (its sha256 in .digest/state.json); they are the editor's when the file without
its topics is what fetch wrote (a person added them). Otherwise nobody can tell: the file
reads as it always did (topics that equal the feed's are computed, others are the editor's),
and `digest check` says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Literal

from digest.content import frontedit
from digest.content.frontedit import FrontMatterError

FORMAT_KEY = "content_format"
CONTENT_FORMAT = 2
# The keys an editor adds to a fetched file (by hand or at the desk) besides `topics:`.
EDITOR_KEYS = ("status", "pinned", "note", "issue")

Origin = Literal["", "fetch", "editor", "unsure"]


def is_old(meta: Mapping[str, object]) -> bool:
    """Whether a file's `topics:` may be what an older fetch wrote."""
    return FORMAT_KEY not in meta and "fetched" in meta and "topics" in meta


def normalized(data: bytes) -> bytes:
    """The bytes as fetch hashes a file: UTF-8 text with `\\n` line breaks."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def sha(data: bytes) -> str:
    """The hash .digest/state.json keeps of what fetch wrote (of `normalized` bytes)."""
    return hashlib.sha256(data).hexdigest()


def without_editors_keys(data: bytes) -> bytes:
    """The file with the editor's keys (not its topics) taken out, every other byte kept."""
    for key in EDITOR_KEYS:
        data = frontedit.set_key(data, key, None)
    return data


def evidence(data: bytes) -> tuple[str, ...]:
    """Hashes of an old file: as it is, without the editor's keys, and without those and its
    topics. Compared with what fetch wrote, they say whose the topics are."""
    text = normalized(data)
    try:
        bare = without_editors_keys(text)
        return sha(text), sha(bare), sha(frontedit.set_key(bare, "topics", None))
    except FrontMatterError:
        return (sha(text),)


def origin(hashes: tuple[str, ...], written: str | None) -> Origin:
    """Whose an old file's topics are, from its `evidence` and the hash of what fetch wrote:
    "fetch", "editor", or "unsure" when the file changed in other ways since."""
    if not hashes:
        return ""
    if written and written in hashes[:2]:
        return "fetch"
    if written and written in hashes[2:]:
        return "editor"
    return "unsure"


def editors(topics: tuple[str, ...], where: str, feed_topics: tuple[str, ...]) -> bool:
    """Whether a file's `topics:` are the editor's choice (and replace the computed ones)."""
    if not topics or where == "fetch":
        return False
    if where == "unsure":  # read as before content format 2: what the editor has been seeing
        return set(topics) != set(feed_topics)
    return True


def migrated(data: bytes) -> bytes:
    """An old file without the `topics:` fetch wrote, every other byte kept."""
    return frontedit.set_key(data, "topics", None)


def written_after(data: bytes, hashes: tuple[str, ...], written: str) -> str:
    """The hash of what fetch wrote, once an old file fetch's topics are migrated out of:
    so that fetch still knows its own file (and an edited one stays the person's)."""
    text = normalized(data)
    if hashes and written == hashes[0]:
        return sha(migrated(text))
    return sha(migrated(without_editors_keys(text)))


def set_topics(data: bytes, topics: list[str] | None) -> bytes:
    """The file with the editor's topics (None: the key removed, the topics computed again).
    A file fetch wrote in the old format also gets `content_format: 2`, so that its topics
    read as the editor's even when they equal what fetch once wrote."""
    if topics is None:
        return frontedit.set_key(data, "topics", None)
    meta = frontedit.get(data)
    if FORMAT_KEY not in meta and "fetched" in meta:
        data = frontedit.set_key(data, FORMAT_KEY, CONTENT_FORMAT)
    return frontedit.set_key(data, "topics", topics)


def advice(name: str, topics: tuple[str, ...], where: str, source: str,
           feed_topics: tuple[str, ...]) -> str:
    """One line for `digest check` and `digest migrate`: an old file, how its topics read,
    and what to do."""
    shown = f"topics: [{', '.join(topics)}]"
    if where == "fetch":
        return (f"{name}: {shown} was written by an older `digest fetch` and is ignored (the "
                "computed topics apply): run `digest migrate` to remove it")
    if where == "editor":
        return (f"{name}: {shown} was added by a person after fetch and replaces the computed "
                f"topics: add `{FORMAT_KEY}: {CONTENT_FORMAT}` to the front matter to say so "
                "in the file itself")
    if editors(topics, where, feed_topics):
        return (f"{name}: {shown} may be the editor's choice or what an older fetch wrote (the "
                "file was edited since): read as the editor's choice. If it is yours, add "
                f"`{FORMAT_KEY}: {CONTENT_FORMAT}` to the front matter; if not, delete the "
                "`topics:` lines")
    return (f"{name}: {shown} equals what an older fetch wrote for {source}, but the file was "
            "edited since: read as computed topics. If you chose exactly these, add "
            f"`{FORMAT_KEY}: {CONTENT_FORMAT}` to the front matter; if not, delete the "
            "`topics:` lines")
