"""The outgoing register (sổ văn bản đi): Appendix IV columns, number order, date range and
series, XLSX that openpyxl reads back, a PDF whose text pdftotext gives back intact."""

from __future__ import annotations

import io
import subprocess
import unicodedata
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tiendon.audit.models import AuditRecord
from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.models import DocumentType, Urgency
from tiendon.documents.queries import ClearanceRequired
from tiendon.documents.registers import outgoing as registers
from tiendon.documents.tests.conftest import in_review
from tiendon.errors import InvalidInput


def issue(board: Any, **overrides: Any) -> Any:
    signed = do_sign(in_review(board, **overrides), board.commander, totp_code=board.code())
    return do_issue(signed, board.clerk)


@pytest.fixture
def issued(board: Any) -> list[Any]:
    first = issue(board, subject="Về việc huấn luyện dân quân tự vệ năm 2027")
    second = issue(
        board,
        doc_type=DocumentType.KE_HOACH,
        subject="Kế hoạch phòng chống lụt bão, tìm kiếm cứu nạn",
        urgency=Urgency.HOA_TOC,
        recipients=["Bộ CHQS tỉnh Thanh Hóa;", "UBND phường Đồng Tiến;", "Lưu: VT, TM."],
    )
    issue_draft_only = in_review(board, subject="Dự thảo chưa ban hành")
    assert issue_draft_only.number is None
    return [first, second]


def test_the_register_lists_issued_documents_in_number_order(board: Any, issued: Any) -> None:
    register = registers.outgoing_register(board.clerk)
    assert [r.number_and_symbol for r in register.rows] == ["01/QĐ-BCHQS", "02/KH-BCHQS"]
    second = register.rows[1]
    assert second.type_and_subject == "Kế hoạch: Kế hoạch phòng chống lụt bão, tìm kiếm cứu nạn"
    assert second.recipients == "Bộ CHQS tỉnh Thanh Hóa; UBND phường Đồng Tiến"
    assert second.filed_with == "VT, TM"
    assert second.copies == 3
    assert second.note == "Hỏa tốc"
    assert second.signer == board.commander.full_name


def test_date_range_series_and_scope(board: Any, issued: Any, tree: Any) -> None:
    day = registers.outgoing_register(board.clerk).rows[0].date
    assert (
        registers.outgoing_register(board.clerk, date_from="01/01/2020", date_to="31/12/2020").rows
        == []
    )
    same_day = registers.outgoing_register(
        board.clerk, date_from=day.strftime("%d/%m/%Y"), date_to=day.isoformat()
    )
    assert len(same_day.rows) == 2
    # The other commune's register has none of them.
    assert registers.outgoing_register(tree.clerk_b).rows == []
    # The secret register is apart, and needs a clearance.
    with pytest.raises(ClearanceRequired):
        registers.outgoing_register(board.clerk, series="secret")
    for kwargs, code in (
        ({"date_from": "32/01/2027"}, "bad_date"),
        ({"date_from": "02/01/2027", "date_to": "01/01/2027"}, "bad_date_range"),
        ({"series": "mật"}, "unknown_series"),
        ({"date_from": "01/01/2000", "date_to": "01/01/2027"}, "range_too_long"),
    ):
        with pytest.raises(InvalidInput) as caught:
            registers.outgoing_register(board.clerk, **kwargs)
        assert caught.value.code == code


def test_xlsx_export_has_the_appendix_iv_columns_and_rows(board: Any, issued: Any) -> None:
    data = registers.to_xlsx(registers.outgoing_register(board.clerk))
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "SỔ ĐĂNG KÝ VĂN BẢN ĐI"
    assert rows[1][0] == board.unit.name
    assert list(rows[3]) == list(registers.OUTGOING_COLUMNS)
    assert [r[0] for r in rows[4:]] == ["01/QĐ-BCHQS", "02/KH-BCHQS"]
    assert rows[5][2] == "Kế hoạch: Kế hoạch phòng chống lụt bão, tìm kiếm cứu nạn"
    assert rows[5][6] == 3


def test_pdf_export_keeps_the_vietnamese_text(board: Any, issued: Any) -> None:
    data = registers.to_pdf(registers.outgoing_register(board.clerk))
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    text = unicodedata.normalize("NFC", text)
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐI" in text
    assert "Tên loại và trích yếu nội dung" in text
    assert "02/KH-BCHQS" in text
    assert "phòng chống lụt bão" in text
    assert "Hỏa tốc" in text
    assert board.unit.name.upper() in text


def test_register_pages_and_exports(board: Any, issued: Any, client: Any, tree: Any) -> None:
    client.force_login(board.clerk)
    url = reverse("outgoing_register")
    page = client.get(url)
    assert page.status_code == 200
    assert "02/KH-BCHQS" in page.content.decode()
    assert "Sổ văn bản đi" in page.content.decode()
    xlsx = client.get(url, {"format": "xlsx"})
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert load_workbook(io.BytesIO(xlsx.content)).active.max_row == 6
    pdf = client.get(url, {"format": "pdf"})
    assert pdf.content.startswith(b"%PDF-")
    assert AuditRecord.objects.filter(action="documents.register_exported").count() == 2
    assert client.get(url, {"date_from": "hôm qua"}).status_code == 400
    assert client.get(url, {"format": "docx"}).status_code == 400
    assert client.get(url, {"colour": "red"}).status_code == 400
    assert client.get(url, {"series": "secret"}).status_code == 403
    client.force_login(tree.clerk_b)
    assert "02/KH-BCHQS" not in client.get(url).content.decode()


