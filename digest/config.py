"""digest.toml -> frozen Config. Every problem is collected, then reported at once."""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError

from digest.errors import ConfigError, DigestError, did_you_mean, raise_all
from digest.html.cleanup import Cleanup, parse_rules
from digest.model import Settings, Urls
from digest.rules import (
    FEED_RULE_KEYS,
    SELECTION_KEYS,
    FeedRules,
    Problems,
    SelectionConfig,
    feed_rules,
    selection,
)
from digest.text.langtag import language_tag
from digest.text.patterns import check_pattern

# What the site's own feeds carry: "full" texts or a "summary".
FEED_CONTENT = {"issues": "full", "items": "summary", "topics": "summary", "sources": "summary"}
IMAGES = ("remote", "mirror")  # [site] images: hotlink them, or keep copies in content/media/
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
V = TypeVar("V")


@dataclass(frozen=True)
class SiteConfig:
    title: str
    description: str
    base_url: str
    language: str
    timezone: str
    date_format: str | None
    theme: Path | None
    page_size: int
    author: str
    item_text: str = "excerpt"  # on issue pages: "excerpt" or "full"
    excerpts: str = "short"  # how much of an excerpt an issue shows: "short" or "long"
    cname: str | None = None  # a custom domain for GitHub Pages
    search: bool = True  # build a Pagefind search index
    feed_content: Mapping[str, str] = field(default_factory=lambda: dict(FEED_CONTENT))
    images: str = "remote"  # "remote": hotlinked; "mirror": fetch copies them into content/

    @property
    def urls(self) -> Urls:
        """Every address of the site (its routes, links and absolute URLs)."""
        return Urls(self.base_url)

    @property
    def settings(self) -> Settings:
        """What rendering needs of these settings besides the data."""
        full = tuple(sorted(k for k, v in self.feed_content.items() if v == "full"))
        return Settings(self.page_size, self.item_text, self.excerpts, self.date_format,
                        self.search, full, self.cname)


@dataclass(frozen=True)
class FeedConfig:
    slug: str
    title: str
    url: str
    topics: tuple[str, ...]
    homepage: str
    rules: FeedRules = field(default_factory=FeedRules)
    cleanup: Cleanup = field(default_factory=Cleanup)  # `remove` and `replace`
    language: str = ""  # BCP 47; "": what the feed declares, else the site's language


@dataclass(frozen=True)
class TopicConfig:
    slug: str
    title: str
    description: str
    keywords: tuple[str, ...]
    tags: tuple[str, ...] = ()  # an item whose feed categories include one gets the topic


@dataclass(frozen=True)
class Config:
    path: Path
    site: SiteConfig
    feeds: tuple[FeedConfig, ...]
    topics: tuple[TopicConfig, ...]
    selection: SelectionConfig = field(default_factory=SelectionConfig)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def state_dir(self) -> Path:
        return self.root / ".digest"

    def feed(self, slug: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.slug == slug), None)

    def topic(self, slug: str) -> TopicConfig | None:
        return next((t for t in self.topics if t.slug == slug), None)


# key -> (type or types, required); the type's name is what the user reads in an error.
_Spec = Mapping[str, tuple[type | tuple[type, ...], bool]]
_TOP: _Spec = {"site": (dict, True), "feeds": (list, False), "topics": (list, False),
               "selection": (dict, False)}
_SITE: _Spec = {
    "title": (str, True),
    "description": (str, False),
    "base_url": (str, True),
    "language": (str, True),
    "timezone": (str, True),
    "date_format": (str, False),
    "theme": (str, False),
    "page_size": (int, False),
    "author": (str, False),
    "item_text": (str, False),
    "excerpts": (str, False),
    "cname": (str, False),
    "search": (bool, False),
    "feed_content": (dict, False),
    "images": (str, False),
}

_FEED: _Spec = {
    "slug": (str, True),
    "title": (str, True),
    "url": (str, True),
    "topics": (list, False),
    "homepage": (str, False),
    "remove": (list, False),
    "replace": (list, False),
    "language": (str, False),
    **{key: (types, False) for key, types in FEED_RULE_KEYS.items()},
}
_SELECTION: _Spec = {key: (types, False) for key, types in SELECTION_KEYS.items()}
_TOPIC: _Spec = {
    "slug": (str, True),
    "title": (str, True),
    "description": (str, False),
    "keywords": (list, False),
    "tags": (list, False),
}
_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "a table",
               float: "a number", bool: "true or false"}


