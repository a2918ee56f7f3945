"""Stage 4: content/ -> Corpus. Every file is validated; all problems are reported at once."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from digest.config import Config
from digest.content import contentfile, legacy
from digest.errors import ContentError, DigestError, did_you_mean, raise_all
from digest.html.links import clean_link
from digest.html.markup import count_words, excerpt, render_body, render_markdown
from digest.html.media import locator, present
from digest.html.sanitize import LocalImage, images
from digest.incremental.fingerprint import file_digest
from digest.incremental.loadcache import FileEntry, RenderCache
from digest.model import Corpus, IssueFile, Item, PageFile
from digest.system.state import read_state
from digest.system.workers import process_pool
from digest.text.langtag import language_tag
from digest.text.weeks import is_week

ITEM_KEYS = {
    "id", "title", "link", "source", "author", "published", "fetched", "first_seen", "topics",
    "tags", "status", "pinned", "note", "issue", "undated", "enclosures", "language",
    legacy.FORMAT_KEY,
}
ISSUE_KEYS = {"title", "status"}
PAGE_KEYS = {"title", "description"}
PARALLEL_FROM = 200  # bodies to render before worker processes pay for themselves


def load(config: Config, cache: RenderCache | None = None, jobs: int = 0) -> Corpus:
    """Read every content file; raise all problems together. A file whose size and mtime
    are those the cache recorded is not read again; bodies come from the cache when their
    text is unchanged; the others are rendered in up to `jobs` processes (0: one per core)."""
    errors: list[DigestError] = []
    cache = cache or RenderCache(None)
    content = config.content_dir
    # Sorted by parts: the order of Path comparisons, without their cost on 10,000 files.
    slots = _each(sorted((content / "items").rglob("*.md"), key=lambda p: p.parts),
                  lambda p: _known_or_read(p, config, cache), errors)
    local = _local_images(config, errors)
    items = [_with_images(i, local)
             for i in _rendered(slots, cache, jobs or os.cpu_count() or 1)]
    issues = _each(sorted((content / "issues").glob("*.md")),
                   lambda p: _issue(p, cache, local), errors)
    pages = _each(sorted((content / "pages").glob("*.md")), lambda p: _page(p, cache, local),
                  errors)
    errors += _duplicates(items, config.root)
    raise_all(errors)
    return Corpus(_whose_topics(items, config), tuple(issues), tuple(pages))


def reload(config: Config, corpus: Corpus, paths: set[Path], cache: RenderCache,
           jobs: int = 0) -> Corpus:
    """`corpus` (what `load` gave) with the content files `paths` read again, or left out
    when they are gone: what `load` would give now, reading only them (`digest serve`).
    Every other item is the very object it was; so is an item read again to the same."""
    errors: list[DigestError] = []
    content = config.content_dir
    items_dir = content / "items"
    changed = {p for p in paths if p.name.endswith(".md") and p.is_relative_to(items_dir)}
    was = {item.path: item for item in corpus.items}
    slots = _each(sorted((p for p in changed if p.is_file()), key=lambda p: p.parts),
                  lambda p: _known_or_read(p, config, cache, trust_stat=False), errors)
    local = _local_images(config, errors)
    fresh = _whose_topics([_with_images(i, local)
                           for i in _rendered(slots, cache, jobs or os.cpu_count() or 1)],
                          config)
    now = {item.path: item if was.get(item.path) != item else was[item.path]
           for item in fresh}
    if all(p in was for p in changed) and now.keys() == changed:  # edits only: same order
        items = [now.get(item.path, item) for item in corpus.items]
    else:
        kept = [item for item in corpus.items if item.path not in changed]
        items = sorted([*kept, *now.values()], key=lambda i: i.path.parts)
    issues, pages = corpus.issues, corpus.pages
    if any(p.is_relative_to(content / "issues") for p in paths):
        issues = tuple(_each(sorted((content / "issues").glob("*.md")),
                             lambda p: _issue(p, cache, local), errors))
    if any(p.is_relative_to(content / "pages") for p in paths):
        pages = tuple(_each(sorted((content / "pages").glob("*.md")),
                            lambda p: _page(p, cache, local), errors))
    errors += _duplicates(items, config.root)
    raise_all(errors)
    return Corpus(tuple(items), issues, pages)


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


def _known_or_read(path: Path, config: Config, cache: RenderCache, trust_stat: bool = True
                   ) -> _Draft | FileEntry:
    """The cache's entry for an unchanged file, else the file read and validated.
    `trust_stat=False`: the file is known to have changed, its bytes are read whatever its
    size and mtime say."""
    rel = path.relative_to(config.root).as_posix()
    st = path.stat()
    entry = cache.file(rel, st.st_size, st.st_mtime_ns) if trust_stat else None
    if entry is None:
        data = path.read_bytes()
        digest = file_digest(rel, data)
        entry = cache.file_by_digest(rel, digest)
        if entry is None:
            item, body, note = _item(path, contentfile.decode(data, path), config, data)
            return _Draft(replace(item, digest=digest), body, note, rel, st.st_size,
                          st.st_mtime_ns)
        entry = replace(entry, size=st.st_size, mtime_ns=st.st_mtime_ns,
                        recorded_ns=cache.now)
    if entry.item.path != path:
        entry = replace(entry, item=replace(entry.item, path=path))
    if not _still_valid(entry.item, config) or \
            (entry.body_key and cache.get(entry.body_key) is None) or \
            (entry.note_key and cache.get(entry.note_key) is None):
        # digest.toml changed under it, or its body left the cache: read it as new
        data = path.read_bytes()
        item, body, note = _item(path, contentfile.decode(data, path), config, data)
        return _Draft(replace(item, digest=entry.item.digest), body, note, rel, entry.size,
                      entry.mtime_ns)
    cache.keep_file(rel, entry)
    return entry


def _still_valid(item: Item, config: Config) -> bool:
    return config.feed(item.source) is not None and \
        all(config.topic(t) is not None for t in item.topics)


def _rendered(slots: list[_Draft | FileEntry], cache: RenderCache, jobs: int) -> list[Item]:
    """Items with their bodies and notes rendered: from the cache, or in parallel."""
    texts = {RenderCache.key(kind, text): (kind, text) for d in slots
             if isinstance(d, _Draft) for kind, text in (("body", d.body), ("note", d.note))
             if text}
    missing = [k for k in texts if cache.get(k) is None]
    work = [texts[k] for k in missing]
    if len(work) >= PARALLEL_FROM and jobs > 1:
        with process_pool(min(jobs, len(work) // (PARALLEL_FROM // 2))) as pool:
            results = list(pool.map(_render, work, chunksize=64))
    else:
        results = [_render(w) for w in work]
    for key, result in zip(missing, results, strict=True):
        cache.put(key, result)
    items = []
    for slot in slots:
        if isinstance(slot, _Draft):
            body_key = RenderCache.key("body", slot.body) if slot.body else ""
            note_key = RenderCache.key("note", slot.note) if slot.note else ""
            bare = replace(slot.item, html="", words=0, excerpt="", note_html="")
            cache.keep_file(slot.rel, FileEntry(slot.size, slot.mtime_ns, cache.now, bare,
                                                body_key, note_key))
        else:
            bare, body_key, note_key = slot.item, slot.body_key, slot.note_key
        html, words, summary = cache.get(body_key) or ("", 0, "")
        note_html = (cache.get(note_key) or ("",))[0]
        items.append(replace(bare, html=html, words=words, excerpt=summary,
                             note_html=note_html))
    return items


def _render(work: tuple[str, str]) -> tuple[str, int, str]:
    """A body (HTML or Markdown) or a note (Markdown) -> (safe HTML, words, excerpt)."""
    kind, text = work
    html = render_body(text) if kind == "body" else render_markdown(text)
    return html, count_words(html), excerpt(html)


Local = Callable[[str], LocalImage | None]


def _local_images(config: Config, errors: list[DigestError]) -> Local:
    """Where each mirrored image is served ([site] images = "mirror")."""
    try:
        return locator(present(config), config.site.urls)
    except DigestError as exc:
        errors.append(exc)
        return lambda url: None


def _with_images(item: Item, local: Local) -> Item:
    """The item with its images as readers load them (see sanitize.images); done after the
    render cache, since the mirror changes without the body changing. A page keys on the
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


