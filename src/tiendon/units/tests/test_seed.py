"""`seed-units`: the official hierarchy, loaded once and idempotently."""

from __future__ import annotations

import csv
import unicodedata
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from tiendon.audit.models import AuditRecord
from tiendon.units.actions import do_create_person, do_create_unit, do_move_unit
from tiendon.units.models import CommuneType, Role, Unit, UnitKind
from tiendon.units.seed import SeedError, seed_units

DATA = Path(__file__).resolve().parents[1] / "data"

pytestmark = pytest.mark.django_db


def test_seeding_gives_34_provincial_commands_and_3321_commune_boards() -> None:
    seed_units()
    assert Unit.objects.filter(kind=UnitKind.MINISTRY).count() == 1
    assert Unit.objects.filter(kind=UnitKind.MILITARY_REGION).count() == 7
    assert Unit.objects.filter(kind=UnitKind.PROVINCIAL_COMMAND).count() == 34
    boards = Unit.objects.filter(kind=UnitKind.COMMUNE_BOARD)
    assert boards.count() == 3321
    assert boards.filter(commune_type=CommuneType.XA).count() == 2621
    assert boards.filter(commune_type=CommuneType.PHUONG).count() == 687
    assert boards.filter(commune_type=CommuneType.DAC_KHU).count() == 13
    assert not boards.filter(parent__kind__in=[UnitKind.MINISTRY, UnitKind.MILITARY_REGION])


def test_hanoi_capital_command_sits_directly_under_the_ministry() -> None:
    seed_units()
    hanoi = Unit.objects.get(code="01")
    assert hanoi.name == "Bộ Tư lệnh Thủ đô Hà Nội"
    assert hanoi.kind == UnitKind.PROVINCIAL_COMMAND
    assert hanoi.parent is not None
    assert hanoi.parent.code == "BQP"
    assert hanoi.depth == 1


def test_each_region_commands_the_provinces_named_in_the_data_file() -> None:
    seed_units()
    with (DATA / "provincial_commands.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 34
    for row in rows:
        command = Unit.objects.select_related("parent").get(code=row["province_code"])
        expected = "BQP" if row["basis"] == "not_confirmed" else row["parent_code"]
        assert command.parent is not None
        assert command.parent.code == expected, row["province"]
        assert command.short_name == row["province"]
    assert sorted(Unit.objects.filter(parent__code="QK9").values_list("short_name", flat=True)) == [
        "An Giang",
        "Cà Mau",
        "Cần Thơ",
        "Vĩnh Long",
        "Đồng Tháp",
    ]


def test_provincial_commands_are_named_after_their_province() -> None:
    seed_units()
    thanh_hoa = Unit.objects.get(code="38")
    assert thanh_hoa.name == "Bộ Chỉ huy Quân sự tỉnh Thanh Hóa"
    assert thanh_hoa.abbreviation == "BCHQS"
    assert thanh_hoa.latitude is not None
    assert thanh_hoa.longitude is not None
    assert Unit.objects.get(code="31").name == "Bộ Chỉ huy Quân sự thành phố Hải Phòng"


def test_a_commune_board_keeps_its_official_code_diacritics_and_province() -> None:
    seed_units()
    board = Unit.objects.get(code="15853")
    assert board.name == "Ban Chỉ huy Quân sự phường Đông Tiến"
    assert board.name == unicodedata.normalize("NFC", board.name)
    assert board.short_name == "Phường Đông Tiến"
    assert board.commune_type == CommuneType.PHUONG
    assert board.abbreviation == "BCHQS"
    assert [u.code for u in board.chain_of_command()] == ["BQP", "QK4", "38", "15853"]
    assert board.province() == Unit.objects.get(code="38")
    phu_quoc = Unit.objects.get(code="31078")
    assert phu_quoc.name == "Ban Chỉ huy Quân sự đặc khu Phú Quốc"
    assert phu_quoc.parent is not None
    assert phu_quoc.parent.short_name == "An Giang"


def test_every_created_unit_is_audited() -> None:
    report = seed_units()
    created = AuditRecord.objects.filter(action="unit.created")
    assert report.created == 3363
    assert created.count() == 3363
    assert created.filter(object_id=str(Unit.objects.get(code="00097").pk)).exists()


def test_a_second_run_changes_nothing_and_writes_no_audit_record() -> None:
    seed_units()
    records = AuditRecord.objects.count()
    paths = dict(Unit.objects.values_list("code", "path"))
    report = seed_units()
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3363)
    assert AuditRecord.objects.count() == records
    assert dict(Unit.objects.values_list("code", "path")) == paths