class _Table(dict[str, object]):
    """A table's valid keys, each of the type its spec names (see _Checker.table)."""

    def text(self, key: str, default: str = "") -> str:
        return self.typed(key, default)

    def maybe_text(self, key: str) -> str | None:
        value = self.get(key)
        return value if isinstance(value, str) else None

    def typed(self, key: str, default: V) -> V:
        """The value, if of exactly the default's type (True is no integer here)."""
        value = self.get(key, default)
        return value if type(value) is type(default) else default

    def table(self, key: str) -> dict[str, object]:
        value = self.get(key, {})
        return value if isinstance(value, dict) else {}

    def array(self, key: str) -> list[object]:
        value = self.get(key, [])
        return value if isinstance(value, list) else []


class _Checker:
    """Collects problems in one config file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[DigestError] = []

    def error(self, key: str, message: str, hint: str | None = None) -> None:
        self.errors.append(ConfigError(message, path=self.path, key=key, hint=hint))

    def table(self, data: object, where: str, spec: _Spec) -> _Table:
        """Check a table's keys and types; return the valid part."""
        ok = _Table()
        if not isinstance(data, dict):
            self.error(where, "must be a table")
            return ok
        for key, value in data.items():
            full = f"{where}.{key}" if where else key
            if key not in spec:
                hint = did_you_mean(key, spec) or f"known keys: {', '.join(spec)}"
                self.error(full, "unknown key", hint)
                continue
            want = spec[key][0]
            types = want if isinstance(want, tuple) else (want,)
            if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                names = " or ".join(_TYPE_NAMES[t] for t in types)
                self.error(full, f"must be {names}, not {type(value).__name__}")
                continue
            ok[key] = value
        for key, (_, required) in spec.items():
            if required and key not in data:
                self.error(f"{where}.{key}" if where else key, "is required")
        return ok

    def strings(self, value: object, key: str) -> tuple[str, ...]:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            self.error(key, "must be a list of strings")
            return ()
        return tuple(value)

    def slug(self, value: str, key: str, seen: set[str]) -> None:
        if not SLUG_RE.match(value):
            self.error(key, f"'{value}' is not a slug", "use lowercase letters, digits and '-'")
        if value in seen:
            self.error(key, f"duplicate slug '{value}'", "every slug must be unique")
        seen.add(value)


