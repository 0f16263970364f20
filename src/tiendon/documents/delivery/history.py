"""Every status each recipient reported, with its time (the sender's history, where the
exchange's delivery row keeps only the latest).

The statuses come back as the exchange's signed receipts (kind `exchange.receipt`), each
encrypted to the sending unit and naming the envelopes it reports on. They are read here
once — decrypted with the unit's keys through `exchange.queries.decrypt_for_unit`, the
exchange's public read — into `StatusEvent` rows (`ReceiptRead` marks each receipt read),
just before a history is shown or exported. The exchange's wire format is unchanged, and
receipts that arrived before this module existed are read too.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef

from tiendon.documents.models import ReceiptRead, StatusEvent
from tiendon.exchange import status as status_codes
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.models import Envelope, EnvelopeRecipient
from tiendon.exchange.queries import decrypt_for_unit
from tiendon.units.models import Unit

# Receipts read per call (about 1 s of decryption): a page never waits on more; the rest
# are read on the next one (an export reads them all: `read_all_receipts`).
READ_BATCH = 500
NOTE_MAX = 1000


@dataclass(frozen=True)
class Step:
    code: str
    at: dt.datetime
    note: str

    @property
    def label(self) -> str:
        return str(status_codes.LABELS.get(self.code, self.code))


def read_receipts(sender: Unit, envelope_id: uuid.UUID | str) -> int:
    """Read into `StatusEvent` rows the receipts not read yet that `envelope_id`'s recipients
    sent to `sender` since it left. Returns how many receipts were read."""
    original = Envelope.objects.filter(pk=envelope_id, sender=sender).first()
    if original is None:
        return 0
    read = ReceiptRead.objects.filter(unit=sender, receipt_id=OuterRef("pk"))
    receipts = list(
        Envelope.objects.filter(
            kind=status_codes.RECEIPT_KIND,
            created_at__gte=original.created_at - dt.timedelta(minutes=5),  # clock skew
            sender__in=EnvelopeRecipient.objects.filter(envelope=original).values("unit"),
            pk__in=EnvelopeRecipient.objects.filter(unit=sender).values("envelope"),
        )
        .exclude(Exists(read))
        .select_related("sender")
        .order_by("created_at")[:READ_BATCH]
    )
    _read(sender, receipts)
    return len(receipts)


def read_all_receipts(sender: Unit, envelope_id: uuid.UUID | str) -> int:
    """`read_receipts` until none is left (an export must be complete)."""
    total = 0
    while batch := read_receipts(sender, envelope_id):
        total += batch
    return total


def _read(sender: Unit, receipts: list[Envelope]) -> None:
    """Decrypt the batch, then store its rows in one transaction (a receipt read meanwhile
    by another request is skipped by the unique constraints)."""
    reads: list[ReceiptRead] = []
    parsed: list[tuple[Envelope, str, str, list[uuid.UUID]]] = []
    for receipt in receipts:
        try:
            report = json.loads(decrypt_for_unit(receipt, sender))
            code = str(report["status"])
            note = str(report.get("note", ""))[:NOTE_MAX]
            named = [uuid.UUID(str(i)) for i in report["envelopes"]]
            if str(report["unit"]) != receipt.sender.code:
                raise ValueError("a receipt reports on its signer's deliveries only")
            if code not in status_codes.LABELS:
                raise ValueError(f"unknown status {code[:4]!r}")
        except (EnvelopeError, ValueError, KeyError, TypeError) as exc:
            reads.append(ReceiptRead(receipt_id=receipt.pk, unit=sender, error=str(exc)[:200]))
            continue
        reads.append(ReceiptRead(receipt_id=receipt.pk, unit=sender))
        parsed.append((receipt, code, note, named))
    # Only what this unit sent: a receipt cannot write into another sender's history.
    named_all = sorted({pk for *_rest, named in parsed for pk in named})
    ours: set[uuid.UUID] = set()
    for offset in range(0, len(named_all), 5000):
        ours.update(
            Envelope.objects.filter(
                pk__in=named_all[offset : offset + 5000], sender=sender
            ).values_list("pk", flat=True)
        )
    events = [
        StatusEvent(
            envelope_id=pk,
            unit_id=receipt.sender_id,
            code=code,
            at=receipt.created_at,  # signed in the receipt's manifest
            note=note,
            receipt_id=receipt.pk,
        )
        for receipt, code, note, named in parsed
        for pk in named
        if pk in ours
    ]
    with transaction.atomic():
        ReceiptRead.objects.bulk_create(reads, ignore_conflicts=True)
        StatusEvent.objects.bulk_create(events, ignore_conflicts=True)


def history_of(
    envelope_id: uuid.UUID | str, unit_ids: Iterable[int] | None
) -> dict[int, list[Step]]:
    """Per recipient unit, every status in the order reported, beginning with its arrival.
    For an envelope the caller has already checked the viewer may see; `unit_ids` None
    for every recipient (an export), else the ones of the page shown."""
    deliveries = EnvelopeRecipient.objects.filter(envelope_id=envelope_id)
    events = StatusEvent.objects.filter(envelope_id=envelope_id)
    if unit_ids is not None:
        wanted = list(unit_ids)
        deliveries = deliveries.filter(unit_id__in=wanted)
        events = events.filter(unit_id__in=wanted)
    steps: dict[int, list[Step]] = {}
    for unit_id, arrived in deliveries.values_list("unit_id", "arrived_at"):
        steps[unit_id] = [Step(status_codes.ARRIVED, arrived, "")] if arrived else []
    for event in events.order_by("at", "pk"):
        if event.unit_id not in steps:
            continue
        if event.code == status_codes.ARRIVED and steps[event.unit_id]:
            continue  # the arrival, told by a remote node, is there already
        steps[event.unit_id].append(Step(event.code, event.at, event.note))
    # No sort on time: receipts carry whole seconds, so a status reported in the second of
    # the arrival would seem to come before it; the receipts' own order is kept.
    return steps


def with_history(sender: Any, envelope_id: Any, rows: list[dict[str, object]]) -> None:
    """Each row of a sender's table gets its recipient's every status (above)."""
    if envelope_id is None or not rows:
        return
    read_receipts(sender, envelope_id)
    steps = history_of(envelope_id, [int(str(r["unit_id"])) for r in rows])
    for row in rows:
        row["history"] = steps.get(int(str(row["unit_id"])), [])
