"""What Pagefind costs per item page, and how much of it depends on the text indexed: some
item pages of a built site (the default theme's) indexed as they are, with their text cut to
its first words, and with no text but their title, each by one Pagefind run as digest makes
it, with wall, user and system time and peak memory (medians of `--repeat` runs).

    python bench/search_floor.py OUTPUT [--pages 2000] [--words 250] [--repeat 3]

Issue 18 asks for a search build of 10,000 items in under twice the time of the build
without it. The last column says what 10,000 pages would take at the same rate: when even
the titles alone take longer than the build itself, no choice of digest's meets that goal
with Pagefind on this machine; what indexing less text would buy is the difference between
the rows. The copies and their indexes are made in a temporary folder beside OUTPUT, and
removed at the end."""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The item's text in the default theme's item.html: what Pagefind indexes beside the title.
CONTENT = re.compile(r'(<div class="content"[^>]*>)(.*?)(</div>\s*<footer class="item-foot")',
                     re.DOTALL)
TAG = re.compile(r"<[^>]+>")


def variants(pages: list[Path], words: int) -> dict[str, list[tuple[str, str]]]:
    """(path in the site, page) of each page: as built, its text cut to `words`, no text."""
    made: dict[str, list[tuple[str, str]]] = {"as built": [], f"first {words} words": [],
                                              "title only": []}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        found = CONTENT.search(text)
        if found is None:
            sys.exit(f"{page}: no <div class=\"content\"> (not the default theme's item.html)")
        rel = "items/" + page.parent.name + "/index.html"
        plain = html.unescape(TAG.sub(" ", found.group(2))).split()
        cut = "<p>" + html.escape(" ".join(plain[:words])) + "</p>"
        made["as built"].append((rel, text))
        made[f"first {words} words"].append((rel, text[:found.start(2)] + cut
                                             + text[found.end(2):]))
        made["title only"].append((rel, text[:found.start(2)] + text[found.end(2):]))
    return made


def one_run(site: Path, into: Path) -> tuple[float, float, float, int]:
    """(wall, user, system seconds, peak MB) of one Pagefind run over the item pages of
    `site`, as digest runs it (search.py)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "pagefind", "--site", str(site),
                             "--output-path", str(into), "--glob", "items/*/index.html"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"pagefind exited {proc.returncode}: {proc.stderr.read().decode()[-500:]}"
                 if proc.stderr else f"pagefind exited {proc.returncode}")
    return wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="a built site (an output folder)")
    parser.add_argument("--pages", type=int, default=2000, help="item pages to index")
    parser.add_argument("--words", type=int, default=250, help="words kept in the cut text")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pages = sorted((args.site / "items").glob("*/index.html"))[:args.pages]
    if not pages:
        sys.exit(f"{args.site}: no item pages (items/*/index.html)")
    words = sum(len(html.unescape(TAG.sub(" ", m.group(2))).split())
                for p in pages if (m := CONTENT.search(p.read_text(encoding="utf-8"))))
    print(f"{len(pages):,} item pages of {args.site}, {words / len(pages):,.0f} words of "
          f"text each on average; {os.cpu_count()} cores\n")
    print("| text indexed | wall s | user s | system s | peak MB | wall s per 10,000 |")
    print("|---|---:|---:|---:|---:|---:|")
    work = Path(tempfile.mkdtemp(prefix=".search-floor-", dir=args.site.parent))
    try:
        # Every copy written, and flushed, before anything is timed; nothing removed until
        # the end: deleting thousands of files slows the file system's next creations for
        # seconds, and Pagefind writes one file per page (bench/README.md).
        sites = {}
        for n, (name, copies) in enumerate(variants(pages, args.words).items()):
            sites[name] = site = work / f"site-{n}"
            for rel, text in copies:
                (site / rel).parent.mkdir(parents=True, exist_ok=True)
                (site / rel).write_text(text, encoding="utf-8")
        os.sync()
        for name, site in sites.items():
            runs = [one_run(site, work / f"{site.name}-index-{n}") for n in range(args.repeat)]
            wall, user, system, peak = (statistics.median(r[n] for r in runs) for n in range(4))
            print(f"| {name} | {wall:.2f} | {user:.2f} | {system:.2f} | {peak:,.0f} | "
                  f"{wall * 10_000 / len(pages):.1f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
