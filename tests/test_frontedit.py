"""digest/frontedit.py: front matter edits that change only the lines of one key."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.content import frontedit
from digest.content.frontedit import FrontMatterError, set_body, set_key

ITEM = b"""\
---
id: d49f6501b199b23d            # stable: from the entry's guid
title: "Don't Let LLMs Write For You: a note"
link: https://www.lesswrong.com/posts/x
source: lesswrong
published: '2026-03-10T18:49:00+00:00'
# the editor's keys below
topics:
- rationality
- ai-safety
tags: []
---

<p>Body with a line that looks like a key:</p>
status: selected
"""


def diff(before: bytes, after: bytes) -> tuple[list[bytes], list[bytes]]:
    """(removed lines, added lines), line endings included."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    removed, added = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            removed += a[i1:i2]
            added += b[j1:j2]
    return removed, added


# --- setting a key -----------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "value", "line"), [
    ("status", "rejected", b"status: rejected\n"),
    ("status", "selected", b"status: selected\n"),
    ("pinned", True, b"pinned: true\n"),
    ("issue", "2026-W12", b"issue: 2026-W12\n"),
    ("note", "Read the **second half**.", b'note: "Read the **second half**."\n'),
])
def test_a_new_key_is_one_line_appended_at_the_end_of_the_front_matter(
        key: str, value: frontedit.Value, line: bytes) -> None:
    after = set_key(ITEM, key, value)
    assert diff(ITEM, after) == ([], [line])
    assert after == ITEM.replace(b"tags: []\n---\n", b"tags: []\n" + line + b"---\n")
    assert frontedit.get(after)[key] == value


def test_an_existing_key_changes_in_place() -> None:
    text = ITEM.replace(b"source: lesswrong\n", b"source: lesswrong\nstatus: selected\n")
    after = set_key(text, "status", "rejected")
    assert diff(text, after) == ([b"status: selected\n"], [b"status: rejected\n"])
    assert after.index(b"status: rejected") < after.index(b"published:")  # key order kept


def test_removing_a_key_removes_its_line_and_nothing_else() -> None:
    text = set_key(set_key(ITEM, "pinned", True), "status", "selected")
    after = set_key(text, "pinned", None)
    assert diff(text, after) == ([b"pinned: true\n"], [])
    assert set_key(ITEM, "pinned", None) == ITEM  # absent: nothing to do


def test_setting_the_same_value_twice_is_stable() -> None:
    once = set_key(ITEM, "status", "rejected")
    assert set_key(once, "status", "rejected") == once


def test_a_block_list_is_replaced_as_a_whole() -> None:
    after = set_key(ITEM, "topics", ["software", "ai-safety"])
    assert diff(ITEM, after) == ([b"- rationality\n"], [b"- software\n"])
    assert frontedit.get(after)["topics"] == ["software", "ai-safety"]
    assert after.count(b"# the editor's keys below\n") == 1


@pytest.mark.parametrize("block", [
    b"topics:\n  - a\n  - b\n",  # indented list
    b"topics: [a, b]\n",  # flow list
    b"topics:\n- a\n\n- b\n",  # a blank line inside
    b"topics:\n- a\n# inside\n- b\n",  # a comment inside (it goes with the value)
])
def test_any_list_style_becomes_a_block_list(block: bytes) -> None:
    text = b"---\nid: x\n" + block + b"tags: []\n---\nbody\n"
    after = set_key(text, "topics", ["c"])
    assert after == b"---\nid: x\ntopics:\n- c\ntags: []\n---\nbody\n"


def test_an_empty_list_is_written_in_flow_style() -> None:
    after = set_key(ITEM, "topics", [])
    assert diff(ITEM, after) == ([b"topics:\n", b"- rationality\n", b"- ai-safety\n"],
                                 [b"topics: []\n"])


def test_comments_and_blank_lines_after_a_value_stay() -> None:
    text = b"---\nid: x\nnote: |-\n  one\n  two\n\n# about tags\ntags: []\n---\n"
    after = set_key(text, "note", "short")
    assert after == b'---\nid: x\nnote: "short"\n\n# about tags\ntags: []\n---\n'


def test_a_trailing_comment_on_the_key_line_is_kept() -> None:
    text = b"---\nid: x\nstatus: selected   # decided on Monday\n---\n"
    after = set_key(text, "status", "rejected")
    assert after == b"---\nid: x\nstatus: rejected   # decided on Monday\n---\n"
    text = b"---\nid: x\ntopics: [a]  # mine\n---\n"
    assert set_key(text, "topics", ["b"]) == b"---\nid: x\ntopics:  # mine\n- b\n---\n"


