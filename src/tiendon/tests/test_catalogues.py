"""Every Vietnamese catalogue is whole: each entry translated, none fuzzy (a guess of
msgmerge's), none defined twice (what two merged branches leave behind). A page in
Vietnamese then never shows an English string of ours (`documents/tests/test_walk.py`
checks the pages themselves)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]


def load_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "compile_messages", ROOT / "scripts" / "compile_messages.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_catalogue_entry_is_translated_once(tmp_path: Path) -> None:
    script = load_script()
    catalogues = sorted((ROOT / "src" / "tiendon").glob("**/locale/vi/LC_MESSAGES/django.po"))
    assert len(catalogues) == 3
    for po_path in catalogues:
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
        assert missing == [], po_path
        assert script.duplicates(po_path) == [], po_path
    # The check itself: a catalogue with an entry twice is caught.
    doubled = tmp_path / "django.po"
    entry = 'msgid "Registered."\nmsgstr "Đã vào sổ."\n'
    doubled.write_text(f'msgid ""\nmsgstr ""\n\n{entry}\n{entry}', encoding="utf-8")
    assert script.duplicates(doubled) == ['"Registered."']
