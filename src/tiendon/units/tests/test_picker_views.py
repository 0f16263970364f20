"""The unit picker's fragments: matches, the tree and chips, for a logged-in person only,
in Vietnamese, and a clear message (never a 500) for a bad query, a NUL byte included."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, log_in_with_totp
from django.urls import reverse

from tiendon.units.actions import do_create_unit
from tiendon.units.models import CommuneType, UnitKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(client, tree):
    client.post(reverse("login"), {"username": tree.clerk_a.username, "password": PASSWORD})
    return client


@pytest.fixture
def province_clerk(client, tree):
    """The provincial commander (a second factor, as commanders must)."""
    return log_in_with_totp(client, tree.province_commander)


def pick(client, **params):
    response = client.get(reverse("unit_pick"), params, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("name", ["unit_pick", "unit_pick_tree", "unit_pick_chips"])
def test_the_fragments_need_a_login(client, tree, name):
    response = client.get(reverse(name), {"q": "dong", "codes": "15853"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_match_shows_the_name_its_province_and_the_code_to_pick(clerk):
    html = pick(clerk, q="dong tien")
    assert "Phường Đông Tiến" in html
    assert "· Thanh Hóa" in html
    assert 'data-pick="15853"' in html
    assert "<html" not in html  # a fragment, not a page


def test_nothing_found_is_said_in_vietnamese(clerk):
    html = pick(clerk, q="Mường Lát")
    assert "Không có đơn vị nào tên “Mường Lát”" in html


def test_more_than_twenty_matches_say_how_many_more(clerk, tree):
    for i in range(25):
        do_create_unit(
            code=f"7{i:04d}",
            name=f"Ban Chỉ huy Quân sự xã Tân Lập {i}",
            short_name=f"Xã Tân Lập {i}",
            kind=UnitKind.COMMUNE_BOARD,
            commune_type=CommuneType.XA,
            parent=tree.province,
        )
    html = pick(clerk, q="tan lap")
    assert html.count("data-pick=") == 20
    assert "Còn 5 đơn vị nữa: gõ thêm tên để thu hẹp." in html


def test_an_empty_query_answers_an_empty_fragment(clerk):
    assert pick(clerk, q="  ").strip() == ""


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("x" * 5000, "Chỉ gõ tối đa 100 ký tự của tên đơn vị."),
        ("dong\x01tien", "Từ khóa có ký tự không phải chữ"),
        ("\x07", "Từ khóa có ký tự không phải chữ"),
    ],
)
def test_a_bad_or_huge_query_gets_a_clear_message(clerk, query, message):
    html = pick(clerk, q=query)
    assert message in html
    assert 'role="alert"' in html


def test_a_nul_in_the_query_is_refused_before_the_picker(clerk):
    # The site refuses a NUL anywhere in an address (web.middleware), with its reason.
    response = clerk.get(reverse("unit_pick"), {"q": "dong\x00tien"})
    assert response.status_code == 400
    assert "nul_byte" in response.content.decode()


def test_the_whole_set_of_communes_is_offered_for_provinces_in_ones_scope(province_clerk):
    html = pick(province_clerk, q="thanh hoa", sets="1")
    assert 'data-pick="38" data-pick-kind="set"' in html
    assert "Tất cả xã, phường thuộc Thanh Hóa" in html
    # Nghệ An lies outside the provincial command's subtree: no set offered.
    assert 'data-pick="40" data-pick-kind="set"' not in pick(province_clerk, q="nghe an", sets="1")
    assert "data-pick-kind" not in pick(province_clerk, q="thanh hoa")


def test_scope_mine_keeps_to_ones_own_subtree(province_clerk):
    assert 'data-pick="16690"' in pick(province_clerk, q="truong vinh")
    assert 'data-pick="16690"' not in pick(province_clerk, q="truong vinh", scope="mine")


def test_the_tree_starts_at_the_ministry_and_opens_level_by_level(clerk):
    top = clerk.get(reverse("unit_pick_tree"), {"sets": "1"}).content.decode()
    assert 'data-pick="BQP"' in top
    assert "Quân khu 4" in top
    assert "under=QK4" in top
    region = clerk.get(reverse("unit_pick_tree"), {"under": "QK4"}).content.decode()
    assert "Thanh Hóa" in region
    assert "Nghệ An" in region
    province = clerk.get(reverse("unit_pick_tree"), {"under": "38"}).content.decode()
    assert "Phường Đông Tiến" in province
    assert "Trường Vinh" not in province


@pytest.mark.parametrize("under", ["NOPE", "bad\x01code", "x" * 3000])
def test_the_tree_below_an_unknown_or_malformed_code_is_empty(clerk, under):
    response = clerk.get(reverse("unit_pick_tree"), {"under": under})
    assert response.status_code == 200
    assert "data-pick" not in response.content.decode()


def test_chips_name_known_codes_and_mark_the_others(clerk):
    response = clerk.get(reverse("unit_pick_chips"), {"codes": "15853, 99999 bad\x01code"})
    html = response.content.decode()
    assert "Phường Đông Tiến" in html
    assert "Không có đơn vị nào mã 99999" in html
    assert "chip-bad" in html
    sets = clerk.get(reverse("unit_pick_chips"), {"codes": "38 15853", "kind": "set"})
    html = sets.content.decode()
    assert "Tất cả xã, phường thuộc Thanh Hóa" in html
    assert "Phường Đông Tiến không phải là tỉnh, thành phố" in html


def test_moving_a_person_picks_one_unit_within_the_administrators_scope(client, tree):
    admin = log_in_with_totp(client, tree.ministry_admin)
    html = admin.get(reverse("person_detail", args=[tree.clerk_a.username])).content.decode()
    assert "data-single" in html
    assert "scope=mine" in html
    assert 'name="unit_code"' in html
    assert "units/picker.js" in html
