"""Finding a theme: the project's own first, the default theme second; its translations."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from digest.errors import ThemeError

_PACKAGE = Path(__file__).resolve().parent.parent  # digest/


def default_theme() -> Path:
    """The bundled theme: inside the package when installed, beside it in a source tree."""
    for candidate in (_PACKAGE / "themes" / "default", _PACKAGE.parent / "themes" / "default"):
        if (candidate / "templates").is_dir():
            return candidate
    raise ThemeError("the default theme is missing", path=_PACKAGE / "themes" / "default",
                     hint="reinstall digest: pip install --force-reinstall digest-ssg")


def theme_dirs(custom: Path | None) -> list[Path]:
    """Theme folders in lookup order."""
    return [p for p in (custom, default_theme()) if p is not None]


def translations(themes: list[Path], language: str) -> NullTranslations:
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
