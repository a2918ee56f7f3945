"""What each template costs per page: load, select and group a project once, then render
every page of each template `--repeat` times in this one process, and print a Markdown table.

    python bench/profile_templates.py                 # the example (the repository's root)
    python bench/profile_templates.py PROJECT --repeat 3

Each repeat starts from a fresh plan (`digest.render.plan`), as a build does, so whatever a
build renders once and reuses (an item's card) is paid for once per repeat, on the page that
needs it first; pages are rendered in the build's order (digest.render.PAGES). The feeds
(not templates) and the email edition's CSS inlining are timed apart, in their own rows.
Uses and updates the project's load cache (.digest/cache), as `digest build` does; writes
nothing else."""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from digest.config import load_config
from digest.email import email_edition
from digest.feeds import feed_bytes
from digest.group import group
from digest.html.theme import issue_titler, load_theme
from digest.incremental.itemstore import ItemStore
from digest.incremental.paths import CachePaths
from digest.load import load
from digest.render import Plan, _render, plan
from digest.select import select
from digest.system.state import feed_languages, read_state, source_health

ROOT = Path(__file__).resolve().parent.parent
FEEDS, INLINE = "(feeds, no template)", "(email: CSS inlining)"


def site_of(project: Path) -> tuple[object, object]:
    """The project's Site and Theme, as `digest build` makes them."""
    config = load_config(project / "digest.toml")
    cache = ItemStore(CachePaths.of(config.state_dir))
    cache.renew()
    corpus = load(config, cache)
    cache.save()
    selection = select(corpus, config)
    theme = load_theme(config.site.theme, config.site.language, CachePaths.of(config.state_dir))
    state = read_state(config.state_dir)
    site = group(selection, corpus, config, issue_titler(theme.translation),
                 health=source_health(state), declared=feed_languages(state))
    return site, theme


def one_pass(made: Plan) -> dict[str, float]:
    """Seconds spent on each template's pages (and on the feeds, and on inlining)."""
    spent: dict[str, float] = defaultdict(float)
    clock = time.process_time
    for job in made.jobs:
        if job.page is None:
            assert job.feed is not None
            start = clock()
            feed_bytes(made.site, *job.feed)
            spent[FEEDS] += clock() - start
            continue
        start = clock()
        data = _render(made, job.page)
        middle = clock()
        spent[job.page.template] += middle - start
        if job.email:
            email_edition(data, made.site.urls.absolute(job.page.url))
            spent[INLINE] += clock() - middle
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", type=Path, default=ROOT,
                        help="a project folder (with digest.toml); default: the example")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    start = time.process_time()
    site, theme = site_of(args.project.resolve())
    print(f"load + select + group: {time.process_time() - start:.1f} s", file=sys.stderr)

    runs: list[dict[str, float]] = []
    plans: list[float] = []
    for n in range(args.repeat):
        start = time.process_time()
        made = plan(site, theme)  # type: ignore[arg-type]
        plans.append(time.process_time() - start)
        runs.append(one_pass(made))
        print(f"repeat {n + 1}: {sum(runs[-1].values()):.1f} s", file=sys.stderr)

    counts: dict[str, int] = defaultdict(int)
    for job in made.jobs:
        if job.page is None:
            counts[FEEDS] += 1
        else:
            counts[job.page.template] += 1
            counts[INLINE] += job.email
    totals = {name: statistics.median(r[name] for r in runs) for name in runs[0]}
    whole = sum(totals.values())
    print(f"`{args.project}`: {len(made.jobs)} files, {args.repeat} repeats (medians); "
          f"plan (page keys included) {statistics.median(plans):.2f} s\n")
    print("| template | pages | ms per page | total s | share |")
    print("|---|---:|---:|---:|---:|")
    for name in sorted(totals, key=lambda t: -totals[t]):
        per = statistics.median(r[name] / counts[name] for r in runs) * 1000
        print(f"| {name} | {counts[name]} | {per:.2f} | {totals[name]:.2f} | "
              f"{totals[name] / whole:.0%} |")
    print(f"| **all** | {len(made.jobs)} | {whole / len(made.jobs) * 1000:.2f} | "
          f"{whole:.2f} | 100% |")
    print(f"\n{machine()}, Python {platform.python_version()}")


def machine() -> str:
    """'2 cores, AMD EPYC 7B13' (Linux), else what the platform module says."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        return f"{len(names)} cores, {names[0]}"
    except (OSError, IndexError):
        return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()
