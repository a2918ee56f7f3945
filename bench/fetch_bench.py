#!/usr/bin/env python3
"""Benchmark `digest fetch`: 300 feeds on 127.0.0.1, 50 ms added latency each, 10,000 items.

Prints, side by side in one run (medians of --repeat runs):
  - the baseline: a single-process `feedparser.parse` loop over the same 300 files;
  - `digest fetch` first run (everything new) with --jobs N and with --jobs 1;
  - the second run (every feed answers 304);
  - items/s and the peak memory of the whole process tree.

Usage: python bench/fetch_bench.py [--items 10000] [--feeds 300] [--latency 0.05]
                                   [--jobs 8] [--repeat 3]
Needs ../shared/bench/make_corpus.py (the project's shared corpus generator).
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT.parent / "shared" / "bench" / "make_corpus.py"


def make_feeds(items: int, feeds: int, folder: Path) -> list[Path]:
    """Generate the corpus and deal its RSS items round-robin into `feeds` files."""
    corpus = folder / "corpus"
    subprocess.run([sys.executable, str(GENERATOR), str(items), str(corpus)], check=True,
                   stdout=subprocess.DEVNULL)
    text = (corpus / "feeds" / "all.rss.xml").read_text(encoding="utf-8")
    head, rest = text.split("<item>", 1)
    parts = ("<item>" + rest).rsplit("</channel>", 1)[0].split("<item>")[1:]
    buckets: list[list[str]] = [[] for _ in range(feeds)]
    for i, part in enumerate(parts):
        buckets[i % feeds].append("<item>" + part)
    served = folder / "served"
    served.mkdir()
    paths = []
    for n, bucket in enumerate(buckets):
        path = served / f"feed-{n:03d}.xml"
        title_head = head.replace("Digest bench (all)", f"Bench feed {n}")
        path.write_text(title_head + "".join(bucket) + "</channel>\n</rss>\n", encoding="utf-8")
        paths.append(path)
    shutil.rmtree(corpus)
    return paths


class SlowHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with added latency, a strong ETag and 304 on If-None-Match."""

    latency = 0.05

    def do_GET(self) -> None:
        time.sleep(self.latency)
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        etag = '"' + hashlib.sha1(data).hexdigest() + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(folder: Path, latency: float) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = type("H", (SlowHandler,), {"latency": latency})
    # The standard library's backlog of 5 would drop concurrent connects (1 s SYN retries).
    server_class = type("Server", (http.server.ThreadingHTTPServer,), {"request_queue_size": 256})
    server = server_class(
        ("127.0.0.1", 0), lambda *a: handler(*a, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def project(folder: Path, port: int, feeds: list[Path]) -> Path:
    root = folder / "site"
    root.mkdir()
    lines = ['[site]\ntitle = "Bench"\nbase_url = "https://example.org/"\nlanguage = "en"\n'
             'timezone = "UTC"\n']
    for path in feeds:
        slug = path.stem
        lines.append(f'\n[[feeds]]\nslug = "{slug}"\ntitle = "{slug}"\n'
                     f'url = "http://127.0.0.1:{port}/{path.name}"\n')
    (root / "digest.toml").write_text("".join(lines), encoding="utf-8")
    return root


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) * 1024  # type: ignore[union-attr]
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue
    return total


def timed_fetch(root: Path, jobs: int) -> tuple[float, int, str]:
    """Wall time, peak tree memory and output of one `digest fetch`."""
    start = time.perf_counter()
    # As installed for users: with bytecode caches (this sandbox sets PYTHONDONTWRITEBYTECODE).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen([sys.executable, "-m", "digest", "--quiet", "fetch", "--jobs",
                             str(jobs)], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"digest fetch failed ({proc.returncode}):\n{out}")
    return wall, peak, out


def baseline(feeds: list[Path]) -> float:
    """Seconds for a plain single-process feedparser loop over the same files."""
    code = ("import feedparser, sys, time\nt = time.perf_counter()\nn = 0\n"
            "for p in sys.argv[1:]:\n    n += len(feedparser.parse(open(p, 'rb').read()).entries)\n"
            "print(time.perf_counter() - t, n)")
    out = subprocess.run([sys.executable, "-c", code, *map(str, feeds)], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / ".work",
                        help="scratch folder (file creation in /tmp is 20x slower here)")
    args = parser.parse_args()
    if not GENERATOR.is_file():
        raise SystemExit(f"needs the corpus generator at {GENERATOR}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp)
        feeds = make_feeds(args.items, args.feeds, folder)
        server, port = serve(folder / "served", args.latency)
        rows: dict[str, list[tuple[float, int]]] = {}
        base = [baseline(feeds) for _ in range(args.repeat)]
        for n in range(args.repeat):
            for jobs in (args.jobs, 1):
                site = folder / f"run-{n}-{jobs}"
                site.mkdir()
                root = project(site, port, feeds)
                first = timed_fetch(root, jobs)
                second = timed_fetch(root, jobs)
                rows.setdefault(f"first fetch, --jobs {jobs}", []).append(first[:2])
                rows.setdefault(f"second fetch (304), --jobs {jobs}", []).append(second[:2])
                files = len(list((root / "content" / "items").rglob("*.md")))
                assert files == args.items, f"expected {args.items} files, found {files}"
                shutil.rmtree(site)
        server.shutdown()
    cpu = os.cpu_count()
    print(f"{args.items} items in {args.feeds} feeds, {args.latency * 1000:.0f} ms latency, "
          f"{cpu} cores; medians of {args.repeat} runs")
    print(f"{'run':34} {'wall s':>8} {'items/s':>9} {'peak MB':>8}")
    b = statistics.median(base)
    print(f"{'feedparser.parse loop, 1 process':34} {b:8.2f} {args.items / b:9.0f} {'':>8}")
    for name, values in rows.items():
        wall = statistics.median(v[0] for v in values)
        peak = statistics.median(v[1] for v in values) / 2**20
        rate = f"{args.items / wall:9.0f}" if name.startswith("first") else f"{'':>9}"
        print(f"{name:34} {wall:8.2f} {rate} {peak:8.0f}")


if __name__ == "__main__":
    main()
