"""select's shortcuts (issue 18) never change an answer: each fast path is checked against
the plain computation it stands for, on inputs built to hit its edges."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from digest.html.links import canonical
from digest.select import _canonical

# --- duplicate links: the fast key of a plain http(s) link is links.canonical's -----------

LINK_PARTS = ["https://", "http://", "HTTPS://", "ftp://", " ", "\t", "\n", "www.", "WWW.",
              "Example.COM", "a.b", ":8080", "user@", "[::1]", "[", "]", "/", "//", "?",
              "?utm_source=x", "&a=1", "#top", "#", "%20", "é", "\x7f", "\\", "~", "x", "."]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(LINK_PARTS), max_size=8))
def test_the_fast_link_key_is_the_canonical_one(parts: list[str]) -> None:
    url = "".join(parts)
    try:
        expected = canonical(url)
    except ValueError:  # urlsplit refuses it: so must the fast path
        try:
            _canonical(url)
        except ValueError:
            return
        raise AssertionError(f"{url!r} is refused by canonical only") from None
    assert _canonical(url) == expected, url
