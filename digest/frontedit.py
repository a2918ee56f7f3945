"""Byte-preserving edits of a content file: set or remove one top-level front matter key, or
replace the body, and leave every other byte as it was (key order, comments, quoting, line
endings, a BOM, the body), so that an edit reads as a one-line diff in git.

Pure: bytes in, bytes out. Every edit is checked by parsing the result: the key must hold
the new value and every other key its old one, or the edit is refused (FrontMatterError).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from digest import contentfile
from digest.errors import ContentError

Value = str | bool | list[str]

_BOM = b"\xef\xbb\xbf"
_FENCE = re.compile(rb"^-{3,}[ \t]*(?:\r\n|\r|\n)?$")
_PLAIN = re.compile(r"^[\w][\w .,/()+-]*$")  # conservative: such text is plain YAML text
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# Characters a YAML double-quoted scalar must escape: C0/C1 controls, DEL, the Unicode line
# and paragraph separators (line breaks in YAML 1.1), a BOM, surrogates and non-characters.
_ESCAPE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


class FrontMatterError(ValueError):
    """The file cannot be edited safely (no front matter, a duplicate key, unparsable YAML)."""


@dataclass(frozen=True)
class _Layout:
    bom: bytes
    lines: list[bytes]  # the file after the BOM, split after each line break
    close: int  # index of the closing `---` line (the opening one is lines[0])
    newline: bytes


def _layout(data: bytes) -> _Layout:
    bom = _BOM if data.startswith(_BOM) else b""
    lines = data[len(bom):].splitlines(keepends=True)
    if not lines or not _FENCE.match(lines[0]):
        raise FrontMatterError("the file does not start with front matter ('---')")
    close = next((i for i, line in enumerate(lines[1:], 1) if _FENCE.match(line)), None)
    if close is None:
        raise FrontMatterError("the front matter is not closed by a '---' line")
    first = lines[0]
    newline = first[len(first.rstrip(b"\r\n")):] or b"\n"
    return _Layout(bom, lines, close, newline)


def _ending(line: bytes) -> bytes:
    return line[len(line.rstrip(b"\r\n")):]


def _span(layout: _Layout, key: str) -> tuple[int, int] | None:
    """The lines [start, end) holding `key` and its value (indented continuation lines, or a
    block list at column 0); comments and blank lines after it stay outside."""
    pattern = re.compile(rb"^([\"']?)" + re.escape(key.encode()) + rb"\1[ \t]*:(?:[ \t]|\r|\n|$)")
    found = [i for i in range(1, layout.close) if pattern.match(layout.lines[i])]
    if len(found) > 1:
        raise FrontMatterError(f"'{key}' appears {len(found)} times in the front matter")
    if not found:
        return None
    start = found[0]
    inline, _ = _split_comment(_after_colon(layout.lines[start]))
    end = j = start + 1
    while j < layout.close:
        line = layout.lines[j]
        bare = line.rstrip(b"\r\n")
        if bare[:1] in (b" ", b"\t") and bare.strip():
            end = j = j + 1  # an indented line: part of the value
        elif not inline.strip() and (bare == b"-" or bare.startswith((b"- ", b"-\t"))):
            end = j = j + 1  # a block list written without indentation
        elif not bare.strip() or bare.lstrip().startswith(b"#"):
            j += 1  # blank or comment: the value's only if more of the value follows
        else:
            break
    return start, end


def _after_colon(line: bytes) -> str:
    text = line.rstrip(b"\r\n").decode("utf-8")
    return text[text.index(":") + 1:]


def _split_comment(rest: str) -> tuple[str, str]:
    """A one-line value and its trailing comment (with the blanks before it)."""
    i = len(rest) - len(rest.lstrip(" \t"))
    if i < len(rest) and rest[i] in "\"'":
        quote, i = rest[i], i + 1
        while i < len(rest):
            if quote == '"' and rest[i] == "\\":
                i += 2
                continue
            if rest[i] == quote:
                if quote == "'" and rest[i + 1:i + 2] == "'":
                    i += 2
                    continue
                break
            i += 1
        i += 1
    found = re.search(r"[ \t]+#", rest[i:]) if i <= len(rest) else None
    if found is None:
        return rest, ""
    cut = i + found.start()
    return rest[:cut], rest[cut:]


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar on one line."""
    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        named = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}
        return named.get(char) or f"\\u{ord(char):04x}"

    return '"' + _ESCAPE.sub(escape, text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def _scalar(text: str, plain_ok: bool) -> str:
    if plain_ok and _PLAIN.match(text) and text == text.strip() and _loads_as(text, text):
        return text
    return _quoted(text)


def _loads_as(source: str, expected: Any) -> bool:
    """Whether YAML reads `source` as `expected`, with dates resolved as most tools do."""
    try:
        return bool(yaml.safe_load(f"k: {source}\n") == {"k": expected})
    except yaml.YAMLError:
        return False


def _render(key: str, value: Value, newline: str, comment: str) -> list[str]:
    """The lines of `key: value`; lists as a YAML block list, multi-line text as a literal
    block, other text plain when that is unambiguous, else double-quoted."""
    head = f"{key}:"
    if isinstance(value, bool):
        return [f"{head} {'true' if value else 'false'}{comment}{newline}"]
    if isinstance(value, list):
        if not value:
            return [f"{head} []{comment}{newline}"]
        return [f"{head}{comment}{newline}"] + [f"- {_scalar(v, True)}{newline}" for v in value]
    if "\n" in value and _literal_ok(value):
        return [f"{head} |-{comment}{newline}"] + [
            (f"  {line}" if line else "") + newline for line in value.split("\n")]
    return [f"{head} {_scalar(value, key != 'note')}{comment}{newline}"]


def _literal_ok(text: str) -> bool:
    """Whether a literal block (`|-`) keeps `text` exactly."""
    return (not _ESCAPE.search(text.replace("\n", "")) and not text.startswith((" ", "\n"))
            and not text.endswith(("\n", " ")))


def _meta(data: bytes) -> dict[str, Any]:
    try:
        meta, _ = contentfile.loads(data.decode("utf-8"), Path("front matter"))
    except UnicodeDecodeError as exc:
        raise FrontMatterError("the file is not UTF-8 text") from exc
    except ContentError as exc:
        raise FrontMatterError(f"the front matter does not parse ({exc.message}): "
                               "fix the file first") from exc
    return meta


def get(data: bytes) -> dict[str, Any]:
    """The front matter of a file, parsed as digest reads it."""
    _layout(data)
    return _meta(data)


def set_key(data: bytes, key: str, value: Value | None) -> bytes:
    """`data` with front matter `key` set to `value` (None: the key's lines removed). An
    existing key changes in place, keeping a trailing comment; a new one goes last."""
    if not _KEY.match(key):
        raise FrontMatterError(f"'{key}' is not a key this editor writes")
    layout = _layout(data)
    before = _meta(data)
    span = _span(layout, key)
    lines = list(layout.lines)
    if span is None:
        if value is None:
            return data
        newline = layout.newline.decode()
        new = [s.encode() for s in _render(key, value, newline, "")]
        lines[layout.close:layout.close] = new
    else:
        start, end = span
        newline = (_ending(lines[end - 1]) or layout.newline).decode()
        _, comment = _split_comment(_after_colon(lines[start]))
        new = [] if value is None else [s.encode() for s in _render(key, value, newline,
                                                                     comment)]
        lines[start:end] = new
    result = layout.bom + b"".join(lines)
    _check(before, _meta(result), key, value)
    return result


def _check(before: dict[str, Any], after: dict[str, Any], key: str, value: Value | None
           ) -> None:
    """The edit did exactly what it meant to: refuse anything else."""
    others = {k: v for k, v in before.items() if k != key}
    if {k: v for k, v in after.items() if k != key} != others:
        raise FrontMatterError(f"editing '{key}' would change other keys: edit the file by hand")
    if value is None and key in after:
        raise FrontMatterError(f"'{key}' could not be removed: edit the file by hand")
    if value is not None and after.get(key) != value:
        raise FrontMatterError(f"'{key}' could not be written exactly: edit the file by hand")


def body(data: bytes) -> str:
    """The body of a file as text: what follows the front matter, line breaks as '\\n',
    without the blank lines around it."""
    layout = _layout(data)
    text = b"".join(layout.lines[layout.close + 1:]).decode("utf-8")
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


def set_body(data: bytes, text: str) -> bytes:
    """`data` with its body replaced by `text` (in the file's line breaks, ending with one);
    the front matter, and the blank lines after it, are kept byte for byte."""
    layout = _layout(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if text == body(data):
        return data
    rest = layout.lines[layout.close + 1:]
    gap = []
    for line in rest:
        if line.strip():
            break
        gap.append(line)
    if not gap:
        gap = [layout.newline]
    closing = layout.lines[layout.close]
    if not _ending(closing):
        closing += layout.newline
    head = layout.bom + b"".join(layout.lines[:layout.close]) + closing
    if not text:
        return head
    newline = layout.newline.decode()
    return head + b"".join(gap) + (text.replace("\n", newline) + newline).encode("utf-8")
