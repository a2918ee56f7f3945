"""Stage 7: Site + theme -> Outputs (path, bytes). Templates only read ready data."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import jinja2
from babel.support import NullTranslations
from pygments.formatters import HtmlFormatter

from digest.config import Config
from digest.dates import Dates
from digest.email import email_edition
from digest.errors import ThemeError
from digest.feeds import FORMATS, Channel, channels, feed_bytes, feed_path, issue_html
from digest.fingerprint import Fingerprints, Unhashable, code
from digest.model import IssueView, ItemView, Output, Site
from digest.opml import export_opml
from digest.reads import Reads
from digest.sitemap import machine_files
from digest.theme import theme_dirs, translations

WORDS_PER_MINUTE = 200


@dataclass(frozen=True)
class Pager:
    number: int
    count: int
    prev: str | None
    next: str | None
    pages: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class FeedLink:
    """A feed a page advertises (<link rel="alternate">) and may link visibly."""

    title: str
    url: str  # site-relative
    type: str  # "application/atom+xml", "application/rss+xml", "application/feed+json"
    format: str  # "Atom", "RSS", "JSON Feed"


@dataclass(frozen=True)
class Page:
    """One page to render: where it goes, with which template and variables."""

    url: str
    template: str
    context: dict[str, Any]
    crumbs: tuple[tuple[str, str], ...] = ()
    updated: datetime | None = None  # for the sitemap
    own_feed: Channel | None = None  # a topic's or a source's own feed


@dataclass(frozen=True)
class Job:
    """One file to render: a page from a template, or (`email`) an issue's email edition,
    or one of a feed's three files (`feed`: the channel and "atom", "rss" or "json")."""

    path: str
    page: Page | None
    email: bool = False
    feed: tuple[Channel, str] | None = None


@dataclass(frozen=True)
class Plan:
    """Every file of the site: the templated ones still to render (each with the fingerprint
    of all it depends on, None when unknown), and the rest already made."""

    env: jinja2.Environment
    site: Site
    jobs: tuple[Job, ...]
    keys: dict[str, str | None]
    files: tuple[Output, ...]


def plan(site: Site, config: Config) -> Plan:
    """What the site is made of; nothing is rendered from a template yet."""
    themes = theme_dirs(config.site.theme)
    translation = translations(themes, site.language)
    env = _environment(themes, site, config, translation)
    kinds = config.site.feed_content
    chans = channels(site, lambda kind: kinds.get(kind, "summary") == "full",
                     lambda issue: issue_html(site, issue, translation.gettext("Other")),
                     translation.gettext("Selected items"))
    own = {c.page: c for c in chans[2:]}
    env.globals["site_feeds"] = _links(chans[0]) + _links(chans[1])
    listed = list(pages(site, config, translation.gettext, own))
    jobs = [Job(_file(p.url), p) for p in listed]
    jobs.append(Job("404.html", Page("404.html", "404.html", {})))
    jobs += [Job(f"{i.url}email.html", Page(i.url, "email.html", {"issue": i}), email=True)
             for i in site.issues]
    jobs += [Job(feed_path(c, kind), None, feed=(c, kind)) for c in chans for kind in FORMATS]
    files = [Output("feeds.opml", export_opml(config, public=True))]
    files += machine_files(site.base_url, [(p.url, p.updated) for p in listed],
                           config.site.cname)
    files += _static(themes)
    return Plan(env, site, tuple(jobs), _keys(jobs, site, config, themes, env), tuple(files))


def render_job(plan: Plan, job: Job) -> bytes:
    """The bytes of one templated file."""
    if job.feed is not None:
        return feed_bytes(plan.site, *job.feed)
    assert job.page is not None
    data = _render(plan.env, job.page)
    if job.email:
        data = email_edition(data, urljoin(plan.site.base_url, job.page.url))
    return data


def render(site: Site, config: Config) -> list[Output]:
    """Every file of the site, in memory; nothing is written here."""
    made = plan(site, config)
    return [Output(j.path, render_job(made, j)) for j in made.jobs] + list(made.files)


def _keys(jobs: list[Job], site: Site, config: Config, themes: list[Path],
          env: jinja2.Environment) -> dict[str, str | None]:
    """Each job's fingerprint: what its templates read of its own variables (reads.py),
    and what every page shares: digest's own code, the theme's files, the configuration, and
    what the templates read of `site`. When a shared part changes, every page is rendered
    again."""
    prints = Fingerprints()
    theme = hashlib.sha256()
    for folder in themes:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                theme.update(path.relative_to(folder).as_posix().encode() + b"\0")
                theme.update(hashlib.sha256(path.read_bytes()).digest())
    reads = Reads(env, config.state_dir / "cache" / "templates",
                  prints.of((code(), theme.hexdigest())))
    try:
        shared = prints.of((code(), theme.hexdigest(), repr(config),
                            reads.view("site", site), env.globals["site_feeds"]))
        feeds = prints.of((code(), repr(config), site.title, site.description,
                           site.base_url, site.language, site.author))
    except Unhashable:
        return {job.path: None for job in jobs}
    keys: dict[str, str | None] = {}
    for job in jobs:
        page = job.page
        try:
            if page is None:
                keys[job.path] = prints.of((feeds, job.feed))
                continue
            own = _links(page.own_feed) if page.own_feed else []
            shown = {name: reads.view(name, value) for name, value in page.context.items()}
            keys[job.path] = prints.of((shared, job.email, page.url, page.template, shown,
                                        page.crumbs, own))
        except Unhashable:
            keys[job.path] = None  # a value we cannot see into: render it every time
    return keys


