"""The dispatcher: every arrived delivery handed once to the app that owns its kind.

At arrival, in the transaction that stores the deliveries, each one to a unit served here
gets a `Handoff` row (`record_arrivals`). The node's dispatcher process (`tiendon exchange
dispatch`, started by `tiendon node start`) claims waiting hand-offs, Hỏa tốc first, groups
them by envelope and calls the kind's handler once per envelope, in a transaction that also
marks them done: the handler's effects and the mark commit together, so a process killed at
any moment leaves the work to do again, never done twice. A handler that raises is rolled
back alone, retried with backoff, and visible (`waiting_by_kind`, the node's page); the
other kinds go on.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from tiendon.audit.actions import AuditEntry, do_record, do_record_batch
from tiendon.exchange import notices, registry
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.models import Envelope, EnvelopeRecipient
from tiendon.exchange.models_dispatch import Handoff
from tiendon.exchange.models_transport import PRECEDENCE_RANK
from tiendon.exchange.queries import decrypt_for_unit
from tiendon.units.models import Unit

log = logging.getLogger(__name__)

ARRIVALS_CHANNEL = "tiendon_arrivals"
BACKOFF_BASE = dt.timedelta(seconds=2)
BACKOFF_MAX = dt.timedelta(minutes=30)


def record_arrivals(batch: Sequence[tuple[Envelope, list[int]]], now: dt.datetime) -> None:
    """Hand-offs for deliveries that arrived here now, in the storing transaction. The
    exchange's own kinds are handled on the way in, and a kind that only travels (no
    handler) asks nothing: neither gets one.

    One INSERT … SELECT from the delivery rows just stored, for the whole batch: a broadcast
    to 3,321 communes served here is one statement, not 3,321 objects (bench/broadcast.py)."""
    wanted = [
        stored
        for stored, unit_ids in batch
        if unit_ids and registry.handler_for(stored.kind) is not None
    ]
    if not wanted:
        return
    quote = connection.ops.quote_name
    handoffs = quote(Handoff._meta.db_table)
    deliveries = quote(EnvelopeRecipient._meta.db_table)
    envelopes = quote(Envelope._meta.db_table)
    rank = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in PRECEDENCE_RANK.items())
    pk = Envelope._meta.pk
    assert pk is not None
    ids = [pk.get_db_prep_value(stored.pk, connection) for stored in wanted]
    due = Handoff._meta.get_field("due_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"NOTIFY {ARRIVALS_CHANNEL}")
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {handoffs} (envelope_id, unit_id, kind, rank, state, due_at, "  # noqa: S608
                "attempts, error_code, error) "
                f"SELECT r.envelope_id, r.unit_id, e.kind, CASE e.precedence {rank} ELSE 0 END, "
                f"'waiting', %s, 0, '', '' FROM {deliveries} AS r "
                f"JOIN {envelopes} AS e ON e.id = r.envelope_id "
                f"WHERE r.state = 'arrived' AND r.envelope_id IN ({marks})",
                [due, *chunk],
            )


def backoff(attempts: int, *, rng: random.Random | None = None) -> dt.timedelta:
    """2 s, 4 s, 8 s … up to 30 min, with ±25 % jitter."""
    base = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)
    return base * (0.75 + 0.5 * (rng or random).random())


@dataclass(frozen=True)
class Pass:
    handled: int  # deliveries whose handler committed
    failed: int  # deliveries put back with a backoff


def run_once(*, limit: int = 100, now: dt.datetime | None = None) -> Pass:
    """Hand over the waiting deliveries of up to `limit` envelopes that are due, highest
    precedence first, in one transaction: each envelope's handler in a savepoint of its own
    (a failure rolls back that envelope alone, which is put back with a backoff), the
    hand-offs of the others marked done in the same transaction as their handlers' work.
    A broadcast's deliveries served here go to its handler together, whatever their
    number."""
    now = now or timezone.now()
    ids = _due_envelopes(limit, now)
    if not ids:
        return Pass(0, 0)
    handled = failed = 0
    with transaction.atomic():
        claimed = (
            Handoff.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(envelope_id__in=ids, state=Handoff.State.WAITING, due_at__lte=now)
            .select_related("envelope", "envelope__sender", "unit")
            .order_by("unit_id")
        )
        groups: dict[uuid.UUID, list[Handoff]] = {envelope_id: [] for envelope_id in ids}
        for handoff in claimed:  # another dispatcher's are skipped, not waited for
            groups[handoff.envelope_id].append(handoff)
        done: list[int] = []
        for group in groups.values():
            if not group:
                continue
            try:
                with transaction.atomic():  # the handler's own savepoint
                    _hand_over(group[0].kind, group)
            except Exception as exc:
                failed += len(group)
                _put_back(group, exc, now)
                continue
            done.extend(h.pk for h in group)
        Handoff.objects.filter(pk__in=done).update(
            state=Handoff.State.DONE, handled_at=timezone.now(), error_code="", error=""
        )
        handled = len(done)
    return Pass(handled, failed)


def _due_envelopes(limit: int, now: dt.datetime) -> list[uuid.UUID]:
    """Up to `limit` envelopes with deliveries waiting and due, in precedence order."""
    seen: dict[uuid.UUID, None] = {}
    for (envelope_id,) in (
        Handoff.objects.filter(state=Handoff.State.WAITING, due_at__lte=now)
        .order_by("-rank", "due_at", "envelope_id")
        .values_list("envelope_id")
        .distinct()[:limit]
    ):
        seen.setdefault(envelope_id, None)
    return list(seen)


def _hand_over(kind: str, claimed: list[Handoff]) -> None:
    if kind == registry.RECEIPT_KIND:
        _record_statuses(claimed)
        return
    handler = registry.handler_for(kind)
    if handler is None:
        raise EnvelopeError(f"no app on this node takes {kind!r} in", code="unknown_kind")
    stored = claimed[0].envelope
    arrived = dict(
        EnvelopeRecipient.objects.filter(
            envelope=stored, unit_id__in=[h.unit_id for h in claimed]
        ).values_list("unit_id", "arrived_at")
    )
    handler(
        registry.Arrival(
            envelope_id=stored.pk,
            kind=stored.kind,
            sender_code=stored.sender.code,
            sender_name=stored.sender.name,
            precedence=stored.precedence,
            security=stored.security,
            created_at=stored.created_at,
            deliveries=tuple(
                registry.Delivery(
                    h.unit_id, h.unit.code, arrived.get(h.unit_id) or stored.stored_at
                )
                for h in claimed
            ),
            opener=lambda arrival: _open_for_handler(arrival, stored, claimed[0].unit),
        )
    )


def _open_for_handler(arrival: registry.Arrival, stored: Envelope, first: Unit) -> bytes:
    """The payload, decrypted once with the first recipient unit's key (the content key is
    the same for all), each delivery's opening audited with the node as actor."""
    payload = decrypt_for_unit(stored, first)
    do_record_batch(
        AuditEntry(
            action="exchange.payload_opened",
            unit=Unit(pk=delivery.unit_id),
            obj=stored,
            new={"by": "node", "kind": arrival.kind},
        )
        for delivery in arrival.deliveries
    )
    return payload


