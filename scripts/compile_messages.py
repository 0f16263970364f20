"""Compile the gettext catalogues (.po → .mo) with Babel, so no gettext tools are needed."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent / "src" / "tiendon"


def main() -> int:
    problems = 0
    for po_path in sorted(ROOT.glob("**/locale/*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if message.id and (not message.string or message.fuzzy):
                print(f"{po_path}: untranslated or fuzzy: {message.id!r}", file=sys.stderr)
                problems += 1
        with po_path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog)
        print(f"compiled {po_path.relative_to(ROOT)}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
