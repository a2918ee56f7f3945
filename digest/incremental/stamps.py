"""The stamp of a build's inputs, and the question a build asks first: "is output/ up to date?"

A stamp covers everything a build reads: digest's own code, the configuration, the output
folder and whether drafts are shown, and the files of content/, of the themes' templates,
static files and translations (themedirs.PARTS), digest.toml and state.json by their sizes
and mtimes (no byte is read). Files changed so recently that a second save might keep their
size and mtime (within one clock tick) are also remembered by the hash of their bytes, and
the next build compares those by content."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from digest.config import Config
from digest.html.themedirs import theme_dirs, theme_inputs
from digest.incremental.fingerprint import known_code, remember
from digest.incremental.manifest import Manifest, file_sha
from digest.incremental.paths import CachePaths
from digest.system.state import state_path
from digest.system.tree import tree_stats

# A file changed this close to the moment it was stamped may change again unseen (the same
# window as the item store's, itemstore.RACY_NS).
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class Stamp:
    """What a build was made from."""

    inputs: str  # the fingerprint of every input, by stat
    racy: dict[str, str] = field(default_factory=dict)  # path -> sha, of recent changes


def stamp(config: Config, target: Path, drafts: bool, now_ns: int
          ) -> tuple[Stamp, bytes | None]:
    """The stamp of a build into `target`, starting at `now_ns`; with it, what to remember of
    digest's code for the next (`remember_code`; None: nothing new). Only reads."""
    folders = [config.content_dir, *theme_inputs(theme_dirs(config.site.theme))]
    stats = tree_stats([f for f in folders if f.is_dir()], skip=(target, config.state_dir))
    for extra in (config.path, state_path(config.state_dir)):
        if extra.is_file():
            st = extra.stat()
            stats.append((str(extra), st.st_size, st.st_mtime_ns))
    code, record = known_code(CachePaths.of(config.state_dir).code_file)
    h = hashlib.sha256(f"{code}\0{target}\0{drafts}\0{config!r}".encode())
    for path, size, mtime in stats:
        h.update(f"{path}\0{size}\0{mtime}\n".encode())
    racy = {path: file_sha(path) for path, _, mtime in stats if mtime >= now_ns - RACY_NS}
    return Stamp(h.hexdigest(), racy), record


def remember_code(config: Config, record: bytes) -> None:
    """Keep what `stamp` found of digest's code in the build cache, for the next build."""
    remember(CachePaths.of(config.state_dir).code_file, record)


def same_inputs(manifest: Manifest, now: Stamp) -> bool:
    """Whether the last build (`manifest`) was made from the same inputs: then, if output/ is
    as it left it (Manifest.matches), there is nothing to do."""
    return now.inputs == manifest.inputs and \
        all(file_sha(path) == digest for path, digest in manifest.racy.items())
