"""The PDF report "Báo cáo tình hình bảo đảm hạ tầng công nghệ cho Ban CHQS cấp xã".

Laid out like an administrative document under Decree 30/2020/NĐ-CP: the issuing unit
and the national title and motto side by side, place and date, the document type and
summary, then figures, charts and tables from the same queries as the dashboard.
Written in Vietnamese (an official report), with Liberation Serif from Debian's
fonts-liberation2, which has every Vietnamese letter; every string is NFC first because
reportlab does no text shaping.
"""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tiendon.readiness import queries
from tiendon.readiness.charts import COLOURS
from tiendon.readiness.models import BlockingReason
from tiendon.readiness.rules import active_conditions, working_window_days
from tiendon.units.models import Unit

FONT_DIR = Path(getattr(settings, "TIENDON_FONT_DIR", "/usr/share/fonts/truetype/liberation2"))
FONT = "LiberationSerif"
TITLE = "Báo cáo tình hình bảo đảm hạ tầng công nghệ cho Ban CHQS cấp xã"
NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


def nfc(text: Any) -> str:
    return unicodedata.normalize("NFC", str(text))


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    for suffix, name in (("", "Regular"), ("-Bold", "Bold"), ("-Italic", "Italic")):
        pdfmetrics.registerFont(TTFont(FONT + suffix, str(FONT_DIR / f"{FONT}-{name}.ttf")))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT + "-Bold", italic=FONT + "-Italic", boldItalic=FONT + "-Bold"
    )


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=12, leading=15)
    return {
        "base": base,
        "centre": ParagraphStyle("centre", parent=base, alignment=TA_CENTER),
        "head": ParagraphStyle("head", parent=base, alignment=TA_CENTER, fontSize=12.5),
        # Headings keep with what follows: never alone at the foot of a page.
        "title": ParagraphStyle(
            "title",
            parent=base,
            alignment=TA_CENTER,
            fontName=FONT + "-Bold",
            fontSize=14,
            keepWithNext=1,
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=FONT + "-Bold", spaceBefore=8, keepWithNext=1
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=10, leading=12),
    }


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(nfc(text), style)


def _date_line(place: str) -> str:
    """'Hà Nội, ngày 05 tháng 02 năm 2026': Decree 30 puts a zero before days under 10 and
    months 1 and 2."""
    today = timezone.localdate()
    month = f"{today.month:02d}" if today.month < 3 else str(today.month)
    return f"{place}, ngày {today.day:02d} tháng {month} năm {today.year}"


def _place(unit: Unit) -> str:
    return unit.place_name or "Hà Nội"


