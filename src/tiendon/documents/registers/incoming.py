"""Sổ văn bản đến (the incoming register, Decree 30 Appendix IV) as rows, and its export
to XLSX (openpyxl) and to PDF (reportlab, Liberation Serif, text in NFC). The rows come
from `queries.incoming_register`, so scope and masking are already applied."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from tiendon.documents.models import IncomingDocument
from tiendon.documents.pdf import layout
from tiendon.documents.registers.outgoing import date_cell_width

# The Appendix IV columns, in the register's own (legal, Vietnamese) words.
COLUMNS = (
    "Ngày đến",
    "Số đến",
    "Tác giả",
    "Số, ký hiệu",
    "Ngày văn bản",
    "Tên loại và trích yếu nội dung",
    "Đơn vị hoặc người nhận",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
)
MASKED_SUBJECT = "(văn bản mật)"


def _date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return value.strftime("%d/%m/%Y")


@dataclass(frozen=True)
class RegisterRow:
    cells: tuple[str, ...]


def rows(entries: list[IncomingDocument]) -> list[RegisterRow]:
    out = []
    for entry in entries:
        assignments = list(entry.assignments.all())
        subject = MASKED_SUBJECT if getattr(entry, "masked", False) else entry.subject
        notes = []
        if entry.source == IncomingDocument.Source.PAPER:
            notes.append("Bản giấy")
        if entry.secrecy:
            notes.append(entry.get_secrecy_display())
        if entry.state == IncomingDocument.State.RECALLED:
            notes.append("Đã thu hồi")
        out.append(
            RegisterRow(
                tuple(
                    layout.nfc(c)
                    for c in (
                        _date(entry.arrived_at),
                        entry.arrival_text,
                        entry.issuer_name,
                        entry.number_and_symbol,
                        _date(entry.issue_date),
                        f"{entry.get_doc_type_display()}: {subject}",
                        ", ".join(a.assignee.full_name for a in assignments),
                        _date(min((a.assigned_at for a in assignments), default=None)),
                        "",
                        "; ".join(notes),
                    )
                )
            )
        )
    return out


def to_xlsx(title: str, register: list[RegisterRow]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "So van ban den"
    sheet.append([layout.nfc(title)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(list(COLUMNS))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in register:
        sheet.append(list(row.cells))
    widths = (12, 8, 30, 18, 12, 50, 25, 12, 10, 20)
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_pdf(title: str, register: list[RegisterRow]) -> bytes:
    layout.register_fonts()
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=layout.nfc(title),
    )
    cell = ParagraphStyle("cell", fontName=layout.SERIF, fontSize=9, leading=11)
    head = ParagraphStyle("head", parent=cell, fontName=layout.SERIF_BOLD)
    heading = ParagraphStyle(
        "title", fontName=layout.SERIF_BOLD, fontSize=14, leading=18, keepWithNext=1
    )

    def para(text: str, style: ParagraphStyle) -> Paragraph:
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return Paragraph(layout.nfc(escaped), style)

    data = [[para(c, head) for c in COLUMNS]]
    data += [[para(c, cell) for c in row.cells] for row in register]
    dated = max(18 * mm, date_cell_width(cell))  # dd/mm/yyyy never breaks
    widths = [dated, 12 * mm, 38 * mm, 26 * mm, dated, 64 * mm, 32 * mm, dated, 15 * mm]
    widths.append(277 * mm - sum(widths))  # the notes take what is left of A4's width
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    document.build([para(title, heading), table])
    return out.getvalue()
