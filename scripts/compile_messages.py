"""Compile the gettext catalogues (.po → .mo) with Babel, so no gettext tools are needed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent / "src" / "tiendon"


def duplicates(po_path: Path) -> list[str]:
    """msgids defined twice (Babel would keep one silently; msgfmt refuses the file): what a
    merge of two branches that both appended to a catalogue leaves behind."""
    seen: set[tuple[str, str]] = set()
    twice = []
    for block in re.split(r"\n\s*\n", po_path.read_text(encoding="utf-8")):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        text = "\n".join(lines)
        context = re.search(r'^msgctxt ((?:".*"\n?)+)', text, re.M)
        found = re.search(r'^msgid ((?:".*"\n?)+)', text, re.M)
        if found is None or found.group(1).strip() == '""':
            continue
        key = (context.group(1) if context else "", found.group(1))
        if key in seen:
            twice.append(found.group(1).strip()[:80])
        seen.add(key)
    return twice


def main() -> int:
    problems = 0
    for po_path in sorted(ROOT.glob("**/locale/*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if message.id and (not message.string or message.fuzzy):
                print(f"{po_path}: untranslated or fuzzy: {message.id!r}", file=sys.stderr)
                problems += 1
        for message_id in duplicates(po_path):
            print(f"{po_path}: defined twice: {message_id}", file=sys.stderr)
            problems += 1
        with po_path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog)
        print(f"compiled {po_path.relative_to(ROOT)}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