@pytest.mark.parametrize(("line", "comment"), [
    (b"note: 'It''s # not a comment'  # but this is\n", b"  # but this is"),
    (b'note: "a \\" # still text"  # comment\n', b"  # comment"),
    (b"note: C# is fine # comment\n", b" # comment"),
    (b"note: 'no comment # here'\n", b""),
])
def test_quoted_values_are_read_with_their_quotes(line: bytes, comment: bytes) -> None:
    text = b"---\nid: x\n" + line + b"---\n"
    after = set_key(text, "note", "new")
    assert after == b'---\nid: x\nnote: "new"' + comment + b"\n---\n"


def test_a_multi_line_quoted_value_is_replaced_whole() -> None:
    text = b'---\nid: x\nnote: "first\n  second"\ntitle: T\n---\n'
    assert set_key(text, "note", "one") == b'---\nid: x\nnote: "one"\ntitle: T\n---\n'


def test_a_key_inside_another_value_or_the_body_is_not_the_key() -> None:
    text = b"---\nid: x\nnote: |-\n  status: selected\n---\nstatus: rejected\n"
    after = set_key(text, "status", "selected")
    assert after == b"---\nid: x\nnote: |-\n  status: selected\nstatus: selected\n---\n" \
        b"status: rejected\n"


@pytest.mark.parametrize(("text", "key", "value", "expected"), [
    # A `key:` at the start of a line, inside a quoted value that goes on over lines.
    (b'---\nid: x\nnote: "first\nstatus: selected"\ntitle: T\n---\n', "status", "rejected",
     b'---\nid: x\nnote: "first\nstatus: selected"\ntitle: T\nstatus: rejected\n---\n'),
    (b'---\nid: x\nnote: "first\nstatus: selected"\ntitle: T\n---\n', "note", "one",
     b'---\nid: x\nnote: "one"\ntitle: T\n---\n'),
    # Inside a flow mapping that goes on over lines.
    (b"---\nid: x\nmeta: {a: 1,\nstatus: 2}\n---\n", "status", "rejected",
     b"---\nid: x\nmeta: {a: 1,\nstatus: 2}\nstatus: rejected\n---\n"),
    # `---` and comment-like lines inside a block scalar are its text: replaced with it.
    (b"---\nid: x\nnote: |\n  ---\n  status: a\n  # its last line\n\n# after\ntitle: T\n---\n",
     "note", "new", b'---\nid: x\nnote: "new"\n\n# after\ntitle: T\n---\n'),
    (b"---\nid: x\nnote: |\n  ---\n  status: a\ntitle: T\n---\n", "status", "rejected",
     b"---\nid: x\nnote: |\n  ---\n  status: a\ntitle: T\nstatus: rejected\n---\n"),
    # A key in a nested mapping is not the top-level key.
    (b"---\nmeta:\n  status: b\nstatus: s\n---\n", "status", None,
     b"---\nmeta:\n  status: b\n---\n"),
])
def test_a_key_is_found_where_yaml_finds_it(text: bytes, key: str, value: frontedit.Value | None,
                                            expected: bytes) -> None:
    assert set_key(text, key, value) == expected


@pytest.mark.parametrize("text", [
    b"---\nid: x\nstatus: selected\n  # decided on Monday\ntitle: T\n---\n",
    b"---\nid: x\nstatus: selected   \ntitle: T\t\n  # decided on Monday\n---\n",
])
def test_an_indented_comment_after_a_value_is_not_the_value(text: bytes) -> None:
    after = set_key(text, "status", "rejected")
    assert diff(text, after) == ([text.splitlines(keepends=True)[2]], [b"status: rejected\n"])
    text = b"---\nid: x\ntopics:\n- a\n  # more later\ntitle: T\n---\n"
    assert set_key(text, "topics", ["b"]) == text.replace(b"- a\n", b"- b\n")


def test_a_comment_alone_after_the_colon_is_kept() -> None:
    text = b"---\nid: x\nstatus:   # to decide\ntitle: T\n---\n"
    assert set_key(text, "status", "rejected") == \
        b"---\nid: x\nstatus: rejected   # to decide\ntitle: T\n---\n"