def _header(unit: Unit, styles: dict[str, ParagraphStyle]) -> Table:
    superior = unit.parent.name.upper() if unit.parent else ""
    left = []
    if superior:
        left.append(_p(escape(superior), styles["head"]))
    left.append(_p(f"<b>{escape(unit.name.upper())}</b>", styles["head"]))
    left.append(_p("______", styles["head"]))
    left.append(_p(f"Số: &nbsp;&nbsp;&nbsp;&nbsp;/BC-{escape(unit.abbreviation)}", styles["head"]))
    right = [
        _p(f"<b>{NATIONAL_TITLE}</b>", styles["head"]),
        _p(f"<b>{MOTTO}</b>", styles["head"]),
        _p("______________________", styles["head"]),
        _p(f"<i>{escape(_date_line(_place(unit)))}</i>", styles["head"]),
    ]
    table = Table([[left, right]], colWidths=[75 * mm, 100 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _bars(rows: list[tuple[str, queries.Counts]]) -> Drawing:
    """The dashboard's stacked bars, drawn with reportlab's shapes."""
    label_w, span, row_h = 120.0, 300.0, 14.0
    drawing = Drawing(label_w + span + 40, row_h * len(rows) + 4)
    top = drawing.height - row_h
    for i, (label, counts) in enumerate(rows):
        y = top - i * row_h
        drawing.add(
            String(label_w - 4, y + 3, nfc(label), fontName=FONT, fontSize=8, textAnchor="end")
        )
        x = label_w
        total = counts.total or 1
        for state, n in (
            ("ready", counts.ready),
            ("in_progress", counts.in_progress),
            ("blocked", counts.blocked),
        ):
            if n:
                w = span * n / total
                drawing.add(
                    Rect(
                        x,
                        y,
                        w,
                        row_h - 4,
                        fillColor=colors.HexColor(COLOURS[state]),
                        strokeColor=None,
                    )
                )
                x += w
        drawing.add(
            String(
                label_w + span + 4, y + 3, f"{counts.ready_percent:g}%", fontName=FONT, fontSize=8
            )
        )
    return drawing


def _trend(snapshots: list[Any]) -> Drawing:
    """Ready and blocked communes per snapshot day, as on the dashboard."""
    left, width, height = 40.0, 380.0, 120.0
    drawing = Drawing(left + width + 10, height + 20)
    peak = max(max(s.total for s in snapshots), 1)
    first, last = snapshots[0].day, snapshots[-1].day
    days = max((last - first).days, 1)
    drawing.add(Line(left, 15, left + width, 15, strokeColor=colors.grey))
    drawing.add(
        String(left - 4, 15 + height - 8, str(peak), fontName=FONT, fontSize=8, textAnchor="end")
    )
    drawing.add(String(left - 4, 15, "0", fontName=FONT, fontSize=8, textAnchor="end"))
    drawing.add(String(left, 2, first.strftime("%d/%m/%Y"), fontName=FONT, fontSize=8))
    drawing.add(
        String(
            left + width, 2, last.strftime("%d/%m/%Y"), fontName=FONT, fontSize=8, textAnchor="end"
        )
    )
    for state in ("ready", "blocked"):
        points: list[float] = []
        for snap in snapshots:
            points.append(left + width * (snap.day - first).days / days)
            points.append(15 + height * getattr(snap, state) / peak)
        drawing.add(PolyLine(points, strokeColor=colors.HexColor(COLOURS[state]), strokeWidth=1.5))
    return drawing


def _table(rows: list[list[Any]], widths: list[float], styles: dict[str, ParagraphStyle]) -> Table:
    cells = [[_p(escape(str(c)), styles["cell"]) for c in row] for row in rows]
    table = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _counts_row(label: str, c: queries.Counts) -> list[Any]:
    working = _("not yet measured") if c.working is None else c.working
    return [label, c.total, c.ready, c.in_progress, c.blocked, working]


def report_pdf(unit: Unit) -> bytes:
    """The report for the unit's subtree (the nation from the ministry, or one province)."""
    with translation.override("vi"):
        return _build(unit)


def _build(unit: Unit) -> bytes:
    _register_fonts()
    styles = _styles()
    counts = queries.summary(unit)
    story: list[Any] = [_header(unit, styles), Spacer(1, 8 * mm)]
    story.append(_p("<b>BÁO CÁO</b>", styles["title"]))
    story.append(
        _p("<b>Tình hình bảo đảm hạ tầng công nghệ cho Ban CHQS cấp xã</b>", styles["title"])
    )
    story.append(_p(escape(unit.short_name or unit.name), styles["centre"]))
    story.append(Spacer(1, 6 * mm))

    story.append(_p(escape(_("1. Summary")), styles["h2"]))
    head = [
        _("Scope"),
        _("Total"),
        _("Ready"),
        _("In progress"),
        _("Blocked"),
        _("Working digitally"),
    ]
    story.append(
        _table(
            [head, _counts_row(unit.short_name or unit.name, counts)],
            [45, 17, 20, 25, 23, 35],
            styles,
        )
    )
    story.append(
        _p(
            escape(
                _(
                    "Working digitally means at least one incoming document registered and one "
                    "status sent back in the last %(days)s days."
                )
                % {"days": working_window_days()}
            ),
            styles["base"],
        )
    )
    story.append(_p(escape(_('2. Conditions for "ready"')), styles["h2"]))
    rows: list[list[Any]] = [[_("Condition"), _("Communes meeting it")]]
    rows += [
        [str(c.label), f"{counts.conditions.get(c.code, 0)} / {counts.total}"]
        for c in active_conditions()
    ]
    story.append(_table(rows, [115, 50], styles))

    if unit.kind in queries.ABOVE_PROVINCE:
        groups = queries.by_province(unit)
        story.append(_p(escape(_("3. Per province")), styles["h2"]))
        story.append(_bars([(g.unit.short_name or g.unit.name, g.counts) for g in groups]))
        story.append(
            _p(escape(_("Green: ready; amber: in progress; red: blocked.")), styles["cell"])
        )
        table: list[list[Any]] = [
            [
                _("Province"),
                _("Total"),
                _("Ready"),
                _("In progress"),
                _("Blocked"),
                _("Working digitally"),
            ]
        ]
        table += [_counts_row(g.unit.short_name or g.unit.name, g.counts) for g in groups]
        story.append(_table(table, [45, 17, 20, 25, 23, 35], styles))
    else:
        story.append(_p(escape(_("3. Commune boards")), styles["h2"]))
        story.append(_bars([(unit.short_name or unit.name, counts)]))
        labels = {"ready": _("Ready"), "in_progress": _("In progress"), "blocked": _("Blocked")}
        table = [[_("Commune"), _("State"), _("Link"), _("Computers"), _("Trained operators")]]
        for c in queries.commune_rows(unit):
            survey = getattr(c, "readiness", None)
            table.append(
                [
                    c.short_name or c.name,
                    labels.get(getattr(c, "state", ""), ""),
                    survey.get_link_kind_display() if survey else "—",
                    survey.computers if survey else 0,
                    survey.trained_operators if survey else 0,
                ]
            )
        story.append(_table(table, [45, 28, 52, 20, 20], styles))

    story.append(_p(escape(_("4. Blocking reasons")), styles["h2"]))
    reasons = queries.reason_counts(unit)
    labels_r = dict(BlockingReason.choices)
    rows = [[_("Reason"), _("Blocked communes")]]
    rows += [[str(labels_r[code]), n] for code, n in reasons.items()]
    story.append(_table(rows, [115, 50], styles))

    story.append(_p(escape(_("5. Trend")), styles["h2"]))
    snapshots = queries.trend(unit)
    if len(snapshots) >= 2:
        story.append(_trend(snapshots))
        story.append(
            _p(
                escape(_("Green: ready; red: blocked (communes, per snapshot day).")),
                styles["cell"],
            )
        )
    else:
        story.append(
            _p(
                escape(
                    _(
                        "The trend appears once snapshots of two days exist "
                        "(tiendon readiness snapshot)."
                    )
                ),
                styles["base"],
            )
        )

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=30 * mm,
        rightMargin=15 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=TITLE,
        author=nfc(unit.name),
    )
    doc.build(story)
    return out.getvalue()
