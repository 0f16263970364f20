"""The Decree 30 layout: Vietnamese text comes back exactly, fonts are embedded."""

from __future__ import annotations

import subprocess
import unicodedata

import pytest

from tiendon.documents.drafting.actions import do_create_draft, layout_of
from tiendon.documents.models import DocumentType, SigningMode
from tiendon.documents.pdf.layout import MOTTO, NATIONAL_TITLE, render, vietnamese_date
from tiendon.documents.tests.conftest import SUBJECT, draft

pytestmark = pytest.mark.django_db


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return unicodedata.normalize("NFC", out.stdout.decode())


def _fonts(pdf: bytes, tmp_path) -> list[list[str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True)
    return [line.split() for line in out.stdout.splitlines()[2:]]


def test_pdftotext_gives_back_title_motto_subject_and_signer_exactly(board, tmp_path):
    document = draft(board)
    text = _text(render(layout_of(document)).pdf, tmp_path)
    assert NATIONAL_TITLE in text
    assert MOTTO in text
    assert SUBJECT in text
    assert "QUYẾT ĐỊNH" in text
    assert "Thiếu tá Hoàng Văn Đức" in text
    assert "CHỈ HUY TRƯỞNG" in text
    assert "BAN CHỈ HUY QUÂN SỰ" in text
    assert "PHƯỜNG ĐÔNG TIẾN" in text
    assert "Nơi nhận:" in text
    assert "Lưu: VT, TM." in text


def test_decomposed_input_is_stored_and_printed_composed(board, tmp_path):
    decomposed = unicodedata.normalize("NFD", "Kế hoạch huấn luyện Hỏa tốc")
    document = draft(board, subject=decomposed)
    assert document.subject == "Kế hoạch huấn luyện Hỏa tốc"
    assert "Kế hoạch huấn luyện Hỏa tốc" in _text(render(layout_of(document)).pdf, tmp_path)


def test_the_text_is_in_embedded_liberation_serif(board, tmp_path):
    # Before issuing, only the empty number and date fields name a (standard) font; the
    # issued document has no unembedded font at all (test_signing checks it).
    rows = _fonts(render(layout_of(draft(board))).pdf, tmp_path)
    liberation = [row for row in rows if "LiberationSerif" in row[0]]
    assert {row[0].split("+")[1] for row in liberation} == {
        "LiberationSerif",
        "LiberationSerif-Bold",
        "LiberationSerif-Italic",
        "LiberationSerif-BoldItalic",
    }
    assert all(row[-5] == "yes" for row in liberation)  # the "emb" column
    assert {row[0] for row in rows if row not in liberation} <= {"Times-Roman"}


def test_signing_on_behalf_prints_the_mode_line_above_the_signers_title(board, tmp_path):
    document = draft(
        board,
        signing_mode=SigningMode.KT,
        head_title="Chỉ huy trưởng",
        signer_title="Phó Chỉ huy trưởng",
    )
    text = _text(render(layout_of(document)).pdf, tmp_path)
    assert text.index("KT. CHỈ HUY TRƯỞNG") < text.index("PHÓ CHỈ HUY TRƯỞNG")
    assert text.index("PHÓ CHỈ HUY TRƯỞNG") < text.index("Thiếu tá Hoàng Văn Đức")


def test_a_cong_van_has_no_type_title_and_its_subject_reads_v_v(board, tmp_path):
    document = do_create_draft(
        board.clerk,
        doc_type=DocumentType.CONG_VAN,
        subject="Báo cáo tình hình đăng ký nghĩa vụ quân sự",
        body="Kính gửi Bộ Chỉ huy Quân sự tỉnh.",
        signer=board.commander,
        drafting_office="TM",
    )
    text = _text(render(layout_of(document)).pdf, tmp_path)
    assert "V/v Báo cáo tình hình đăng ký nghĩa vụ quân sự" in text
    assert "CÔNG VĂN" not in text


def test_number_and_date_are_empty_until_issuing(board, tmp_path):
    text = _text(render(layout_of(draft(board))).pdf, tmp_path)
    assert "Số:" in text
    assert "/QĐ-BCHQS" not in text
    assert "ngày" not in text.split("Số:")[1].split("QUYẾT ĐỊNH")[0]


def test_secret_and_urgent_marks_are_printed(tree, pki, tmp_path):
    document = do_create_draft(
        tree.province_commander,
        doc_type=DocumentType.CHI_THI,
        subject="Về việc sẵn sàng chiến đấu",
        body="Nội dung.",
        signer=tree.province_commander,
        secrecy=1,
        urgency="hoa_toc",
    )
    text = _text(render(layout_of(document)).pdf, tmp_path)
    assert "MẬT" in text
    assert "HỎA TỐC" in text


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-01-05", "ngày 05 tháng 01 năm 2026"),
        ("2026-02-28", "ngày 28 tháng 02 năm 2026"),
        ("2026-03-09", "ngày 09 tháng 3 năm 2026"),
        ("2026-11-23", "ngày 23 tháng 11 năm 2026"),
    ],
)
def test_dates_are_written_the_decree_30_way(day, expected):
    import datetime as dt

    assert vietnamese_date(dt.date.fromisoformat(day)) == expected