def test_a_renamed_unit_gets_its_official_name_back_with_an_audit_record() -> None:
    seed_units()
    Unit.objects.filter(code="00097").update(name="Ban CHQS phường Hồng Hà cũ")
    report = seed_units()
    assert report.updated == 1
    assert Unit.objects.get(code="00097").name == "Ban Chỉ huy Quân sự phường Hồng Hà"
    record = AuditRecord.objects.filter(action="unit.updated").get()
    assert record.old is not None
    assert record.new is not None
    assert record.old["name"] == "Ban CHQS phường Hồng Hà cũ"
    assert record.new["name"] == "Ban Chỉ huy Quân sự phường Hồng Hà"


def test_a_command_under_the_wrong_region_is_moved_back_with_its_communes() -> None:
    seed_units()
    do_move_unit(Unit.objects.get(code="38"), Unit.objects.get(code="QK3"), actor=None)
    report = seed_units()
    assert report.moved == 1
    board = Unit.objects.get(code="15853")
    assert [u.code for u in board.chain_of_command()] == ["BQP", "QK4", "38", "15853"]
    assert AuditRecord.objects.filter(action="unit.moved").count() == 2


def test_the_command_prints_the_national_figures() -> None:
    out = StringIO()
    with translation.override("en"):
        call_command("seed_units", stdout=out)
    text = out.getvalue()
    assert "7 military regions" in text
    assert "34 provincial-level commands" in text
    assert "3321 commune boards (2621 xã, 687 phường, 13 đặc khu)" in text


def test_seeding_over_units_made_by_hand_keeps_them_and_their_people() -> None:
    ministry = do_create_unit(
        code="BQP", name="Bộ Quốc phòng", kind=UnitKind.MINISTRY, parent=None, abbreviation="BQP"
    )
    region = do_create_unit(
        code="QK4",
        name="Quân khu 4",
        kind=UnitKind.MILITARY_REGION,
        parent=ministry,
        abbreviation="QK4",
    )
    province = do_create_unit(
        code="38",
        name="Bộ CHQS tỉnh Thanh Hóa",
        kind=UnitKind.PROVINCIAL_COMMAND,
        parent=region,
        abbreviation="BCHQS",
    )
    clerk = do_create_person(
        username="vt.thanhhoa", full_name="Lê Thị Thư", unit=province, role=Role.CLERK
    )
    report = seed_units()
    assert (report.created, report.updated, report.unchanged) == (3360, 1, 2)
    clerk.refresh_from_db()
    assert clerk.unit.name == "Bộ Chỉ huy Quân sự tỉnh Thanh Hóa"
    assert clerk.unit.children.filter(kind=UnitKind.COMMUNE_BOARD).count() == 166


def test_a_unit_that_contradicts_the_official_list_stops_the_seed_with_nothing_changed() -> None:
    ministry = do_create_unit(
        code="BQP", name="Bộ Quốc phòng", kind=UnitKind.MINISTRY, parent=None, abbreviation="BQP"
    )
    do_create_unit(code="00097", name="Cục X", kind=UnitKind.MINISTRY_AGENCY, parent=ministry)
    records = AuditRecord.objects.count()
    with pytest.raises(SeedError, match="00097"):
        seed_units()
    assert Unit.objects.count() == 2
    assert AuditRecord.objects.count() == records