def _record_statuses(claimed: list[Handoff]) -> None:
    """Receipts' applied statuses, to the history of the apps whose kinds they report on."""
    by_kind: dict[str, list[registry.StatusReport]] = {}
    for handoff in claimed:
        for report in (handoff.report or {}).get("reports", []):
            ids = [uuid.UUID(i) for i in report["envelopes"]]
            kinds = dict(Envelope.objects.filter(pk__in=ids).values_list("pk", "kind"))
            for kind in set(kinds.values()):
                by_kind.setdefault(kind, []).append(
                    registry.StatusReport(
                        receipt_id=handoff.envelope_id,
                        reporter_id=int(report["reporter"]),
                        code=str(report["code"]),
                        at=dt.datetime.fromisoformat(report["at"]),
                        note=str(report["note"]),
                        envelope_ids=tuple(i for i in ids if kinds.get(i) == kind),
                    )
                )
    for kind, reports in by_kind.items():
        vocabulary = registry.vocabulary_for(kind)
        if vocabulary is not None and vocabulary.record is not None:
            vocabulary.record(reports)


def _put_back(claimed: list[Handoff], exc: Exception, now: dt.datetime) -> None:
    code = getattr(exc, "code", "") or type(exc).__name__
    attempts = claimed[0].attempts + 1
    due = now + backoff(attempts)
    Handoff.objects.filter(pk__in=[h.pk for h in claimed]).update(
        attempts=attempts, due_at=due, error_code=str(code)[:64], error=str(exc)[:300]
    )
    do_record(
        "exchange.handler_failed",
        obj=claimed[0].envelope,
        new={
            "kind": claimed[0].kind,
            "deliveries": len(claimed),
            "attempts": attempts,
            "code": str(code)[:64],
            "retry_at": due.isoformat(),
        },
    )
    log.warning("handler of %s failed (%s), retry at %s", claimed[0].kind, code, due)


def wait_for_arrivals(timeout: float) -> None:
    """Sleep until something arrives (the storing transaction's NOTIFY, at its commit) or
    `timeout` seconds pass."""
    notices.wait(ARRIVALS_CHANNEL, timeout)


def run_until_idle(*, limit: int = 100) -> int:
    """Hand over everything due now (`tiendon exchange dispatch --once`, tests): passes
    until one finds nothing left."""
    total = 0
    while True:
        done = run_once(limit=limit)
        total += done.handled
        if done.handled == 0:
            return total
