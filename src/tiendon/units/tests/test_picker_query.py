"""The unit picker's search (`queries.search_units`): by name, diacritics, đ and case
ignored, ranked, at most 20 shown, on the real 3,321 communes and on a small made-up tree."""

from __future__ import annotations

import unicodedata

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tiendon.errors import InvalidInput
from tiendon.units.actions import do_create_unit, do_update_unit
from tiendon.units.folding import common_name, fold, search_name
from tiendon.units.models import CommuneType, Unit, UnitKind
from tiendon.units.queries import PICK_LIMIT, search_units, units_for_codes
from tiendon.units.seed import seed_units

pytestmark = pytest.mark.django_db


def codes(text: str, **kwargs) -> list[str]:
    return [p.code for p in search_units(text, **kwargs).units]


def test_folding_drops_tones_and_maps_d_stroke_and_case():
    assert fold("Mường Lát") == "muong lat"
    assert fold("ĐÔNG  Tiến") == "dong tien"
    assert fold(unicodedata.normalize("NFD", "Mường Lát")) == "muong lat"
    assert common_name("Ban Chỉ huy Quân sự xã Mường Lát", "Xã Mường Lát") == "Mường Lát"
    assert common_name("Bộ Chỉ huy Quân sự tỉnh Thanh Hóa", "Thanh Hóa") == "Thanh Hóa"
    assert common_name("Quân khu 4", "") == "Quân khu 4"
    assert search_name("Quân khu 4", "", "QK4") == "quan khu 4|qk4|quân khu 4"


class TestOnTheOfficialList:
    @pytest.fixture(autouse=True)
    def _seeded(self):
        seed_units()

    def test_muong_lat_typed_without_tones_finds_the_commune_of_thanh_hoa(self):
        matches = search_units("muong lat")
        assert matches.total == 1
        (picked,) = matches.units
        assert (picked.code, picked.label, picked.parent_name) == (
            "14845",
            "Xã Mường Lát",
            "Thanh Hóa",
        )

    @pytest.mark.parametrize(
        "typed",
        [
            "MƯỜNG LÁT",
            "Mường Lát",
            "  muong   LAT ",
            unicodedata.normalize("NFD", "Mường Lát"),
            "MUONG LAT",
            "14845",
        ],
    )
    def test_case_spacing_decomposed_input_and_the_code_find_the_same_unit(self, typed):
        assert codes(typed)[:1] == ["14845"]

    def test_dong_finds_the_names_starting_with_dong_first(self):
        matches = search_units("dong")
        assert len(matches.units) == PICK_LIMIT
        assert matches.total > 100
        assert matches.more == matches.total - PICK_LIMIT
        assert all(fold(p.common_name).startswith("dong") for p in matches.units)
        assert "Đ" in "".join(p.common_name[0] for p in matches.units)

    def test_typed_with_tones_the_exact_tone_matches_come_first(self):
        places = [p.common_name for p in search_units("Đông").units]
        assert all(place.startswith("Đông") for place in places), places
        folded = [p.common_name for p in search_units("dong").units]
        assert any(place.startswith("Đồng") for place in folded), folded

    def test_the_province_comes_before_the_communes_that_share_its_name(self):
        matches = search_units("thanh hoa")
        assert matches.units[0].code == "38"
        # Then communes named Thanh Hòa / Thạnh Hóa, before the 166 communes of the province.
        assert fold(matches.units[1].common_name) == "thanh hoa"
        assert matches.units[-1].parent_name == "Thanh Hóa"

    def test_repeated_names_show_their_province(self):
        matches = search_units("tan thanh")
        tan_thanh = [p for p in matches.units if p.common_name == "Tân Thành"]
        assert len(tan_thanh) >= 5
        assert len({p.parent_name for p in tan_thanh}) == len(tan_thanh)

    def test_one_letter_shows_twenty_and_says_how_many_more(self):
        matches = search_units("a")
        assert len(matches.units) == PICK_LIMIT
        assert matches.total > 3000

    @pytest.mark.parametrize("typed", ["xyzzy", "Москва", "北京", "Warszawa"])
    def test_names_matching_nothing_find_nothing(self, typed):
        matches = search_units(typed)
        assert matches.units == []
        assert matches.total == 0

    def test_a_type_ahead_is_two_queries(self):
        with CaptureQueriesContext(connection) as captured:
            search_units("dong")
        assert len(captured) == 2

    def test_the_seed_fills_the_folded_names(self):
        assert not Unit.objects.filter(search_name="").exists()