def _markdown(text: str, cache: RenderCache) -> str:
    """An introduction or a free page, rendered once per text."""
    key = RenderCache.key("note", text)
    done = cache.get(key)
    if done is None:
        done = _render(("note", text))
        cache.put(key, done)
    return str(done[0])


def _each(paths: list[Path], read: Any, errors: list[DigestError]) -> list[Any]:
    result = []
    for path in paths:
        try:
            result.append(read(path))
        except DigestError as exc:
            errors.append(exc)
    return result


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


class _Fields:
    """Typed access to one file's front matter, with errors that name the file and line."""

    def __init__(self, path: Path, meta: dict[str, Any], known: set[str]) -> None:
        self.path, self.meta = path, meta
        for key in meta:
            if key not in known:
                self.fail(key, "unknown key", did_you_mean(str(key), known)
                          or f"known keys: {', '.join(sorted(known))}")

    def fail(self, key: str, message: str, hint: str | None = None) -> None:
        raise ContentError(message, path=self.path, line=contentfile.key_line(self.path, key),
                           key=key, hint=hint)

    def text(self, key: str, required: bool = False) -> str:
        value = self.meta.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.fail(key, "must be text", "put the value in quotes")
        return str(value)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.meta.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, "must be a list of strings", "e.g. [ai-safety, research]")
        return tuple(value)

    def boolean(self, key: str) -> bool:
        value = self.meta.get(key, False)
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
        return bool(value)

    def when(self, key: str, required: bool = False) -> datetime | None:
        value = self.meta.get(key)
        if value is None:
            if required:
                self.fail(key, "is required", "an ISO 8601 date, e.g. '2026-03-11T02:30:00+03:00'")
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(key, f"'{value}' is not a date",
                      "use ISO 8601, e.g. '2026-03-11T02:30:00+03:00'")
            raise
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _item(path: Path, text: tuple[dict[str, Any], str], config: Config, data: bytes
          ) -> tuple[Item, str, str]:
    """The item of a content file (its front matter and body, from `data`), validated; its
    body and note still to be rendered."""
    meta, body = text
    f = _Fields(path, meta, ITEM_KEYS)
    version = meta.get(legacy.FORMAT_KEY, legacy.CONTENT_FORMAT)
    if version != legacy.CONTENT_FORMAT or isinstance(version, bool):
        f.fail(legacy.FORMAT_KEY, f"'{version}' is not a content format this digest reads",
               "a newer digest wrote it: upgrade digest"
               if isinstance(version, int) and version > legacy.CONTENT_FORMAT
               else f"use {legacy.CONTENT_FORMAT}, or remove the line")
    source = f.text("source", required=True)
    if config.feed(source) is None:
        f.fail("source", f"unknown source '{source}'",
               did_you_mean(source, [x.slug for x in config.feeds]) or "add it under [[feeds]]")
    topics = f.strings("topics")
    for topic in topics:
        if config.topic(topic) is None:
            f.fail("topics", f"unknown topic '{topic}'",
                   did_you_mean(topic, [t.slug for t in config.topics])
                   or ("define it under [[topics]], or run `digest migrate` (an older fetch "
                       "may have written it)" if legacy.is_old(meta)
                       else "define it under [[topics]]"))
    status = f.text("status") or None
    if status not in (None, "selected", "rejected"):
        f.fail("status", f"'{status}' is not a status", "use 'selected' or 'rejected'")
    issue = f.text("issue") or None
    if issue is not None and not is_week(issue):
        f.fail("issue", f"'{issue}' is not an ISO week", "e.g. 2026-W11")
    link = clean_link(f.text("link"))
    if link and not link.startswith(("http://", "https://")):
        f.fail("link", f"'{link[:60]}' is not an http(s) URL", "the original's web address")
    published = f.when("published", required=True)
    assert published is not None
    language = f.text("language")
    if language and not language_tag(language):
        f.fail("language", f"unknown language '{language[:40]}'",
               "use a BCP 47 tag such as en, ru or pt-BR, or remove the key")
    item = Item(
        id=f.text("id", required=True),
        slug=path.stem,
        path=path,
        title=f.text("title", required=True),
        link=link,
        source=source,
        author=f.text("author"),
        published=published,
        fetched=f.when("fetched"),
        first_seen=f.when("first_seen"),
        topics=topics,
        tags=f.strings("tags"),
        status=status,  # type: ignore[arg-type]
        pinned=f.boolean("pinned"),
        note_html="",
        issue=issue,
        html="",
        words=0,
        old_topics=legacy.evidence(data) if legacy.is_old(meta) else (),
        language=language_tag(language) or "",
    )
    return item, body, f.text("note")


def _issue(path: Path, cache: RenderCache, local: Local) -> IssueFile:
    week = path.stem
    if not is_week(week):
        raise ContentError("an issue file must be named after its ISO week", path=path,
                           hint="e.g. content/issues/2026-W11.md")
    meta, body = contentfile.read(path)
    f = _Fields(path, meta, ISSUE_KEYS)
    status = f.text("status")
    if status not in ("", "draft", "published"):
        f.fail("status", f"'{status}' is not an issue status", "use 'draft' or remove the key")
    intro = images(_markdown(body, cache), local) if body.strip() else ""
    return IssueFile(week, path, f.text("title"), intro, status == "draft")


def _page(path: Path, cache: RenderCache, local: Local) -> PageFile:
    meta, body = contentfile.read(path)
    f = _Fields(path, meta, PAGE_KEYS)
    return PageFile(path.stem, path, f.text("title", required=True),
                    images(_markdown(body, cache), local))
