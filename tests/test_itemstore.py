"""The item store (.digest/items/, digest/incremental/itemstore.py): what each content file
gives is derived once, when `digest fetch` writes the file or at the first build after a
person edits it, and kept apart from the build cache, so that a cold build (output/ and
.digest/cache/ deleted) renders no body. A store it cannot trust (damaged, foreign, made by
another renderer) is ignored and replaced, and the site is the same byte for byte.

Real projects, fetched from real feed files and built through the real CLI. The store is
looked at from outside: its files' bytes and mtimes, and its entries read through its own
class (never a stand-in for the pipeline)."""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from digest.config import load_config
from digest.content import contentfile
from digest.content.body import render
from digest.incremental.fingerprint import DISTRIBUTIONS, imports
from digest.incremental.itemstore import BODIES, FILES, MAKERS, ItemStore, key
from digest.incremental.paths import CachePaths
from tests.conftest import FIXTURES

Run = Callable[..., Result]
Project = Callable[..., Path]

CONFIG = """\
[site]
title = "Store test"
base_url = "https://user.github.io/my-digest/"
language = "en"
timezone = "Europe/Moscow"
search = false

[[topics]]
slug = "releases"
title = "Releases"

[[feeds]]
slug = "qemu"
title = "QEMU"
url = "feeds/qemu.atom"
topics = ["releases"]
homepage = "https://www.qemu.org/"

[[feeds]]
slug = "lw"
title = "LessWrong"
url = "feeds/lw.xml"
"""
PLANTED = "<p>planted-in-the-store</p>"


def fetched(project: Project, run: Run) -> Path:
    """A project with two feeds (so fetch parses in worker processes), fetched."""
    root = project(config=CONFIG, files={
        "feeds/qemu.atom": (FIXTURES / "feeds" / "qemu.atom").read_bytes(),
        "feeds/lw.xml": (FIXTURES / "feeds" / "lesswrong-3.xml").read_bytes()})
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    return root


def build(run: Run, root: Path, cold: bool = False) -> dict[str, bytes]:
    """`digest build` (cold: output/ and .digest/cache/ deleted first); the site's files."""
    if cold:
        shutil.rmtree(root / "output", ignore_errors=True)
        shutil.rmtree(root / ".digest" / "cache", ignore_errors=True)
    result = run(root, "build")
    assert result.exit_code == 0, result.output
    return {p.relative_to(root / "output").as_posix(): p.read_bytes()
            for p in sorted((root / "output").rglob("*")) if p.is_file()}


def paths(root: Path) -> CachePaths:
    return CachePaths.of(load_config(root / "digest.toml").state_dir)


