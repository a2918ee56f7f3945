"""Loading a theme: the project's own first, the default theme second (themedirs.py finds
their folders); its translations, its static files, and the Jinja environment a build
renders its templates in."""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Callable, Hashable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import jinja2
from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from markupsafe import Markup

if TYPE_CHECKING:
    from digest.incremental.paths import CachePaths
from pygments.formatters import HtmlFormatter

from digest.errors import ThemeError
from digest.html.links import domain
from digest.html.themedirs import theme_dirs
from digest.model import Output, Site, Urls
from digest.system.tree import tree_stats
from digest.text.dates import Dates
from digest.text.langtag import og_locale

WORDS_PER_MINUTE = 200
A = TypeVar("A")  # a filter's argument


@dataclass(frozen=True)
class FeedLink:
    """A feed a page advertises (<link rel="alternate">) and may link visibly."""

    title: str
    url: str  # site-relative
    type: str  # "application/atom+xml", "application/rss+xml", "application/feed+json"
    format: str  # "Atom", "RSS", "JSON Feed"


@dataclass(frozen=True)
class Theme:
    """A theme, found: its folders in lookup order, its words in the site's language, and
    where its compiled templates are kept."""

    dirs: tuple[Path, ...]
    translation: NullTranslations
    cache: CachePaths  # compiled templates, and what they read (incremental/reads.py)


def load_theme(custom: Path | None, language: str, cache: CachePaths) -> Theme:
    """The project's theme (`[site] theme`, or None) over the default one."""
    dirs = theme_dirs(custom)
    return Theme(tuple(dirs), translations(dirs, language), cache)


def translations(themes: Sequence[Path], language: str) -> NullTranslations:
    """The theme's gettext catalogue for `language` (read from .po, compiled in memory)."""
    lang = language.replace("-", "_")
    for theme in themes:
        for name in (lang, lang.split("_")[0]):
            po = theme / "locale" / f"{name}.po"
            if po.is_file():
                with po.open("rb") as f:
                    catalog = read_po(f, locale=name)
                buffer = io.BytesIO()
                write_mo(buffer, catalog)
                buffer.seek(0)
                return Translations(buffer)
    return NullTranslations()


class Fragments(Extension):
    """`{% cache key, ... %}…{% endcache %}`: the part between the tags is rendered once per
    build (per environment, so per theme and per process) for each value of the keys, and
    reused wherever the same tag meets the same keys again: an item's card on every list page
    that shows it. The keys must name all the part shows that is not the same for the whole
    build (the globals are). An object other than a plain value (str, number, tuple…) is the
    same key only as itself, not as an equal copy; a key that cannot be hashed renders the
    part every time.
    A template that is read for page keys (incremental/reads.py) reads what is inside the
    tags too, so a page still depends on all its cached parts show."""

    tags = {"cache"}  # noqa: RUF012 (Extension declares it a set)

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        self.made: dict[tuple[object, ...], tuple[tuple[object, ...], str]] = {}

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        # Where the tag is, so that two tags never share a part by sharing their keys.
        keys: list[nodes.Expr] = [nodes.Const(parser.name), nodes.Const(lineno)]
        while parser.stream.current.type != "block_end":
            if len(keys) > 2:
                parser.stream.expect("comma")
            keys.append(parser.parse_expression())
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        call = self.call_method("_part", [nodes.Tuple(keys, "load")])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _part(self, keys: tuple[object, ...], caller: Callable[[], str]) -> str:
        # Plain values by what they are; anything else (an item, a section) as itself, by
        # its id, kept alive beside the part so that no other object takes that id.
        key = tuple(k if type(k) in _PLAIN else id(k) for k in keys)
        try:
            return self.made[key][1]
        except KeyError:
            made = caller()
            self.made[key] = (keys, made)
            return made
        except TypeError:  # a plain key that cannot be hashed (a tuple holding a list)
            return caller()


_PLAIN = frozenset({str, int, float, bool, type(None), tuple, Markup})


class _Templates(jinja2.FileSystemLoader):
    """A theme's templates/: listed through linked folders too (incremental/reads.py reads
    every template), as a page finds one when it includes it; each folder once, where
    Jinja's own listing (os.walk) would go round a link back up."""

    def list_templates(self) -> list[str]:
        found = set()
        for folder in self.searchpath:
            for path, _, _ in tree_stats([Path(folder)]):
                found.add(os.path.relpath(path, folder).replace(os.sep, "/"))
        return sorted(found)


