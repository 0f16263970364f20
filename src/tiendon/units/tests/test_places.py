"""A unit's place name (địa danh), printed in "Hà Nội, ngày … tháng … năm …": seeded for
every unit, filled in for units that existed before, imported, and corrected in the admin."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from conftest import log_in_with_totp
from django.apps import apps as django_apps

from tiendon.audit.models import AuditRecord
from tiendon.units.models import Unit, UnitKind
from tiendon.units.seed import seed_units
from tiendon.units.tests.test_import_units import run, write

pytestmark = pytest.mark.django_db


def test_the_seed_gives_every_unit_the_place_decree_30_prints() -> None:
    seed_units()
    places = dict(Unit.objects.values_list("code", "place_name"))
    assert places["BQP"] == "Hà Nội"
    assert places["01"] == "Hà Nội"  # the Capital Command
    assert places["38"] == "Thanh Hóa"
    assert places["QK4"] == "Nghệ An"  # where the region sits, from units/data
    assert places["79"] == "Thành phố Hồ Chí Minh"  # named after a person: in full
    assert places["14845"] == "Mường Lát"
    numbered = Unit.objects.get(short_name="Phường 1 Bảo Lộc")
    assert numbered.place_name == "Phường 1 Bảo Lộc"  # a name that is a number keeps its word
    assert not Unit.objects.filter(place_name="").exists()
    assert Unit.objects.filter(kind=UnitKind.COMMUNE_BOARD).exclude(place_name="").count() == 3321


def test_a_place_corrected_by_an_administrator_survives_the_next_seed() -> None:
    seed_units()
    Unit.objects.filter(code="14845").update(place_name="Xã Mường Lát")
    report = seed_units()
    assert report.updated == 0
    assert Unit.objects.get(code="14845").place_name == "Xã Mường Lát"


def test_the_migration_fills_the_units_that_existed_before_it(tree: Any) -> None:
    Unit.objects.update(place_name="")
    Unit.objects.filter(code="15853").update(place_name="Phường Đông Tiến")  # kept as it is
    migration = importlib.import_module("tiendon.units.migrations.0003_unit_place_name")
    migration.fill_place_names(django_apps, None)
    places = dict(Unit.objects.values_list("code", "place_name"))
    assert places["BQP"] == "Hà Nội"
    assert places["QK4"] == "Nghệ An"
    assert places["38"] == "Thanh Hóa"
    assert places["15853"] == "Phường Đông Tiến"
    assert places[tree.commune_b.code] == tree.commune_b.short_name.split(" ", 1)[1]


def test_a_new_unit_without_a_place_takes_its_parents(tree: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "code,name,kind,parent_code,abbreviation,Địa danh\n"
        "38-PTKV1,Ban Chỉ huy Phòng thủ khu vực 1,regional_defence_command,38,PTKV1,\n"
        "HVQP,Học viện Quốc phòng,ministry_agency,BQP,HVQP,Hà Nội\n"
        "TCHC,Trường Cao đẳng,ministry_agency,QK4,TCHC,Vinh\n",
    )
    out, _err = run(path)
    assert "3 unit(s) created" in out
    places = dict(Unit.objects.values_list("code", "place_name"))
    assert places["38-PTKV1"] == "Thanh Hóa"
    assert places["HVQP"] == "Hà Nội"
    assert places["TCHC"] == "Vinh"
    # The same file again: nothing to do.
    assert "0 unit(s) created, 3 already existed unchanged" in run(path)[0]


def test_an_administrator_corrects_the_place_in_the_admin(client: Any, tree: Any) -> None:
    log_in_with_totp(client, tree.ministry_admin)
    unit = tree.commune_a
    url = f"/admin/units/unit/{unit.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="place_name"' in page.content.decode()
    form = {
        "code": unit.code,
        "name": unit.name,
        "short_name": unit.short_name,
        "kind": unit.kind,
        "commune_type": unit.commune_type,
        "parent": unit.parent_id,
        "abbreviation": unit.abbreviation,
        "org_id": "",
        "place_name": "Phường Đông Tiến",
        "is_active": "on",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    unit.refresh_from_db()
    assert unit.place_name == "Phường Đông Tiến"
    record = AuditRecord.objects.filter(action="unit.updated").latest("seq")
    assert record.old["place_name"] == "Đông Tiến"
    assert record.new["place_name"] == "Phường Đông Tiến"
