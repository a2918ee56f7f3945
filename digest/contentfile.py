"""The content file format: YAML front matter between `---` lines, then a body."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import frontmatter
import yaml

from digest.errors import ContentError


def dumps(meta: dict[str, Any], body: str) -> str:
    """A content file's text, keys in the order given."""
    post = frontmatter.Post(body, **meta)
    return str(frontmatter.dumps(post, sort_keys=False, allow_unicode=True, width=1000)) + "\n"


def read(path: Path) -> tuple[dict[str, Any], str]:
    """A content file's front matter and body; ContentError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError("not UTF-8 text", path=path, hint="save the file as UTF-8") from exc
    return loads(text, path)


def loads(text: str, path: Path) -> tuple[dict[str, Any], str]:
    text = text.removeprefix("\ufeff")
    if not text.startswith("---"):
        raise ContentError("no front matter", path=path, line=1,
                           hint="start the file with a line '---', the YAML keys, then '---'")
    lines = text.splitlines()
    if not any(line.rstrip() == "---" for line in lines[1:]):
        raise ContentError("front matter is not closed", path=path, line=1,
                           hint="add a line '---' after the last key")
    try:
        meta, body = frontmatter.parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ContentError(f"invalid YAML in front matter: {problem}", path=path, line=line,
                           hint="check quoting and indentation; quote values containing ': '"
                           ) from exc
    if not isinstance(meta, dict):
        raise ContentError("front matter must be a set of 'key: value' lines", path=path, line=2)
    return dict(meta), body


def key_line(path: Path, key: str) -> int | None:
    """The line of `key:` in a file's front matter, for error messages."""
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith(f"{key}:"):
                return number
            if number > 1 and line.rstrip() == "---":
                return None
    except (OSError, UnicodeDecodeError):
        return None
    return None
