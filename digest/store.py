"""Stage 3: entries -> content files. New items only; a file that exists is never touched."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from digest import contentfile
from digest.atomic import write_text
from digest.errors import ContentError
from digest.model import Entry
from digest.slug import item_id, item_slug

ITEMS = "items"
# A line break after each closing block tag, so that editors read and diff the body by lines.
_BLOCK_END = re.compile(
    r"(</(?:p|h[1-6]|ul|ol|li|table|thead|tbody|tr|blockquote|figure|dl|dd|dt|hr)>|<br>|<hr>)"
    r"(?=<)"
)


def known_ids(content_dir: Path) -> dict[str, Path]:
    """Every item id already under content/items/, with its file."""
    ids: dict[str, Path] = {}
    for path in sorted((content_dir / ITEMS).rglob("*.md")):
        try:
            meta, _ = contentfile.read(path)
        except ContentError:
            continue  # `digest check` and `build` report it; fetch must not re-create it
        value = meta.get("id")
        if value is not None:
            ids[str(value)] = path
    return ids


def store(
    entries: Iterable[Entry],
    *,
    content_dir: Path,
    topics: tuple[str, ...],
    timezone: str,
    known: dict[str, Path],
    now: datetime | None = None,
) -> tuple[Path, ...]:
    """Write one content file per entry not seen before; update `known` in place."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    zone = ZoneInfo(timezone)
    written: list[Path] = []
    for entry in entries:
        id_ = item_id(entry.source, entry.guid, entry.link)
        if id_ in known:
            continue
        published = entry.published or now
        local = published.astimezone(zone)
        folder = content_dir / ITEMS / f"{local:%Y}" / f"{local:%m}"
        path = _free_path(folder, item_slug(entry.title, id_))
        meta = {
            "id": id_,
            "title": entry.title,
            "link": entry.link,
            "source": entry.source,
            "author": entry.author,
            "published": published.isoformat(),
            "fetched": now.isoformat(),
            "first_seen": now.isoformat(),
            "topics": list(topics),
            "tags": list(entry.tags),
        }
        write_text(path, contentfile.dumps(meta, _readable(entry.html)))
        known[id_] = path
        written.append(path)
    return tuple(written)


def _readable(html: str) -> str:
    """Break sanitized HTML into lines at block ends (outside <pre>, whitespace there is text)."""
    parts = re.split(r"(<pre[\s>].*?</pre>)", html, flags=re.DOTALL)
    return "".join(p if p.startswith("<pre") else _BLOCK_END.sub(r"\1\n", p) for p in parts)


def _free_path(folder: Path, slug: str) -> Path:
    path = folder / f"{slug}.md"
    n = 2
    while path.exists():
        path = folder / f"{slug}-{n}.md"
        n += 1
    return path
