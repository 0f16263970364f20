"""The outgoing register (sổ văn bản đi, Decree 30 Appendix IV) of an issuer: its issued
documents in number order, by date range and series (secret documents in their own
register), exported to XLSX (openpyxl) and PDF (reportlab, Liberation Serif, NFC text).

Rows come from `queries.documents_visible_to`, so a person sees only their own unit's
register, and the secret register needs the clearance of its documents.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tiendon.audit.actions import do_record
from tiendon.documents import queries
from tiendon.documents.models import Document, RecipientGroup, Secrecy, Series, Urgency
from tiendon.documents.pdf import layout
from tiendon.errors import InvalidInput
from tiendon.units.models import Person, Unit

# Appendix IV, sổ đăng ký văn bản đi: the columns in their order (content, not translated).
OUTGOING_COLUMNS = (
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung văn bản",
    "Người ký",
    "Nơi nhận văn bản",
    "Đơn vị, người nhận bản lưu",
    "Số lượng bản",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
)
# Relative column widths (XLSX characters; the PDF scales them to the page).
_WIDTHS = (20, 13, 44, 18, 30, 16, 10, 11, 10, 14)
MAX_RANGE_DAYS = 366 * 5


@dataclass
class RegisterRow:
    number_and_symbol: str
    date: dt.date
    type_and_subject: str
    signer: str
    recipients: str
    filed_with: str
    copies: int
    transferred: str
    received_by: str
    note: str

    def cells(self) -> list[Any]:
        return [
            self.number_and_symbol,
            self.date.strftime("%d/%m/%Y"),
            self.type_and_subject,
            self.signer,
            self.recipients,
            self.filed_with,
            self.copies,
            self.transferred,
            self.received_by,
            self.note,
        ]


@dataclass
class OutgoingRegister:
    unit: Unit
    series: str
    date_from: dt.date
    date_to: dt.date
    rows: list[RegisterRow]

    @property
    def title(self) -> str:
        secret = " (MẬT)" if self.series == Series.SECRET else ""
        return f"SỔ ĐĂNG KÝ VĂN BẢN ĐI{secret}"

    @property
    def period(self) -> str:
        return f"Từ ngày {self.date_from:%d/%m/%Y} đến ngày {self.date_to:%d/%m/%Y}"


def _parse(value: str | dt.date | None, name: str, default: dt.date) -> dt.date:
    if value is None or value == "":
        return default
    if isinstance(value, dt.date):
        return value
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
    raise InvalidInput(
        _("Write the date as dd/mm/yyyy: %(value)s.") % {"value": value[:20]},
        code="bad_date",
        field=name,
    )


def _split_recipients(text: str) -> tuple[list[str], str]:
    """The typed 'Nơi nhận' lines but "Như trên" (which points at the chosen recipients),
    and the filed copies ("Lưu: VT, TM." → "VT, TM")."""
    recipients, filed = [], ""
    for line in (x.strip(" -+;.") for x in text.splitlines()):
        if not line or line.casefold() == "như trên":
            continue
        if line.lower().startswith("lưu"):
            filed = line.split(":", 1)[-1].strip(" .;")
        else:
            recipients.append(line)
    return recipients, filed


def recipient_names(documents: Iterable[Document]) -> dict[uuid.UUID, list[str]]:
    """Whom each document went to: the units chosen, each by its name, a saved group or a
    whole set by its own name (the wording of `drafting.recipients.labels`), then the typed
    "Nơi nhận" lines but "Như trên" and "Lưu". Three queries for any number of documents."""
    documents = list(documents)
    entries = [e for d in documents for e in d.recipient_spec]
    units = dict(
        Unit.objects.filter(code__in={e["unit"] for e in entries if "unit" in e}).values_list(
            "code", "name"
        )
    )
    groups = {
        (g.owner_id, g.pk): g.name
        for g in RecipientGroup.objects.filter(pk__in={e["group"] for e in entries if "group" in e})
    }
    provinces = {
        u.code: u.short_name or u.name
        for u in Unit.objects.filter(code__in={e["province"] for e in entries if "province" in e})
    }
    names: dict[uuid.UUID, list[str]] = {}
    for document in documents:
        lines = []
        for entry in document.recipient_spec:
            if "unit" in entry:
                lines.append(units.get(entry["unit"], entry["unit"]))
            elif "group" in entry:
                lines.append(groups.get((document.issuing_unit_id, entry["group"]), ""))
            elif entry.get("set") == "children":
                lines.append("Các đơn vị trực thuộc")
            elif entry.get("set") == "all_communes":
                lines.append("Ban CHQS các xã, phường, đặc khu (toàn quốc)")
            else:
                where = provinces.get(entry.get("province", ""), entry.get("province", ""))
                lines.append(f"Ban CHQS các xã, phường thuộc {where}")
        names[document.pk] = [line for line in lines if line]
        names[document.pk] += _split_recipients(document.recipients_text)[0]
    return names


def _row(document: Document, recipients: list[str]) -> RegisterRow:
    filed = _split_recipients(document.recipients_text)[1]
    issued = timezone.localtime(document.issued_at) if document.issued_at else None
    notes = []
    if document.urgency != Urgency.NORMAL:
        notes.append(document.get_urgency_display())
    if document.secrecy != Secrecy.NONE:
        notes.append(document.get_secrecy_display())
    signer = document.signer.full_name
    if document.signing_mode != "direct":
        signer = f"{document.signing_mode} {signer}"
    return RegisterRow(
        number_and_symbol=document.number_and_symbol,
        date=issued.date() if issued else dt.date.min,
        type_and_subject=layout.nfc(f"{document.get_doc_type_display()}: {document.subject}"),
        signer=layout.nfc(signer),
        recipients=layout.nfc("; ".join(recipients)),
        filed_with=layout.nfc(filed),
        # Each line of "Nơi nhận" is one copy, and one more is filed.
        copies=len(recipients) + (1 if filed else 0),
        # Filled by hand on paper; electronic deliveries are in the exchange's receipts.
        transferred="",
        received_by="",
        note=", ".join(notes),
    )


def outgoing_register(
    viewer: Person,
    *,
    date_from: str | dt.date | None = None,
    date_to: str | dt.date | None = None,
    series: str = Series.ORDINARY,
) -> OutgoingRegister:
    """The viewer's unit's issued documents of one series between two dates (both included;
    the current year by default), in number order."""
    today = timezone.localtime(timezone.now()).date()
    start = _parse(date_from, "date_from", dt.date(today.year, 1, 1))
    end = _parse(date_to, "date_to", dt.date(today.year, 12, 31))
    if start > end:
        raise InvalidInput(
            _("The start date is after the end date."), code="bad_date_range", field="date_from"
        )
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidInput(_("At most five years at a time."), code="range_too_long")
    if series not in Series.values:
        raise InvalidInput(_("Unknown series."), code="unknown_series", field="series")
    if series == Series.SECRET and viewer.clearance < Secrecy.MAT:
        raise queries.ClearanceRequired(
            "the secret register needs a clearance", code="clearance_required"
        )
    begin = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    finish = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    documents = list(
        queries.documents_visible_to(viewer)
        .filter(
            state=Document.State.ISSUED,
            series=series,
            issued_at__gte=begin,
            issued_at__lt=finish,
        )
        .defer("pdf", "uploaded_pdf", "body")
        .order_by("year", "number")
    )
    names = recipient_names(documents)
    return OutgoingRegister(
        unit=viewer.unit,
        series=series,
        date_from=start,
        date_to=end,
        rows=[_row(d, names[d.pk]) for d in documents],
    )


def to_xlsx(register: OutgoingRegister) -> bytes:
    """The register as a workbook: title, unit and period, then the Appendix IV columns."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "So van ban di"
    sheet.append([register.title])
    sheet.append([layout.nfc(register.unit.name)])
    sheet.append([register.period])
    sheet.append(list(OUTGOING_COLUMNS))
    header_row = 4
    for cell in sheet[1]:
        cell.font = Font(bold=True, size=14)
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for row in register.rows:
        sheet.append(row.cells())
    for index, width in enumerate(_WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    for row_cells in sheet.iter_rows(min_row=header_row + 1):
        for cell in row_cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = f"A{header_row + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_pdf(register: OutgoingRegister) -> bytes:
    """The register on landscape A4 pages in Liberation Serif, the header row repeated."""
    layout.register_fonts()
    cell = ParagraphStyle("cell", fontName=layout.SERIF, fontSize=9, leading=11)
    head = ParagraphStyle("head", parent=cell, fontName=layout.SERIF_BOLD, alignment=1)
    title = ParagraphStyle(
        "title", fontName=layout.SERIF_BOLD, fontSize=14, leading=18, alignment=1, keepWithNext=1
    )
    centred = ParagraphStyle(
        "centred", parent=cell, fontSize=11, leading=14, alignment=1, keepWithNext=1
    )

    def para(text: Any, style: ParagraphStyle) -> Paragraph:
        escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return Paragraph(layout.nfc(escaped), style)

    data = [[para(name, head) for name in OUTGOING_COLUMNS]]
    data += [[para(value, cell) for value in row.cells()] for row in register.rows]
    page = landscape(A4)
    usable = page[0] - 30 * mm
    widths = [usable * w / sum(_WIDTHS) for w in _WIDTHS]
    # The two date columns fit dd/mm/yyyy on one line; the subject gives up what they take.
    for column in (1, 7):
        wider = max(widths[column], date_cell_width(cell))
        widths[2] -= wider - widths[column]
        widths[column] = wider
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ]
        )
    )
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=page,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=register.title,
    )
    story = [
        para(register.unit.name.upper(), centred),
        Spacer(1, 4 * mm),
        para(register.title, title),
        para(register.period, centred),
        Spacer(1, 6 * mm),
        table,
    ]
    if not register.rows:
        story.append(para("(Không có văn bản)", centred))
    doc.build(story)
    return out.getvalue()


def date_cell_width(style: ParagraphStyle) -> float:
    """A table column in which "31/12/2026" in `style` fits on one line, with the cell's
    default padding (6 pt each side): narrower, reportlab breaks the date inside."""
    return pdfmetrics.stringWidth("00/00/0000", style.fontName, style.fontSize) + 14


def do_record_register_read(
    viewer: Person, register: OutgoingRegister, fmt: str, request: Any = None
) -> None:
    """Audit who took a register out of the system (any export) or read a secret one."""
    do_record(
        "documents.register_read" if fmt == "html" else "documents.register_exported",
        actor=viewer,
        unit=viewer.unit,
        new={
            "register": "outgoing",
            "series": register.series,
            "from": register.date_from.isoformat(),
            "to": register.date_to.isoformat(),
            "rows": len(register.rows),
            "format": fmt,
        },
        request=request,
    )
