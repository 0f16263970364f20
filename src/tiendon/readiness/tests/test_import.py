"""Survey import: all or nothing, every bad row reported, or the valid rows only on request."""

from __future__ import annotations

import datetime as dt
import io

from conftest import log_in_with_totp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from tiendon.audit.models import AuditRecord
from tiendon.readiness import queries
from tiendon.readiness.models import CommuneReadiness
from tiendon.readiness.tests.helpers import csv_bytes, row, stored_state, xlsx

GOOD_HAC_THANH = row(
    "15900",
    link_kind="military_network",
    bandwidth_kbps=2048,
    provider="Binh chủng Thông tin liên lạc",
    computers=2,
    computer_serials="MT-1; MT-2",
    trained_operators=1,
    operator_names="Lê Thị Hoa",
    planned_go_live="01/12/2026",
)
GOOD_CUA_LO = row(
    "16701", link_kind="civil_line", computers=1, blocking_reasons="no_budget; premises"
)
BAD_ROWS = [
    row("99999", link_kind="civil_line", computers=1),  # row 4: unknown commune
    row("16690", computers=-2),  # row 5: negative count
    row("15853", link_kind="civil_line", planned_go_live="2026-13-45"),  # row 6: bad date
]


def _upload(client, data: bytes, name: str = "khao-sat.xlsx", **extra):
    upload = SimpleUploadedFile(name, data)
    return client.post(reverse("readiness_import"), {"file": upload, **extra})


def test_valid_survey_applies_and_each_commune_is_audited(client, surveyed):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    before = AuditRecord.objects.filter(action="readiness.survey_updated").count()
    response = _upload(client, xlsx([GOOD_HAC_THANH, GOOD_CUA_LO]))
    assert response.status_code == 200
    assert "Đã cập nhật 2 xã." in response.content.decode()
    hac_thanh = CommuneReadiness.objects.get(unit=surveyed.hac_thanh)
    assert hac_thanh.computers == 2
    assert hac_thanh.serial_list() == ["MT-1", "MT-2"]
    assert hac_thanh.operator_list() == ["Lê Thị Hoa"]
    assert hac_thanh.planned_go_live == dt.date(2026, 12, 1)
    assert hac_thanh.updated_by == surveyed.tree.ministry_admin
    assert CommuneReadiness.objects.get(unit=surveyed.cua_lo).reasons == ["no_budget", "premises"]
    after = AuditRecord.objects.filter(action="readiness.survey_updated")
    assert after.count() == before + 2
    assert set(after.order_by("-seq").values_list("object_id", flat=True)[:2]) == {
        "15900",
        "16701",
    }


def test_bad_rows_refuse_the_whole_file_and_every_bad_row_is_reported(client, surveyed):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    before = stored_state()
    response = _upload(client, xlsx([GOOD_HAC_THANH, GOOD_CUA_LO, *BAD_ROWS]))
    assert response.status_code == 400
    html = response.content.decode()
    assert "3 lỗi; không nhập dữ liệu nào." in html
    assert "dòng 4, cột commune_code" in html
    assert "[unknown_unit]" in html
    assert "dòng 5, cột computers" in html
    assert "[negative]" in html
    assert "dòng 6, cột planned_go_live" in html
    assert "[bad_date]" in html
    assert stored_state() == before  # not even the two good rows


def test_apply_valid_only_applies_exactly_the_valid_rows(client, surveyed):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    untouched = ("16690", "15853")
    before = {s["unit"]: s for s in stored_state()[0]}
    response = _upload(
        client, xlsx([GOOD_HAC_THANH, GOOD_CUA_LO, *BAD_ROWS]), apply_valid_only="on"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Đã cập nhật 2 xã." in html
    assert "Bỏ qua 3 dòng." in html
    after = {s["unit"]: s for s in stored_state()[0]}
    for code in untouched:
        unit_id = CommuneReadiness.objects.get(unit__code=code).unit_id
        assert after[unit_id] == before[unit_id]
    assert CommuneReadiness.objects.get(unit=surveyed.hac_thanh).computers == 2
    assert CommuneReadiness.objects.get(unit=surveyed.cua_lo).reasons == ["no_budget", "premises"]


def test_a_csv_survey_applies_like_an_xlsx_one(client, surveyed):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    response = _upload(client, csv_bytes([GOOD_CUA_LO]), name="khao-sat.csv")
    assert response.status_code == 200
    assert CommuneReadiness.objects.get(unit=surveyed.cua_lo).computers == 1


def test_exported_state_imports_back_without_changing_anything(client, surveyed):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    export = client.get(reverse("readiness_export", args=["BQP"]))
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).worksheets[0]
    codes = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(codes) == ["15853", "15900", "16690", "16701"]
    figures = queries.summary(surveyed.tree.ministry).as_dict()
    surveys = [
        {k: v for k, v in s.items() if k not in ("updated_at", "updated_by")}
        for s in stored_state()[0]
    ]
    assert _upload(client, export.content).status_code == 200
    assert queries.summary(surveyed.tree.ministry).as_dict() == figures
    assert [
        {k: v for k, v in s.items() if k not in ("updated_at", "updated_by")}
        for s in stored_state()[0]
    ] == surveys


