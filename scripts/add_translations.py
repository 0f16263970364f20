"""Add msgids the code uses but the Vietnamese catalogue lacks, with their translations.

    python scripts/add_translations.py [--catalogue PATH] 'English msgid=Vietnamese text' …

Run `make messages` first to see which are missing (compile_messages lists them). The
catalogue is rewritten by Babel with the same width, so the diff shows only the additions.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGUE = Path(__file__).resolve().parent.parent / "src/tiendon/locale/vi/LC_MESSAGES/django.po"


def main(pairs: list[str]) -> int:
    path = CATALOGUE
    if pairs[:1] == ["--catalogue"]:
        path, pairs = Path(pairs[1]), pairs[2:]
    catalog = read_po(io.BytesIO(path.read_bytes()))
    for pair in pairs:
        msgid, sep, text = pair.partition("=")
        if not sep or not msgid or not text:
            print(f"expected 'msgid=translation', got {pair!r}", file=sys.stderr)
            return 2
        catalog.add(msgid, text)
    out = io.BytesIO()
    write_po(out, catalog, width=100, no_location=True)
    path.write_bytes(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
