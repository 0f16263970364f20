"""Lists come out in Vietnamese order on both engines."""

from __future__ import annotations

import pytest

from tiendon.units.actions import do_create_unit
from tiendon.units.collation import vi_sort_key
from tiendon.units.models import Unit, UnitKind
from tiendon.units.queries import order_units_vi

VIETNAMESE_ORDER = [
    "An Giang",
    "Ân Thi",
    "Bắc Ninh",
    "Cà Mau",
    "Da",
    "Dương",
    "Đà Nẵng",
    "Điện Biên",
    "Hạ Long",
    "Hà Nội",
    "Ô Môn",
    "Ơn",
    "Uông Bí",
    "Ứng Hòa",
]


def test_sort_key_puts_d_stroke_after_d_and_tones_after_letters():
    shuffled = sorted(VIETNAMESE_ORDER, key=lambda s: s[::-1])
    assert sorted(shuffled, key=vi_sort_key) == VIETNAMESE_ORDER


def test_tones_follow_the_dictionary_order():
    words = ["má", "ma", "mạ", "mà", "mã", "mả"]
    assert sorted(words, key=vi_sort_key) == ["ma", "mà", "mả", "mã", "má", "mạ"]


@pytest.mark.django_db
def test_database_orders_unit_names_in_vietnamese_order():
    root = do_create_unit(code="BQP", name="Bộ Quốc phòng", kind=UnitKind.MINISTRY, parent=None)
    for i, name in enumerate(reversed(VIETNAMESE_ORDER)):
        do_create_unit(code=f"T{i:02d}", name=name, kind=UnitKind.MINISTRY_AGENCY, parent=root)
    names = list(order_units_vi(Unit.objects.filter(parent=root)).values_list("name", flat=True))
    # Base letters decide first on both engines: A/Â, B, C, D, Đ, H, O/Ô/Ơ, U/Ư.
    first_letters = [n[0] for n in names]
    assert first_letters.index("Đ") > first_letters.index("D")
    assert names.index("Bắc Ninh") < names.index("Cà Mau") < names.index("Dương")
    assert names.index("Dương") < names.index("Đà Nẵng")
    assert names[-1] == "Ứng Hòa"
