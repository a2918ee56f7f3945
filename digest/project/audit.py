"""`digest check` on the built site: links that would escape the site's sub-path, and
internal links to pages that do not exist."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from digest.model import IssueFile, Urls

URL_ATTRIBUTES = {"href", "src", "action", "poster", "data"}


@dataclass(frozen=True)
class Finding:
    page: str  # relative to output/
    url: str
    problem: str


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                self.urls.append(value.strip())
            elif name == "srcset":
                self.urls += [c.split()[0] for c in value.split(",") if c.strip()]


def audit(output: Path, urls: Urls) -> list[Finding]:
    """Every bare root-relative link outside the site's path, and every broken internal
    link, in the HTML files under `output`."""
    base_path, host = urls.base_path, urls.host
    findings = []
    for page in sorted(output.rglob("*.html")):
        rel = page.relative_to(output).as_posix()
        if rel.startswith("pagefind/"):
            continue
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        page_url = urls.link(re.sub(r"index\.html$", "", rel))
        for url in dict.fromkeys(parser.urls):
            parts = urlsplit(url)
            if parts.scheme or url.startswith("#") or not url:
                if parts.scheme in ("http", "https") and parts.netloc == host:
                    url = parts.path  # an absolute link to ourselves: check it too
                else:
                    continue
            if url.startswith("//"):
                continue
            if url.startswith("/") and not url.startswith(base_path):
                findings.append(Finding(rel, url, f"escapes the site's path {base_path}"))
                continue
            target = urlsplit(urljoin(page_url, url)).path
            if not _exists(output, urls.route(unquote(target))):
                findings.append(Finding(rel, url, "points to nothing in the site"))
    return findings


def _exists(output: Path, route: str | None) -> bool:
    if route is None:  # outside the site's path
        return False
    local = output / route
    return local.is_file() or (local / "index.html").is_file()


def stale_items(output: Path, expected: set[str]) -> list[str]:
    """Item pages in `output` for items that are no longer selected or no longer exist."""
    folder = output / Urls.ITEMS
    found = {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
    return sorted(found - expected)


def placeholders(issues: Iterable[IssueFile]) -> list[tuple[Path, bool]]:
    """The issue files whose introduction still holds `digest init`'s example text, each with
    whether it is a draft."""
    from digest.project.init import PLACEHOLDER

    return [(f.path, f.draft) for f in issues
            if PLACEHOLDER in f.path.read_text(encoding="utf-8", errors="replace")]