def pages(site: Site, config: Config, _: Callable[[str], str], own: dict[str, Channel]
          ) -> Iterator[Page]:
    """The HTML pages of the site, each with its breadcrumbs and last change."""
    home = (_("Home"), "")
    archive = (_("Archive"), "issues/")
    if site.latest is not None:
        yield Page("", "issue.html", {"issue": site.latest, "is_home": True}, (), site.updated)
    else:
        yield Page("", "archive.html", {"years": []})
    for issue in site.issues:
        yield Page(issue.url, "issue.html", {"issue": issue, "is_home": False}, (home, archive),
                   _newest(issue.items))
    yield Page("issues/", "archive.html", {"years": _years(site.issues)}, (home,), site.updated)
    yield Page("topics/", "topics.html", {"topics": site.topics}, (home,), site.updated)
    topics_crumb = (_("Topics"), "topics/")
    for topic in site.topics:
        for pager, items in _paginate(topic.url, topic.items, config.site.page_size):
            yield Page(_page_url(topic.url, pager.number), "topic.html",
                       {"topic": topic, "items": items, "pager": pager}, (home, topics_crumb),
                       _newest(items), own.get(topic.url))
    yield Page("sources/", "sources.html", {"sources": site.sources}, (home,), site.updated)
    sources_crumb = (_("Sources"), "sources/")
    for source in site.sources:
        for pager, items in _paginate(source.url, source.items, config.site.page_size):
            yield Page(_page_url(source.url, pager.number), "source.html",
                       {"source": source, "items": items, "pager": pager},
                       (home, sources_crumb), _newest(items), own.get(source.url))
    for entry in site.items:
        yield Page(entry.url, "item.html", {"entry": entry},
                   (home, archive, (entry.issue.title, entry.issue.url)), entry.item.published)
    for page in site.pages:
        yield Page(page.url, "page.html", {"page": page}, (home,))
    if config.site.search:
        yield Page("search/", "search.html", {}, (home,))


def _newest(items: Sequence[ItemView]) -> datetime | None:
    return max((v.item.published for v in items), default=None)


def _links(chan: Channel) -> list[FeedLink]:
    return [FeedLink(chan.title, chan.atom, "application/atom+xml", "Atom"),
            FeedLink(chan.title, chan.rss, "application/rss+xml", "RSS"),
            FeedLink(chan.title, chan.json, "application/feed+json", "JSON Feed")]


def _environment(themes: list[Path], site: Site, config: Config,
                 translation: NullTranslations) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(t / "templates") for t in themes]),
        autoescape=True,  # every template, whatever its name: HTML, XML, email
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
        # Compiled templates, kept by the hash of their source and of digest's code (which
        # sets the options they are compiled with): a rebuild does not parse and compile the
        # theme again (a third of a one-page rebuild otherwise).
        bytecode_cache=_bytecode_cache(config.state_dir / "cache" / "templates"),
    )
    env.install_gettext_translations(translation, newstyle=True)  # type: ignore[attr-defined]
    dates = Dates(site.language, site.timezone, config.site.date_format)
    base_path = config.site.base_path
    env.filters.update(datetime=dates.datetime, date=dates.date, day=dates.day,
                       number=dates.number, isodate=lambda d: d.isoformat(), domain=domain)
    env.globals.update(
        url=lambda rel: base_path + rel,
        abs_url=lambda rel: urljoin(site.base_url, rel),
        daterange=dates.range,
        reading_minutes=lambda words: max(1, math.ceil(words / WORDS_PER_MINUTE)),
        item_text=config.site.item_text,
        excerpts=config.site.excerpts,
        search=config.site.search,
        site=site,
        base_host=urlsplit(site.base_url).netloc,
        og_locale=og_locale(site.language),
    )
    return env


def domain(link: str) -> str:
    """'https://www.lesswrong.com/posts/x' -> 'lesswrong.com': where a link leads, as a
    reader names the site; '' for a link with no host."""
    try:
        host = urlsplit(link).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


