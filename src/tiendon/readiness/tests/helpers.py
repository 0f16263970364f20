"""Building survey files for the import tests."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from tiendon.audit.models import AuditRecord
from tiendon.readiness.models import CommuneReadiness
from tiendon.readiness.spreadsheets import COLUMNS


def xlsx(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(header or COLUMNS))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[Any]]) -> bytes:
    lines = [",".join(COLUMNS)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def row(code: str, **values: Any) -> list[Any]:
    record = {"commune_code": code, **values}
    return [record.get(name) for name in COLUMNS]


def stored_state() -> tuple[list[dict[str, Any]], int]:
    """Every survey as stored, and the number of audit records: what must not change."""
    surveys = list(
        CommuneReadiness.objects.order_by("unit__code").values(
            *[f.name for f in CommuneReadiness._meta.concrete_fields if f.name != "id"]
        )
    )
    return surveys, AuditRecord.objects.filter(action="readiness.survey_updated").count()
