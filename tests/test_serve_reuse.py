"""`digest serve` takes from its last build what is made of the same objects (pages, their
keys, feed entries and channels, topics and sources, the sitemap): a save must still show
everywhere it should, byte for byte as a clean build, however the saves follow each other."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT
from tests.test_incremental import ITEM, SLUGS, clean_build, example_copy, item_file, set_key
from tests.test_serve_session import Served

FEEDS = re.compile(r"(^|/)(feed\.xml|rss\.xml|feed\.json|items\.xml|items-rss\.xml|items\.json)$")


def _feeds_listing(output: dict[str, bytes], slug: str) -> set[str]:
    """The feed files that carry the item (its page's address)."""
    return {path for path, data in output.items()
            if FEEDS.search(path) and f"items/{slug}/".encode() in data}


def test_a_retitled_item_is_retitled_in_every_feed_that_lists_it(tmp_path: Path) -> None:
    served = Served(example_copy(tmp_path / "site"))
    listing = _feeds_listing(served.output(), ITEM)
    assert {f"sources/lesswrong/{name}" for name in ("feed.xml", "rss.xml", "feed.json")} \
        <= listing  # its source's feed lists it, in each format
    for n in range(1, 4):  # each save starts from what the last one kept
        served.save(lambda root, n=n: set_key(item_file(root, ITEM), "title",
                                                f"'Retitled in the preview {n}'"))
        built = served.output()
        for path in listing:
            assert f"Retitled in the preview {n}".encode() in built[path], path
            assert f"Retitled in the preview {n - 1}".encode() not in built[path], path
        assert built == clean_build(served.root, tmp_path / "clean"), n


def test_saves_that_take_turns_between_items_each_equal_a_clean_build(tmp_path: Path) -> None:
    """One item, another, the first again: what a save took unchanged from the build before
    (a topic's pages, a feed) is still right when the next save changes it."""
    served = Served(example_copy(tmp_path / "site"))
    for n, slug in enumerate([SLUGS[0], SLUGS[1], SLUGS[0], SLUGS[0], SLUGS[1]]):
        served.save(lambda root, n=n, slug=slug: set_key(item_file(root, slug), "title",
                                                         f"'Turn {n}'"))
        built = served.output()
        assert b"Turn %d" % n in built[f"items/{slug}/index.html"]
        assert built == clean_build(served.root, tmp_path / "clean"), (n, slug)


def test_the_same_instant_in_another_offset_shows_in_feeds_and_the_sitemap(
        tmp_path: Path) -> None:
    """A date equal as an instant but written in another offset is another date to a feed
    (its ISO form) and may be another day to the sitemap: nothing equal only as an instant
    is taken from the last build."""
    served = Served(example_copy(tmp_path / "site"))
    path = item_file(served.root, ITEM)
    # 19:51 UTC on 10 March is 05:51 on 11 March in UTC+10: another day for the sitemap.
    served.save(lambda root: set_key(path, "published", "'2026-03-11T05:51:00+10:00'"))
    built = served.output()
    assert b"2026-03-11T05:51:00+10:00" in built["sources/lesswrong/feed.xml"]
    assert built == clean_build(served.root, tmp_path / "clean")
    served.save(lambda root: set_key(path, "published", "'2026-03-10T19:51:00+00:00'"))
    built = served.output()
    assert b"2026-03-11T05:51:00+10:00" not in built["sources/lesswrong/feed.xml"]
    assert built == clean_build(served.root, tmp_path / "clean")


def test_an_added_and_a_removed_item_change_the_sitemap(tmp_path: Path) -> None:
    served = Served(example_copy(tmp_path / "site"))
    before = set(served.output())
    source = item_file(served.root, SLUGS[1])
    added = source.with_name("added-in-the-preview.md")
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"^id: .*$", "id: addedinpreview", text, count=1, flags=re.MULTILINE)
    text = re.sub(r"^title: .*$", "title: 'Added in the preview'", text, count=1,
                  flags=re.MULTILINE)
    text = re.sub(r"^link: .*$", "link: https://example.org/added/preview", text, count=1,
                  flags=re.MULTILINE)
    served.save(lambda root: added.write_text(text, encoding="utf-8"))
    built = served.output()
    new = [p for p in set(built) - before if re.fullmatch(r"items/[^/]+/index\.html", p)]
    assert len(new) == 1, new
    route = new[0].removesuffix("index.html").encode()
    assert route in built["sitemap.xml"]
    assert built == clean_build(served.root, tmp_path / "clean")
    served.save(lambda root: added.unlink())
    built = served.output()
    assert route not in built["sitemap.xml"]
    assert built == clean_build(served.root, tmp_path / "clean")


def test_a_theme_change_between_saves_shows_on_every_page_and_in_its_files(
        tmp_path: Path) -> None:
    """A theme's template or static file changed while serving: the full build that follows
    keeps the session's memos, yet makes every page and the theme's files again."""
    root = example_copy(tmp_path / "site")
    config = root / "digest.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[site]\n", '[site]\ntheme = "mytheme"\n', 1), encoding="utf-8")
    (root / "mytheme" / "templates").mkdir(parents=True)
    (root / "mytheme" / "static").mkdir()
    served = Served(root)
    served.save(lambda root: set_key(item_file(root, ITEM), "title", "'Before the theme'"))
    default = ROOT / "themes" / "default"
    base = (default / "templates" / "base.html").read_text(encoding="utf-8")
    style = (default / "static" / "style.css").read_text(encoding="utf-8")

    def restyle(root: Path) -> None:
        (root / "mytheme" / "templates" / "base.html").write_text(
            base.replace("</body>", "<p>Marked footer</p></body>"), encoding="utf-8")
        (root / "mytheme" / "static" / "style.css").write_text(
            style + "\n.marked-rule { color: red }\n", encoding="utf-8")

    served.save(restyle)
    built = served.output()
    pages = [p for p in built if p.endswith("index.html")]
    assert len(pages) >= 100 and all(b"Marked footer" in built[p] for p in pages)
    assert b".marked-rule" in built["static/style.css"]
    assert built == clean_build(served.root, tmp_path / "clean")
    served.save(lambda root: set_key(item_file(root, ITEM), "title", "'After the theme'"))
    built = served.output()
    assert b"After the theme" in built[f"items/{ITEM}/index.html"]
    assert built == clean_build(served.root, tmp_path / "clean")
