"""`digest init`: a ready project: commented config, example content, .gitignore, README."""

from __future__ import annotations

import json
import unicodedata
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from slugify import slugify

from digest.errors import ConfigError, raise_all
from digest.project.workflow import workflow
from digest.system.atomic import write_text
from digest.text.slug import unique


@dataclass(frozen=True)
class Answers:
    title: str
    language: str
    timezone: str
    base_url: str
    feeds: tuple[str, ...]
    review: bool = False  # the weekly run opens a pull request instead of publishing


def create(directory: Path, answers: Answers, force: bool = False,
           now: datetime | None = None) -> list[Path]:
    """Write a new project into `directory`; refuse a non-empty folder unless `force`."""
    check_folder(directory, force)
    answers = _validate(answers, directory)
    year, week, _ = (now or datetime.now(UTC)).isocalendar()
    files = {
        "digest.toml": _config(answers),
        f"content/issues/{year}-W{week:02d}.md": _ISSUE.format(placeholder=PLACEHOLDER),
        "content/pages/about.md": _ABOUT.format(title=answers.title),
        ".gitignore": "/output/\n/.digest/cache/\n/.digest/tmp/\n/.digest/fetch.lock\n"
                      "__pycache__/\n",
        "README.md": _README.format(title=answers.title) + (_REVIEW_NOTE if answers.review
                                                             else ""),
        ".github/workflows/digest.yml": workflow(answers.review),
    }
    written = []
    for name, text in files.items():
        path = directory / name
        write_text(path, text)
        written.append(path)
    (directory / "content" / "items").mkdir(parents=True, exist_ok=True)
    return written


def _source(feed: str, directory: Path) -> str:
    """A feed as digest.toml holds it: an http(s) or file: URL as it is; a local path, typed
    relative to the current folder, made relative to the new project when it lies inside it
    (so the project can move), else absolute."""
    if urlsplit(feed).scheme in ("http", "https", "file") or "://" in feed:
        return feed
    path = Path(feed).expanduser().resolve()
    try:
        return path.relative_to(directory.resolve()).as_posix()
    except ValueError:
        return str(path)


def check_folder(directory: Path, force: bool) -> None:
    """A new project goes into a new or empty folder, unless `force`."""
    if directory.exists() and not directory.is_dir():
        raise ConfigError("this is a file, not a folder", path=directory,
                          hint="choose a new folder")
    if directory.exists() and any(directory.iterdir()) and not force:
        raise ConfigError("folder is not empty", path=directory,
                          hint="choose a new folder, or pass --force to write into it")


# Each answer's check: the value as the project keeps it, or a ConfigError naming the flag.
# `digest init` asks again when an answer typed at its prompt fails its check.

def check_title(title: str) -> str:
    if not title.strip():
        raise ConfigError("the title is empty", key="--title", hint="e.g. This Week in Rust")
    bad = sorted({f"U+{ord(c):04X}" for c in title if unicodedata.category(c) == "Cc"})
    if bad:
        raise ConfigError(f"the title holds control characters ({', '.join(bad)})",
                          key="--title", hint="type it as plain text on one line")
    return title.strip()


def check_language(language: str) -> str:
    try:
        Locale.parse(language.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        raise ConfigError(f"unknown language '{language}'", key="--language",
                          hint="use a BCP 47 tag such as ru or en") from None
    return language


def check_timezone(timezone: str) -> str:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone '{timezone}'", key="--timezone",
                          hint="use an IANA name such as Europe/Moscow") from None
    return timezone


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"'{url}' is not an http(s) URL", key="--base-url",
                          hint="e.g. https://user.github.io/my-digest/")
    return url


def check_feed(feed: str, directory: Path) -> str:
    """A feed's http(s) URL, or the path of a feed file (typed relative to the current
    folder), as digest.toml will hold it."""
    source = _source(feed.strip(), directory)
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        if not parts.netloc:
            raise ConfigError(f"'{feed}' is not an http(s) URL", key="--feed")
    elif parts.scheme == "file" or "://" in source:
        if parts.scheme != "file":
            raise ConfigError(f"'{feed}' is not an http(s) URL or a file", key="--feed")
    elif not (directory / source).is_file():
        raise ConfigError(f"no feed file '{feed}'", key="--feed",
                          hint="give an http(s) URL or the path of a feed file")
    return source


def _validate(answers: Answers, directory: Path) -> Answers:
    """The answers as the project keeps them, or every problem at once."""
    errors: list[ConfigError] = []

    def checked(check: Callable[[str], str], value: str) -> str:
        try:
            return check(value)
        except ConfigError as exc:
            errors.append(exc)
            return value

    done = Answers(
        title=checked(check_title, answers.title),
        language=checked(check_language, answers.language),
        timezone=checked(check_timezone, answers.timezone),
        base_url=checked(check_base_url, answers.base_url),
        feeds=tuple(checked(lambda f: check_feed(f, directory), f) for f in answers.feeds),
        review=answers.review,
    )
    raise_all(errors)
    return done


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _config(a: Answers) -> str:
    base = a.base_url if a.base_url.endswith("/") else a.base_url + "/"
    feeds = []
    used: set[str] = set()
    for url in a.feeds:
        host = urlsplit(url).netloc.removeprefix("www.")
        slug = unique(slugify(host or Path(urlsplit(url).path).stem) or "feed", used)
        feeds.append(f"\n[[feeds]]\nslug = {_q(slug)}\ntitle = {_q(host or Path(url).stem)}\n"
                     f"url = {_q(url)}\ntopics = []\n")
    if not feeds:
        feeds.append(_FEED_EXAMPLE)
    return _aligned(_CONFIG.format(title=_q(a.title), language=_q(a.language),
                                   timezone=_q(a.timezone), base_url=_q(base),
                                   feeds="".join(feeds)))


