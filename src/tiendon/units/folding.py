"""The folded form of unit names that the unit picker searches (`Unit.search_name`).

Pure functions, no database: the model fills the column on save, the seed before its bulk
insert, and migration 0004 for the units already stored.
"""

from __future__ import annotations

import unicodedata

# The words the official list puts before a commune-level unit's name ("Xã Mường Lát").
COMMUNE_TYPE_WORDS = ("Đặc khu", "Phường", "Xã")
SEGMENT_SEPARATOR = "|"
# What every commune board's and provincial command's name starts with: left out of the
# search, or "an" would match every unit through "Quân".
GENERIC_PREFIXES = ("Ban Chỉ huy Quân sự ", "Bộ Chỉ huy Quân sự ")


def fold(text: str) -> str:
    """Lower case without diacritics, spaces collapsed: 'Mường  Lát' → 'muong lat'.

    Đ/đ is a letter of its own to Unicode (it has no decomposition), so it is mapped to d
    by hand; case is folded with `casefold`, so 'MƯỜNG LÁT' and a decomposed 'Mường' (as
    some keyboards type it) give the same key.
    """
    text = unicodedata.normalize("NFC", text).replace("đ", "d").replace("Đ", "D")
    bare = "".join(
        ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn"
    )
    return " ".join(unicodedata.normalize("NFC", bare).casefold().split())


def lower_exact(text: str) -> str:
    """Lower case with the diacritics kept, spaces collapsed: 'Mường Lát' → 'mường lát'."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def common_name(name: str, short_name: str) -> str:
    """The name people call a unit by: 'Mường Lát' for the board of 'Xã Mường Lát',
    'Thanh Hóa' for its provincial command, the full name for units without a short one."""
    for word in COMMUNE_TYPE_WORDS:
        if short_name.startswith(word + " "):
            return short_name[len(word) + 1 :].strip()
    return short_name.strip() or name.strip()


def search_name(name: str, short_name: str, code: str) -> str:
    """What the picker matches: the common name first (ranking looks at it), then the short
    name, the name without its generic prefix ('tỉnh Thanh Hóa') and the code, each
    folded; then the same names with their diacritics (lower case), so a query typed with
    its tones can rank exact-tone matches first. Segments are separated by '|', which a
    query never contains."""
    place = common_name(name, short_name)
    for prefix in GENERIC_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    written = [place, short_name, name]
    segments: list[str] = []
    for segment in [*(fold(t) for t in written), code.casefold(), *map(lower_exact, written)]:
        if segment and segment not in segments:
            segments.append(segment)
    return SEGMENT_SEPARATOR.join(segments)
