"""Charts drawn on the server as inline SVG: no script, no library, a few kilobytes.

The same figures feed the PDF report (`report.py`), which draws its own with reportlab.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from tiendon.readiness.models import ReadinessSnapshot
from tiendon.readiness.queries import Counts

COLOURS = {"ready": "#2e7d32", "in_progress": "#f9a825", "blocked": "#c62828"}
WIDTH = 400
LABEL_W = 120
BAR_H = 14
ROW_H = 20


@dataclass(frozen=True)
class Bar:
    label: str
    href: str | None
    counts: Counts


def _segments(counts: Counts) -> list[tuple[str, int]]:
    return [
        ("ready", counts.ready),
        ("in_progress", counts.in_progress),
        ("blocked", counts.blocked),
    ]


def stacked_bars(bars: Sequence[Bar], *, title: str) -> SafeString:
    """One horizontal bar per row (ready / in progress / blocked, as shares of its total)."""
    height = ROW_H * len(bars) + 6
    span = WIDTH - LABEL_W - 44
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, bar in enumerate(bars):
        y = 3 + i * ROW_H
        label = escape(bar.label)
        text = f'<text x="{LABEL_W - 4}" y="{y + 11}" text-anchor="end">{label}</text>'
        if bar.href:
            text = f'<a href="{escape(bar.href)}">{text}</a>'
        parts.append(text)
        x = float(LABEL_W)
        total = bar.counts.total or 1
        for state, n in _segments(bar.counts):
            if not n:
                continue
            w = span * n / total
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}" '
                f'fill="{COLOURS[state]}"><title>{label}: {n}</title></rect>'
            )
            x += w
        parts.append(
            f'<text x="{LABEL_W + span + 4}" y="{y + 11}">{bar.counts.ready_percent:g}%</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every text above is escaped)


def trend_chart(snapshots: Sequence[ReadinessSnapshot]) -> SafeString:
    """Ready and blocked communes over the days snapshots were taken."""
    if len(snapshots) < 2:
        message = escape(
            _("The trend appears once snapshots of two days exist (tiendon readiness snapshot).")
        )
        return mark_safe(f'<p class="muted trend-empty">{message}</p>')  # noqa: S308
    height, left, bottom, top = 150, 36, 20, 8
    span_x = WIDTH - left - 8
    span_y = height - bottom - top
    peak = max(max(s.total for s in snapshots), 1)
    first, last = snapshots[0].day, snapshots[-1].day
    days = max((last - first).days, 1)

    def point(s: ReadinessSnapshot, value: int) -> str:
        x = left + span_x * (s.day - first).days / days
        y = top + span_y * (1 - value / peak)
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg class="chart trend" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(_("Trend"))}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + span_y}" x2="{left + span_x}" y2="{top + span_y}" '
        'stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + span_y}" text-anchor="end">0</text>',
        f'<text x="{left}" y="{height - 4}">{first.strftime("%d/%m/%Y")}</text>',
        f'<text x="{left + span_x}" y="{height - 4}" text-anchor="end">'
        f"{last.strftime('%d/%m/%Y')}</text>",
    ]
    for state in ("ready", "blocked"):
        points = " ".join(point(s, getattr(s, state)) for s in snapshots)
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{COLOURS[state]}" stroke-width="2"/>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (numbers and escaped text only)
