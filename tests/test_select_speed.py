"""Selection's shortcuts (issue 18) never change an answer: each fast path (the duplicate
link key of links.canonical, the keyword matcher) is checked against the plain computation
it stands for, on inputs built to hit its edges."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from digest.html.links import canonical, parsed_canonical
from digest.text.patterns import Matcher, compile_pattern

# --- duplicate links: the fast key of a plain http(s) link is the parsed one ---------------

LINK_PARTS = ["https://", "http://", "HTTPS://", "ftp://", " ", "\t", "\n", "www.", "WWW.",
              "Example.COM", "a.b", ":8080", "user@", "[::1]", "[", "]", "/", "//", "?",
              "?utm_source=x", "&a=1", "#top", "#", "%20", "é", "\x7f", "\\", "~", "x", "."]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(LINK_PARTS), max_size=8))
def test_the_fast_link_key_is_the_canonical_one(parts: list[str]) -> None:
    url = "".join(parts)
    try:
        expected = parsed_canonical(url)
    except ValueError:  # urlsplit refuses it: so must the fast path
        try:
            canonical(url)
        except ValueError:
            return
        raise AssertionError(f"{url!r} is refused by the parsed key only") from None
    assert canonical(url) == expected, url


# --- a /regex/ tried only near its required text answers as a search of the whole text -----

REGEXES = ["/\\bGo\\b/", "/\\bquer(y|ies)\\b/", "/(?<=x)go+d/", "/\\w{0,3}go/", "/^go/",
           "/(ab|a)?gogo/", "/[a-z]+go/", "/\\bsk\\b/", "/a.?b.{1,2}go/", "/(?i:G)o·/",
           "/(x)\\1go/", "/go$/", "/\\Bgo/", "/(?=.go)..o/", "/ss/", "/xx(?=\\.)/"]
TEXT_PARTS = ["go", "GO", "Go", "gogo", "ago", "x", "xx", "ab", "a", "query", "QUERIES", " ",
              "\n", "·", "ß", "ẞ", "ſk", "\u212a", "SK", "sk", "İ", "ı", "é", "_", "-", "god", "."]


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(REGEXES), st.lists(st.sampled_from(TEXT_PARTS), max_size=10))
@example("/xx(?=\\.)/", ["x", "xx", "."])  # the required text's places overlap
@example("/\\bGo\\b/", ["ago", "·", "ß", " GO"])  # one longer when folded: searched whole
def test_a_regex_matches_where_a_full_search_does(pattern: str, parts: list[str]) -> None:
    text = "".join(parts)
    expected = compile_pattern(pattern).search(text) is not None
    assert (Matcher((pattern,)).first(text) == pattern) is expected, (pattern, text)
    assert (Matcher((pattern,)).first(text, text.casefold()) == pattern) is expected


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(["go", "Go ON", "query", "sk", "ſk", "ß", "SS", "x_go", "ab  go",
                        "gogo", "oGo"]),
       st.lists(st.sampled_from(TEXT_PARTS), max_size=10))
def test_a_word_matches_where_its_whole_word_regex_does(word: str, parts: list[str]) -> None:
    text = "".join(parts)
    words = r"\s+".join(re.escape(w.casefold()) for w in word.split())
    expected = re.search(rf"(?<!\w){words}(?!\w)", text.casefold()) is not None
    assert (Matcher((word,)).first(text) == word) is expected, (word, text)
