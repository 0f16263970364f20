"""The Decree 30 layout of an administrative document (Appendix I), drawn with reportlab.

The text is in Liberation Serif (Times-metric, complete for Vietnamese; Debian's
fonts-liberation2), every string normalised to NFC first because reportlab does no shaping.
The number and the date are empty AcroForm text fields: the signer signs before they
exist, and issuing fills them (see `tiendon.documents.pdf.pades`). The places of the two
signatures are measured while laying out and returned with the PDF.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from tiendon.errors import TiendonError

FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")
SERIF = "LiberationSerif"
SERIF_BOLD = "LiberationSerif-Bold"
SERIF_ITALIC = "LiberationSerif-Italic"
SERIF_BOLD_ITALIC = "LiberationSerif-BoldItalic"

NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
RECIPIENTS_HEADING = "Nơi nhận:"
ADDRESSEES_HEADING = "Kính gửi:"
# "V/v", "v/v:", "V / V." at the start of a công văn's subject: printed once, by the layout.
_ABOUT = re.compile(r"^\s*(v\s*/\s*v|về\s+việc)\b[\s.:]*", re.IGNORECASE)

# Field names in the AcroForm; issuing fills the first two and signs the third.
NUMBER_FIELD = "so_ky_hieu"
DATE_FIELD = "ngay_ban_hanh"
SIGNER_FIELD = "chu_ky_nguoi_ky"
ORGANISATION_FIELD = "chu_ky_co_quan"

# Decree 30, Appendix I: A4, margins top/bottom 20-25 mm, left 30-35 mm, right 15-20 mm.
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_LEFT = 30 * mm
MARGIN_RIGHT = 15 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 20 * mm
HEADER_HEIGHT = 55 * mm
SIGNATURE_SPACE = 30 * mm  # between the signer's title line and the name
SIGNATURE_WIDTH = 50 * mm
SEAL_SIZE = 36 * mm  # a round seal of about that size, over the left third of the signature
FIELD_BASELINE = 4  # the text's baseline above a field's bottom edge


class FontMissing(TiendonError):
    code = "font_missing"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@functools.cache
def register_fonts() -> None:
    for name in (SERIF, SERIF_BOLD, SERIF_ITALIC, SERIF_BOLD_ITALIC):
        path = FONT_DIR / f"{name if '-' in name else name + '-Regular'}.ttf"
        if not path.exists():
            raise FontMissing(
                f"{path} is missing: install Debian's fonts-liberation2 "
                "(fonts-liberation 1.x lacks Vietnamese letters)",
                code="font_missing",
            )
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(
        SERIF, normal=SERIF, bold=SERIF_BOLD, italic=SERIF_ITALIC, boldItalic=SERIF_BOLD_ITALIC
    )


def vietnamese_date(day: dt.date) -> str:
    """ "ngày 05 tháng 01 năm 2026": a leading zero for days below 10 and months below 3."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


@dataclass(frozen=True)
class Layout:
    """What the renderer is told: every string as it appears on paper."""

    superior_unit: str  # cơ quan chủ quản, may be empty
    issuing_unit: str
    symbol: str  # "QĐ-BCHQS": shown with the number once issued
    place: str
    type_name: str  # "QUYẾT ĐỊNH"; empty for a công văn
    subject: str
    body: str
    signing_mode_line: str  # "KT. CHỈ HUY TRƯỞNG", or empty when signing directly
    signer_title: str  # "PHÓ CHỈ HUY TRƯỞNG"
    signer_name: str  # "Đại tá Lê Văn Chỉ"
    recipients: list[str] = field(default_factory=list)
    # A công văn's "Kính gửi:" (its few named recipients); none for other types.
    addressees: list[str] = field(default_factory=list)
    urgency_mark: str = ""  # "HỎA TỐC"
    secrecy_mark: str = ""  # "MẬT"


@dataclass(frozen=True)
class Box:
    page: int  # 0-based
    x1: float
    y1: float
    x2: float
    y2: float

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (round(self.x1), round(self.y1), round(self.x2), round(self.y2))


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    signer_box: Box
    seal_box: Box
    number_box: Box
    date_box: Box


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=SERIF, fontSize=14, leading=18)
    return {
        "body": ParagraphStyle(
            "body", parent=base, alignment=TA_JUSTIFY, firstLineIndent=10 * mm, spaceAfter=6
        ),
        "type": ParagraphStyle(
            "type", parent=base, fontName=SERIF_BOLD, alignment=TA_CENTER, spaceBefore=6
        ),
        "subject": ParagraphStyle(
            "subject", parent=base, fontName=SERIF_BOLD, alignment=TA_CENTER, spaceAfter=2
        ),
        "cv_subject": ParagraphStyle(
            "cv_subject", parent=base, fontSize=12, leading=15, alignment=TA_CENTER
        ),
        "block": ParagraphStyle(
            "block", parent=base, fontName=SERIF_BOLD, alignment=TA_CENTER, leading=17
        ),
        "recipients_heading": ParagraphStyle(
            "recipients_heading", parent=base, fontName=SERIF_BOLD_ITALIC, fontSize=12, leading=14
        ),
        "recipient": ParagraphStyle(
            "recipient", parent=base, fontSize=11, leading=13, alignment=TA_LEFT
        ),
        "addressee": ParagraphStyle("addressee", parent=base, alignment=TA_LEFT),
    }


