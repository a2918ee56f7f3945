"""Runs stages 4-8: content/ -> Corpus -> Selection -> Site -> Outputs -> output/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from digest.cache import RenderCache
from digest.config import Config
from digest.group import group
from digest.load import load
from digest.render import render
from digest.search import index
from digest.select import select
from digest.state import read_state, source_health
from digest.theme import issue_titler, theme_dirs, translations
from digest.write import write


@dataclass(frozen=True)
class BuildReport:
    output: Path
    files: int
    issues: int
    items: int


def build(config: Config, output: Path | None = None, drafts: bool = False) -> BuildReport:
    """Build the whole site; output/ is replaced only when every stage succeeded."""
    cache = RenderCache(config.state_dir / "cache")
    corpus = load(config, cache)
    cache.save()
    selection = select(corpus, config)
    titles = issue_titler(translations(theme_dirs(config.site.theme), config.site.language))
    site = group(selection, corpus, config, titles, drafts=drafts,
                 health=source_health(read_state(config.state_dir)))
    outputs = render(site, config)
    target = output or config.output_dir
    language = config.site.language
    count = write(outputs, target,
                  (lambda folder: index(folder, language)) if config.site.search else None)
    return BuildReport(target, count, len(site.issues), len(site.items))