def install_words(env: jinja2.Environment, translation: NullTranslations) -> None:
    """The i18n extension's `_`, `gettext` and `ngettext` (new style: autoescaped, `%(name)s`
    filled in), each message looked up and made safe once per build: the same strings as
    Jinja's own, without their three calls through the template context on every use."""
    said: dict[object, str] = {}

    @jinja2.pass_eval_context
    def gettext(ctx: jinja2.nodes.EvalContext, string: str, /, **variables: object) -> str:
        if variables or not ctx.autoescape:
            text = translation.gettext(string)
            return (Markup(text) if ctx.autoescape else text) % variables
        try:
            return said[string]
        except KeyError:
            made = said[string] = Markup(translation.gettext(string)) % variables
            return made

    @jinja2.pass_eval_context
    def ngettext(ctx: jinja2.nodes.EvalContext, singular: str, plural: str, num: int, /,
                 **variables: object) -> str:
        variables.setdefault("num", num)
        if len(variables) > 1 or not ctx.autoescape:
            text = translation.ngettext(singular, plural, num)
            return (Markup(text) if ctx.autoescape else text) % variables
        key = (singular, plural, num, type(num))  # 1 and 1.0 print apart
        try:
            return said[key]
        except KeyError:
            made = said[key] = Markup(translation.ngettext(singular, plural, num)) % variables
            return made

    env.install_gettext_translations(translation, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext)


def issue_titler(translation: NullTranslations) -> Callable[[str], str]:
    """The default title of an issue, in the site's language: '2026-W11' -> 'Week 11, 2026'."""

    def title(week: str) -> str:
        year, number = week.split("-W")
        return translation.ugettext("Week %(week)s, %(year)s") % {"week": int(number),
                                                                  "year": year}

    return title


def plural_forms(translation: NullTranslations, language: str, singular: str, plural: str,
                 **variables: str) -> dict[str, str]:
    """A message with a count in each CLDR plural category that whole numbers of `language`
    fall in, for a page script that picks one with `Intl.PluralRules` (which names the
    categories, not gettext's numbered forms): {'one': ..., 'few': ..., 'many': ...} for
    Russian, {'one': ..., 'other': ...} for English. Each category gets the form the
    catalogue's own rule (its Plural-Forms) gives the category's smallest whole number below
    1000; `variables` fill its %(name)s fields. Empty when the catalogue does not translate the
    message and the language is not English: the page keeps what it would say without it."""
    rule = Locale.parse(language.replace("-", "_")).plural_form
    categories = rule.tags | {"other"}  # Babel leaves 'other' out of a rule's tags
    forms: dict[str, str] = {}
    for n in range(1000):
        category = rule(n)
        if category not in forms:
            forms[category] = translation.ngettext(singular, plural, n)
            if len(forms) == len(categories):
                break
    english = Locale.parse(language.replace("-", "_")).language == "en"
    if not english and set(forms.values()) <= {singular, plural}:
        return {}
    return {category: text % variables for category, text in forms.items()}


class _Environment(jinja2.Environment):
    """Jinja's environment, but for the globals each template sees: a plain dict, copied
    from the environment's when the template is loaded, where Jinja's own is a ChainMap over
    them, which every render copies again name by name (an eighth of an item page's time).
    `environment` sets every global before the first template is loaded, and none changes
    after: a global added later would not be seen by a template already loaded."""

    def make_globals(self, d: MutableMapping[str, object] | None) -> MutableMapping[str, object]:
        return {**self.globals, **(d or {})}


