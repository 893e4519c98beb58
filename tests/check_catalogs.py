"""Every catalog whole: ``python tests/check_catalogs.py`` (run by ``make lint``).

A language the interface offers is offered whole: no message untranslated or fuzzy (it would
fall back to English), none losing or inventing a placeholder, and a catalog not yet reviewed by
a native speaker says in its header that a machine made it. Prints each problem and exits 1.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "lotse" / "locale"
CATALOGS = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]+\}")


def problems(path: Path) -> list[str]:
    """What is wrong with one catalog, a line each."""
    with path.open("rb") as handle:
        catalog = read_po(handle)
    found = []
    marks = ("MACHINE-MADE", "SOURCE TEXT") if path.parts[-3] == "en" else ("MACHINE-MADE",)
    header = catalog.header_comment or ""
    if not any(mark in header for mark in marks) and "Reviewed-By" not in str(catalog.mime_headers):
        found.append("the header says neither MACHINE-MADE nor who reviewed it (Reviewed-By)")
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            found.append(f"untranslated or fuzzy: {ids[0]!r}")
            continue
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) - wanted or (
                len(strings) == 1 and wanted - set(PLACEHOLDER.findall(string))
            ):
                found.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
    return found


def main() -> int:
    failed = False
    for path in CATALOGS:
        for problem in problems(path):
            failed = True
            print(f"{path.relative_to(LOCALE_DIR.parent.parent)}: {problem}")
    if failed:
        return 1
    print(f"Catalogs complete: {len(CATALOGS)} languages.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