def _escape(text: str) -> str:
    return nfc(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _SignatureSpace(Flowable):
    """Empty space for the signature image; remembers where it landed on the page."""

    def __init__(self, width: float, height: float, on_place: Any) -> None:
        super().__init__()
        self.width = width
        self.height = height
        self._on_place = on_place

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        x, y = self.canv.absolutePosition(0, 0)
        self._on_place(self.canv.getPageNumber() - 1, x, y, self.width, self.height)


def new_canvas(*args: Any, **kwargs: Any) -> Canvas:
    # Start in our font: reportlab's default (Helvetica) would be listed, unembedded.
    kwargs["initialFontName"] = SERIF
    return Canvas(*args, **kwargs)


def _centered(canvas: Canvas, text: str, font: str, size: float, cx: float, y: float) -> float:
    canvas.setFont(font, size)
    canvas.drawCentredString(cx, y, nfc(text))
    return pdfmetrics.stringWidth(nfc(text), font, size)


def _rule(canvas: Canvas, cx: float, y: float, width: float) -> None:
    canvas.setLineWidth(0.6)
    canvas.line(cx - width / 2, y, cx + width / 2, y)


def render(layout: Layout) -> Rendered:
    """The document's PDF, unsigned, with the empty number and date fields."""
    register_fonts()
    buffer = io.BytesIO()
    boxes: dict[str, Box] = {}
    content_width = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    left_width = content_width * 0.40
    left_cx = MARGIN_LEFT + left_width / 2
    right_cx = MARGIN_LEFT + content_width * 0.71
    top = PAGE_HEIGHT - MARGIN_TOP

    def header(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        y = top - 12
        if layout.superior_unit:
            for line in simpleSplit(nfc(layout.superior_unit.upper()), SERIF, 12.5, left_width):
                _centered(canvas, line, SERIF, 12.5, left_cx, y)
                y -= 15
        for line in simpleSplit(nfc(layout.issuing_unit.upper()), SERIF_BOLD, 12.5, left_width):
            _centered(canvas, line, SERIF_BOLD, 12.5, left_cx, y)
            y -= 15
        _rule(canvas, left_cx, y + 11, 30 * mm)
        _centered(canvas, NATIONAL_TITLE, SERIF_BOLD, 12.5, right_cx, top - 12)
        motto_width = _centered(canvas, MOTTO, SERIF_BOLD, 13.5, right_cx, top - 28)
        _rule(canvas, right_cx, top - 32, motto_width)

        # "Số:" then the field for "05/QĐ-BCHQS"; the place, then the field for the date.
        number_y = min(y - 6, top - 52)
        canvas.setFont(SERIF, 13)
        label = "Số: "
        label_width = pdfmetrics.stringWidth(label, SERIF, 13)
        field_width = 42 * mm
        start = left_cx - (label_width + field_width) / 2
        canvas.drawString(start, number_y, label)
        number_box = Box(
            0,
            start + label_width,
            number_y - FIELD_BASELINE,
            start + label_width + field_width,
            number_y + 12,
        )
        place = nfc(f"{layout.place}, ")
        canvas.setFont(SERIF_ITALIC, 13)
        place_width = pdfmetrics.stringWidth(place, SERIF_ITALIC, 13)
        date_width = 55 * mm
        start = right_cx - (place_width + date_width) / 2
        canvas.drawString(start, number_y, place)
        date_box = Box(
            0,
            start + place_width,
            number_y - FIELD_BASELINE,
            start + place_width + date_width,
            number_y + 12,
        )
        for name, box in ((NUMBER_FIELD, number_box), (DATE_FIELD, date_box)):
            canvas.acroForm.textfield(
                name=name,
                value="",
                x=box.x1,
                y=box.y1,
                width=box.x2 - box.x1,
                height=box.y2 - box.y1,
                borderWidth=0,
                fillColor=colors.white,
                textColor=colors.black,
                fontName="Times-Roman",
                fontSize=13,
                maxlen=64,
            )
        boxes["number"], boxes["date"] = number_box, date_box
        mark_y = number_y - 20
        for mark in (layout.secrecy_mark, layout.urgency_mark):
            if mark:
                _centered(canvas, mark.upper(), SERIF_BOLD, 13, left_cx, mark_y)
                mark_y -= 16
        canvas.restoreState()

    first = Frame(
        MARGIN_LEFT,
        MARGIN_BOTTOM,
        content_width,
        PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM - HEADER_HEIGHT,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="first",
    )
    later = Frame(
        MARGIN_LEFT,
        MARGIN_BOTTOM,
        content_width,
        PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="later",
    )
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=nfc(layout.subject),
        author=nfc(layout.issuing_unit),
        creator="Tiền Đồn",
        pageTemplates=[
            PageTemplate(id="first", frames=[first], onPage=header, autoNextPageTemplate="later"),
            PageTemplate(id="later", frames=[later]),
        ],
    )
    styles = _styles()
    story: list[Flowable] = []
    if layout.type_name:
        story.append(Paragraph(_escape(layout.type_name.upper()), styles["type"]))
        story.append(Paragraph(_escape(layout.subject), styles["subject"]))
    else:
        # A công văn carries its subject under the number, "V/v …" (về việc), once.
        subject = _ABOUT.sub("", layout.subject)
        story.append(Paragraph(_escape(f"V/v {subject}"), styles["cv_subject"]))
    story.append(Spacer(1, 10))
    if layout.addressees:
        story += [_addressees(layout.addressees, styles["addressee"], content_width), Spacer(1, 8)]
    for paragraph in nfc(layout.body).split("\n"):
        if paragraph.strip():
            story.append(Paragraph(_escape(paragraph.strip()), styles["body"]))

    def on_place(page: int, x: float, y: float, width: float, height: float) -> None:
        cx = x + width / 2
        boxes["signer"] = Box(
            page, cx - SIGNATURE_WIDTH / 2, y, cx + SIGNATURE_WIDTH / 2, y + height
        )
        seal_x = cx - SIGNATURE_WIDTH / 2 - SEAL_SIZE / 2 + SIGNATURE_WIDTH / 6
        seal_y = y + (height - SEAL_SIZE) / 2
        boxes["seal"] = Box(page, seal_x, seal_y, seal_x + SEAL_SIZE, seal_y + SEAL_SIZE)

    block: list[Flowable] = []
    if layout.signing_mode_line:
        block.append(Paragraph(_escape(layout.signing_mode_line.upper()), styles["block"]))
    if layout.signer_title:
        block.append(Paragraph(_escape(layout.signer_title.upper()), styles["block"]))
    block.append(_SignatureSpace(SIGNATURE_WIDTH, SIGNATURE_SPACE, on_place))
    block.append(Paragraph(_escape(layout.signer_name), styles["block"]))
    recipients: list[Flowable] = [Paragraph(RECIPIENTS_HEADING, styles["recipients_heading"])]
    recipients += [
        Paragraph(_escape(f"- {line.strip().lstrip('- ')}"), styles["recipient"])
        for line in layout.recipients
        if line.strip()
    ]
    table = Table(
        [[recipients, block]],
        colWidths=[content_width * 0.45, content_width * 0.55],
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), SERIF),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        ),
    )
    story.append(Spacer(1, 12))
    story.append(KeepTogether([table]))
    doc.build(story, canvasmaker=new_canvas)
    return Rendered(
        pdf=buffer.getvalue(),
        signer_box=boxes["signer"],
        seal_box=boxes["seal"],
        number_box=boxes["number"],
        date_box=boxes["date"],
    )


def _addressees(names: list[str], style: ParagraphStyle, width: float) -> Table:
    """ "Kính gửi: X." on one line; several each on its own line, "- X;" and the last "- Z."
    (Decree 30, Appendix I: the block under the subject of a công văn)."""
    names = [name.strip().strip("-;. ") for name in names]
    lines = [f"{names[0]}."] if len(names) == 1 else [f"- {n};" for n in names]
    lines[-1] = lines[-1][:-1] + "."
    label_width = pdfmetrics.stringWidth(ADDRESSEES_HEADING, SERIF, 14) + 4
    cells = [Paragraph(_escape(line), style) for line in lines]
    return Table(
        [[Paragraph(ADDRESSEES_HEADING, style), cells]],
        colWidths=[label_width, width * 0.75 - label_width],
        hAlign="RIGHT",
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        ),
    )


def render_line(
    text: str, width: float, height: float, *, size: float = 13, font: str = SERIF
) -> bytes:
    """A one-page PDF of exactly one line of text, the page the size of a form field:
    imported as the field's appearance when issuing fills the number and the date."""
    register_fonts()
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, pagesize=(width, height))
    canvas.setFont(font, size)
    canvas.drawString(1, FIELD_BASELINE, nfc(text))
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
