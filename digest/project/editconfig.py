"""Careful edits of digest.toml that keep the editor's comments and layout."""

from __future__ import annotations

import json
import re
from pathlib import Path

from digest.system.atomic import write_text


def replace_urls(path: Path, moved: dict[str, str]) -> None:
    """Replace each old feed URL (as a quoted `url = ...` value) by its new one."""
    text = path.read_text(encoding="utf-8")
    for old, new in moved.items():
        pattern = re.compile(r'^(\s*url\s*=\s*)(["\'])' + re.escape(old) + r"\2", re.MULTILINE)
        text = pattern.sub(lambda m: m.group(1) + toml_string(new), text)  # noqa: B023
    write_text(path, text)


def append(path: Path, block: str) -> None:
    """Add a block (new [[feeds]] or [[topics]] tables) at the end of the file."""
    text = path.read_text(encoding="utf-8")
    write_text(path, text.rstrip("\n") + "\n\n" + block.strip("\n") + "\n")


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML; DEL, which JSON leaves alone and
    TOML forbids, is escaped too)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