@pytest.fixture
def ranked(tree):
    """Communes of Thanh Hóa named to fall in each rank for the query "an"."""

    def commune(code: str, place: str, parent=tree.province) -> Unit:
        return do_create_unit(
            code=code,
            name=f"Ban Chỉ huy Quân sự xã {place}",
            short_name=f"Xã {place}",
            kind=UnitKind.COMMUNE_BOARD,
            commune_type=CommuneType.XA,
            parent=parent,
            abbreviation="BCHQS",
        )

    an_giang = do_create_unit(
        code="91",
        name="Bộ Chỉ huy Quân sự tỉnh An Giang",
        short_name="An Giang",
        kind=UnitKind.PROVINCIAL_COMMAND,
        parent=tree.region,
        abbreviation="BCHQS",
    )
    commune("90001", "Tân Lập")  # "an" inside a word: substring
    commune("90002", "Bình An")  # a word starts with "an"
    commune("90003", "An Bình")  # the place starts with "an"
    commune("90004", "An")  # the place is "an"
    commune("90005", "Ấn")  # the place is "an" too, once folded
    commune("90006", "Mỹ Hòa", parent=an_giang)  # only its province holds "an"
    return tree


def test_exact_then_prefix_then_word_then_substring_then_parent(ranked):
    found = codes("an")
    mine = [c for c in found if c.startswith("900")]
    assert mine == ["90004", "90005", "90003", "90002", "90001", "90006"]
    assert found.index("91") < found.index("90003")  # An Giang: a place starting with "an"


def test_exact_tones_first_when_typed_with_tones(ranked):
    assert codes("Ấn")[:1] == ["90005"]
    assert codes("ấn")[:1] == ["90005"]


def test_search_within_a_unit_keeps_to_its_subtree(ranked):
    assert "90006" not in codes("an", within=ranked.province)
    assert "90004" in codes("an", within=ranked.province)


def test_inactive_units_are_not_offered(ranked):
    unit = Unit.objects.get(code="90004")
    do_update_unit(unit, actor=None, is_active=False)
    assert "90004" not in codes("an")


def test_renaming_a_unit_refreshes_its_folded_name(tree):
    do_update_unit(
        tree.commune_a, actor=None, short_name="Phường Đồng Lạc", name="Ban CHQS phường Đồng Lạc"
    )
    assert codes("dong lac") == [tree.commune_a.code]
    assert codes("dong tien") == []


@pytest.mark.parametrize(
    ("typed", "code"),
    [("x" * 101, "query_too_long"), ("muong\x00lat", "bad_query"), ("a\x1b[2J", "bad_query")],
)
def test_too_long_or_control_characters_are_refused_with_a_reason(tree, typed, code):
    with pytest.raises(InvalidInput) as refused:
        search_units(typed)
    assert refused.value.code == code
    assert refused.value.field == "q"


def test_blank_or_separator_only_queries_find_nothing_without_a_query(tree):
    assert search_units("   ").total == 0
    assert search_units("|||").total == 0
    assert search_units("%_").total == 0  # LIKE's wildcards are escaped


def test_codes_are_named_and_unknown_or_malformed_ones_marked(tree):
    named = units_for_codes(["15853", "99999", "bad\x00code", "38"])
    assert [(c, p.label if p else None) for c, p in named] == [
        ("15853", "Phường Đông Tiến"),
        ("99999", None),
        ("bad\x00code", None),
        ("38", "Bộ Chỉ huy Quân sự tỉnh Thanh Hóa"),
    ]


def test_migration_0004_fills_the_units_already_stored(tree):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("tiendon.units.migrations.0004_unit_search_name")
    Unit.objects.update(search_name="")
    migration.fill_search_names(apps, None)
    assert Unit.objects.get(code="15853").search_name.startswith("dong tien|phuong dong tien|")
    assert codes("dong tien") == ["15853"]
