"""Which files are content files: the one answer for every command that looks for them
(`build` and `serve` load them, `fetch` and the review desk find items by id in them,
`migrate` rewrites the old ones).

A content file is a Markdown file (`*.md`): under content/items, in any folder below it; in
content/issues and content/pages, directly. A name that starts with a dot, of a file or of a
folder, is never one: that is where editors and other tools keep their own files, as other
static site generators assume too. Emacs locks a post with unsaved changes with a link to
nowhere named `.#post.md`; macOS writes `._post.md` beside each file it copies to a shared or
FAT drive; Obsidian moves deleted notes into `.trash/`; `.git/` is git's. `fetch` still
knows the ids of the posts in such a folder (`item_files(kept=True)`): a post moved into
.trash/ leaves the site, and fetch writes no new copy of it. A folder under content/items
that is a link is not followed (content/items itself may be one)."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePath

from digest.errors import ContentError

SUFFIX = ".md"

Found = tuple[Path, str, int, int]  # a content file: its path, its place (rel), size, mtime


def content_name(name: str) -> bool:
    """Whether a file of this name can be a content file (the folders aside)."""
    return name.endswith(SUFFIX) and not name.startswith(".")


def hidden(parts: PurePath) -> bool:
    """Whether a path (relative to the content folder it is in) passes through a folder, or
    ends in a name, that starts with a dot: never content."""
    return any(part.startswith(".") for part in parts.parts)


def item_files(folder: Path, root: Path, failed: list[OSError] | None = None,
               kept: bool = False) -> list[Found]:
    """Every content file under `folder` (content/items), in the order of their paths'
    parts, with its place under `root` and its stat (one scandir per folder). Only plain
    files: a named pipe called `x.md` is none (reading it would wait forever).

    A file that cannot be looked at (a link to nowhere) or a folder that cannot be read is
    left out, and its OSError added to `failed` when given (a build reports them all; a
    search for ids passes them over).
    `kept`: the files in folders named with a dot too (a post moved into .trash/): not
    content, but still the editor's, so that `fetch` writes no new copy of it. Dot-files
    (an editor's lock, macOS's `._` files) are never listed."""
    found: list[Found] = []
    todo = [(folder, folder.relative_to(root).as_posix())]
    while todo:
        where, rel = todo.pop()
        try:
            entries = os.scandir(where)
        except (FileNotFoundError, NotADirectoryError) as exc:
            if where != folder or not os.path.islink(folder):
                continue  # no items yet
            if failed is not None:  # content/items a link to nowhere: a drive not mounted?
                failed.append(exc)
            continue
        except OSError as exc:
            if failed is not None:
                failed.append(exc)
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if entry.is_dir(follow_symlinks=False):
                    if kept or not name.startswith("."):
                        todo.append((where / name, f"{rel}/{name}"))
                elif content_name(name):
                    try:
                        st = entry.stat()
                    except OSError as exc:
                        if failed is not None:
                            failed.append(exc)
                        continue
                    if stat.S_ISREG(st.st_mode):
                        found.append((where / name, f"{rel}/{name}", st.st_size,
                                      st.st_mtime_ns))
    found.sort(key=lambda f: f[1].split("/"))
    return found


def flat_files(folder: Path) -> list[Path]:
    """The content files directly in `folder` (content/issues, content/pages), sorted: as
    `item_files` finds them, without going into folders; with the links to nowhere among
    them, which reading reports."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        if content_name(entry.name) and (entry.is_file() or (
                entry.is_symlink() and not os.path.exists(entry.path))):
            found.append(folder / entry.name)
    return sorted(found)


def unreadable(exc: OSError) -> ContentError:
    """The error for a content file, or a folder of them, that a listing or a read could not
    look at (`exc`): named, with what to do. The one that happens in practice is a link to
    nowhere: a file moved or deleted that a link under content/ still leads to."""
    path = Path(exc.filename) if exc.filename else None
    if path is not None and path.is_symlink() and not path.exists():
        return ContentError("is a link to nowhere", path=path,
                            hint="remove the link, or put back the file it leads to")
    if isinstance(exc, PermissionError):
        return ContentError("cannot be read: permission denied", path=path,
                            hint="let your user read it, or move it out of content/")
    return ContentError(f"cannot be read: {exc.strerror or exc}", path=path)