# Open Graph wants a territory: the usual one for a bare language.
_OG_TERRITORY = {"ru": "RU", "en": "US", "uk": "UA", "be": "BY", "kk": "KZ", "de": "DE",
                 "fr": "FR", "es": "ES", "it": "IT", "pt": "BR", "pl": "PL", "cs": "CZ",
                 "nl": "NL", "sv": "SE", "fi": "FI", "da": "DK", "nb": "NO", "tr": "TR",
                 "ja": "JP", "zh": "CN", "ko": "KR", "he": "IL", "ar": "AR"}


def og_locale(language: str) -> str:
    """'ru' -> 'ru_RU', 'pt-BR' -> 'pt_BR', 'eo' -> 'eo' (og:locale)."""
    parts = language.replace("_", "-").split("-")
    if len(parts) > 1 and len(parts[-1]) == 2:
        return f"{parts[0].lower()}_{parts[-1].upper()}"
    lang = parts[0].lower()
    return f"{lang}_{_OG_TERRITORY[lang]}" if lang in _OG_TERRITORY else lang


def _bytecode_cache(folder: Path) -> jinja2.BytecodeCache | None:
    """Jinja's cache of compiled templates, its files named after digest's code; those that
    an earlier digest compiled are removed."""
    prefix = f"__jinja2_{code()[:16]}_"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("__jinja2_*.cache"):
            if not old.name.startswith(prefix):
                old.unlink(missing_ok=True)
    except OSError:
        return None  # a read-only project still builds, only slower
    return jinja2.FileSystemBytecodeCache(str(folder), prefix + "%s.cache")


def _render(env: jinja2.Environment, page: Page) -> bytes:
    own = _links(page.own_feed) if page.own_feed else []
    feeds: list[FeedLink] = [*env.globals["site_feeds"], *own]  # type: ignore[misc]
    try:
        template = env.get_template(page.template)
        text = template.render(page.context, page_url=page.url, breadcrumbs=list(page.crumbs),
                               feeds=feeds, own_feeds=own)
    except jinja2.TemplateNotFound as exc:
        raise ThemeError(f"template '{exc.name}' not found", key="site.theme",
                         hint="add it to your theme or remove site.theme to use the default"
                         ) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ThemeError(f"template syntax error: {exc.message}", path=exc.filename,
                         line=exc.lineno, hint="fix the template") from exc
    except jinja2.UndefinedError as exc:
        raise ThemeError(f"{page.template}: {exc.message}",
                         hint="the template uses a variable the page does not have") from exc
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError) as exc:
        where = _template_line(exc)
        raise ThemeError(f"{where or page.template}: {type(exc).__name__}: {exc}",
                         hint="fix the template (run with --debug for the trace)") from exc
    return text.encode("utf-8")


def _template_line(exc: BaseException) -> str | None:
    """'templates/macros.html:110' from the traceback of an error raised inside a template."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".html", ".xml", ".txt")):
            found = f"{name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _paginate(url: str, items: Sequence[ItemView], size: int
              ) -> Iterator[tuple[Pager, tuple[ItemView, ...]]]:
    count = max(1, math.ceil(len(items) / size))
    links = tuple((n, _page_url(url, n)) for n in range(1, count + 1))
    for n in range(1, count + 1):
        yield (Pager(n, count, links[n - 2][1] if n > 1 else None,
                     links[n][1] if n < count else None, links),
               tuple(items[(n - 1) * size: n * size]))


def _page_url(url: str, number: int) -> str:
    return url if number == 1 else f"{url}page/{number}/"


def _years(issues: Sequence[IssueView]) -> list[tuple[int, list[IssueView]]]:
    years: dict[int, list[IssueView]] = {}
    for issue in issues:
        years.setdefault(int(issue.week[:4]), []).append(issue)
    return sorted(years.items(), reverse=True)


def _file(url: str) -> str:
    return f"{url}index.html"


def _static(themes: list[Path]) -> list[Output]:
    """The themes' static files (the project's theme wins by name) and the Pygments CSS."""
    files: dict[str, bytes] = {}
    for theme in reversed(themes):
        static = theme / "static"
        for path in sorted(static.rglob("*")) if static.is_dir() else []:
            if path.is_file():
                files[f"static/{path.relative_to(static).as_posix()}"] = path.read_bytes()
    light, dark = (HtmlFormatter(style=s).get_style_defs(".codehilite")  # type: ignore[no-untyped-call]
                   for s in ("default", "monokai"))
    css = f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
    files.setdefault("static/pygments.css", css.encode("utf-8"))
    return [Output(path, _minify(data) if path.endswith(".css") else data)
            for path, data in sorted(files.items())]


def _minify(css: bytes) -> bytes:
    """Comments out, whitespace collapsed: a third of the bytes, the same rules."""
    text = re.sub(r"/\*.*?\*/", "", css.decode("utf-8"), flags=re.DOTALL)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s*([{};])\s*", r"\1", text)
    return text.strip().encode("utf-8") + b"\n"
