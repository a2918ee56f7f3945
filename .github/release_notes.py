"""Print one version's section of CHANGELOG.md: the notes of its GitHub release.

    python .github/release_notes.py v0.2.0 [--changelog CHANGELOG.md]

The tag's leading "v" is optional. The section is everything between the version's
`## [0.2.0] - date` heading and the next `## ` heading, without the link definitions
(`[0.2.0]: https://...`) that Keep a Changelog puts at the end of the file. A version with
no section, or an empty one, is an error (exit 1): a release never goes out without notes.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HEADING = re.compile(r"^## +\[?(?P<version>[^\]\s]+)\]?(?: +- +.*)?\s*$")
LINK_DEFINITION = re.compile(r"^\[[^\]]+\]: +\S+\s*$")


def section(changelog: str, version: str) -> str | None:
    """The notes under `version`'s heading (stripped), or None when it has no heading."""
    lines: list[str] | None = None
    for line in changelog.splitlines():
        heading = HEADING.match(line)
        if heading and lines is not None:
            break
        if heading and heading["version"] == version:
            lines = []
        elif lines is not None:
            lines.append(line)
    if lines is None:
        return None
    while lines and (not lines[-1].strip() or LINK_DEFINITION.match(lines[-1])):
        lines.pop()
    return "\n".join(lines).strip("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", help="a version (0.2.0) or its tag (v0.2.0)")
    parser.add_argument("--changelog", type=Path,
                        default=Path(__file__).resolve().parent.parent / "CHANGELOG.md")
    args = parser.parse_args(argv)
    version = args.version.removeprefix("refs/tags/").removeprefix("v")
    try:
        text = args.changelog.read_text(encoding="utf-8")
    except OSError as error:
        print(f"error: {args.changelog}: {error.strerror}", file=sys.stderr)
        return 1
    notes = section(text, version)
    if notes is None:
        print(f"error: {args.changelog}: no '## [{version}]' section: move the Unreleased "
              "notes under it before tagging", file=sys.stderr)
        return 1
    if not notes.strip():
        print(f"error: {args.changelog}: the section for {version} is empty: write what "
              "changed before tagging", file=sys.stderr)
        return 1
    print(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
