"""A unit's place name (địa danh), printed in the date line of its documents: "Hà Nội, ngày
… tháng … năm …" (Decree 30/2020/NĐ-CP, Appendix I, II.3).

The decree's rule: the official name of the administrative unit where the issuer sits, the
province for central and provincial bodies and the commune for a commune's, without the
word "tỉnh", "xã" or "phường", except for a unit named by a number or after a person,
which keeps its full name ("Phường 12", "Thành phố Hồ Chí Minh"). One function decides it,
for the seed, the import, new units and the migration that filled the existing rows; an
administrator corrects a single unit in the admin (a commune named after a person, say).
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
import re
import unicodedata

from tiendon.units.models import UnitKind

MINISTRY_PLACE = "Hà Nội"
# Provinces named after a person: written in full (the decree's own example).
_IN_FULL = {"Hồ Chí Minh": "Thành phố Hồ Chí Minh"}
_BOARD_PREFIX = re.compile(r"^(ban|bộ) chỉ huy quân sự\s+", re.IGNORECASE)
_PROVINCE_WORD = re.compile(r"^(tỉnh|thành phố)\s+", re.IGNORECASE)
_COMMUNE_WORD = re.compile(r"^(xã|phường|đặc khu)\s+", re.IGNORECASE)


def default_place_name(
    kind: str, *, code: str, name: str, short_name: str = "", parent_place: str = ""
) -> str:
    """The place name the rule gives a unit: the ministry and the regions from
    `data/higher_units.csv`, provinces and communes from their names; other units
    (agencies, regional defence commands) take their parent's."""
    if code in higher_unit_places():
        return higher_unit_places()[code]
    if kind == UnitKind.MINISTRY:
        return MINISTRY_PLACE
    text = unicodedata.normalize("NFC", short_name or name).strip()
    if kind == UnitKind.PROVINCIAL_COMMAND:
        bare = _PROVINCE_WORD.sub("", _BOARD_PREFIX.sub("", text))
        return _IN_FULL.get(bare, bare)
    if kind == UnitKind.COMMUNE_BOARD:
        full = _BOARD_PREFIX.sub("", text)
        bare = _COMMUNE_WORD.sub("", full)
        # "Phường 12": a name that is a number keeps its word, capitalised.
        return full[:1].upper() + full[1:] if bare[:1].isdigit() else bare
    return parent_place or MINISTRY_PLACE


@functools.cache
def higher_unit_places() -> dict[str, str]:
    """The place of each unit above the provinces, by code (`data/higher_units.csv`)."""
    text = importlib.resources.files("tiendon.units.data").joinpath("higher_units.csv")
    rows = csv.DictReader(io.StringIO(text.read_text("utf-8")))
    return {row["code"]: unicodedata.normalize("NFC", row["place_name"]) for row in rows}
