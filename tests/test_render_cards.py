"""An item's card and its row in a list are rendered once per build and reused: an edit
still reaches every page that shows the item, and no other."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.conftest import ROOT, example_project

ITEM = "selectively-reducing-eval-awareness-and-murder-in-gemma-3-0be7cc"
NEW = "A brand new title for the card test"


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def retitle(path: Path, title: str) -> None:
    text = path.read_text(encoding="utf-8")
    head, sep, body = text[4:].partition("\n---\n")
    lines = [line for line in head.splitlines() if not line.startswith("title:")]
    path.write_text("---\n" + "\n".join([*lines, f"title: '{title}'"]) + sep + body,
                    encoding="utf-8")


def built(run: Callable[..., Result], root: Path) -> dict[str, bytes]:
    result = run(root, "build")
    assert result.exit_code == 0, result.output
    return files(root / "output")


def test_an_items_new_title_reaches_every_page_that_shows_it_and_no_other(
        tmp_path: Path, run: Callable[..., Result]) -> None:
    root = example_project(tmp_path / "site")
    before = built(run, root)
    retitle(next((root / "content" / "items").rglob(f"{ITEM}.md")), NEW)
    after = built(run, root)  # the same process: nothing of the first build's cards is left

    assert after.keys() == before.keys()
    changed = {k for k in after if after[k] != before[k]}
    showing = {k for k in after if NEW.encode() in after[k]}
    # Exactly the files that show the item changed, each to show its new title ...
    assert changed == showing
    # ... and they are its page, its issue (the home page too: the latest) with its email
    # edition, its topic's and its source's lists, and the feeds.
    assert {f"items/{ITEM}/index.html", "index.html", "issues/2026-w11/index.html",
            "issues/2026-w11/email.html", "topics/ai-safety/index.html",
            "sources/lesswrong/index.html", "feed.xml", "items.xml"} <= changed
    # Other item pages change only where they link it (the previous and next in its issue).
    assert all(f"/items/{ITEM}/".encode() in after[k] for k in changed
               if k.startswith("items/") and ITEM not in k)
    # List pages that do not show it kept their bytes: another topic's, another source's,
    # another week's issue.
    for other in ("topics/software/index.html", "sources/fowler/index.html",
                  "issues/2024-w12/index.html"):
        assert other in after and other not in changed, other
    # Its card on the home page is the one on its issue page: one card, shown twice.
    card = after["index.html"].split(f'id="item-{ITEM}"'.encode())[1].split(b"</article>")[0]
    assert NEW.encode() in card
    assert card in after["issues/2026-w11/index.html"]


MARKED = """{% macro card(entry) -%}
{% cache entry -%}
<article class="mine" id="item-{{ entry.item.slug }}"><h3>{{ entry.item.title }}</h3></article>
{%- endcache %}
{%- endmacro %}
"""


def test_a_theme_with_its_own_macros_gets_its_own_cards(
        tmp_path: Path, run: Callable[..., Result]) -> None:
    """A theme's macros.html replaces the default's: its card is the one the default issue
    page shows (and caches), and an edit reaches it."""
    root = example_project(tmp_path / "site")
    default = (ROOT / "themes" / "default" / "templates" / "macros.html").read_text("utf-8")
    start = default.index("{% macro card(entry) -%}")
    end = default.index("{%- endmacro %}", start) + len("{%- endmacro %}\n")
    mine = root / "mytheme" / "templates" / "macros.html"
    mine.parent.mkdir(parents=True)
    mine.write_text(default[:start] + MARKED + default[end:], encoding="utf-8")
    config = root / "digest.toml"
    config.write_text(config.read_text("utf-8").replace("[site]\n", '[site]\ntheme = "mytheme"\n',
                                                        1), encoding="utf-8")
    before = built(run, root)
    issue = before["issues/2026-w11/index.html"]
    assert f'<article class="mine" id="item-{ITEM}">'.encode() in issue
    assert b'class="item entry' not in issue
    retitle(next((root / "content" / "items").rglob(f"{ITEM}.md")), NEW)
    after = built(run, root)
    assert f"<h3>{NEW}</h3>".encode() in after["issues/2026-w11/index.html"]
    assert f"<h3>{NEW}</h3>".encode() in after["index.html"]