def environment(theme: Theme, site: Site, issue_feeds: list[FeedLink],
                 item_feeds: list[FeedLink]) -> jinja2.Environment:
    """The Jinja environment of one build: the theme's templates, autoescaped everywhere,
    with the site's words, filters and values every page may use."""
    env = _Environment(
        loader=jinja2.ChoiceLoader([_Templates(t / "templates") for t in theme.dirs]),
        autoescape=True,  # every template, whatever its name: HTML, XML, email
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n", Fragments],
        keep_trailing_newline=True,
        auto_reload=False,  # one build, one version of each template: no stat() per page
        # Compiled templates, kept by the hash of their source and of digest's code (which
        # sets the options they are compiled with): a rebuild does not parse and compile the
        # theme again (a third of a one-page rebuild otherwise).
        bytecode_cache=theme.cache.compiled_templates(),
    )
    translation = theme.translation
    install_words(env, translation)
    dates = Dates(site.language, site.timezone, site.settings.date_format)
    # The filters pages call with the same values again and again (an item's date on each
    # page that lists it), each worked out once per build.
    def on_day(value: datetime) -> date:  # all that `date` and `day` show of a datetime
        return dates.local(value).date()

    env.filters.update(datetime=_once(dates.datetime), date=_once(dates.date, on_day),
                       day=_once(dates.day, on_day), number=dates.number,
                       isodate=_once(_isoformat), domain=_once(domain))
    env.globals.update(
        url=site.urls.link,
        abs_url=site.urls.absolute,
        daterange=dates.range,
        reading_minutes=lambda words: max(1, math.ceil(words / WORDS_PER_MINUTE)),
        item_text=site.settings.item_text,
        excerpts=site.settings.excerpts,
        search=site.settings.search,
        plural_forms=lambda singular, plural, **variables: plural_forms(
            translation, site.language, singular, plural, **variables),
        site=site,
        base_host=site.urls.host,
        og_locale=og_locale(site.language),
        site_feeds=issue_feeds + item_feeds,
        issue_feeds=issue_feeds,
        item_feeds=item_feeds,
    )
    return env


def _isoformat(value: date) -> str:  # a date's, or a datetime's with its time
    return value.isoformat()


def _once(function: Callable[[A], str], key: Callable[[A], Hashable] | None = None
          ) -> Callable[[A], str]:
    """`function` of one argument, its result kept for each value (or each `key(value)`,
    when the result depends on no more than that); a value that cannot be hashed is worked
    out every time."""
    known: dict[object, str] = {}

    def cached(value: A) -> str:
        try:
            k = value if key is None else key(value)
            found = known.get(k)
        except (TypeError, AttributeError):  # not hashable; not a date: as `function` says
            return function(value)
        if found is None:
            found = known[k] = function(value)
        return found

    return cached


def render_template(env: jinja2.Environment, name: str, context: Mapping[str, object],
                    **variables: object) -> str:
    """The template `name` rendered; a theme's mistake as a ThemeError naming the template
    (and its line, when the traceback has one)."""
    try:
        return env.get_template(name).render(context, **variables)
    except jinja2.TemplateNotFound as exc:
        raise ThemeError(f"template '{exc.name}' not found", key="site.theme",
                         hint="add it to your theme or remove site.theme to use the default"
                         ) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ThemeError(f"template syntax error: {exc.message}", path=exc.filename,
                         line=exc.lineno, hint="fix the template") from exc
    except jinja2.UndefinedError as exc:
        raise ThemeError(f"{name}: {exc.message}",
                         hint="the template uses a variable the page does not have") from exc
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError) as exc:
        where = _template_line(exc)
        raise ThemeError(f"{where or name}: {type(exc).__name__}: {exc}",
                         hint="fix the template (run with --debug for the trace)") from exc


def _template_line(exc: BaseException) -> str | None:
    """'templates/macros.html:110' from the traceback of an error raised inside a template."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".html", ".xml", ".txt")):
            found = f"{name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def static_files(themes: Sequence[Path]) -> list[Output]:
    """The themes' static files (the project's theme wins by name) and the Pygments CSS."""
    files: dict[str, bytes] = {}
    for theme in reversed(themes):
        static = theme / "static"
        for path, _, _ in tree_stats([static]):  # linked folders too, each once
            rel = os.path.relpath(path, static).replace(os.sep, "/")
            files[Urls.static(rel)] = Path(path).read_bytes()
    light, dark = (HtmlFormatter(style=s).get_style_defs(".codehilite")  # type: ignore[no-untyped-call]
                   for s in ("default", "monokai"))
    css = f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
    files.setdefault(Urls.static("pygments.css"), css.encode("utf-8"))
    return [Output(path, _minify(data) if path.endswith(".css") else data)
            for path, data in sorted(files.items())]


def _minify(css: bytes) -> bytes:
    """Comments out, whitespace collapsed: a third of the bytes, the same rules."""
    text = re.sub(r"/\*.*?\*/", "", css.decode("utf-8"), flags=re.DOTALL)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s*([{};])\s*", r"\1", text)
    return text.strip().encode("utf-8") + b"\n"
