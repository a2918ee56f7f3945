"""Stage 8 (beside write): the full-text search index of the built site, made by Pagefind
(offline, no server needed; Cyrillic is stemmed; the UI speaks the site's language)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from digest.errors import DigestError

FOLDER = "pagefind"


def index(site_dir: Path, language: str, into: Path) -> None:
    """Index the pages under `site_dir` that mark their text with data-pagefind-body; write
    the index into the folder `into` (the site's FOLDER, or a temporary one)."""
    command = [sys.executable, "-m", "pagefind", "--site", str(site_dir), "--output-path",
               str(into), "--force-language", language.split("-")[0], "--silent"]
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