# Where a key's comment starts: the lines whose value the user chose are padded to it.
_COLUMN, _PAD = 38, "\0"


def _aligned(text: str) -> str:
    """`text` with the lines marked by _PAD before their comment padded to _COLUMN."""
    lines = []
    for line in text.splitlines(keepends=True):
        if _PAD in line:
            setting, comment = line.split(_PAD, 1)
            line = f"{setting:<{_COLUMN - 1}} {comment}" if len(setting) < _COLUMN - 1 \
                else f"{setting}  {comment}"
        lines.append(line)
    return "".join(lines)


_CONFIG = """\
# digest.toml: the configuration of this digest. Every key is explained below; unknown keys
# are errors, so a typo never passes silently. Check it with `digest check`.

[site]
title = {title}\0# shown in the header, the feed and the browser tab
description = "A weekly digest"       # under the title and in the feed
base_url = {base_url}\0# where the site is published; ends with /
language = {language}\0# BCP 47: dates, plurals and the theme's words
timezone = {timezone}\0# IANA: dates are shown, and weeks cut, in this zone
# page_size = 20                      # items per page on topic and source pages
# theme = "themes/mine"               # your own templates; missing ones fall back to default
# date_format = "d MMMM y, HH:mm"     # a CLDR pattern for item dates
{feeds}
# Which items make an issue. With no [selection], every item of the week does; a few of its
# rules (all of them: the README's "Choosing what goes into an issue"):
# [selection]
# max_items = 12                      # per issue, the best by score
# max_per_source = 5
# min_words = 150                     # shorter items are left out
# exclude = ["sponsored"]             # words, phrases or /regex/ in title, text or tags

# Topics group the items of an issue. An item gets the topics of its feed plus every topic
# whose keywords (words, phrases or /regex/) appear in its title, tags or text, computed at
# every build (`topics:` in an item's front matter, yours only, replaces them).
[[topics]]
slug = "news"
title = "News"
description = "What happened this week"
keywords = ["release", "announce"]
"""

_FEED_EXAMPLE = """
# Each feed: a slug (used in URLs and content files), a title, and an http(s) URL or a path
# relative to this file.
# [[feeds]]
# slug = "example"
# title = "Example blog"
# url = "https://example.org/feed.xml"
# topics = ["news"]
# language = "en"\0# what its posts are written in, if the feed does not say
"""

# The example introduction's first words: `digest check` finds them in an issue file that still
# holds the example.
PLACEHOLDER = "This week's introduction: write what stood out"

_ISSUE = """\
---
title: ""
status: draft
---

{placeholder}, in Markdown. An empty `title` means the
default title, "Week N, YYYY". Remove `status: draft` when it is ready: a draft issue is shown
by `digest serve` but never published.
"""

_ABOUT = """\
---
title: About
---

{title} is a weekly digest, made with [digest](https://github.com/digest-ssg/digest).
"""

_README = """\
# {title}

A weekly digest made with [digest](https://github.com/digest-ssg/digest).

## Every week

- `digest fetch` pulls new entries from the feeds in `digest.toml` into `content/items/`.
- `digest select --explain` shows what goes into this week's issue, and why.
- Edit any item's front matter: `status: selected` or `status: rejected`, `pinned: true`,
  `note: "why it matters"`, `topics: [...]` (replaces the computed topics),
  `issue: 2026-W12`. `digest fetch` never overwrites a file you edited.
- Write the week's introduction in `content/issues/YYYY-Www.md`.
- `digest serve` previews the site; `digest build` writes `output/`; `digest check` checks it.

## Publishing

`.github/workflows/digest.yml` does the weekly work on GitHub: every Monday it fetches, commits
the new items and `.digest/state.json` (so the history lives in git and survives: Actions
caches expire), builds and deploys to GitHub Pages. In the repository's settings, set
Pages > Source to "GitHub Actions". It also runs on every push to `main` (to publish your
edits) and by hand (Actions > digest > Run workflow).

GitHub switches off scheduled workflows after 60 days without activity in the repository; the
weekly commit of new items keeps it alive. If a week brings nothing new, run it by hand now and
then.

Prefer a `gh-pages` branch? `digest publish` builds and pushes `output/` there.
"""


def opml_feeds(path: Path) -> tuple[str, ...]:
    """The http(s) feed URLs of an OPML file, for a new project."""
    import listparser

    try:
        parsed = listparser.parse(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=path, key="--opml") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError("not a readable OPML file", path=path, key="--opml",
                          hint="export it again as UTF-8 OPML") from exc
    urls = tuple(dict.fromkeys(str(f.get("url", "")) for f in parsed.feeds
                               if str(f.get("url", "")).startswith(("http://", "https://"))))
    if not urls:
        raise ConfigError("no feeds found in this file", path=path, key="--opml",
                          hint="is it an OPML subscription list?")
    return urls


_REVIEW_NOTE = """
## Reviewing each issue (--review)

This project was made with `--review`: the weekly run does not publish by itself. It opens a
pull request with the new items and the `digest select --explain` report; review it, edit the
items on its branch if you like, and merge it: the merge publishes the issue.

For the workflow to open pull requests, turn on this repository setting:
Settings > Actions > General > "Allow GitHub Actions to create and approve pull requests".
"""
