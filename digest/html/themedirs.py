"""Where a theme's files are: the project's own theme first, the bundled one second.

Apart from theme.py (which loads a theme, with Jinja and Babel) so that a build's first
question, "is output/ up to date?" (incremental/stamps.py), imports neither."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from digest.errors import ThemeError

# What a build reads of a theme: its templates, static files and translations. The rest of
# its folder (a README, git's or npm's folders) changes no page.
PARTS = ("templates", "static", "locale")

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


def theme_inputs(themes: Sequence[Path]) -> list[Path]:
    """The folders of `themes` a build reads (PARTS), there or not."""
    return [theme / part for theme in themes for part in PARTS]
