"""Every status each recipient reported, with its time (the sender's history, where the
exchange's delivery row keeps only the latest).

The statuses come back as the exchange's signed receipts. The exchange checks each against
the documents' vocabulary (`statuses.py`), applies it, and its dispatcher hands it here once
(`record_reported`), so a page or an export only reads rows: nothing is decrypted to show a
history.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tiendon.documents import statuses as status_codes
from tiendon.documents.models import StatusEvent
from tiendon.exchange.queries import delivery_statuses
from tiendon.exchange.registry import StatusReport

NOTE_MAX = 1000


@dataclass(frozen=True)
class Step:
    code: str
    at: dt.datetime
    note: str

    @property
    def label(self) -> str:
        return str(status_codes.LABELS.get(self.code, self.code))


def record_reported(reports: Sequence[StatusReport]) -> None:
    """The statuses the exchange applied from receipts (its dispatcher calls this, in the
    transaction that marks the receipts handled): one row per receipt and envelope named,
    each recorded once."""
    StatusEvent.objects.bulk_create(
        [
            StatusEvent(
                envelope_id=envelope_id,
                unit_id=report.reporter_id,
                code=report.code,
                at=report.at,  # signed in the receipt's manifest
                note=report.note[:NOTE_MAX],
                receipt_id=report.receipt_id,
            )
            for report in reports
            for envelope_id in report.envelope_ids
        ],
        ignore_conflicts=True,
    )


def history_of(
    envelope_id: uuid.UUID | str, unit_ids: Iterable[int] | None
) -> dict[int, list[Step]]:
    """Per recipient unit, every status in the order reported, beginning with its arrival.
    For an envelope the caller has already checked the viewer may see; `unit_ids` None
    for every recipient (an export), else the ones of the page shown."""
    wanted = None if unit_ids is None else list(unit_ids)
    events = StatusEvent.objects.filter(envelope_id=envelope_id)
    if wanted is not None:
        events = events.filter(unit_id__in=wanted)
    steps: dict[int, list[Step]] = {}
    latest: dict[int, tuple[str, dt.datetime | None, str]] = {}
    for delivery in delivery_statuses(envelope_id, wanted):
        arrived = delivery.arrived_at
        steps[delivery.unit_id] = [Step(status_codes.ARRIVED, arrived, "")] if arrived else []
        latest[delivery.unit_id] = (delivery.status, delivery.status_at, delivery.status_note)
    for event in events.order_by("at", "pk"):
        if event.unit_id not in steps:
            continue
        if event.code == status_codes.ARRIVED and steps[event.unit_id]:
            continue  # the arrival, told by a remote node, is there already
        steps[event.unit_id].append(Step(event.code, event.at, event.note))
    # A status that came before statuses were recorded as they arrive (an older node's
    # receipts): the delivery's latest status, so the history never ends short of it.
    for unit_id, (code, at, note) in latest.items():
        known = {step.code for step in steps[unit_id]}
        if code and at is not None and code not in known:
            steps[unit_id].append(Step(code, at, note))
    # No sort on time: receipts carry whole seconds, so a status reported in the second of
    # the arrival would seem to come before it; the receipts' own order is kept.
    return steps


def with_history(sender: Any, envelope_id: Any, rows: list[dict[str, object]]) -> None:
    """Each row of a sender's table gets its recipient's every status (above)."""
    if envelope_id is None or not rows:
        return
    steps = history_of(envelope_id, [int(str(r["unit_id"])) for r in rows])
    for row in rows:
        row["history"] = steps.get(int(str(row["unit_id"])), [])
