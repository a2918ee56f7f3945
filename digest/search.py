"""Stage 8 (beside write): the full-text search index of the built site, made by Pagefind
(offline, no server needed; Cyrillic is stemmed; the UI speaks the site's language).

Only item pages mark their text with data-pagefind-body, so only they are results; Pagefind
is given only them to read (`PAGES`), not the issue, topic and source pages, which would be
parsed for nothing (about a tenth of the CPU time at 10,000 items: the rest, and the memory,
about 330 KB per item page of 1,200 words, are Pagefind's indexing of the item pages). The
index is the same, byte for byte, as one made from the whole site."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from digest.errors import DigestError
from digest.model import Urls

FOLDER = "pagefind"
PAGES = f"{Urls.ITEMS}*/index.html"  # the item pages, relative to the site (a Pagefind glob)


def index(site_dir: Path, language: str, into: Path) -> None:
    """Index the item pages under `site_dir` (their text marked with data-pagefind-body);
    write the index into the folder `into` (the site's FOLDER, or a temporary one). A site
    with no item page is indexed whole, as Pagefind does when no page marks its text."""
    has_items = next((site_dir / Urls.ITEMS).glob("*/index.html"), None) is not None
    command = [sys.executable, "-m", "pagefind", "--site", str(site_dir), "--output-path",
               str(into), "--force-language", language.split("-")[0], "--silent"]
    if has_items:
        command += ["--glob", PAGES]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DigestError(f"the search index could not be built: {exc}",
                          hint="reinstall digest, or set search = false under [site]") from exc
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise DigestError("the search index could not be built: "
                          + (reason[-1] if reason else f"pagefind exited {done.returncode}"),
                          hint="install pagefind[extended], or set search = false under [site]")
