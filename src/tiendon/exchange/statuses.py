"""Statuses reported back in signed receipts, applied to the sender's view of each delivery.

A receipt (kind `exchange.receipt`, encrypted to the sending unit) names the envelopes it
reports on and one status code. Each code is checked against the vocabulary of the app that
owns the reported envelope's kind (`registry.py`): a code outside it, or one after a final
status, is refused; one that comes before the status it follows (receipts can cross on the
wire) is parked and applied when that status comes. What was applied is handed to the owning
app's history through the dispatcher (a hand-off of the receipt carrying the report).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from tiendon.audit.actions import do_record
from tiendon.exchange import registry
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.models import Envelope, EnvelopeRecipient
from tiendon.exchange.models_dispatch import Handoff, ParkedStatus
from tiendon.exchange.models_transport import PRECEDENCE_RANK
from tiendon.exchange.queries import decrypt_for_unit
from tiendon.units.models import Unit

RECEIPT_MAX_ENVELOPES = 10_000
STATUS_NOTE_MAX = 1000


@dataclass(frozen=True)
class Reported:
    """One status as a receipt carries it."""

    code: str
    at: dt.datetime
    note: str


def envelopes_named(report: dict[str, object]) -> list[uuid.UUID]:
    ids = report["envelopes"]
    if not isinstance(ids, list) or not ids or len(ids) > RECEIPT_MAX_ENVELOPES:
        raise ValueError("a receipt names 1 to 10,000 envelopes")
    return [uuid.UUID(str(i)) for i in ids]


def apply_receipt(receipt: Envelope, unit_ids: list[int]) -> None:
    """A receipt for a unit served here (the original sender): record the status it reports
    on the original envelopes' delivery to the unit that signed it."""
    for unit in Unit.objects.filter(pk__in=unit_ids):
        try:
            report = json.loads(decrypt_for_unit(receipt, unit))
            reporter = str(report["unit"])
            status = Reported(
                str(report["status"])[:2],
                receipt.created_at,
                str(report.get("note", ""))[:STATUS_NOTE_MAX],
            )
            originals = envelopes_named(report)
        except (EnvelopeError, ValueError, KeyError, TypeError) as exc:
            do_record(
                "exchange.receipt_refused",
                obj=receipt,
                unit=unit,
                new={"code": "unreadable", "reason": str(exc)[:200]},
            )
            continue
        if reporter != _code_of(receipt.sender_id):
            # Only the unit that signed the receipt reports on its own delivery.
            do_record(
                "exchange.receipt_refused",
                obj=receipt,
                unit=unit,
                new={"code": "not_the_signer", "unit": reporter[:32]},
            )
            continue
        applied = apply_status(
            originals, sent_by=unit.pk, reporter_id=receipt.sender_id, status=status, via=receipt
        )
        if applied:
            _hand_to_history(receipt, unit, status, applied)


def _code_of(unit_id: int) -> str:
    return str(Unit.objects.filter(pk=unit_id).values_list("code", flat=True).first() or "")


def apply_status(
    originals: Sequence[uuid.UUID],
    *,
    sent_by: int,
    reporter_id: int,
    status: Reported,
    via: Envelope,
) -> dict[uuid.UUID, str]:
    """Apply `status` to the deliveries of `originals` that `sent_by` sent to the reporting
    unit. Returns the originals it was applied to, with their kinds. Refusals and parked
    statuses are audited; then any status parked behind one applied now follows it."""
    rows = _deliveries(originals, sent_by=sent_by, reporter_id=reporter_id)
    named = set(originals)
    applied: dict[uuid.UUID, str] = {}
    refused: dict[str, int] = defaultdict(int)
    early: list[tuple[uuid.UUID, str]] = []
    for envelope_id, current, kind in rows:
        named.discard(envelope_id)
        if status.code == registry.ARRIVED:
            if not current:  # a late arrival never takes a later status back
                applied[envelope_id] = kind
            continue
        try:
            registry.check_status(kind, current, status.code)
        except registry.StatusEarly:
            early.append((envelope_id, kind))
            continue
        except registry.StatusRefused as exc:
            refused[exc.code] += 1
            continue
        applied[envelope_id] = kind
    if named:
        refused["not_sent_here"] += len(named)
    _set(list(applied), reporter_id=reporter_id, status=status)
    if early:
        ParkedStatus.objects.bulk_create(
            [
                ParkedStatus(
                    envelope_id=envelope_id,
                    unit_id=reporter_id,
                    code=status.code,
                    at=status.at,
                    note=status.note,
                    receipt=via,
                )
                for envelope_id, _kind in early
            ],
            ignore_conflicts=True,
        )
    do_record(
        "exchange.status_received" if applied or early else "exchange.receipt_refused",
        obj=via,
        unit=Unit(pk=sent_by),
        new={
            "status": status.code,
            "envelopes": len(originals),
            "updated": len(applied),
            **({"parked": len(early)} if early else {}),
            **({"refused": dict(refused)} if refused else {}),
        },
    )
    if applied:
        _release_parked(list(applied), sent_by=sent_by, reporter_id=reporter_id)
    return applied


