"""Mirrored images ([site] images = "mirror"): content/media/, its index, and their URLs.

`digest fetch` (mirror.py) keeps a copy of each new item's images in content/media/, named
by the hash of its bytes (content/media/ab/ab12….png), and records it in
content/media/index.json: remote URL -> file, width, height, type, bytes. The index lives
with the content, so it is committed with the items and a CI build has it. The build serves
the copies from <site>/media/ and gives each image its width and height.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digest.errors import ContentError
from digest.html.sanitize import LocalImage
from digest.model import Output, Urls
from digest.system.atomic import write_bytes

FOLDER = "media"  # under content/ (on the site: Urls.MEDIA)
INDEX = "index.json"
FORMAT = 1
# The extension of each type we keep: from the bytes (checked by Pillow), never the feed.
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif",
              "image/webp": "webp", "image/avif": "avif"}
# What an index entry may name: a hash, in the folder of its first two digits. An index a
# person edited can name nothing else (no "..", no other folder).
_FILE = re.compile(r"^([0-9a-f]{2})/\1[0-9a-f]{62}\.(?:png|jpg|gif|webp|avif)$")


@dataclass(frozen=True)
class Mirrored:
    """A remote image's copy under content/media/."""

    file: str  # "ab/ab12….png", relative to content/media/
    width: int
    height: int
    type: str  # "image/png"
    bytes: int


def name(sha256: str, content_type: str) -> str:
    """Where a copy lives, relative to content/media/: by the hash of its bytes."""
    return f"{sha256[:2]}/{sha256}.{EXTENSIONS[content_type]}"


def index_path(content_dir: Path) -> Path:
    return content_dir / FOLDER / INDEX


def read_index(content_dir: Path) -> dict[str, Mirrored]:
    """The index (empty when there is none); a damaged one is an error naming the file."""
    path = index_path(content_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ContentError(f"cannot read the index of mirrored images: {exc}", path=path,
                           hint="restore it from git (`git checkout -- content/media`)") from exc
    if not isinstance(data, dict) or not isinstance(data.get("images"), dict):
        raise ContentError("not an index of mirrored images", path=path, key="images",
                           hint="restore it from git (`git checkout -- content/media`)")
    return {url: _entry(path, url, raw) for url, raw in data["images"].items()}


def _entry(path: Path, url: str, raw: Any) -> Mirrored:
    try:
        entry = Mirrored(str(raw["file"]), int(raw["width"]), int(raw["height"]),
                         str(raw["type"]), int(raw["bytes"]))
    except (TypeError, KeyError, ValueError) as exc:
        raise ContentError(f"a broken entry: {exc!r}", path=path, key=f"images.{url[:80]}",
                           hint="restore the index from git, or remove the entry") from exc
    if not _FILE.match(entry.file):
        raise ContentError(f"'{entry.file[:80]}' is not a mirrored image's name", path=path,
                           key=f"images.{url[:80]}", hint="remove the entry")
    return entry


def write_index(content_dir: Path, index: Mapping[str, Mirrored], tmp_dir: Path) -> None:
    """Write the index atomically, sorted, one entry per line-group (readable diffs)."""
    data = {"format": FORMAT,
            "images": {url: {"file": m.file, "width": m.width, "height": m.height,
                             "type": m.type, "bytes": m.bytes}
                       for url, m in sorted(index.items())}}
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    write_bytes(index_path(content_dir), text.encode("utf-8"), tmp_dir=tmp_dir)


def present(content_dir: Path, images: str) -> dict[str, Mirrored]:
    """The mirrored images a build serves: none unless [site] images (`images`) is
    "mirror" (the setting says what the site does); an entry whose file is missing is left
    out (its image stays remote)."""
    if images != "mirror":
        return {}
    folder = content_dir / FOLDER
    return {url: m for url, m in read_index(content_dir).items()
            if (folder / m.file).is_file()}


def locator(mirrored: Mapping[str, Mirrored], urls: Urls
            ) -> Callable[[str], LocalImage | None]:
    """remote URL -> its copy's URL on the site (under the site's sub-path) and size."""
    local = {url: LocalImage(urls.link(urls.media(m.file)), m.width, m.height)
             for url, m in mirrored.items()}
    return local.get


def outputs(content_dir: Path, mirrored: Mapping[str, Mirrored]) -> list[Output]:
    """The copies, as files of the site (media/ab/ab12….png)."""
    folder = content_dir / FOLDER
    files = sorted({m.file for m in mirrored.values()})
    return [Output(Urls.media(file), (folder / file).read_bytes()) for file in files]
