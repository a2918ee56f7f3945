"""Stage 3: entries -> content files.

New entries become files; an entry that changed upstream rewrites its file only if the file
is still exactly what digest wrote (its hash is in the state); a file a person edited is
never touched. Nothing is rewritten when nothing changed, so bytes and mtimes stay.

Files carry no topics: those are computed at build time (`topics:` is the editor's). An old
file that still holds the `topics:` an older fetch wrote, and that nobody edited, loses that
key (and nothing else) the next time its feed is read: reported as migrated.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from digest.content import contentfile, legacy
from digest.content.files import item_files
from digest.content.frontedit import FrontMatterError
from digest.errors import ContentError
from digest.html import cleanup
from digest.html.cleanup import NO_RULES, Cleanup
from digest.model import Entry
from digest.system.atomic import write_text
from digest.text.slug import item_id, item_slug

ITEMS = "items"
# A line break after each closing block tag, so that editors read and diff the body by lines.
_BLOCK_END = re.compile(
    r"(</(?:p|h[1-6]|ul|ol|li|table|thead|tbody|tr|blockquote|figure|dl|dd|dt)>|<br>|<hr>)"
    r"(?=<)"
)
_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*(?:/[a-z0-9-]+)?$")
_HEAD = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)  # front matter as contentfile writes it
_ID_LINE = re.compile(r"^id:[ \t]*['\"]?([^'\"\n]+?)['\"]?[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class StoreReport:
    """What storing one feed's entries did."""

    new: tuple[Path, ...] = ()
    updated: tuple[Path, ...] = ()
    unchanged: int = 0
    kept: tuple[Path, ...] = ()  # changed upstream, but a person edited the file: kept theirs
    migrated: tuple[Path, ...] = ()  # lost the `topics:` an older fetch wrote, nothing else


@dataclass(frozen=True)
class ReprocessReport:
    """What applying a feed's cleanup rules again to its stored items did."""

    rewritten: tuple[Path, ...] = ()
    unchanged: int = 0
    edited: tuple[Path, ...] = ()  # a person edited the file: left as it is
    unstable: tuple[Path, ...] = ()  # a replace rule changes its own result: left as it is