@pytest.mark.parametrize(("text", "message"), [
    # YAML reads U+2028 as a line break: `status` is a key this editor's lines do not see.
    ("---\nid: x\nnote: a\u2028status: b\n---\n".encode(), "does not start a line"),
    (b"---\nid: x\n? status\n: selected\n---\n", "does not start a line"),
    (b"---\nid: x\nstatus: a\n'status': b\n---\n", "'status' is there twice"),
])
def test_a_key_this_editor_cannot_rewrite_in_place_is_refused_not_duplicated(
        text: bytes, message: str) -> None:
    with pytest.raises(FrontMatterError, match=message):
        set_key(text, "status", "rejected")


def test_crlf_line_endings_are_kept_and_used_for_new_lines() -> None:
    text = ITEM.replace(b"\n", b"\r\n")
    after = set_key(set_key(text, "status", "rejected"), "topics", ["software"])
    assert b"\n" not in after.replace(b"\r\n", b"")
    removed, added = diff(text, after)
    assert removed == [b"- rationality\r\n", b"- ai-safety\r\n"]
    assert added == [b"- software\r\n", b"status: rejected\r\n"]
    after = set_key(text, "note", "one\ntwo")
    assert diff(text, after)[1] == [b"note: |-\r\n", b"  one\r\n", b"  two\r\n"]
    assert frontedit.get(after)["note"] == "one\ntwo"


def test_a_new_key_ends_its_line_as_the_line_before_it() -> None:
    text = b"---\r\nid: x\ntitle: T\n---\r\nbody\r\n"  # mixed, as a copy and paste leaves it
    assert diff(text, set_key(text, "status", "rejected")) == ([], [b"status: rejected\n"])
    text = b"---\nid: x\r\n---\n"
    assert diff(text, set_key(text, "pinned", True)) == ([], [b"pinned: true\r\n"])


def test_a_bom_is_kept() -> None:
    text = b"\xef\xbb\xbf" + ITEM
    after = set_key(text, "status", "rejected")
    assert after.startswith(b"\xef\xbb\xbf---\n")
    assert diff(text, after) == ([], [b"status: rejected\n"])


def test_the_body_is_kept_byte_for_byte() -> None:
    text = b"---\nid: x\n---\n\n\t<p>odd  spacing</p>  \r\nno final newline"
    after = set_key(text, "pinned", True)
    assert after.endswith(b"---\n\n\t<p>odd  spacing</p>  \r\nno final newline")


@pytest.mark.parametrize(("value", "line"), [
    ("selected", b"status: selected\n"),
    ("yes", b'status: "yes"\n'),  # YAML 1.1 would read a bare yes as true
    ("2026-03-10", b'status: "2026-03-10"\n'),  # a date
    ("1.10", b'status: "1.10"\n'),  # a number
    ("null", b'status: "null"\n'),
    ("- x", b'status: "- x"\n'),
    ("a: b", b'status: "a: b"\n'),
    ("", b'status: ""\n'),
])
def test_text_is_plain_only_when_yaml_reads_it_back_as_that_text(value: str, line: bytes
                                                                   ) -> None:
    after = set_key(ITEM, "status", value)
    assert diff(ITEM, after) == ([], [line])
    assert frontedit.get(after)["status"] == value


@pytest.mark.parametrize("note", [
    'quotes " and \\ backslashes', "tab\there", "nul \x00 del \x7f",
    "line\u2028separator", "bom \ufeff inside", "emoji 🙂 and «ёлки»", " leading space",
    "two\n\nparagraphs", "  indented\nfirst line", "ends with newline\n", "\x85next line",
])
def test_awkward_notes_round_trip(note: str) -> None:
    after = set_key(ITEM, "note", note)
    assert frontedit.get(after)["note"] == note
    removed, added = diff(ITEM, after)
    assert removed == [] and added[0].startswith(b"note: ")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_note_round_trips_and_touches_only_its_lines(note: str) -> None:
    text = ITEM.replace(b"tags: []\n", b"tags: []\nnote: old\n")
    after = set_key(text, "note", note)
    meta = frontedit.get(after)
    assert meta["note"] == note
    assert {k: v for k, v in meta.items() if k != "note"} == \
        {k: v for k, v in frontedit.get(text).items() if k != "note"}
    removed, added = diff(text, after)
    assert removed in ([b"note: old\n"], [])
    assert all(line.startswith((b"note:", b"  ")) or line == b"\n" for line in added)