def shards(root: Path, table: str) -> dict[str, tuple[bytes, int]]:
    """Each file of a table of the store: its bytes and mtime."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(paths(root).items.glob(f"{table}-*"))}


def items(root: Path) -> list[Path]:
    return sorted((root / "content" / "items").rglob("*.md"))


def page(site: dict[str, bytes], path: Path) -> str:
    return site[f"items/{path.stem}/index.html"].decode()


def body_of(path: Path) -> str:
    """A content file's body, as digest reads it (the front matter's reader)."""
    return contentfile.read(path)[1]


def plant(root: Path, path: Path, html: str) -> None:
    """Put `html` into the store as the rendered body of `path`, as if the renderer had
    made it: only a build that takes bodies from the store shows it."""
    store = ItemStore(paths(root), adding=True)
    store.put(key("body", body_of(path)), (html, 2, "planted", False))
    store.save()


# --- fetch fills it; a cold build renders no body ----------------------------------------


def test_fetch_stores_every_item_it_writes(project: Project, run: Run) -> None:
    root = fetched(project, run)
    files = items(root)
    assert len(files) == 13
    store = ItemStore(paths(root))
    assert set(store.old[FILES]) == {p.relative_to(root).as_posix() for p in files}
    for path in files:
        entry = store.old[FILES][path.relative_to(root).as_posix()]
        assert entry.digest and entry.body_key == key("body", body_of(path))
        # The body as the build would render it, already.
        assert store.old[BODIES][entry.body_key] == render("body", body_of(path))
    # Derived data, never committed: the folder ignores itself.
    assert (paths(root).items / ".gitignore").read_text().splitlines()[-1] == "*"


def test_a_cold_build_after_fetch_renders_no_body(project: Project, run: Run) -> None:
    root = fetched(project, run)
    bodies = shards(root, "bodies")
    assert bodies
    first = build(run, root)
    # No body was rendered: a rendered body is put into the store, and its file rewritten.
    assert shards(root, "bodies") == bodies
    # A cold build (the build cache and output deleted) takes them from the store too ...
    assert build(run, root, cold=True) == first
    assert shards(root, "bodies") == bodies
    # ... as a body planted in the store shows: the build used it, it rendered nothing.
    path = items(root)[0]
    plant(root, path, PLANTED)
    assert PLANTED in page(build(run, root, cold=True), path)


def test_a_build_cache_deleted_keeps_the_store_and_the_site(project: Project, run: Run
                                                             ) -> None:
    """The same site from a cold build with the store as from one without it."""
    root = fetched(project, run)
    first = build(run, root)
    shutil.rmtree(paths(root).items)
    assert build(run, root, cold=True) == first
    assert shards(root, "bodies")  # made again by that build


# --- a person's edit ----------------------------------------------------------------------


def test_an_edited_body_is_rendered_again(project: Project, run: Run) -> None:
    root = fetched(project, run)
    build(run, root)
    path = items(root)[3]
    plant(root, path, PLANTED)  # what the store holds for the body as fetched
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n<p>Edited by hand: a correction.</p>\n",
                    encoding="utf-8")
    shown = page(build(run, root), path)
    assert "Edited by hand: a correction." in shown
    assert PLANTED not in shown
    # And the store now holds the edited body: a cold build shows the same.
    assert page(build(run, root, cold=True), path) == shown


def test_a_touched_file_is_not_rendered_again_an_edited_one_forgets_its_old_body(
        project: Project, run: Run) -> None:
    """Keyed by bytes, not by time: a file whose mtime changed but not its bytes keeps its
    stored body; once edited, its old body leaves the store."""
    root = fetched(project, run)
    path = items(root)[1]
    original = path.read_bytes()
    plant(root, path, PLANTED)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**10))
    assert PLANTED in page(build(run, root, cold=True), path)
    path.write_bytes(original + b"<p>For a while.</p>\n")
    assert PLANTED not in page(build(run, root), path)
    path.write_bytes(original)
    assert PLANTED not in page(build(run, root, cold=True), path)


# --- a store it cannot trust --------------------------------------------------------------


def test_damaged_and_foreign_store_files_are_ignored_and_replaced(
        project: Project, run: Run, tmp_path: Path) -> None:
    root = fetched(project, run)
    first = build(run, root)
    folder = paths(root).items
    bodies = sorted(folder.glob("bodies-*"))
    files = sorted(folder.glob("files-*"))
    tag_line = bodies[0].read_bytes().split(b"\n", 1)[0] + b"\n"
    bodies[0].write_bytes(tag_line + b"\x00garbage, not marshal")  # damaged, our tag
    bodies[1].write_bytes(b"some other program's file\n" + bodies[1].read_bytes())  # foreign
    files[0].write_bytes(files[0].read_bytes()[:40])  # cut short
    # A file that would run code if it were unpickled: it is refused, not run.
    evil = tmp_path / "evil-ran"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(evil),))  # type: ignore[return-value]

    tag_files = files[1].read_bytes().split(b"\n", 1)[0] + b"\n"
    files[1].write_bytes(tag_files + pickle.dumps({"content/items/x.md": Evil()}))
    assert build(run, root, cold=True) == first
    assert not evil.exists()
    # Each was replaced by a file this digest can read again.
    store = ItemStore(paths(root))
    assert not store.foreign[BODIES] and not store.foreign[FILES]
    assert len(store.old[FILES]) == 13


def test_a_store_of_another_renderer_is_not_used(project: Project, run: Run) -> None:
    """Every file of the store starts with the fingerprint of the code that made it (the
    modules that render bodies and the libraries they run): another renderer's entries are
    never used, however plausible."""
    root = fetched(project, run)
    first = build(run, root)
    path = items(root)[2]
    plant(root, path, PLANTED)
    for shard in paths(root).items.glob("bodies-*"):
        _, rest = shard.read_bytes().split(b"\n", 1)
        shard.write_bytes(b"0" * 64 + b"\n" + rest)  # the same entries, another renderer's
    site = build(run, root, cold=True)
    assert PLANTED not in page(site, path)
    assert site == first


def test_the_store_is_keyed_on_every_library_its_code_imports() -> None:
    """What keeps a store from outliving an upgrade: the version of each library the
    store's code imports is in its tag (an import missing from the map would make the
    store never trusted: slower, not wrong; this says the map is complete)."""
    import importlib.metadata

    found = importlib.metadata.packages_distributions()
    for makers in MAKERS.values():
        _, libraries = imports(makers)
        assert libraries
        for name in libraries:
            assert DISTRIBUTIONS[name].lower() in {d.lower() for d in found[name]}
    # The renderer's tag knows the libraries that render.
    assert {"nh3", "markdown", "pygments", "lxml", "latex2mathml"} <= imports(MAKERS[BODIES])[1]


def test_the_store_is_the_same_bytes_whatever_order_its_bodies_came_in(
        tmp_path: Path) -> None:
    """A first build's worker processes finish in any order: the bodies table the store
    writes holds the same bytes whichever body was put first."""
    texts = [f"Paragraph {n} with *emphasis*." for n in range(300)]
    stores = []
    for order in (texts, texts[::-1]):
        state = tmp_path / f"state-{len(stores)}"
        store = ItemStore(CachePaths.of(state))
        for text in order:
            store.put(key("body", text), render("body", text))
        store.save()
        stores.append({p.name: p.read_bytes()
                       for p in sorted(CachePaths.of(state).items.glob(f"{BODIES}-*"))})
    assert len(stores[0]) > 2 and stores[0] == stores[1]


def test_the_next_fetch_removes_what_a_killed_save_left(project: Project, run: Run) -> None:
    """A fetch killed while it saved the store leaves a temp file in .digest/items/ (its
    shards are written atomically); the next fetch, which holds the project's lock, removes
    it, and the store's own files stay."""
    root = fetched(project, run)
    items = paths(root).items
    shards = sorted(p.name for p in items.iterdir())
    litter = items / ".files-00.k1lled.tmp"
    litter.write_bytes(b"half a shard")
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    assert not litter.exists()
    assert sorted(p.name for p in items.iterdir()) == shards
