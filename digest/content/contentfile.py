"""The content file format: YAML front matter between `---` lines, then a body."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from digest.errors import ContentError

# libyaml's C loader and dumper when present: several times faster on thousands of files.
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Loader(_BASE_LOADER):  # type: ignore[misc]
    """A safe loader that leaves dates as text, so that a bad one is reported with its key
    and line by the stage that validates it, not as a crash in the YAML library."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {
        first: [(tag, regexp) for tag, regexp in resolvers
                if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _BASE_LOADER.yaml_implicit_resolvers.items()
    }


class _Duplicate(yaml.constructor.ConstructorError):
    """A key given twice in one mapping: YAML would keep the last, silently."""


def _no_duplicates(loader: Any, node: yaml.MappingNode, deep: bool = False) -> Any:
    """Construct a mapping, refusing a key that is there twice (`status: rejected` high up,
    `status: selected` further down): which one the editor meant is not for digest to
    guess."""
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            if key_node.value in seen:
                raise _Duplicate(None, None, f"'{key_node.value}' is there twice (also on line "
                                 f"{seen[key_node.value] + 1})", key_node.start_mark)
            seen[key_node.value] = key_node.start_mark.line
    return _BASE_LOADER.construct_mapping(loader, node, deep)


_Loader.construct_mapping = _no_duplicates


class _Handler(YAMLHandler):
    def export(self, metadata: dict[str, object], **kwargs: object) -> str:
        return str(yaml.dump(metadata, Dumper=_DUMPER, default_flow_style=False,
                             allow_unicode=True, sort_keys=False, width=1000)).strip()


_HANDLER = _Handler()


def dumps(meta: Mapping[str, object], body: str) -> str:
    """A content file's text, keys in the order given."""
    post = frontmatter.Post(body, handler=_HANDLER, **meta)
    return str(frontmatter.dumps(post, handler=_HANDLER)) + "\n"


def read(path: Path) -> tuple[dict[str, object], str]:
    """A content file's front matter and body; ContentError naming the file and line."""
    return decode(path.read_bytes(), path)


def decode(data: bytes, path: Path) -> tuple[dict[str, object], str]:
    """The front matter and body of a content file's bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError("not UTF-8 text", path=path, hint="save the file as UTF-8") from exc
    return loads(text.replace("\r\n", "\n").replace("\r", "\n"), path)  # as read_text does


def loads(text: str, path: Path) -> tuple[dict[str, object], str]:
    text = text.removeprefix("\ufeff")
    if not text.startswith("---"):
        raise ContentError("no front matter", path=path, line=1,
                           hint="start the file with a line '---', the YAML keys, then '---'")
    lines = text.splitlines()
    if not any(line.rstrip() == "---" for line in lines[1:]):
        raise ContentError("front matter is not closed", path=path, line=1,
                           hint="add a line '---' after the last key")
    try:
        head, body = _HANDLER.split(text)
        meta = yaml.load(head, Loader=_Loader)  # a safe loader
    except ValueError as exc:
        raise ContentError("front matter is not closed", path=path, line=1,
                           hint="add a line '---' after the last key") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if getattr(exc, "problem", "") == "found unexpected end of stream":
            # an unclosed quote reaches the end: the line it was opened on is the one to fix
            mark = getattr(exc, "context_mark", None) or mark
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, _Duplicate):
            raise ContentError(f"front matter: {problem}", path=path, line=line,
                               hint="keep the one you mean, delete the other") from exc
        raise ContentError(f"invalid YAML in front matter: {problem}", path=path, line=line,
                           hint="check quoting and indentation; quote values containing ': '"
                           ) from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ContentError("front matter must be a set of 'key: value' lines", path=path, line=2)
    return dict(meta), body.strip()


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