# --- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    (b"no front matter\n", "does not start with front matter"),
    (b"---\nid: x\nbody\n", "not closed"),
    (b"---\nid: x\nstatus: a\nstatus: b\n---\n", "'status' is there twice"),
    (b"---\nid: [unclosed\n---\n", "does not parse"),
    (b"---\nid: \xff\n---\n", "not UTF-8"),
])
def test_files_that_cannot_be_edited_safely_are_refused(text: bytes, message: str) -> None:
    with pytest.raises(FrontMatterError, match=message):
        set_key(text, "status", "rejected")


def test_only_simple_keys_are_written() -> None:
    with pytest.raises(FrontMatterError):
        set_key(ITEM, "a: b\nstatus", "x")


# --- the body ----------------------------------------------------------------------------------

ISSUE = b"""\
---
title: "Week 11"   # shown as the issue's title
status: draft
---

The introduction.

Second paragraph.
"""


def test_the_body_is_read_without_surrounding_blank_lines() -> None:
    assert frontedit.body(ISSUE) == "The introduction.\n\nSecond paragraph."
    assert frontedit.body(ISSUE.replace(b"\n", b"\r\n")) == "The introduction.\n\nSecond paragraph."


def test_replacing_the_body_keeps_the_front_matter_bytes() -> None:
    after = set_body(ISSUE, "The introduction.\r\n\r\nA new second paragraph.")
    assert diff(ISSUE, after) == ([b"Second paragraph.\n"], [b"A new second paragraph.\n"])
    assert set_body(ISSUE, "The introduction.\n\nSecond paragraph.\n") == ISSUE


def test_replacing_the_body_of_a_crlf_file_with_a_bom_keeps_both() -> None:
    text = b"\xef\xbb\xbf" + ISSUE.replace(b"\n", b"\r\n")
    after = set_body(text, "New.\nText.")
    assert after == b"\xef\xbb\xbf---\r\ntitle: \"Week 11\"   # shown as the issue's title\r\n" \
        b"status: draft\r\n---\r\n\r\nNew.\r\nText.\r\n"


def test_a_body_can_be_added_and_removed() -> None:
    empty = b"---\ntitle: T\n---"
    assert set_body(empty, "Intro") == b"---\ntitle: T\n---\n\nIntro\n"
    assert set_body(ISSUE, "") == ISSUE[:ISSUE.index(b"---\n\n") + 4]
    assert set_key(set_body(b"---\n---\n", "Hello"), "title", "W") == \
        b"---\ntitle: W\n---\n\nHello\n"


# --- any front matter made of awkward pieces ---------------------------------------------------

PIECES = {  # a piece of front matter -> the key it defines (None: a comment or a blank line)
    "id: x": "id",
    "title: 'It''s: T'   # quoted": "title",
    "status: selected": "status",
    "status:   # to decide": "status",
    "pinned: true": "pinned",
    "topics:\n- a\n# between\n- b": "topics",
    "topics: [a, b]  # flow": "topics",
    "note: |-\n  one\n  ---\n  status: inside\n  # its text": "note",
    'note: "a\nstatus: inside"': "note",
    "issue: 2026-W10": "issue",
    "meta:\n  status: nested\n  note: nested": "meta",
    "# status: a comment": None,
    "": None,
    "tags: []\t": "tags",
}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(PIECES)), max_size=8),
       st.sampled_from(["\n", "\r\n"]),
       st.sampled_from(["status", "pinned", "note", "topics", "issue"]),
       st.sampled_from(["rejected", True, None, ["c"], "two\nlines", "x: y # z"]))
def test_only_the_lines_of_the_key_change(pieces: list[str], newline: str, key: str,
                                          value: frontedit.Value | None) -> None:
    """Whatever the other keys, comments and blank lines around it, an edit removes only
    lines of the piece that defines the key (none when it is not there), and adds only its
    own; or, when a key is written twice (which digest refuses to read), it is refused."""
    text = ("---\n" + "".join(p + "\n" for p in pieces) + "---\nbody\n").replace("\n", newline)
    data = text.encode()
    try:
        after = set_key(data, key, value)
    except FrontMatterError:
        keys = [PIECES[p] for p in pieces if PIECES[p] is not None]
        assert len(keys) > len(set(keys))  # refused only when a key is written twice
        return
    removed, added = diff(data, after)
    own = [line for p in pieces if PIECES[p] == key
           for line in (p + "\n").replace("\n", newline).encode().splitlines(keepends=True)]
    assert all(line in own for line in removed), (removed, own)
    assert all(line.startswith((key.encode() + b":", b"- ", b"  ")) for line in added), added
    assert after.endswith(newline.encode() + b"---" + newline.encode() + b"body" +
                          newline.encode())