def test_the_secret_register_is_apart_and_reading_it_is_audited(
    province_board: Any, client: Any
) -> None:
    board = province_board
    issue(board, doc_type=DocumentType.THONG_BAO, subject="Thông báo thường")
    issue(board, doc_type=DocumentType.THONG_BAO, subject="Thông báo mật", secrecy=1)
    ordinary = registers.outgoing_register(board.clerk)
    secret = registers.outgoing_register(board.clerk, series="secret")
    assert [r.type_and_subject for r in ordinary.rows] == ["Thông báo: Thông báo thường"]
    assert [r.type_and_subject for r in secret.rows] == ["Thông báo: Thông báo mật"]
    assert secret.rows[0].number_and_symbol == "01/TB-BCHQS"
    assert secret.rows[0].note == "Mật"
    assert secret.title == "SỔ ĐĂNG KÝ VĂN BẢN ĐI (MẬT)"
    client.force_login(board.clerk)
    page = client.get(reverse("outgoing_register"), {"series": "secret"})
    assert "Thông báo mật" in page.content.decode()
    record = AuditRecord.objects.filter(action="documents.register_read").latest("seq")
    assert record.new["series"] == "secret"
    client.get(reverse("outgoing_register"))
    assert AuditRecord.objects.filter(action="documents.register_read").count() == 1


def _layout_text(data: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return unicodedata.normalize("NFC", out.stdout.decode())


def test_the_recipients_column_names_units_sets_and_groups_never_nhu_tren(
    province_board: Any, board: Any, tree: Any
) -> None:
    from tiendon.documents.incoming.actions import do_save_recipient_group
    from tiendon.documents.registers.export import export_metadata, files_to_export

    group = do_save_recipient_group(
        province_board.clerk, name="Các xã biên giới", unit_codes=[tree.commune_a.code]
    )
    document = issue(
        province_board,
        doc_type=DocumentType.THONG_BAO,
        subject="Thông báo lịch huấn luyện",
        recipient_spec=[
            {"unit": tree.commune_a.code},
            {"set": "communes_of", "province": tree.province.code},
            {"group": group.pk},
        ],
        recipients=["Như trên;", "UBND tỉnh Thanh Hóa;", "Lưu: VT, TM."],
    )
    names = [
        "Ban Chỉ huy Quân sự phường Đông Tiến",
        "Ban CHQS các xã, phường thuộc Thanh Hóa",
        "Các xã biên giới",
        "UBND tỉnh Thanh Hóa",
    ]
    register = registers.outgoing_register(province_board.clerk)
    (row,) = register.rows
    assert row.recipients == "; ".join(names)
    assert row.filed_with == "VT, TM"
    sheet = load_workbook(io.BytesIO(registers.to_xlsx(register))).active
    assert sheet["E5"].value == "; ".join(names)
    text = _layout_text(registers.to_pdf(register))
    assert "Như trên" not in text
    assert "Các xã biên giới" in text
    # The export's "Nơi nhận" (Appendix VI) names them too.
    assert export_metadata(document, files_to_export(document))["recipients"] == names


def test_dates_in_the_register_pdfs_never_break(board: Any, tree: Any, issued: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    from tiendon.documents import queries
    from tiendon.documents.registers import incoming
    from tiendon.documents.tests.conftest import paper_assigned

    today = timezone.localdate()
    issued_on = f"{today:%d/%m/%Y}"
    outgoing_text = _layout_text(registers.to_pdf(registers.outgoing_register(board.clerk)))
    for number in ("01/QĐ-BCHQS", "02/KH-BCHQS"):
        (line,) = [line for line in outgoing_text.splitlines() if number in line]
        assert issued_on in line
    deadline = today + dt.timedelta(days=7)
    paper_assigned(tree, "Công văn về tuyển quân", [tree.commander_a], deadline)
    entries = queries.incoming_register(tree.clerk_a, date_from=today, date_to=today)
    text = _layout_text(incoming.to_pdf("SỔ ĐĂNG KÝ VĂN BẢN ĐẾN", incoming.rows(entries)))
    (line,) = [line for line in text.splitlines() if "Công văn về tuyển quân" in line]
    assert line.count(issued_on) == 2  # ngày đến and ngày chuyển, each whole


def test_the_register_names_each_kind_of_choice_as_the_pdfs_recipients_block_does(
    ministry_board: Any, tree: Any
) -> None:
    from tiendon.documents.drafting.recipients import labels
    from tiendon.documents.incoming.actions import do_save_recipient_group
    from tiendon.documents.tests.conftest import draft

    group = do_save_recipient_group(
        ministry_board.clerk, name="Các tỉnh Quân khu 4", unit_codes=["38", "40"]
    )
    spec = [
        {"set": "all_communes"},
        {"set": "children"},
        {"set": "communes_of", "province": "38"},
        {"unit": "38"},
        {"group": group.pk},
    ]
    document = draft(ministry_board, recipient_spec=spec, recipients=[], signer_title="Thứ trưởng")
    names = registers.recipient_names([document])[document.pk]
    assert names == [line.strip("- ;") for line in labels(tree.ministry, spec)]
