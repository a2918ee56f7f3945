"""Link hygiene: tracking parameters go, everything else about a link stays as it was."""

from __future__ import annotations

import pytest

from digest.html.links import canonical, clean_link

CLEANED = {
    "utm_* of every kind": ("https://example.org/post?utm_source=rss&utm_medium=feed"
                            "&utm_campaign=x&utm_content=y&utm_term=z", "https://example.org/post"),
    "any case": ("https://example.org/post?UTM_Source=rss&FBCLID=1", "https://example.org/post"),
    "fbclid and gclid": ("https://example.org/p?fbclid=IwAR0&gclid=Cj0K", "https://example.org/p"),
    "other click ids": ("https://example.org/p?yclid=1&msclkid=2&mc_eid=3&igshid=4",
                        "https://example.org/p"),
    "the rest kept in order": ("https://example.org/watch?v=abc&utm_source=x&t=42",
                               "https://example.org/watch?v=abc&t=42"),
    "fragment kept": ("https://example.org/p?id=7&utm_medium=rss#comments",
                      "https://example.org/p?id=7#comments"),
    "cyrillic path kept": ("https://habr.example/ru/статья/?utm_source=tg",
                           "https://habr.example/ru/статья/"),
    "no query": ("https://example.org/p", "https://example.org/p"),
    "nothing to remove": ("https://example.org/s?q=rust&page=2", "https://example.org/s?q=rust&page=2"),
}


@pytest.mark.parametrize(("url", "clean"), CLEANED.values(), ids=CLEANED.keys())
def test_clean_link_removes_tracking_parameters(url: str, clean: str) -> None:
    assert clean_link(url) == clean


UNTOUCHED = {
    "a flag without a value": ("https://example.org/page?print&utm_source=x",
                               "https://example.org/page?print"),
    "semicolons": ("https://example.org/cgi?a=1;b=2&utm_source=x",
                   "https://example.org/cgi?a=1;b=2"),
    "percent-encoded space": ("https://example.org/s?q=a%20b&fbclid=1",
                              "https://example.org/s?q=a%20b"),
    "an encoded URL as a value": ("https://example.org/go?to=https://a.example/b&gclid=1",
                                  "https://example.org/go?to=https://a.example/b"),
}


@pytest.mark.parametrize(("url", "clean"), UNTOUCHED.values(), ids=UNTOUCHED.keys())
def test_clean_link_leaves_the_parameters_it_keeps_as_they_were(url: str, clean: str) -> None:
    assert clean_link(url) == clean


@pytest.mark.parametrize(("a", "b"), [
    ("https://www.example.org/story/?utm_source=lw", "http://example.org/story?fbclid=1"),
    ("https://EXAMPLE.org/story", "https://example.org/story/"),
    ("https://example.org/s?id=7&gclid=1", "https://example.org/s?id=7"),
])
def test_canonical_links_of_one_story_are_equal(a: str, b: str) -> None:
    assert canonical(a) == canonical(b)


@pytest.mark.parametrize(("a", "b"), [
    ("https://example.org/s?id=7", "https://example.org/s?id=8"),
    ("https://example.org/a", "https://example.org/b"),
    ("https://example.org/Story", "https://example.org/story"),  # paths are case-sensitive
])
def test_canonical_links_of_different_stories_differ(a: str, b: str) -> None:
    assert canonical(a) != canonical(b)
