"""Sources in and out as OPML: import with listparser, export with ElementTree."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from slugify import slugify

from digest.config import Config
from digest.errors import ConfigError
from digest.project.editconfig import toml_string
from digest.text.slug import unique


@dataclass(frozen=True)
class Imported:
    """What an OPML file adds to digest.toml."""

    block: str  # TOML text: new [[topics]] then new [[feeds]]
    feeds: int
    topics: int
    skipped: int  # already in digest.toml, or twice in the file
    not_web: tuple[str, ...] = ()  # not http(s) addresses (a local file another project reads)


def import_opml(path: Path, config: Config) -> Imported:
    """New feeds (and topics from their categories, the innermost one) from an OPML file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=path) from exc
    import listparser  # here: it brings requests along, 60 ms that no build should pay

    try:
        parsed = listparser.parse(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError("not a readable OPML file", path=path,
                          hint="export it again as UTF-8 OPML") from exc
    if not parsed.feeds:
        raise ConfigError("no feeds found in this file", path=path,
                          hint="is it an OPML subscription list?")
    known_urls = {f.url for f in config.feeds}
    slugs = {f.slug for f in config.feeds}
    topics = {t.slug for t in config.topics}
    feed_blocks: list[str] = []
    topic_blocks: list[str] = []
    skipped = 0
    not_web: list[str] = []
    for feed in parsed.feeds:
        url = str(feed.get("url", "")).strip()
        if not url.startswith(("http://", "https://")):
            not_web.append(url)
            continue
        if url in known_urls:
            skipped += 1
            continue
        known_urls.add(url)
        title = str(feed.get("title") or url)
        slug = unique(slugify(title, max_length=40) or "feed", slugs)
        feed_topics = []
        for path_ in feed.get("categories") or []:
            if path_:
                name = str(path_[-1])
                topic = slugify(name, max_length=40) or "topic"
                if topic not in topics:
                    topics.add(topic)
                    topic_blocks.append(f"[[topics]]\nslug = {toml_string(topic)}\n"
                                        f"title = {toml_string(name)}\n")
                feed_topics.append(topic)
        listed = ", ".join(toml_string(t) for t in dict.fromkeys(feed_topics))
        feed_blocks.append(f"[[feeds]]\nslug = {toml_string(slug)}\ntitle = {toml_string(title)}"
                           f"\nurl = {toml_string(url)}\ntopics = [{listed}]\n")
    block = "\n".join(topic_blocks + feed_blocks)
    return Imported(block, len(feed_blocks), len(topic_blocks), skipped, tuple(not_web))


def export_opml(config: Config, public: bool = False) -> bytes:
    """The feeds of digest.toml as OPML 2.0, in config order; `public` leaves out feeds read
    from local files (their paths mean nothing to a reader of the site)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = config.site.title
    body = ET.SubElement(root, "body")
    for feed in config.feeds:
        if public and not feed.url.startswith(("http://", "https://")):
            continue
        attrs = {"type": "rss", "text": feed.title, "title": feed.title, "xmlUrl": feed.url}
        if feed.homepage:
            attrs["htmlUrl"] = feed.homepage
        if feed.topics:
            attrs["category"] = ",".join(feed.topics)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text + b"\n"