def load_config(path: Path) -> Config:
    """Read and validate digest.toml; raise every problem found at once."""
    if not path.is_file():
        raise ConfigError(
            "no such file", path=path, hint="run `digest init DIR` or pass --config PATH"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", path=path, hint="save the file as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        message = str(exc).split(" (at ")[0]
        raise ConfigError(
            f"invalid TOML: {message}", path=path, line=line, hint="see https://toml.io"
        ) from exc
    check = _Checker(path)
    top = check.table(data, "", _TOP)
    topics = _topics(check, top.array("topics"))
    topic_slugs = {t.slug for t in topics}
    feeds = _feeds(check, top.array("feeds"), topic_slugs)
    site = _site(check, top.get("site", {}), path.parent)
    problems = Problems()
    rules = selection(check.table(top.table("selection"), "selection", _SELECTION),
                      topic_slugs, {f.slug for f in feeds}, problems)
    for key, message, fix in problems.found:
        check.error(key, message, fix)
    raise_all(check.errors)
    assert site is not None
    return Config(path=path.resolve(), site=site, feeds=feeds, topics=topics, selection=rules)


def _site(check: _Checker, data: object, root: Path) -> SiteConfig | None:
    s = check.table(data, "site", _SITE)
    base_url = s.text("base_url")
    parts = urlsplit(base_url)
    if base_url and (parts.scheme not in ("http", "https") or not parts.netloc):
        check.error("site.base_url", f"'{base_url}' is not an http(s) URL",
                    "e.g. https://user.github.io/my-digest/")
    language = s.text("language", "en")
    try:
        Locale.parse(language.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        check.error("site.language", f"unknown language '{language}'", "use a BCP 47 tag: ru, en")
    timezone = s.text("timezone", "UTC")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        check.error("site.timezone", f"unknown time zone '{timezone}'",
                    "use an IANA name such as Europe/Moscow")
    page_size = s.typed("page_size", 20)
    if page_size < 1:
        check.error("site.page_size", "must be at least 1")
    item_text = _choice(check, s, "item_text", "excerpt", ("excerpt", "full"))
    excerpts = _choice(check, s, "excerpts", "short", ("short", "long"))
    feed_content = _feed_content(check, s.table("feed_content"))
    images = _choice(check, s, "images", "remote", IMAGES)
    cname = s.maybe_text("cname")
    if cname is not None and (not re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", cname.lower())):
        check.error("site.cname", f"'{cname}' is not a domain name", "e.g. digest.example.org")
    theme = (root / s.text("theme")) if "theme" in s else None
    if theme is not None and not theme.is_dir():
        check.error("site.theme", f"no theme folder at '{s.text('theme')}'",
                    "give a folder relative to digest.toml, or remove the key")
    if check.errors:
        return None
    return SiteConfig(
        title=s.text("title"),
        description=s.text("description"),
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        language=language,
        timezone=timezone,
        date_format=s.maybe_text("date_format"),
        theme=theme,
        page_size=page_size,
        author=s.text("author"),
        cname=cname,
        search=s.typed("search", True),
        item_text=item_text,
        excerpts=excerpts,
        feed_content=feed_content,
        images=images,
    )


def _choice(check: _Checker, s: _Table, key: str, default: str, options: tuple[str, ...]
            ) -> str:
    value = s.text(key, default)
    if value not in options:
        check.error(f"site.{key}", f"'{value}' is not a choice",
                    "use " + " or ".join(f"'{o}'" for o in options))
    return value


def _feed_content(check: _Checker, data: dict[str, object]) -> dict[str, str]:
    feed_content = dict(FEED_CONTENT)
    for kind, value in data.items():
        if kind not in FEED_CONTENT:
            check.error(f"site.feed_content.{kind}", "unknown kind of feed",
                        did_you_mean(kind, FEED_CONTENT) or f"known: {', '.join(FEED_CONTENT)}")
        elif value not in ("full", "summary"):
            check.error(f"site.feed_content.{kind}", f"'{value}' is not a choice",
                        "use 'full' or 'summary'")
        else:
            feed_content[kind] = str(value)
    return feed_content


def _feeds(check: _Checker, data: list[object], topics: set[str]) -> tuple[FeedConfig, ...]:
    feeds: list[FeedConfig] = []
    seen: set[str] = set()
    for i, raw in enumerate(data):
        where = f"feeds[{i}]"
        f = check.table(raw, where, _FEED)
        if "slug" in f:
            check.slug(f.text("slug"), f"{where}.slug", seen)
        url = f.text("url")
        scheme = urlsplit(url).scheme
        if url and scheme not in ("", "http", "https", "file") and len(scheme) > 1:
            check.error(f"{where}.url", f"unsupported URL scheme '{scheme}'",
                        "use http(s):// or a path relative to digest.toml")
        feed_topics = check.strings(f.array("topics"), f"{where}.topics")
        for t in feed_topics:
            if t not in topics:
                hint = did_you_mean(t, topics) or "define it under [[topics]]"
                check.error(f"{where}.topics", f"unknown topic '{t}'", hint)
        homepage = f.text("homepage")
        if homepage and urlsplit(homepage).scheme not in ("http", "https"):
            check.error(f"{where}.homepage", f"'{homepage}' is not an http(s) URL")
        language = language_tag(f.text("language")) or ""
        if "language" in f and not language:
            check.error(f"{where}.language", f"unknown language '{f['language']}'",
                        "use a BCP 47 tag such as en, ru or pt-BR")
        problems = Problems()
        rules = feed_rules(f, where, problems)
        for key, message, fix in problems.found:
            check.error(key, message, fix)
        cleanup = parse_rules(f, where, check.error)
        if {"slug", "title", "url"} <= f.keys():
            feeds.append(FeedConfig(f.text("slug"), f.text("title"), url, feed_topics,
                                    homepage, rules, cleanup, language))
    return tuple(feeds)


def _topics(check: _Checker, data: list[object]) -> tuple[TopicConfig, ...]:
    result: list[TopicConfig] = []
    seen: set[str] = set()
    for i, raw in enumerate(data):
        where = f"topics[{i}]"
        t = check.table(raw, where, _TOPIC)
        if "slug" in t:
            check.slug(t.text("slug"), f"{where}.slug", seen)
        keywords = check.strings(t.array("keywords"), f"{where}.keywords")
        for k, word in enumerate(keywords):
            if reason := check_pattern(word):
                check.error(f"{where}.keywords[{k}]", reason)
        tags = check.strings(t.array("tags"), f"{where}.tags")
        if {"slug", "title"} <= t.keys():
            result.append(TopicConfig(t.text("slug"), t.text("title"), t.text("description"),
                                      keywords, tags))
    return tuple(result)
