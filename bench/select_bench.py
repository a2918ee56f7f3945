#!/usr/bin/env python3
"""Benchmark the selection stage: `select` over generated candidates, against rendering.

Prints, in one run (medians of --repeat runs): select() time and peak traced memory for
10,000 and 100,000 candidates; then, for the same 10,000 items written as content files,
each build stage (load, select, group + render), so select can be compared with the rest.

Usage: python bench/select_bench.py [--repeat 3] [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from digest.config import load_config
from digest.content.contentfile import dumps
from digest.group import group
from digest.html.theme import load_theme
from digest.load import load
from digest.model import Corpus, Item
from digest.render import render
from digest.select import select

WORDS = ("model alignment evaluation interpretability agent benchmark compiler release "
         "latency cache database security research study rust python kernel network "
         "выравнивание модель исследование безопасность данные сеть код").split()
CONFIG = """\
[site]
title = "Bench"
base_url = "https://example.org/digest/"
language = "ru"
timezone = "Europe/Moscow"

{feeds}

[[topics]]
slug = "ai"
title = "AI"
keywords = ["alignment", "interpretability", "выравнивание", "/\\\\bagents?\\\\b/"]

[[topics]]
slug = "systems"
title = "Systems"
keywords = ["kernel", "network", "cache"]

[[topics]]
slug = "languages"
title = "Languages"
keywords = ["rust", "python", "compiler"]

[selection]
max_items = 30
max_per_source = 5
max_per_topic = 12
min_words = 120
exclude = ["crypto", "/\\\\bsponsored\\\\b/"]

[selection.weights]
recency = 1.0
topics = {{ ai = 1.5 }}
keywords = {{ "benchmark" = 0.5 }}
"""


def make_items(n: int, sources: list[str], seed: int = 1) -> tuple[Item, ...]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    items = []
    for i in range(n):
        words = rng.choices(WORDS, k=rng.randint(80, 400))
        html = "".join(f"<p>{' '.join(words[j:j + 40])}</p>" for j in range(0, len(words), 40))
        when = start + timedelta(minutes=rng.randint(0, 60 * 24 * 7 * 150))
        title = " ".join(rng.choices(WORDS, k=6)).capitalize() + f" {i}"
        items.append(Item(
            id=f"{i:08x}", slug=f"item-{i:06d}", path=Path(f"content/items/{i}.md"),
            title=title, link=f"https://{rng.choice(sources)}.example.org/p/{i}",
            source=rng.choice(sources), author="", published=when, fetched=when,
            first_seen=when, topics=(), tags=tuple(rng.choices(WORDS, k=2)),
            status=rng.choice([None] * 30 + ["selected", "rejected"]),
            pinned=rng.random() < 0.005, note_html="", issue=None, html=html,
            words=len(words), excerpt=" ".join(words[:40]),
        ))
    return tuple(items)


def timed(fn, repeat: int) -> tuple[float, float]:
    """Median seconds, and peak traced memory (MB) of one extra traced run."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    sources = [f"source-{n:02d}" for n in range(40)]
    feeds = "\n".join(f'[[feeds]]\nslug = "{s}"\ntitle = "{s}"\nurl = "feeds/{s}.xml"\n'
                      for s in sources)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "digest.toml"
        path.write_text(CONFIG.format(feeds=feeds), encoding="utf-8")
        config = load_config(path)
        print(f"{'stage':38} {'candidates':>10} {'median s':>9} {'peak MB':>8}")
        for n in args.sizes:
            corpus = Corpus(make_items(n, sources), (), ())
            seconds, peak = timed(lambda corpus=corpus: select(corpus, config), args.repeat)
            print(f"{'select':38} {n:10d} {seconds:9.2f} {peak:8.0f}")
        n = min(args.sizes)
        for item in make_items(n, sources):
            meta = {"id": item.id, "title": item.title, "link": item.link,
                    "source": item.source, "published": item.published.isoformat(),
                    "first_seen": item.published.isoformat(), "tags": list(item.tags)}
            if item.status:
                meta["status"] = item.status
            path = Path(tmp) / "content" / "items" / f"{item.slug}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dumps(meta, item.html), encoding="utf-8")
        seconds, peak = timed(lambda: load(config), args.repeat)
        print(f"{'load (content files -> Corpus)':38} {n:10d} {seconds:9.2f} {peak:8.0f}")
        corpus = load(config)
        seconds, peak = timed(lambda: select(corpus, config), args.repeat)
        print(f"{'select (same site)':38} {n:10d} {seconds:9.2f} {peak:8.0f}")
        selection = select(corpus, config)
        chosen = sum(d.selected for d in selection.decisions)

        def site() -> None:
            theme = load_theme(config.site.theme, config.site.language,
                               config.state_dir / "cache" / "templates")
            render(group(selection, corpus, config, lambda w: w), theme)

        seconds, peak = timed(site, args.repeat)
        print(f"{f'group + render ({chosen} selected)':38} {n:10d} {seconds:9.2f} "
              f"{peak:8.0f}")


if __name__ == "__main__":
    main()
