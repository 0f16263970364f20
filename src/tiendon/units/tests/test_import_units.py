"""`import-units`: units above the provinces from a CSV, checked whole before storing."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from tiendon.audit.models import AuditRecord
from tiendon.units.models import Unit, UnitKind

HEADER = "code,name,kind,parent_code,abbreviation,org_id\n"


def run(path: Path, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with translation.override("en"):
        call_command("import_units", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(path: Path, *args: str) -> tuple[str, str]:
    err = StringIO()
    with translation.override("en"), pytest.raises(CommandError) as info:
        call_command("import_units", str(path), *args, stdout=StringIO(), stderr=err)
    return str(info.value), err.getvalue()


def write(tmp_path: Path, text: str, name: str = "units.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_creates_the_units_under_their_parents_and_audits_each(
    tree: Any, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        HEADER
        + "TCCT,Tổng cục Chính trị,ministry_agency,BQP,TCCT,000.00.01.G01\n"
        + "TCCT-CTC,Cục Tuyên huấn,ministry_agency,TCCT,CTH,\n"
        + "38-PTKV1,Ban Chỉ huy Phòng thủ khu vực 1,regional_defence_command,38,PTKV1,\n",
    )
    out, _err = run(path)
    assert "3 unit(s) created" in out
    agency = Unit.objects.get(code="TCCT-CTC")
    assert [u.code for u in agency.chain_of_command()] == ["BQP", "TCCT", "TCCT-CTC"]
    assert Unit.objects.get(code="TCCT").org_id == "000.00.01.G01"
    defence = Unit.objects.get(code="38-PTKV1")
    assert defence.kind == UnitKind.REGIONAL_DEFENCE_COMMAND
    assert defence.province() == tree.province
    created = AuditRecord.objects.filter(
        action="unit.created", new__code__in=["TCCT", "TCCT-CTC", "38-PTKV1"]
    )
    assert created.count() == 3


def test_importing_the_same_file_again_changes_nothing(tree: Any, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "TCCT,Tổng cục Chính trị,ministry_agency,BQP,TCCT,\n")
    run(path)
    records = AuditRecord.objects.count()
    out, _err = run(path)
    assert "0 unit(s) created, 1 already existed unchanged" in out
    assert AuditRecord.objects.count() == records


def test_a_file_with_a_missing_parent_and_a_duplicate_code_is_refused_whole(
    tree: Any, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        HEADER
        + "TCCT,Tổng cục Chính trị,ministry_agency,BQP,TCCT,\n"
        + "CX,Cục X,ministry_agency,QK99,CX,\n"
        + "TCCT,Tổng cục Chính trị (bis),ministry_agency,BQP,TCCT,\n",
    )
    units, records = Unit.objects.count(), AuditRecord.objects.count()
    message, err = refused(path)
    assert "nothing was imported" in message
    assert "row 3, column parent_code:" in err
    assert "QK99" in err
    assert "[missing_parent]" in err
    assert "row 4, column code:" in err
    assert "row 2" in err
    assert "[duplicate_code]" in err
    assert Unit.objects.count() == units
    assert not Unit.objects.filter(code="TCCT").exists()
    assert AuditRecord.objects.count() == records


def test_every_bad_row_is_named_with_its_column(tree: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "X1,,bogus,BQP,,\n"
        + "X2,Ban X,commune_board,38,BCHQS,\n"
        + "X3,Cục Y,ministry_agency,BQP,CY,12345\n"
        + "X4,Cục Z,ministry_agency,15853,CZ,\n"
        + "BQP,Bộ Quốc phòng mới,ministry,,BQP,\n",
    )
    _message, err = refused(path)
    assert "row 2, column name: the name is empty [required]" in err
    assert "row 2, column kind:" in err
    assert "[unknown_kind]" in err
    assert "row 3, column kind:" in err
    assert "[kind_not_allowed]" in err
    assert "row 4, column org_id:" in err
    assert "[invalid_org_id]" in err
    assert "row 5, column parent_code:" in err
    assert "[invalid_parent]" in err
    assert "row 6, column name:" in err
    assert "[conflict]" in err
    assert Unit.objects.get(code="BQP").name == "Bộ Quốc phòng"


def test_a_parent_may_come_from_an_earlier_row_but_not_a_later_one(
    tree: Any, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        HEADER
        + "CHILD,Phòng A,ministry_agency,PARENT,PA,\n"
        + "PARENT,Cục A,ministry_agency,BQP,CA,\n",
    )
    _message, err = refused(path)
    assert "row 2, column parent_code:" in err
    assert "row 3" in err
    assert "[parent_order]" in err


def test_a_dry_run_reports_but_stores_nothing(tree: Any, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "TCCT,Tổng cục Chính trị,ministry_agency,BQP,TCCT,\n")
    records = AuditRecord.objects.count()
    out, _err = run(path, "--dry-run")
    assert "1 unit(s) would be created" in out
    assert not Unit.objects.filter(code="TCCT").exists()
    assert AuditRecord.objects.count() == records


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00 a spreadsheet", "not_csv"),
        ("code,name,kind\nX,Tên,ministry\n".encode(), "bad_header"),
        # A Windows "CSV" export in the old Vietnamese code page.
        (
            "code,name,kind,parent_code\nX,Quân khu Đ,military_region,BQP\n".encode("cp1258"),
            "bad_encoding",
        ),
        (b"", "empty_file"),
    ],
)
def test_a_file_that_is_not_a_units_csv_gets_one_clear_message(
    tree: Any, tmp_path: Path, content: bytes, code: str
) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(content)
    message, err = refused(path)
    assert f"[{code}]" in message
    assert str(path) in message
    assert err == ""
