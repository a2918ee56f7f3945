"""What templates read of their variables decides what a page is fingerprinted by."""

from __future__ import annotations

from pathlib import Path

import jinja2

from digest.incremental.paths import CachePaths
from digest.incremental.reads import Reads
from digest.model import Ref


def reads(tmp_path: Path, **templates: str) -> Reads:
    env = jinja2.Environment(loader=jinja2.DictLoader(
        {f"{name}.html": text for name, text in templates.items()}),
        extensions=["jinja2.ext.i18n"])
    return Reads(env, CachePaths(tmp_path / "cache"), "theme-hash")


def test_attributes_and_counts_are_found(tmp_path: Path) -> None:
    found = reads(tmp_path, topic="{{ topic.title }} {{ ngettext('%(num)d', '%(num)d', "
                                  "topic.items|length) }} {{ topic['url'] }}")
    assert found.of("topic") == ("items|length", "title", "url")
    assert found.of("never_used") == ()


def test_a_variable_used_whole_is_fingerprinted_whole(tmp_path: Path) -> None:
    found = reads(tmp_path,
                  a="{% for i in topic.items %}{{ i }}{% endfor %}{{ source.title }}",
                  b="{% import 'a.html' as m %}{{ m.card(source) }}",
                  c="{% set s = issue %}{{ s.title }}{{ entry[key] }}")
    assert found.of("topic") == ("items",)
    assert found.of("source") is None  # passed to a macro
    assert found.of("issue") is None  # renamed
    assert found.of("entry") is None  # read with a computed key


def test_the_view_is_what_the_template_can_show(tmp_path: Path) -> None:
    found = reads(tmp_path, page="{{ ref.title }} {{ refs|length }} {{ pair.entries|length }}")
    assert found.view("ref", Ref("s", "Title", "u/")) == (("title", "Title"),)
    assert found.view("refs", (1, 2)) == (1, 2)  # `refs|length` uses refs whole
    assert found.view("pair", {"entries": [1, 2, 3]}) == (("entries|length", 3),)


def test_a_broken_template_means_everything_matters(tmp_path: Path) -> None:
    found = reads(tmp_path, ok="{{ topic.title }}", bad="{% if %}")
    assert found.of("topic") is None
