"""Stage 1b ([site] images = "mirror"): the images of the items a fetch stored -> copies in
content/media/, recorded in its index (media.py).

Each image is asked for once, ever: an URL already in the index is not asked again, and
only the items this run stored new (or updated) are looked at, so an image that failed is
not asked again either (its remote URL stays, and the run says why, once). Downloads share
the feeds' limits machinery (fetch.fetch_one: a deadline, a size cap counted after
decompression, redirects followed by hand, loops seen), at most AT_ONCE at a time. The bytes
must be an image Pillow reads, in a web format; SVG is refused (it can carry scripts, and a
copy would run them from the site's own origin). The file's name and extension come from its
bytes, never from the feed.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from digest.config import Config
from digest.content import contentfile
from digest.errors import DigestError, FeedError
from digest.fetch import FetchRequest, Limits, fetch_one, http_client
from digest.html.markup import render_body
from digest.html.media import EXTENSIONS, FOLDER, Mirrored, name, read_index, write_index
from digest.html.sanitize import image_urls
from digest.ingest import fetch_lock
from digest.system.atomic import write_bytes

LIMITS = Limits(deadline=30.0, max_bytes=10 * 2**20, max_redirects=5, max_retry_after=0.0)
AT_ONCE = 8
ACCEPT = "image/avif, image/webp, image/png, image/jpeg, image/gif;q=0.9, image/*;q=0.5"
MAX_PIXELS = 50_000_000  # a picture larger than this would choke a phone: not kept
# Pillow's name of each format we keep, and its type.
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "GIF": "image/gif",
           "WEBP": "image/webp", "AVIF": "image/avif"}


@dataclass(frozen=True)
class MirrorReport:
    mirrored: int  # images downloaded and kept by this run
    known: int  # already mirrored: not asked for again
    failed: tuple[tuple[str, str], ...]  # (URL, why): its remote URL stays


class Refused(Exception):
    """An answer that is not an image we keep."""


def mirror(config: Config, stored: Iterable[Path], limits: Limits = LIMITS) -> MirrorReport:
    """Copy the images of the content files `stored` (those a fetch just wrote) that are not
    mirrored yet; record them in the index."""
    urls = _images_of(stored)
    if not urls:
        return MirrorReport(0, 0, ())
    with fetch_lock(config):
        index = read_index(config.content_dir)
        todo = [u for u in urls if u not in index]
        tmp = config.state_dir / "tmp"
        done, failed = asyncio.run(_download_all(todo, config, tmp, limits))
        if done:
            write_index(config.content_dir, {**read_index(config.content_dir), **done}, tmp)
    return MirrorReport(len(done), len(urls) - len(todo), tuple(failed))


def _images_of(paths: Iterable[Path]) -> list[str]:
    """The remote images of these content files, as the build will see them (rendered)."""
    found: dict[str, None] = {}
    for path in paths:
        try:
            _, body = contentfile.read(path)
        except (OSError, DigestError):
            continue  # `digest check` reports it
        found.update(dict.fromkeys(image_urls(render_body(body))))
    return list(found)


async def _download_all(urls: list[str], config: Config, tmp: Path, limits: Limits
                        ) -> tuple[dict[str, Mirrored], list[tuple[str, str]]]:
    gate = asyncio.Semaphore(AT_ONCE)
    done: dict[str, Mirrored] = {}
    failed: list[tuple[str, str]] = []
    async with http_client(AT_ONCE, accept=ACCEPT) as client:

        async def one(url: str) -> None:
            async with gate:
                try:
                    result = await fetch_one(client, FetchRequest("images", url, url),
                                             config.root, limits)
                    if result.status != 200:
                        raise Refused(f"HTTP {result.status}")
                    data = result.body
                    kind = result.headers.get("content-type", "")
                    done[url] = _keep(data, _checked(data, kind), config, tmp)
                except FeedError as exc:
                    failed.append((url, exc.message.removeprefix(f"{url}: ")))
                except Refused as exc:
                    failed.append((url, str(exc)))

        await asyncio.gather(*(one(u) for u in urls))
    return done, sorted(failed)


def _checked(data: bytes, content_type: str) -> tuple[str, int, int]:
    """(type, width, height) of an image we keep; Refused says why not."""
    declared = content_type.split(";")[0].strip().lower()
    if declared == "image/svg+xml":
        raise Refused("SVG is not mirrored (it can carry scripts)")
    if not declared.startswith("image/"):
        raise Refused(f"not an image (Content-Type: {declared or 'none'})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                kind, (width, height) = image.format, image.size
                image.verify()  # a truncated or corrupt file fails here
    except Exception as exc:  # Pillow raises many kinds; none may stop the other images
        raise Refused(f"not a readable image ({declared}): {type(exc).__name__}") from exc
    if kind not in FORMATS:
        raise Refused(f"{kind} is not a web image format we keep")
    if width * height > MAX_PIXELS:
        raise Refused(f"{width}×{height} pixels is too large")
    return FORMATS[kind], width, height


def _keep(data: bytes, checked: tuple[str, int, int], config: Config, tmp: Path) -> Mirrored:
    """Write the copy (atomically; once: its name is its hash) and describe it."""
    kind, width, height = checked
    file = name(hashlib.sha256(data).hexdigest(), kind)
    path = config.content_dir / FOLDER / file
    if not (path.is_file() and path.stat().st_size == len(data)):
        write_bytes(path, data, tmp_dir=tmp)
    assert kind in EXTENSIONS
    return Mirrored(file, width, height, kind, len(data))