def test_template_lists_the_communes_in_scope_with_empty_survey_columns(client, surveyed):

    log_in_with_totp(client, surveyed.tree.province_commander)
    response = client.get(reverse("readiness_template", args=["38"]))
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["15853", "15900"]
    assert all(v is None for r in rows[1:] for v in r[2:])


def test_province_commander_cannot_import_a_commune_of_another_province(client, surveyed):

    log_in_with_totp(client, surveyed.tree.province_commander)
    before = stored_state()
    response = _upload(client, xlsx([GOOD_HAC_THANH, GOOD_CUA_LO]))
    assert response.status_code == 400
    assert "dòng 3, cột commune_code" in response.content.decode()
    assert "[out_of_scope]" in response.content.decode()
    assert stored_state() == before


def test_clerk_may_see_but_not_import(client, surveyed):

    log_in_with_totp(client, surveyed.tree.clerk_a)
    assert client.get(reverse("readiness")).status_code == 200
    assert _upload(client, xlsx([GOOD_HAC_THANH])).status_code == 403


VIETNAMESE_HEADERS = [
    "Mã Ban CHQS cấp xã",
    "Ban CHQS cấp xã",
    "Đường truyền",
    "Băng thông (kbit/s)",
    "Nhà cung cấp",
    "Máy tính quân sự",
    "Số sê-ri máy tính",
    "Người đã được huấn luyện",
    "Họ tên người đã được huấn luyện",
    "Ngày dự kiến đưa vào sử dụng",
    "Ngày thực tế đưa vào sử dụng",
    "Nguyên nhân vướng mắc",
    "Ghi chú",
]


def test_the_export_reads_in_vietnamese_headers_and_values(client, surveyed):
    from tiendon.readiness.models import BlockingReason, LinkKind

    log_in_with_totp(client, surveyed.tree.ministry_admin)
    export = client.get(reverse("readiness_export", args=["BQP"]))
    book = load_workbook(io.BytesIO(export.content))
    assert book.sheetnames == ["Khảo sát", "Hướng dẫn"]
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == VIETNAMESE_HEADERS
    by_code = {r[0]: dict(zip(VIETNAMESE_HEADERS, r, strict=True)) for r in rows[1:]}
    assert by_code["15853"]["Đường truyền"] == "Mạng truyền số liệu quân sự"
    assert by_code["15900"]["Đường truyền"] == "Đường truyền dân sự"
    assert by_code["16690"]["Nguyên nhân vướng mắc"] == (
        "Chưa có đường truyền; Chưa được bố trí kinh phí"
    )
    codes = {*LinkKind.values, *BlockingReason.values}
    cells = [str(v) for r in rows for v in r if v is not None]
    assert not [cell for cell in cells if cell in codes or "_" in cell]
    help_rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert help_rows[0] == ("Cột", "Nội dung cần điền")
    assert (
        "Đường truyền",
        "Không có đường truyền; Đường truyền dân sự; "
        "Mạng truyền số liệu quân sự; Mạng 5G dùng riêng",
    ) in help_rows


def test_the_vietnamese_template_filled_in_by_hand_imports(client, surveyed):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    template = client.get(reverse("readiness_template", args=["BQP"]))
    book = load_workbook(io.BytesIO(template.content))
    sheet = book.worksheets[0]
    for cells in sheet.iter_rows(min_row=2):
        if cells[0].value == "16701":
            cells[2].value = "đường truyền dân sự"  # any case
            cells[5].value = 3
            cells[11].value = "Chưa được bố trí kinh phí; Chưa có phòng làm việc"
        if cells[0].value == "15900":
            cells[5].value = -1
    out = io.BytesIO()
    book.save(out)
    refused = _upload(client, out.getvalue())
    assert refused.status_code == 400
    # The column is named as the file names it.
    assert "cột Máy tính quân sự" in refused.content.decode()
    accepted = _upload(client, out.getvalue(), apply_valid_only="on")
    assert accepted.status_code == 200
    cua_lo = CommuneReadiness.objects.get(unit=surveyed.cua_lo)
    assert (cua_lo.link_kind, cua_lo.computers) == ("civil_line", 3)
    assert cua_lo.reasons == ["no_budget", "premises"]