def _deliveries(
    originals: Sequence[uuid.UUID], *, sent_by: int, reporter_id: int
) -> list[tuple[uuid.UUID, str, str]]:
    """(envelope id, status, kind) of the deliveries to the reporter of what `sent_by`
    sent, among `originals`. On PostgreSQL the ids go as one array parameter: a receipt
    names up to 10,000 envelopes (bench/exchange.py)."""
    if connection.vendor != "postgresql":
        found: list[tuple[uuid.UUID, str, str]] = []
        for start in range(0, len(originals), 500):
            found.extend(
                EnvelopeRecipient.objects.filter(
                    envelope_id__in=originals[start : start + 500],
                    envelope__sender_id=sent_by,
                    unit_id=reporter_id,
                ).values_list("envelope_id", "status", "envelope__kind")
            )
        return found
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.envelope_id, r.status, e.kind FROM {quote(EnvelopeRecipient._meta.db_table)} "  # noqa: S608, E501
            f"AS r JOIN {quote(Envelope._meta.db_table)} AS e ON e.id = r.envelope_id "
            "WHERE r.envelope_id = ANY(%s::uuid[]) AND r.unit_id = %s AND e.sender_id = %s",
            [[str(i) for i in originals], reporter_id, sent_by],
        )
        return [(row[0], row[1], row[2]) for row in cursor.fetchall()]


def _set(envelope_ids: list[uuid.UUID], *, reporter_id: int, status: Reported) -> None:
    if not envelope_ids:
        return
    if connection.vendor != "postgresql":
        for start in range(0, len(envelope_ids), 500):
            EnvelopeRecipient.objects.filter(
                envelope_id__in=envelope_ids[start : start + 500], unit_id=reporter_id
            ).update(status=status.code, status_at=status.at, status_note=status.note)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(EnvelopeRecipient._meta.db_table)} "  # noqa: S608
            "SET status = %s, status_at = %s, status_note = %s "
            "WHERE envelope_id = ANY(%s::uuid[]) AND unit_id = %s",
            [status.code, status.at, status.note, [str(i) for i in envelope_ids], reporter_id],
        )


def _release_parked(applied: list[uuid.UUID], *, sent_by: int, reporter_id: int) -> None:
    """Statuses parked behind those just applied, in the order they were reported."""
    parked = list(
        ParkedStatus.objects.filter(envelope_id__in=applied, unit_id=reporter_id)
        .select_related("receipt")
        .order_by("at", "pk")
    )
    if not parked:
        return
    ParkedStatus.objects.filter(pk__in=[p.pk for p in parked]).delete()
    for row in parked:
        status = Reported(row.code, row.at, row.note)
        done = apply_status(
            [row.envelope_id],
            sent_by=sent_by,
            reporter_id=reporter_id,
            status=status,
            via=row.receipt,
        )
        if done:
            _hand_to_history(row.receipt, Unit(pk=sent_by), status, done)


def _hand_to_history(
    receipt: Envelope, unit: Unit, status: Reported, applied: dict[uuid.UUID, str]
) -> None:
    """The applied statuses, for the history of the apps that keep one (their vocabulary's
    `record`), through the dispatcher: a receipt's hand-off carries its report."""
    kept = [
        str(envelope_id)
        for envelope_id, kind in applied.items()
        if (vocabulary := registry.vocabulary_for(kind)) is not None and vocabulary.record
    ]
    if not kept:
        return
    report = {
        "code": status.code,
        "at": status.at.isoformat(),
        "note": status.note,
        "reporter": receipt.sender_id,
        "envelopes": kept,
    }
    handoff, created = Handoff.objects.get_or_create(
        envelope=receipt,
        unit=unit,
        defaults={
            "kind": registry.RECEIPT_KIND,
            "rank": PRECEDENCE_RANK.get(receipt.precedence, 0),
            "due_at": timezone.now(),
            "report": {"reports": [report]},
        },
    )
    if not created:  # a parked status released by a later receipt joins this hand-off
        done = handoff.state == Handoff.State.DONE
        reports = [] if done else list((handoff.report or {}).get("reports", []))
        reports.append(report)
        handoff.report = {"reports": reports}
        handoff.state = Handoff.State.WAITING
        handoff.save(update_fields=["report", "state"])
