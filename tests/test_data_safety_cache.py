"""Caches know the code: a build cache or manifest written by one digest is never trusted by
another (an edited editable install, an upgrade that kept the version number, a bump of
cache.FORMAT). digest is copied into a temp folder, edited there, and the real CLI is run
from the copy; an incremental build after the edit must equal a clean build, byte for byte."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, example_project

MARK = "code-fingerprint-marker"


def copy_digest(folder: Path) -> Path:
    """digest's package and its bundled theme, as a source tree in `folder`."""
    shutil.copytree(ROOT / "digest", folder / "digest",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "themes", folder / "themes")
    return folder


def cli(code: Path, root: Path, *args: str) -> str:
    """`python -m digest` run from the copy of digest in `code`; its output."""
    env = {**os.environ, "PYTHONPATH": str(code), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "digest", "--config", str(root / "digest.toml"),
                           *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def clean_build(code: Path, root: Path, scratch: Path) -> dict[str, bytes]:
    """The same project built by the same code into a fresh folder, with no cache at all."""
    fresh = example_project(scratch)
    shutil.rmtree(fresh / "content")
    shutil.copytree(root / "content", fresh / "content")
    cli(code, fresh, "build")
    return files(fresh / "output")


def replace_once(path: Path, pattern: str, replacement: str) -> None:
    """Replace exactly one match of `pattern` in `path` (a test whose edit missed fails)."""
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count == 1, f"{pattern!r} not found once in {path}"
    path.write_text(new, encoding="utf-8")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


# --- edits of digest's own code, each with what it must show in the pages ------------------

def bodies_change_with_a_format_bump(code: Path) -> None:
    """The body renderer changed, and the item store's FORMAT bumped as well."""
    append(code / "digest" / "html" / "markup.py", f"""

_render_body_before = render_body


def render_body(body: str) -> str:
    return _render_body_before(body) + '<p class="{MARK}">{MARK}</p>'
""")
    replace_once(code / "digest" / "incremental" / "itemstore.py", r"^FORMAT = (\d+)$",
                 "FORMAT = 1\\g<1>")


def bodies_change_without_a_format_bump(code: Path) -> None:
    """The same change, by a developer who did not bump the item store's FORMAT (the store
    is keyed on the renderer's code: it needs no bump)."""
    append(code / "digest" / "html" / "markup.py", f"""

_render_body_before = render_body


def render_body(body: str) -> str:
    return _render_body_before(body) + '<p class="{MARK}">{MARK}</p>'
""")


def render_code_changes(code: Path) -> None:
    """A Python change that no template sees: og:locale of a Russian site."""
    append(code / "digest" / "text" / "langtag.py", f'\n_OG_TERRITORY["ru"] = "{MARK}"\n')


def template_options_change(code: Path) -> None:
    """The options templates are compiled with (no template changes): compiled templates
    that an earlier digest cached must not be used."""
    append(code / "digest" / "html" / "theme.py", """

_environment_before = environment


def environment(*args, **kwargs):
    env = _environment_before(*args, **kwargs)
    env.trim_blocks = env.lstrip_blocks = True
    return env
""")


def bundled_theme_changes(code: Path) -> None:
    """The bundled theme's base template (no project theme: the default one is used)."""
    replace_once(code / "themes" / "default" / "templates" / "base.html", "</body>",
         f"<p>{MARK}</p></body>")


@dataclass(frozen=True)
class Edit:
    change: Callable[[Path], None]
    marks: bool = True  # it puts MARK into every item page (else it changes them otherwise)
    code: bool = True  # it changes digest's .py files (else only the bundled theme)
    bodies: bool = False  # it changes how bodies render: the item store renders them again
    items: bool = False  # it changes the code that reads a content file's front matter


EDITS = {
    "bodies-and-cache-format": Edit(bodies_change_with_a_format_bump, bodies=True, items=True),
    "bodies-only": Edit(bodies_change_without_a_format_bump, bodies=True),
    "render-python": Edit(render_code_changes, items=True),  # langtag.py checks `language:`
    "template-options": Edit(template_options_change, marks=False),
    "bundled-theme": Edit(bundled_theme_changes, code=False),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_a_changed_digest_rebuilds_what_a_clean_build_changes(tmp_path: Path, name: str) -> None:
    edit = EDITS[name]
    code = copy_digest(tmp_path / "code")
    root = example_project(tmp_path / "site")
    cli(code, root, "build")
    assert "up to date" in cli(code, root, "build")  # the cache works across processes
    before = files(root / "output")
    cached = files(root / ".digest" / "cache")
    stored = files(root / ".digest" / "items")
    item_pages = [p for p in before if p.startswith("items/") and p.endswith("index.html")]
    assert len(item_pages) > 50
    assert not any(MARK.encode() in data for data in before.values())

    edit.change(code)
    assert "up to date" not in cli(code, root, "build")
    after = files(root / "output")
    # The edit shows on every item page (so the copy is what ran) ...
    assert all(after[p] != before[p] for p in item_pages)
    assert all(MARK.encode() in after[p] for p in item_pages) == edit.marks
    # ... and the incremental build wrote exactly what a clean one does.
    assert after == clean_build(code, root, tmp_path / "clean")
    # The new code's fingerprint is as stable as the old one's.
    assert "up to date" in cli(code, root, "build")
    # What the old digest cached was replaced, not left beside the new (one manifest, one
    # reads file, the same number of compiled templates) ...
    now = files(root / ".digest" / "cache")
    assert len(now) == len(cached)
    if edit.code:  # ... and after a change of code, all of it was made again (but the lock
        # file builds take turns on, which holds nothing)
        assert not any(now.get(path) == data for path, data in cached.items()
                       if not path.endswith(".lock"))
    # The item store: made again where the code that makes it changed (each file of it
    # starts with the fingerprint of that code), else kept: a change elsewhere in digest,
    # or of the theme, renders no body again (the bodies' files are byte for byte the same;
    # those of the files table record when each file was last seen, so only their tag is).
    store = files(root / ".digest" / "items")
    for table, changed in (("bodies-", edit.bodies), ("files-", edit.items)):
        before_t = {p: d for p, d in stored.items() if p.startswith(table)}
        after_t = {p: d for p, d in store.items() if p.startswith(table)}
        assert before_t and set(after_t) == set(before_t)
        tags = {d.split(b"\n", 1)[0] for d in before_t.values()}
        assert len(tags) == 1
        assert all((d.split(b"\n", 1)[0] in tags) != changed for d in after_t.values())
        if table == "bodies-" and not changed:
            assert after_t == before_t