@dataclass
class Store:
    """The content folder as fetch sees it: which ids have files, and what digest wrote."""

    content_dir: Path
    timezone: str
    tmp_dir: Path
    written: dict[str, str]  # item id -> sha256 of the text digest last wrote
    _index: dict[str, Path] | None = None
    # Told of each file written, with its text (ingest puts what `load` needs of it into
    # the item store).
    on_write: Callable[[Path, str], None] | None = None

    @property
    def index(self) -> dict[str, Path]:
        """Every item id under content/items/, with its file (read once, on first need)."""
        if self._index is None:
            self._index = scan_ids(self.content_dir / ITEMS)
        return self._index

    def put(self, entries: Iterable[Entry], now: datetime,
            prepared: dict[str, NewFile] | None = None,
            feed_topics: tuple[str, ...] = (), rules: Cleanup = NO_RULES) -> StoreReport:
        """Store entries, their feed's cleanup `rules` applied; `prepared` may hold their
        files, made ahead by `new_files`. `feed_topics` only help to recognise a file as an
        older fetch wrote it."""
        new: list[Path] = []
        updated: list[Path] = []
        kept: list[Path] = []
        migrated: list[Path] = []
        unchanged = 0
        now = now.replace(microsecond=0)
        ready = prepared or {}
        for entry in entries:
            id_ = entry_id(entry)
            path = self.index.get(id_)
            if path is None:
                file = ready.get(id_) or _new_file(entry, id_, now, self.timezone, rules)
                path = self._free_path(file.folder, file.stem)
                self._write(path, id_, file.text)
                new.append(path)
                continue
            outcome = self._refresh(path, entry, id_, now, migrated, feed_topics, rules)
            if outcome == "updated":
                updated.append(path)
            elif outcome == "kept":
                kept.append(path)
            else:
                unchanged += 1
        return StoreReport(tuple(new), tuple(updated), unchanged, tuple(kept),
                           tuple(migrated))

    def _refresh(self, path: Path, entry: Entry, id_: str, now: datetime,
                 migrated: list[Path], feed_topics: tuple[str, ...], rules: Cleanup) -> str:
        try:
            current = path.read_text(encoding="utf-8")
            meta, _ = contentfile.loads(current, path)
        except (OSError, UnicodeDecodeError, ContentError):
            return "kept"  # broken by hand: `digest check` reports it; fetch leaves it alone
        first_seen = _when(meta.get("first_seen")) or now
        fetched = _when(meta.get("fetched")) or now
        wrote = self.written.get(id_)
        if legacy.is_old(meta) and wrote == _sha(current):
            done = self._migrate(path, id_, current)
            if done is not None:
                current, wrote = done, self.written[id_]
                migrated.append(path)
        # A file stays in the shape it has until digest rewrites it.
        marked = legacy.FORMAT_KEY in meta
        body = _body(entry, rules)
        candidate = _text(entry, id_, fetched, first_seen, body, marked=marked)
        if candidate == current:
            # Exactly what digest writes: ours (a killed run may not have recorded it).
            self.written[id_] = _sha(current)
            return "unchanged"
        # What digest wrote, in each shape it may have written: today's, a migrated old
        # file's (no format), an old file's (no format, the topics an older fetch wrote: the
        # feed's, or the file's own when a person edited something else).
        # A match: the entry did not change upstream, whatever a person did to the file.
        # Its body as the feed's cleanup rules make it, or as it was before they existed.
        bodies = {body, _readable(entry.html)}
        shapes = {_sha(_text(entry, id_, fetched, first_seen, b, marked=m))
                  for m in (True, False) for b in bodies}
        for topics in (list(feed_topics), meta.get("topics")):
            if isinstance(topics, list):
                shapes |= {_sha(_text(entry, id_, fetched, first_seen, b, marked=False,
                                      topics=topics)) for b in bodies}
        if wrote in shapes:
            return "unchanged"  # a person edited it; upstream did not change
        if wrote != _sha(current):
            return "kept"
        self._write(path, id_, _text(entry, id_, now, first_seen, body))
        if migrated and migrated[-1] == path:
            migrated.pop()  # rewritten whole: updated says it
        return "updated"

    def _migrate(self, path: Path, id_: str, current: str) -> str | None:
        """Take the `topics:` an older fetch wrote out of a file nobody edited."""
        try:
            text = legacy.migrated(current.encode("utf-8")).decode("utf-8")
        except FrontMatterError:
            return None
        self._write(path, id_, text)
        return text

    def reprocess(self, rules: dict[str, Cleanup]) -> dict[str, ReprocessReport]:
        """Apply each feed's cleanup `rules` (by feed slug) again to the stored body of
        every item of that feed whose file is exactly what digest last wrote; no network.
        A file a person edited is never rewritten; a rewritten one keeps its front matter
        byte for byte. Rules see the stored body, so they can drop more, never bring back
        what an earlier rule dropped."""
        found: dict[str, dict[str, list[Path]]] = {slug: {} for slug in rules}
        unchanged = dict.fromkeys(rules, 0)
        for id_, path in sorted(self.index.items(), key=lambda pair: pair[1]):
            try:
                current = path.read_text(encoding="utf-8")
                meta, body = contentfile.loads(current, path)
            except (OSError, UnicodeDecodeError, ContentError):
                continue  # broken by hand: `digest check` reports it
            source = str(meta.get("source", ""))
            if source not in rules:
                continue
            outcome = self._again(path, id_, current, body, rules[source], f"feeds.{source}")
            if outcome == "unchanged":
                unchanged[source] += 1
            else:
                found[source].setdefault(outcome, []).append(path)
        return {slug: ReprocessReport(tuple(f.get("rewritten", [])), unchanged[slug],
                                      tuple(f.get("edited", [])), tuple(f.get("unstable", [])))
                for slug, f in found.items()}

    def _again(self, path: Path, id_: str, current: str, body: str, rules: Cleanup,
               where: str) -> str:
        if self.written.get(id_) != _sha(current):
            return "edited"  # or never written by digest: either way, a person's file
        new = _readable(cleanup.apply(body, rules, where)).strip()
        if new == body:
            return "unchanged"
        if _readable(cleanup.apply(new, rules, where)).strip() != new:
            return "unstable"  # applied again it would change again: never settles
        head = _HEAD.match(current)
        text = f"{head.group(0)}\n{new}\n" if head else ""
        try:
            same = head is not None and contentfile.loads(text, path) == (
                contentfile.loads(current, path)[0], new)
        except ContentError:
            same = False
        if not same:
            return "unstable"
        self._write(path, id_, text)
        return "rewritten"

    def _free_path(self, folder: str, stem: str) -> Path:
        # Names come from our own slugs and dates; check anyway that none can climb out.
        if not _SAFE_NAME.match(folder) or not _SAFE_NAME.match(stem):
            raise ContentError(f"refusing an unsafe file name: {folder}/{stem}")
        base = self.content_dir / ITEMS / folder
        path, n = base / f"{stem}.md", 2
        while path.exists():
            path, n = base / f"{stem}-{n}.md", n + 1
        return path

    def _write(self, path: Path, id_: str, text: str) -> None:
        write_text(path, text, tmp_dir=self.tmp_dir)
        self.index[id_] = path
        self.written[id_] = _sha(text)
        if self.on_write is not None:
            self.on_write(path, text)


