"""The incremental package, as a short specification (digest/incremental/): where the build
cache lives, what the manifest remembers and when a file is fresh, what a page's key
follows, and when a build has nothing to do. Real files in temporary folders throughout."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import jinja2
from click.testing import Result

from digest.config import Config, load_config
from digest.incremental.ledger import Ledger
from digest.incremental.manifest import Manifest, Stat, Written, file_sha, scan, sha
from digest.incremental.pagekeys import PageKeys
from digest.incremental.paths import CachePaths
from digest.incremental.reads import Reads
from digest.incremental.stamps import Stamp, same_inputs, stamp
from digest.model import Ref

# --- paths: the build cache lives under .digest/cache, the item store under .digest/items ---


def test_every_store_is_named_under_the_cache_folder(tmp_path: Path) -> None:
    paths = CachePaths(tmp_path / ".digest" / "cache")
    named = [paths.manifest(tmp_path / "output"), paths.templates,
             paths.reads("0123456789abcdef0123")]
    assert all(p.is_relative_to(paths.root) and p != paths.root for p in named)
    assert paths.items == tmp_path / ".digest" / "items"
    assert paths.item_shard("bodies", "0a").parent == paths.items


def test_each_output_folder_has_its_own_manifest(tmp_path: Path) -> None:
    paths = CachePaths(tmp_path / "cache")
    assert paths.manifest(tmp_path / "output") != paths.manifest(tmp_path / "elsewhere")
    assert paths.manifest(tmp_path / "output") == paths.manifest(tmp_path / "output")


def test_a_build_keeps_its_cache_and_item_store_under_digest_and_nowhere_else(
        project: Callable[..., Path], run: Callable[..., Result]) -> None:
    root = project(files={"content/pages/about.md": "---\ntitle: About\n---\nHello.\n"})
    before = _files(root)
    assert run(root, "build").exit_code == 0
    added = _files(root) - before
    outside = {p for p in added
               if not p.startswith(("output/", ".digest/cache/", ".digest/items/"))}
    assert outside == set()
    cache = {p for p in added if p.startswith(".digest/cache/")}
    # The manifest, the compiled templates and the reads file; the item store beside them.
    assert any(p.startswith(".digest/cache/manifest-") for p in cache)
    assert any(p.startswith(".digest/items/bodies-") for p in added)
    assert any(p.startswith(".digest/cache/templates/reads-") for p in cache)
    assert any(p.startswith(".digest/cache/templates/__jinja2_") for p in cache)


def test_a_reads_file_of_another_theme_is_removed(tmp_path: Path) -> None:
    paths = CachePaths(tmp_path / "cache")
    env = jinja2.Environment(loader=jinja2.DictLoader({"a.html": "{{ topic.title }}"}))
    Reads(env, paths, "first-theme-key-0000")
    Reads(env, paths, "second-theme-key-000")
    assert list(paths.templates.iterdir()) == [paths.reads("second-theme-key-000")]


# --- the manifest: what it remembers, and when a file is fresh ----------------------------


def _output(tmp_path: Path, files: dict[str, bytes]) -> Path:
    target = tmp_path / "output"
    for rel, data in files.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    return target


def _record(target: Path, keys: dict[str, str | None]) -> Manifest:
    """The manifest a build would save after writing these files of `target`."""
    manifest = Manifest(target.parent / "cache" / "manifest.json")
    manifest.files = {rel: Written(keys.get(rel), file_sha(str(target / rel)), *stat)
                      for rel, stat in scan(target).items()}
    manifest.inputs = "inputs-1"
    manifest.save(123)
    return Manifest.read(manifest.path)


def test_the_manifest_remembers_each_files_key_hash_size_and_mtime(tmp_path: Path) -> None:
    target = _output(tmp_path, {"index.html": b"<p>home</p>", "feed.xml": b"<feed/>"})
    manifest = _record(target, {"index.html": "key-1"})
    st = (target / "index.html").stat()
    assert manifest.recorded and manifest.inputs == "inputs-1" and manifest.saved_ns == 123
    assert manifest.files["index.html"] == Written("key-1", sha(b"<p>home</p>"), st.st_size,
                                                   st.st_mtime_ns)
    assert manifest.files["feed.xml"].key is None  # not made from a template


def test_a_missing_or_damaged_manifest_records_nothing(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    assert not Manifest.read(path).recorded
    for damaged in (b"\x80 not json", b'{"format": 2, "files": 5}', b'{"format": 1}'):
        path.write_bytes(damaged)
        assert not Manifest.read(path).recorded and Manifest.read(path).files == {}


def test_a_file_is_fresh_with_the_same_key_and_untouched_on_disk(tmp_path: Path) -> None:
    target = _output(tmp_path, {"a/index.html": b"A", "b/index.html": b"B"})
    manifest = _record(target, {"a/index.html": "key-a", "b/index.html": "key-b"})
    on_disk = scan(target)
    assert manifest.fresh("a/index.html", "key-a", on_disk)
    assert not manifest.fresh("a/index.html", "key-changed", on_disk)
    assert not manifest.fresh("a/index.html", None, on_disk)  # no key: always rendered
    assert not manifest.fresh("new/index.html", "key-a", on_disk)
    st = (target / "b/index.html").stat()
    os.utime(target / "b/index.html", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert not manifest.fresh("b/index.html", "key-b", scan(target))  # touched by someone


def test_the_same_bytes_need_not_be_written_again(tmp_path: Path) -> None:
    target = _output(tmp_path, {"index.html": b"home"})
    manifest = _record(target, {})
    assert manifest.same("index.html", sha(b"home"), scan(target))
    assert not manifest.same("index.html", sha(b"other"), scan(target))
    (target / "index.html").write_bytes(b"edited by hand")
    assert not manifest.same("index.html", sha(b"home"), scan(target))


def test_output_matches_the_manifest_only_when_nothing_was_added_or_removed(
        tmp_path: Path) -> None:
    target = _output(tmp_path, {"index.html": b"home", "a/index.html": b"A"})
    manifest = _record(target, {})
    assert manifest.matches(scan(target))
    (target / "extra.html").write_bytes(b"x")
    assert not manifest.matches(scan(target))
    (target / "extra.html").unlink()
    (target / "a/index.html").unlink()
    assert not manifest.matches(scan(target))


def test_the_scan_leaves_out_the_users_git_entries_and_counts_a_link_as_a_file(
        tmp_path: Path) -> None:
    target = _output(tmp_path, {"index.html": b"x", ".git/HEAD": b"ref", ".gitignore": b"",
                                "sub/.gitkeep": b""})
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret").write_bytes(b"never looked at")
    (target / "link").symlink_to(tmp_path / "elsewhere")
    assert set(scan(target)) == {"index.html", "sub/.gitkeep", "link"}


def test_the_scan_stops_early_in_a_folder_full_of_strangers(tmp_path: Path) -> None:
    target = _output(tmp_path, {f"f{i}.txt": b"" for i in range(50)})
    assert len(scan(target, known=set(), limit=6)) == 6
    assert len(scan(target)) == 50


def test_the_ledger_keeps_fresh_files_and_writes_only_changed_bytes(tmp_path: Path) -> None:
    target = _output(tmp_path, {"a.html": b"A", "b.html": b"B"})
    last = _record(target, {"a.html": "key-a", "b.html": "key-b"})
    ledger = Ledger(last, scan(target))
    assert ledger.keep_if_fresh("a.html", "key-a")
    assert ledger.files["a.html"] == last.files["a.html"]
    assert not ledger.keep_if_fresh("b.html", "key-b2")  # its inputs changed: render it
    assert not ledger.made("b.html", "key-b2", sha(b"B"), 1)  # ... to the same bytes
    assert ledger.files["b.html"].key == "key-b2"  # remembered under its new key
    assert ledger.made("c.html", "key-c", sha(b"C"), 1)  # new: write it
    assert ledger.differ(target, ["a.html", "b.html", "c.html"]) == ["c.html"]


# --- page keys: a key changes when what its template reads changes, not otherwise ---------


def _keys(root: Path, config: Config, template: str) -> PageKeys:
    theme = root / "theme"
    (theme / "templates").mkdir(parents=True, exist_ok=True)
    (theme / "templates" / "topic.html").write_text(template, encoding="utf-8")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(theme / "templates"))
    return PageKeys(repr(config.site), env, [theme], CachePaths.of(config.state_dir))


def _config(project: Callable[..., Path]) -> tuple[Path, Config]:
    root = project()
    return root, load_config(root / "digest.toml")


def test_a_page_key_follows_what_its_template_reads(project: Callable[..., Path]) -> None:
    root, config = _config(project)
    pages = _keys(root, config, "{{ topic.title }}").templated({})
    key = pages.key({"topic": Ref("ai", "AI", "topics/ai/")}, "topics/ai/")
    assert pages.key({"topic": Ref("ai", "AI", "topics/ai/")}, "topics/ai/") == key
    assert pages.key({"topic": Ref("ai", "AI and more", "topics/ai/")}, "topics/ai/") != key
    # The template never shows the slug or the URL: changing them renders nothing again.
    assert pages.key({"topic": Ref("ml", "AI", "topics/ml/")}, "topics/ai/") == key
    assert pages.key({"topic": Ref("ai", "AI", "topics/ai/")}, "topics/ml/") != key


def test_every_page_key_follows_what_the_templates_read_of_the_site(
        project: Callable[..., Path]) -> None:
    root, config = _config(project)
    keys = _keys(root, config, "{{ site.title }} {{ topic.title }}")
    topic = {"topic": Ref("ai", "AI", "topics/ai/")}
    key = keys.templated({"site": Ref("s", "Site", "")}).key(topic)
    assert keys.templated({"site": Ref("s", "Renamed", "")}).key(topic) != key
    assert keys.templated({"site": Ref("other", "Site", "x/")}).key(topic) == key


def test_a_page_key_changes_with_the_theme_a_feed_key_does_not(
        project: Callable[..., Path]) -> None:
    root, config = _config(project)
    topic = {"topic": Ref("ai", "AI", "topics/ai/")}
    before = _keys(root, config, "{{ topic.title }}")
    after = _keys(root, config, "<h1>{{ topic.title }}</h1>")
    assert before.templated({}).key(topic) != after.templated({}).key(topic)
    assert before.plain("Site").key({}, "feed.xml") == after.plain("Site").key({}, "feed.xml")
    assert before.plain("Site").key({}, "feed.xml") != after.plain("Other").key({}, "feed.xml")


def test_a_value_that_cannot_be_fingerprinted_has_no_key(project: Callable[..., Path]) -> None:
    root, config = _config(project)
    pages = _keys(root, config, "{{ topic }}").templated({})
    assert pages.key({"topic": object()}) is None  # rendered every time
    assert _keys(root, config, "{{ site }}").templated({"site": object()}).key({}) is None


# --- stamps: when a build has nothing to do ----------------------------------------------


def _stamp(config: Config, target: Path, drafts: bool, now_ns: int) -> Stamp:
    return stamp(config, target, drafts, now_ns)[0]


def up_to_date(manifest: Manifest, now: Stamp, on_disk: dict[str, Stat]) -> bool:
    """What `look` asks: output/ is as the last build left it, made of the same inputs."""
    return manifest.matches(on_disk) and same_inputs(manifest, now)


def test_a_build_is_up_to_date_until_an_input_changes(project: Callable[..., Path]) -> None:
    root, config = _config(project)
    page = root / "content" / "pages" / "about.md"
    page.parent.mkdir(parents=True)
    page.write_text("---\ntitle: About\n---\nHello.\n", encoding="utf-8")
    target = _output(root, {"index.html": b"home"})
    manifest = _record(target, {})
    first = _stamp(config, target, False, 0)
    manifest.inputs, manifest.racy = first.inputs, first.racy
    assert up_to_date(manifest, _stamp(config, target, False, 0), scan(target))
    assert not up_to_date(manifest, _stamp(config, target, True, 0), scan(target))  # drafts
    page.write_text("---\ntitle: About us\n---\nHello.\n", encoding="utf-8")
    os.utime(page, ns=(0, 10**18))
    assert not up_to_date(manifest, _stamp(config, target, False, 0), scan(target))


def test_a_recent_change_is_compared_by_content(project: Callable[..., Path]) -> None:
    """A second save within one clock tick keeps size and mtime; the stamp's racy hashes
    still see it."""
    root, config = _config(project)
    page = root / "content" / "pages" / "about.md"
    page.parent.mkdir(parents=True)
    page.write_text("title one", encoding="utf-8")
    target = _output(root, {"index.html": b"home"})
    manifest = _record(target, {})
    st = page.stat()
    now = _stamp(config, target, False, st.st_mtime_ns)  # built in the same tick
    assert str(page) in now.racy
    manifest.inputs, manifest.racy = now.inputs, now.racy
    page.write_text("title two", encoding="utf-8")
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _stamp(config, target, False, st.st_mtime_ns).inputs == now.inputs
    assert not up_to_date(manifest, now, scan(target))


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
