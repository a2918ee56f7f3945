"""Stage 4: content/ -> Corpus. Every file is validated; all problems are reported at once.

What each content file gives (its item, its body and note rendered) is kept in the item store
(digest/incremental/itemstore.py, filled by incremental/bodies.py): a file is read, validated
and rendered only when the store does not know it already, by its size and mtime or by its
bytes."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar, cast

from digest.config import Config
from digest.content import body, contentfile, legacy
from digest.content.files import Found, content_name, flat_files, hidden, item_files, unreadable
from digest.content.itemfile import Declared, Fields, read_item
from digest.errors import ContentError, DigestError, raise_all
from digest.html.media import locator, present
from digest.html.sanitize import LocalImage, images
from digest.incremental.bodies import Texts, render_into, render_one
from digest.incremental.fingerprint import file_digest
from digest.incremental.itemstore import KEPT, FileEntry, ItemStore, fields_of, item_of, key
from digest.incremental.paths import CachePaths
from digest.model import Corpus, IssueFile, Item, PageFile
from digest.system.state import read_state
from digest.text.weeks import is_week

ISSUE_KEYS = {"title", "status"}
PAGE_KEYS = {"title", "description"}
_SOURCE, _TOPICS = KEPT.index("source"), KEPT.index("topics")
S = TypeVar("S")
R = TypeVar("R")


def load(config: Config, cache: ItemStore | None = None, jobs: int = 0) -> Corpus:
    """Read every content file; raise all problems together. A file whose size and mtime
    are those the item store recorded is not read again; bodies come from the store when
    their text is unchanged; the others are rendered in up to `jobs` processes (0: one per
    core). `cache`: the store to use and fill (a build saves it); without one, the project's
    store is read and left as it is."""
    errors: list[DigestError] = []
    store = cache if cache is not None else \
        ItemStore(CachePaths.of(config.state_dir), read_only=True)
    content = config.content_dir
    known = _declared(config)
    unlisted: list[OSError] = []
    found = item_files(content / "items", config.root, failed=unlisted)
    errors += map(unreadable, unlisted)
    entries, texts = _entries(_each(found, lambda f: _known_or_read(f, store, known), errors),
                              store)
    render_into(store, texts, jobs or os.cpu_count() or 1)
    local = _local_images(config, errors)
    items = _items(entries, store, local)
    issues = _each(_listed(content / "issues", errors),
                   lambda p: _issue(p, store, local), errors)
    pages = _each(_listed(content / "pages", errors), lambda p: _page(p, store, local),
                  errors)
    errors += _duplicates(items, config.root)
    raise_all(errors)
    return Corpus(_whose_topics(items, config), tuple(issues), tuple(pages))


def reload(config: Config, corpus: Corpus, paths: set[Path], cache: ItemStore,
           jobs: int = 0) -> Corpus:
    """`corpus` (what `load` gave) with the content files `paths` read again, or left out
    when they are gone: what `load` would give now, reading only them (`digest serve`).
    Every other item is the very object it was; so is an item read again to the same."""
    errors: list[DigestError] = []
    content = config.content_dir
    items_dir = content / "items"
    changed = {p for p in paths if p.is_relative_to(items_dir) and content_name(p.name)
               and not hidden(p.relative_to(items_dir))}
    was = {item.path: item for item in corpus.items}
    known = _declared(config)
    found: list[Found] = []
    for path in sorted(changed, key=lambda p: p.parts):
        try:
            st = path.stat()
        except OSError as exc:
            if os.path.lexists(path):  # there, but not to be looked at: a link to nowhere
                errors.append(unreadable(exc))
            continue  # else gone
        if stat.S_ISREG(st.st_mode):  # as item_files finds them
            found.append((path, path.relative_to(config.root).as_posix(), st.st_size,
                          st.st_mtime_ns))
    entries, texts = _entries(_each(found, lambda f: _known_or_read(
        f, cache, known, trust_stat=False), errors), cache)
    render_into(cache, texts, jobs or os.cpu_count() or 1)
    local = _local_images(config, errors)
    fresh = _whose_topics(_items(entries, cache, local), config)
    now = {item.path: item if was.get(item.path) != item else was[item.path]
           for item in fresh}
    if all(p in was for p in changed) and now.keys() == changed:  # edits only: same order
        items = [now.get(item.path, item) for item in corpus.items]
    else:
        kept = [item for item in corpus.items if item.path not in changed]
        items = sorted([*kept, *now.values()], key=lambda i: i.path.parts)
    issues, pages = corpus.issues, corpus.pages
    if any(p.is_relative_to(content / "issues") for p in paths):
        issues = tuple(_each(_listed(content / "issues", errors),
                             lambda p: _issue(p, cache, local), errors))
    if any(p.is_relative_to(content / "pages") for p in paths):
        pages = tuple(_each(_listed(content / "pages", errors),
                            lambda p: _page(p, cache, local), errors))
    errors += _duplicates(items, config.root)
    raise_all(errors)
    return Corpus(tuple(items), issues, pages)


def _declared(config: Config) -> Declared:
    return Declared(tuple(f.slug for f in config.feeds), tuple(t.slug for t in config.topics))


def _whose_topics(items: list[Item], config: Config) -> tuple[Item, ...]:
    """Old-format files told apart by what fetch wrote (.digest/state.json, read only when
    there are any): are their `topics:` fetch's or the editor's? See digest/legacy.py."""
    if not any(item.old_topics for item in items):
        return tuple(items)
    written = read_state(config.state_dir).written
    return tuple(replace(item, topics_origin=legacy.origin(item.old_topics,
                                                           written.get(item.id)))
                 if item.old_topics else item for item in items)


@dataclass(frozen=True)
class _Draft:
    """An item read from its file, its body and note not rendered yet."""

    item: Item
    body: str
    note: str
    rel: str
    size: int
    mtime_ns: int


def _known_or_read(found: Found, store: ItemStore, known: Declared,
                   trust_stat: bool = True) -> _Draft | tuple[FileEntry, Path]:
    """The store's entry for an unchanged file, else the file read and validated.
    `trust_stat=False`: the file is known to have changed, its bytes are read whatever its
    size and mtime say."""
    path, rel, size, mtime_ns = found
    entry = store.file(rel, size, mtime_ns) if trust_stat else None
    if entry is None:
        data = path.read_bytes()
        digest = file_digest(rel, data)
        entry = store.file_by_digest(rel, digest)
        if entry is None:
            item, text, note = read_item(path, contentfile.decode(data, path), known, data)
            return _Draft(replace(item, digest=digest), text, note, rel, size, mtime_ns)
        entry = entry._replace(size=size, mtime_ns=mtime_ns, recorded_ns=store.now)
    source, topics = cast(str, entry.fields[_SOURCE]), cast(Sequence[str], entry.fields[_TOPICS])
    if not known.valid(source, topics) or \
            (entry.body_key and store.get(entry.body_key) is None) or \
            (entry.note_key and store.get(entry.note_key) is None):
        # digest.toml changed under it, or its body left the store: read it as new
        data = path.read_bytes()
        item, text, note = read_item(path, contentfile.decode(data, path), known, data)
        return _Draft(replace(item, digest=entry.digest), text, note, rel, entry.size,
                      entry.mtime_ns)
    store.keep_file(rel, entry)
    return entry, path


Slot = _Draft | tuple[FileEntry, Path]  # a file read anew, or as the item store knows it


def _entries(slots: list[Slot], store: ItemStore) -> tuple[list[tuple[FileEntry, Path]], Texts]:
    """Each file's entry in the item store (recorded there), and the texts of those read
    anew that the store has not rendered."""
    entries, texts = [], {}
    for slot in slots:
        if not isinstance(slot, _Draft):
            entries.append(slot)
            continue
        keys = [key(kind, text) if text else "" for kind, text in _texts(slot)]
        for k, text in zip(keys, _texts(slot), strict=True):
            if k and k not in texts and store.get(k) is None:
                texts[k] = text
        entry = FileEntry(slot.size, slot.mtime_ns, store.now, slot.item.digest,
                          fields_of(slot.item), *keys)
        store.keep_file(slot.rel, entry)
        entries.append((entry, slot.item.path))
    return entries, texts


def _items(entries: list[tuple[FileEntry, Path]], store: ItemStore, local: Local
           ) -> list[Item]:
    """Items with their bodies and notes from the store, and their images pointed at the
    mirror."""
    items = []
    for entry, path in entries:
        text, note = store.get(entry.body_key), store.get(entry.note_key)
        item = item_of(entry, path, text, note)
        if (text and text[3]) or (note and note[3]):
            item = _with_images(item, local)
        items.append(item)
    return items


@dataclass(frozen=True)
class Fresh:
    """Content files just written (by `digest fetch`), read and validated: their entries,
    and the texts to render (`work`, for worker processes) before `keep` puts both into the
    item store."""

    entries: tuple[tuple[str, FileEntry], ...]  # (place, entry)
    work: tuple[tuple[body.Kind, str], ...]


def fresh(config: Config, store: ItemStore, written: list[Path]) -> Fresh:
    """What the item store needs of `written` (files under content/items/): each file read
    again as `load` reads it, so that what is stored is exactly what `load` would derive. A
    file that does not validate is left out (the build reports it). Each is recorded with
    its stat of the moment it was written, so the first build reads and hashes it once more
    (a racy entry) before trusting it."""
    entries: dict[str, FileEntry] = {}
    texts: dict[str, tuple[body.Kind, str]] = {}
    declared = _declared(config)
    for path in written:
        try:
            st = path.stat()
            data = path.read_bytes()
            rel = path.relative_to(config.root).as_posix()
            item, text, note = read_item(path, contentfile.decode(data, path), declared, data)
        except (OSError, ValueError, DigestError):
            continue
        pair: tuple[tuple[body.Kind, str], ...] = (("body", text), ("note", note))
        keys = [key(kind, t) if t else "" for kind, t in pair]
        entries[rel] = FileEntry(st.st_size, st.st_mtime_ns, time.time_ns(),
                                 file_digest(rel, data), fields_of(item), *keys)
        texts |= {k: w for k, w in zip(keys, pair, strict=True) if k and store.get(k) is None}
    return Fresh(tuple(entries.items()), tuple(texts.values()))


def keep(store: ItemStore, done: Fresh, results: list[body.Body]) -> None:
    """Put into the item store the files of `done`, with their texts rendered (`results`,
    one per `done.work`)."""
    for (kind, text), result in zip(done.work, results, strict=True):
        store.put(key(kind, text), result)
    store.rendered += len(results)
    for rel, entry in done.entries:
        store.keep_file(rel, entry)


def _texts(draft: _Draft) -> tuple[tuple[body.Kind, str], ...]:
    return ("body", draft.body), ("note", draft.note)


Local = Callable[[str], LocalImage | None]


def _local_images(config: Config, errors: list[DigestError]) -> Local:
    """Where each mirrored image is served ([site] images = "mirror")."""
    try:
        return locator(present(config.content_dir, config.site.images), config.site.urls)
    except DigestError as exc:
        errors.append(exc)
        return lambda url: None


def _with_images(item: Item, local: Local) -> Item:
    """The item with its images as readers load them (see sanitize.images); done after the
    item store, since the mirror changes without the body changing. A page keys on the
    item's digest (its file's bytes): the copies it now shows are added to it."""
    used: list[LocalImage] = []

    def tracked(url: str) -> LocalImage | None:
        copy = local(url)
        if copy is not None:
            used.append(copy)
        return copy

    html, note = images(item.html, tracked), images(item.note_html, tracked)
    if html is item.html and note is item.note_html:
        return item
    digest = item.digest
    if used:
        digest = hashlib.sha256(f"{digest}\0{used!r}".encode()).hexdigest()
    return replace(item, html=html, note_html=note, digest=digest)


def _markdown(text: str, store: ItemStore) -> str:
    """An introduction or a free page, rendered once per text."""
    note_key = key("note", text)
    done = store.get(note_key)
    if done is None:
        done = render_one(("note", text))
        store.put(note_key, done)
        store.rendered += 1
    return done[0]


def _each(found: Iterable[S], read: Callable[[S], R], errors: list[DigestError]) -> list[R]:
    """`read` of each; what fails is added to `errors` (one bad file stops no other), a
    file that cannot be read too."""
    result = []
    for each in found:
        try:
            result.append(read(each))
        except DigestError as exc:
            errors.append(exc)
        except OSError as exc:
            errors.append(unreadable(exc))
    return result


def _listed(folder: Path, errors: list[DigestError]) -> list[Path]:
    """The content files in `folder` (content/issues, content/pages); a folder it may not
    read is an error naming it, added to `errors`."""
    try:
        return flat_files(folder)
    except OSError as exc:
        errors.append(unreadable(exc))
        return []


def _duplicates(items: list[Item], root: Path) -> list[DigestError]:
    errors: list[DigestError] = []
    seen: dict[str, Path] = {}
    for item in items:
        if item.id in seen:
            other = os.path.relpath(seen[item.id], root)
            errors.append(ContentError(f"id '{item.id}' is also used by {other}",
                                       path=item.path, key="id",
                                       hint="every item needs its own id"))
        seen[item.id] = item.path
    slugs: dict[str, Path] = {}
    for item in items:
        if item.slug in slugs:
            other = os.path.relpath(slugs[item.slug], root)
            errors.append(ContentError(f"file name also used by {other}",
                                       path=item.path, hint="rename one of the files"))
        slugs[item.slug] = item.path
    return errors


def _issue(path: Path, store: ItemStore, local: Local) -> IssueFile:
    week = path.stem
    if not is_week(week):
        raise ContentError("an issue file must be named after its ISO week", path=path,
                           hint="e.g. content/issues/2026-W11.md")
    meta, text = contentfile.read(path)
    f = Fields(path, meta, ISSUE_KEYS)
    status = f.text("status")
    if status not in ("", "draft", "published"):
        f.fail("status", f"'{status}' is not an issue status", "use 'draft' or remove the key")
    intro = images(_markdown(text, store), local) if text.strip() else ""
    return IssueFile(week, path, f.text("title"), intro, status == "draft")


def _page(path: Path, store: ItemStore, local: Local) -> PageFile:
    meta, text = contentfile.read(path)
    f = Fields(path, meta, PAGE_KEYS)
    return PageFile(path.stem, path, f.text("title", required=True),
                    images(_markdown(text, store), local))