def test_an_acting_head_signs_under_the_heads_title_alone(board, tmp_path):
    document = draft(board, signing_mode=SigningMode.Q, head_title="Chỉ huy trưởng")
    text = _text(render(layout_of(document)).pdf, tmp_path)
    block = text[text.index("Q. CHỈ HUY TRƯỞNG") :]
    assert block.split("\n")[1:3] != ["CHỈ HUY TRƯỞNG"]
    assert "Thiếu tá Hoàng Văn Đức" in block
    assert text.count("CHỈ HUY TRƯỞNG") == 1


def _layout_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "layout.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return unicodedata.normalize("NFC", out.stdout.decode())


def _cong_van(board, subject: str = "Báo cáo tình hình tuyển quân", **extra):
    return do_create_draft(
        board.clerk,
        doc_type=DocumentType.CONG_VAN,
        subject=subject,
        body="Nội dung công văn.",
        signer=board.commander,
        drafting_office="TM",
        **extra,
    )


@pytest.mark.parametrize(
    "written",
    ["V/v Báo cáo", "v/v Báo cáo", "V / V: Báo cáo", " V/v. Báo cáo", "Về việc Báo cáo"],
)
def test_a_subject_that_already_starts_with_v_v_is_not_doubled(board, tmp_path, written):
    text = _text(render(layout_of(_cong_van(board, subject=written))).pdf, tmp_path)
    assert "V/v Báo cáo" in text
    assert text.lower().count("v/v") == 1
    assert "về việc" not in text.lower()  # "V/v" says it already


def test_the_place_line_prints_the_units_place_name_not_its_name(board, tmp_path):
    text = _layout_text(render(layout_of(draft(board))).pdf, tmp_path)
    (line,) = [line for line in text.splitlines() if "Số:" in line]
    assert line.rstrip().endswith("Đông Tiến,")
    assert "Phường Đông Tiến," not in text
    assert "Ban Chỉ huy Quân sự phường Đông Tiến," not in text


def test_a_cong_van_to_one_unit_has_kinh_gui_and_nhu_tren(board, tree, tmp_path):
    document = _cong_van(
        board, recipient_spec=[{"unit": tree.province.code}], recipients=["Lưu: VT, TM."]
    )
    text = _layout_text(render(layout_of(document)).pdf, tmp_path)
    assert "Kính gửi: Bộ Chỉ huy Quân sự tỉnh Thanh Hóa." in text
    lines = [line.strip() for line in text.splitlines()]
    assert text.index("V/v Báo cáo") < text.index("Kính gửi:") < text.index("Nội dung công văn.")
    assert any(line.startswith("- Như trên;") for line in lines)
    assert text.count("Bộ Chỉ huy Quân sự tỉnh Thanh Hóa") == 1  # not again in "Nơi nhận"


def test_a_cong_van_to_a_few_units_lists_each_on_its_own_line(board, tree, tmp_path):
    spec = [{"unit": tree.province.code}, {"unit": tree.commune_b.code}]
    document = _cong_van(board, recipient_spec=spec, recipients=["- Như trên;", "Lưu: VT."])
    text = _layout_text(render(layout_of(document)).pdf, tmp_path)
    lines = [line.strip() for line in text.splitlines()]
    heading = next(i for i, line in enumerate(lines) if line.startswith("Kính gửi:"))
    assert lines[heading].endswith("- Bộ Chỉ huy Quân sự tỉnh Thanh Hóa;")
    assert lines[heading + 1] == f"- {tree.commune_b.name}."
    assert text.count("Như trên") == 1  # the drafter's own "Như trên" is not printed twice


def test_a_cong_van_to_many_or_a_decision_has_no_kinh_gui(board, tree, ministry_board, tmp_path):
    to_many = [{"unit": tree.province.code}, {"unit": tree.commune_b.code}]
    to_many += [{"unit": tree.other_province.code}, {"unit": tree.region.code}]
    text = _text(render(layout_of(_cong_van(board, recipient_spec=to_many))).pdf, tmp_path)
    assert "Kính gửi" not in text
    assert "Bộ Chỉ huy Quân sự tỉnh Thanh Hóa;" in text  # in "Nơi nhận" as before
    decision = draft(board, recipient_spec=[{"unit": tree.province.code}])
    assert "Kính gửi" not in _text(render(layout_of(decision)).pdf, tmp_path)
