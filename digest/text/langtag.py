"""Language tags (BCP 47) of a feed or an item: checked with Babel, written with the usual
casing (`en`, `pt-BR`, `zh-Hant-TW`) so that tags from digest.toml, feeds and front matter
compare as they should. Pure."""

from __future__ import annotations

import re

from babel import Locale, UnknownLocaleError

# Letters, digits and separators only: a tag from a feed ends up in an HTML attribute.
_SHAPE = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")
MAX_LENGTH = 35


def language_tag(value: str) -> str | None:
    """`value` as a BCP 47 tag of a language Babel knows, cased the usual way ('en-us' ->
    'en-US'); None if it is not one ('English', 'und', 'xx')."""
    text = value.strip()
    if len(text) > MAX_LENGTH or not _SHAPE.fullmatch(text):
        return None
    parts = re.split(r"[-_]", text)
    if parts[0].lower() == "und":  # "undetermined": Babel would guess English
        return None
    try:
        Locale.parse("_".join(parts))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    return "-".join(_cased(i, part) for i, part in enumerate(parts))


def _cased(index: int, part: str) -> str:
    if index > 0 and len(part) == 4 and part.isalpha():
        return part.title()  # a script: Hant, Latn
    if index > 0 and ((len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit())):
        return part.upper()  # a region: BR, 419
    return part.lower()


def same_language(a: str, b: str) -> bool:
    """Whether two tags name the same language, one perhaps more narrowly ('ru' and 'ru-RU'
    do; 'en' and 'ru', 'zh-Hans' and 'zh-Hant' do not)."""
    x, y = a.lower().replace("_", "-").split("-"), b.lower().replace("_", "-").split("-")
    n = min(len(x), len(y))
    return x[:n] == y[:n]


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
