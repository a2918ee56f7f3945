"""Byte-preserving edits of a content file: set or remove one top-level front matter key, or
replace the body, and leave every other byte as it was (key order, comments, quoting, line
endings, a BOM, the body), so that an edit reads as a one-line diff in git.

Pure: bytes in, bytes out. The YAML parser says where a key and its value are (so a `key:`
inside another value is not the key, and a comment after a value is not the value); every
edit is checked by parsing the result: the key must hold the new value and every other key
its old one, or the edit is refused (FrontMatterError).
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from digest.content import contentfile
from digest.errors import ContentError

Value = str | bool | int | list[str]

_BOM = b"\xef\xbb\xbf"
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # as digest/contentfile.py reads
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
    """The lines [start, end) of top-level `key` and its value, as YAML reads them: from the
    key's line to the line of the value's last character. Comments and blank lines after the
    value stay outside, and a `key:` inside another value, a comment or the body is no key."""
    text = [line.decode("utf-8") for line in layout.lines[1:layout.close]]
    starts = list(itertools.accumulate(map(len, text), initial=0))  # each line's offset
    found = [(begin, last) for name, begin, last in _entries("".join(text)) if name == key]
    if len(found) > 1:
        raise FrontMatterError(f"'{key}' appears {len(found)} times in the front matter")
    if not found:
        return None
    begin, last = found[0]
    first = bisect.bisect_right(starts, begin) - 1
    if starts[first] != begin or not _key_line(key).match(layout.lines[first + 1]):
        raise FrontMatterError(f"'{key}' does not start a line of its own: edit the file by "
                               "hand")
    return first + 1, bisect.bisect_right(starts, max(begin, last - 1)) + 1


def _key_line(key: str) -> re.Pattern[bytes]:
    """`key:` at the start of a line, the key plain or quoted."""
    return re.compile(rb"^([\"']?)" + re.escape(key.encode()) + rb"\1[ \t]*:(?:[ \t]|\r|\n|$)")


def _entries(text: str) -> list[tuple[str | None, int, int]]:
    """Each entry of a top-level YAML mapping: its key (None when not a plain scalar), the
    offset where the key starts and the offset after its value's last character."""
    try:
        events = list(yaml.parse(text, Loader=_LOADER))
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"the front matter does not parse ({exc}): fix the file first"
                               ) from exc
    if len(events) < 3 or not isinstance(events[2], yaml.MappingStartEvent):
        return []  # no keys at all (empty front matter)
    entries = []
    i = 3
    while not isinstance(events[i], yaml.MappingEndEvent):
        key = events[i]
        i, _ = _node(events, i)
        i, last = _node(events, i)
        entries.append((key.value if isinstance(key, yaml.ScalarEvent) else None,
                        _offset(key.start_mark), _trimmed(text, last)))
    return entries


def _node(events: list[yaml.Event], i: int) -> tuple[int, int]:
    """(the index after the node that starts at events[i], the offset after its last
    character): a block collection ends with its last item, not where the next key starts."""
    event = events[i]
    if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
        return i + 1, _offset(event.end_mark)
    flow = bool(getattr(event, "flow_style", False))
    last = _offset(event.end_mark)
    i += 1
    while not isinstance(events[i], (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
        i, last = _node(events, i)
    return i + 1, _offset(events[i].end_mark) if flow else last


def _offset(mark: Any) -> int:
    assert mark is not None  # both parsers mark every event (in characters, not bytes)
    return int(mark.index)


def _trimmed(text: str, end: int) -> int:
    """`end` moved back over the line breaks and blanks a block scalar ends with."""
    while end > 0 and text[end - 1] in " \t\r\n\x85\u2028\u2029":
        end -= 1
    return end


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
    if rest[i:i + 1] == "#" and not rest[:i].strip():
        return "", rest  # no value, only a comment: `key:   # to decide`
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
    if isinstance(value, int):
        return [f"{head} {value}{comment}{newline}"]
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


def get(data: bytes) -> dict[str, object]:
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
        newline = _ending(lines[layout.close - 1]).decode()  # as the line it follows
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