def entry_id(entry: Entry) -> str:
    fallback = f"{entry.title}\n{entry.published}\n{entry.html[:500]}"
    return item_id(entry.source, entry.guid, entry.link, fallback)


@dataclass(frozen=True)
class NewFile:
    """Where and what an entry's file would be if it were new."""

    folder: str  # "2026/03", from its date in the site's time zone
    stem: str  # "<title slug>-<6 hex of id>"
    text: str


def new_files(entries: Iterable[Entry], now: datetime, timezone: str,
              rules: Cleanup = NO_RULES) -> dict[str, NewFile]:
    """Each entry's file should it be new: pure, so that worker processes can do this part
    of storing in parallel."""
    now = now.replace(microsecond=0)
    return {(id_ := entry_id(e)): _new_file(e, id_, now, timezone, rules) for e in entries}


def _new_file(entry: Entry, id_: str, now: datetime, timezone: str, rules: Cleanup
              ) -> NewFile:
    local = (entry.published or now).astimezone(ZoneInfo(timezone))
    return NewFile(f"{local:%Y}/{local:%m}", item_slug(entry.title, id_),
                   _text(entry, id_, now, now, _body(entry, rules)))


def scan_ids(folder: Path) -> dict[str, Path]:
    """Item id -> file, for every content file and every post kept in a dot-folder (one moved
    into .trash/ gets no new copy), the id line read cheaply when it can be; a file or
    folder that cannot be read is passed over."""
    ids: dict[str, Path] = {}
    for path, *_ in item_files(folder, folder, kept=True):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        head = text[:text.find("\n---", 3) + 1] if text.startswith("---") else ""
        found = _ID_LINE.search(head)
        if found:
            ids[found.group(1)] = path
            continue
        try:
            meta, _ = contentfile.loads(text, path)
        except ContentError:
            continue  # `digest check` reports it
        if meta.get("id") is not None:
            ids[str(meta["id"])] = path
    return ids


def _body(entry: Entry, rules: Cleanup) -> str:
    """The stored body: the sanitized entry, its feed's cleanup rules applied (the entry's
    id is made before, from the body as the feed sent it, so rules never change an id)."""
    return _readable(cleanup.apply(entry.html, rules, f"feeds.{entry.source}"))


def _text(entry: Entry, id_: str, fetched: datetime, first_seen: datetime, body: str, *,
          marked: bool = True, topics: list[str] | None = None) -> str:
    """A file's text: the current format (`content_format: 2`, no topics), or, to recognise
    what digest wrote before, the old one (no marker; `topics` as an older fetch wrote them)."""
    meta: dict[str, Any] = {legacy.FORMAT_KEY: legacy.CONTENT_FORMAT} if marked else {}
    meta |= {
        "id": id_,
        "title": entry.title,
        "link": entry.link,
        "source": entry.source,
        "author": entry.author,
        "published": (entry.published or first_seen).isoformat(),
        "fetched": fetched.isoformat(),
        "first_seen": first_seen.isoformat(),
    }
    if topics is not None:
        meta["topics"] = topics
    meta["tags"] = list(entry.tags)
    if entry.published is None:
        meta["undated"] = True  # the feed gave no date: `published` is when we first saw it
    if entry.enclosures:
        meta["enclosures"] = [{"url": e.url, "type": e.type, "length": e.length}
                              for e in entry.enclosures]
    return contentfile.dumps(meta, body)


def _readable(html: str) -> str:
    """Break sanitized HTML into lines at block ends (not inside <pre>: there it is text)."""
    parts = re.split(r"(<pre[\s>].*?</pre>)", html, flags=re.DOTALL)
    return "".join(p if p.startswith("<pre") else _BLOCK_END.sub(r"\1\n", p) for p in parts)


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
