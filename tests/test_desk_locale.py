"""Every message of every module of the editor's desk (digest/desk/*.py, whichever module it
lives in) has its Russian translation."""

from __future__ import annotations

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from tests.conftest import ROOT

DESK = ROOT / "digest" / "desk"


def test_every_message_of_every_desk_module_is_translated() -> None:
    keywords = {"gettext": None, "g": None, "ngettext": (1, 2)}
    found = {m[1] if isinstance(m[1], str) else m[1][0]
             for module in sorted(DESK.glob("*.py"))
             for m in extract_from_file("python", str(module), keywords=keywords)}
    with (DESK / "locale" / "ru.po").open("rb") as f:
        catalog = read_po(f, locale="ru")
    missing = sorted(m for m in found if not catalog.get(m) or not catalog.get(m).string)
    assert not missing, missing
    assert {"Unknown action.", "Nothing to undo.",  # forms.py and review.py
            "(the file was saved again meanwhile, with the same bytes)"} <= found  # files.py
    assert len(found) >= 36
