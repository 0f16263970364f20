"""Importing people from CSV and XLSX: all rows or none, every problem named by row and column."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, log_in_with_totp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from tiendon.audit.models import AuditRecord
from tiendon.units import auth
from tiendon.units.models import Clearance, Person, Role

HEADER = ["unit_code", "username", "full_name", "rank", "position", "role", "clearance"]


def good_rows(tree: Any) -> list[list[str]]:
    return [
        [
            tree.commune_a.code,
            "ct.dongtien",
            "Bùi Văn Chính",
            "Đại úy",
            "Chính trị viên",
            "chỉ huy",
            "Mật",
        ],
        [
            tree.commune_a.code,
            "pho.dongtien",
            "Lý Thị Phó",
            "",
            "Phó Chỉ huy trưởng",
            "CÁN BỘ",
            "0",
        ],
        [tree.commune_b.code, "vt2.truongvinh", "Trịnh Thị Hoa", "", "Văn thư", "clerk", "none"],
    ]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def run_import(path: Path, admin: Any, out: Path) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(
        "import_people",
        str(path),
        "--as",
        admin.username,
        "--out",
        str(out),
        stdout=stdout,
        stderr=stderr,
    )
    return stdout.getvalue(), stderr.getvalue()


def refused(path: Path, admin: Any, out: Path) -> tuple[str, str]:
    stderr = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_people",
            str(path),
            "--as",
            admin.username,
            "--out",
            str(out),
            stderr=stderr,
        )
    assert not out.exists()
    return str(caught.value), stderr.getvalue()


def test_a_good_csv_creates_everyone_with_one_time_passwords(
    tree: Any, tmp_path: Path, client: Any
) -> None:
    out = tmp_path / "passwords.csv"
    stdout, _ = run_import(
        write_csv(tmp_path / "people.csv", good_rows(tree)), tree.ministry_admin, out
    )
    assert "3 people imported" in stdout
    chinh = Person.objects.get(username="ct.dongtien")
    assert chinh.role == Role.COMMANDER
    assert chinh.clearance == Clearance.MAT
    assert Person.objects.get(username="pho.dongtien").role == Role.STAFF
    assert AuditRecord.objects.filter(action="person.created").count() == 3 + 6

    with out.open(encoding="utf-8") as handle:
        issued = {row["username"]: row["one_time_password"] for row in csv.DictReader(handle)}
    assert set(issued) == {"ct.dongtien", "pho.dongtien", "vt2.truongvinh"}
    for record in AuditRecord.objects.all():
        assert issued["ct.dongtien"] not in f"{record.old}{record.new}"
    assert issued["ct.dongtien"] not in stdout

    # A commander signs: the second factor comes first, from the first login.
    client.post(reverse("login"), {"username": "ct.dongtien", "password": issued["ct.dongtien"]})
    assert client.get(reverse("home"))["Location"] == reverse("totp_enrol")
    client.post(reverse("logout"))
    # The one-time password works once, and the person must choose their own at once.
    response = client.post(
        reverse("login"), {"username": "pho.dongtien", "password": issued["pho.dongtien"]}
    )
    assert client.get(reverse("home"))["Location"] == reverse("password_change")
    new = "Mat-khau-rieng-cua-toi-2026"
    response = client.post(
        reverse("password_change"), {"new_password": new, "new_password_again": new}
    )
    assert response.status_code == 302
    assert not auth.has_one_time_password(Person.objects.get(username="pho.dongtien"))
    assert client.get(reverse("password_change")).status_code == 200


def test_a_csv_with_problems_reports_every_one_and_stores_nothing(
    tree: Any, tmp_path: Path
) -> None:
    rows = [
        *good_rows(tree),
        ["KHONGCO", "a.moi", "Người A", "", "", "clerk", "0"],
        [tree.commune_a.code, tree.clerk_a.username, "Người B", "", "", "clerk", "0"],
        [tree.commune_a.code, "ct.dongtien", "Người C", "", "", "clerk", "0"],
        [tree.commune_a.code, "c.moi", "", "", "", "tướng", "bí mật"],
    ]
    before = Person.objects.count()
    message, err = refused(write_csv(tmp_path / "p.csv", rows), tree.ministry_admin, tmp_path / "o")
    assert "nothing imported" in message or "không nhập" in message
    assert "[unknown_unit]" in err
    assert "row 5, column unit_code" in err or "dòng 5, cột unit_code" in err
    assert "[duplicate_username]" in err
    assert "[duplicate_in_file]" in err
    assert "[required]" in err
    assert "[bad_role]" in err
    assert "[bad_clearance]" in err
    assert Person.objects.count() == before
    assert not Person.objects.filter(username="ct.dongtien").exists()


def test_an_admin_cannot_import_into_a_unit_outside_their_scope(tree: Any, tmp_path: Path) -> None:
    from tiendon.units.actions import do_create_person

    admin_a = do_create_person(
        username="qt.dongtien",
        full_name="Ngô Văn Quang",
        unit=tree.commune_a,
        role=Role.ADMIN,
        password=PASSWORD,
    )
    _message, err = refused(
        write_csv(tmp_path / "p.csv", good_rows(tree)), admin_a, tmp_path / "o.csv"
    )
    assert "row 4, column unit_code" in err or "dòng 4, cột unit_code" in err
    assert "[out_of_scope]" in err
    assert not Person.objects.filter(username="ct.dongtien").exists()


def test_a_good_xlsx_is_imported_with_numbers_and_vietnamese_words(
    tree: Any, tmp_path: Path
) -> None:
    rows: list[list[Any]] = [
        [int(tree.commune_a.code), "ct.dongtien", "Bùi Văn Chính", "Đại úy", "", "quản trị", 2],
        [tree.commune_a.code, "vt.moi", "Hà Thị Mai", "", "", "Văn Thư", "TUYỆT MẬT"],
    ]
    out = tmp_path / "o.csv"
    run_import(write_xlsx(tmp_path / "people.xlsx", rows), tree.ministry_admin, out)
    assert Person.objects.get(username="ct.dongtien").role == Role.ADMIN
    assert Person.objects.get(username="ct.dongtien").clearance == Clearance.TOI_MAT
    assert Person.objects.get(username="vt.moi").clearance == Clearance.TUYET_MAT


def test_an_xlsx_with_one_bad_row_stores_nothing(tree: Any, tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        [tree.commune_a.code, "ct.dongtien", "Bùi Văn Chính", "", "", "clerk", 0],
        [tree.commune_a.code, "x.moi", "Hà Thị Mai", "", "", "clerk", 7],
    ]
    _message, err = refused(
        write_xlsx(tmp_path / "p.xlsx", rows), tree.ministry_admin, tmp_path / "o.csv"
    )
    assert "[bad_clearance]" in err
    assert not Person.objects.filter(username="ct.dongtien").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"%PDF-1.7 not a list", "header"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "spreadsheet"),
        (b"ma_don_vi,ten\n1,2\n", "header"),
    ],
)
def test_a_file_that_is_not_a_people_list_gets_one_clear_message(
    tree: Any, tmp_path: Path, content: bytes, expected: str, settings: Any
) -> None:
    settings.LANGUAGE_CODE = "en"
    path = tmp_path / "people.csv"
    path.write_bytes(content)
    message, err = refused(path, tree.ministry_admin, tmp_path / "o.csv")
    if expected == "header":
        assert "first row must name the columns" in message
    else:
        assert "neither an XLSX spreadsheet nor a UTF-8 CSV" in message
    assert err == ""


def test_a_50_mb_file_is_refused_before_reading(tree: Any, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    message, _ = refused(path, tree.ministry_admin, tmp_path / "o.csv")
    assert "20 MB" in message


@pytest.fixture
def admin_client(client: Any, tree: Any) -> Any:
    admin = tree.ministry_admin
    return log_in_with_totp(client, admin)


def test_upload_page_imports_and_shows_the_one_time_passwords_once(
    admin_client: Any, tree: Any, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", good_rows(tree))
    upload = SimpleUploadedFile("people.csv", path.read_bytes(), content_type="text/csv")
    response = admin_client.post(reverse("people_import"), {"file": upload})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "ct.dongtien" in page
    assert "one-time-passwords.csv" in page
    assert Person.objects.filter(username="vt2.truongvinh").exists()


def test_upload_page_lists_every_problem(admin_client: Any, tree: Any, tmp_path: Path) -> None:
    rows = [*good_rows(tree), ["KHONGCO", "a.moi", "", "", "", "clerk", "9"]]
    path = write_csv(tmp_path / "people.csv", rows)
    upload = SimpleUploadedFile("people.csv", path.read_bytes(), content_type="text/csv")
    response = admin_client.post(reverse("people_import"), {"file": upload})
    assert response.status_code == 400
    page = response.content.decode()
    assert "[unknown_unit]" in page
    assert "[required]" in page
    assert "[bad_clearance]" in page
    assert not Person.objects.filter(username="ct.dongtien").exists()


def test_a_clerk_cannot_open_the_upload_page(client: Any, tree: Any) -> None:
    client.post(reverse("login"), {"username": tree.clerk_a.username, "password": PASSWORD})
    assert client.get(reverse("people_import")).status_code == 404


def test_old_mac_line_endings_and_stray_carriage_returns_are_read_or_refused_clearly(
    tree: Any, tmp_path: Path
) -> None:
    from tiendon.units.importers_people import PeopleFileError, read_rows

    # Rows ended by a bare \r (old Mac exports) are rows like any other.
    text = "\r".join(",".join(row) for row in [HEADER, *good_rows(tree)]) + "\r"
    rows = list(read_rows(io.BytesIO(text.encode())))
    assert rows[0] == HEADER
    assert len(rows) == 1 + len(good_rows(tree))
    # A quoted field left open swallows the rest of the file: one clear error with the row.
    broken = ",".join(HEADER) + '\n15853,"ct.x,' + "Nguyễn " * 30_000 + "\n"
    with translation.override("en"), pytest.raises(PeopleFileError) as refused:
        list(read_rows(io.BytesIO(broken.encode())))
    assert "Row 2 " in str(refused.value)
