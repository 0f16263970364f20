"""Delivery from the outbox: claim due items without blocking other workers, hand them to
a transport, and record the outcome with retries kept in the database.

Several workers on one PostgreSQL share the queue through `SELECT … FOR UPDATE SKIP
LOCKED`; a claimed item carries a lease, so a worker that dies mid-send gives its items
back when the lease runs out. The transport is a callable, so the queue can be tested
alone; the HTTP transport between nodes plugs in here.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tiendon.audit.actions import AuditEntry, do_record_batch
from tiendon.exchange import notices
from tiendon.exchange.actions import OUTBOX_CHANNEL, do_report_non_delivery
from tiendon.exchange.blobs import read_envelopes
from tiendon.exchange.models_transport import Node, OutboxItem

# A claimed item is the worker's until its lease runs out: longer than a request may take
# (the transport's timeout), so a slow send is never taken over while still in flight.
LEASE = dt.timedelta(seconds=2 * settings.TIENDON_EXCHANGE_TIMEOUT + 5)
BACKOFF_BASE = dt.timedelta(seconds=settings.TIENDON_EXCHANGE_BACKOFF_BASE)
BACKOFF_MAX = dt.timedelta(seconds=settings.TIENDON_EXCHANGE_BACKOFF_MAX)
FLASH_RANK = 3  # Hỏa tốc: retried at once, never backed off


@dataclass(frozen=True)
class Outcome:
    """What the next node said of one envelope: accepted, refused (with its code), or
    nothing usable (a network error: try again later)."""

    accepted: bool
    refused_code: str = ""
    error: str = ""


Transport = Callable[[Node, Sequence[tuple[OutboxItem, bytes]]], dict[int, Outcome]]


def backoff(attempts: int, rank: int, *, rng: random.Random | None = None) -> dt.timedelta:
    """Exponential, capped, with full jitter over its upper half; none for Hỏa tốc."""
    if rank >= FLASH_RANK:
        return dt.timedelta(0)
    # The exponent is capped too: after two days of hourly retries 2**44 days overflowed.
    ceiling = min(BACKOFF_BASE * (2 ** min(max(attempts - 1, 0), 24)), BACKOFF_MAX)
    return ceiling * (rng or random).uniform(0.5, 1.0)


def claim(*, limit: int = 100, now: dt.datetime | None = None) -> list[OutboxItem]:
    """Take up to `limit` due items, highest precedence first, leased to this worker, with
    their envelopes and destinations.

    Only the outbox rows are locked (`of`): locking the joined node row too made a second
    worker, and anyone queueing for that node, skip or wait for every item behind it."""
    now = now or timezone.now()
    lease_until = now + LEASE
    with transaction.atomic():
        items = list(
            OutboxItem.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("envelope", "destination")
            .exclude(destination__pulls=True)  # those wait for their node to fetch them
            .filter(
                Q(state=OutboxItem.State.QUEUED, next_attempt_at__lte=now)
                | Q(state=OutboxItem.State.SENDING, lease_until__lt=now)
            )
            .order_by("-rank", "next_attempt_at", "seq")[:limit]
        )
        ids = [item.pk for item in items]
        OutboxItem.objects.filter(pk__in=ids).update(
            state=OutboxItem.State.SENDING, lease_until=lease_until
        )
    for item in items:
        item.state, item.lease_until = OutboxItem.State.SENDING, lease_until
    return items


def _expire(items: list[OutboxItem], now: dt.datetime) -> list[OutboxItem]:
    """Items past their envelope's expiry stop here, and the sender gets a non-delivery
    report (exchange.actions.do_report_non_delivery)."""
    expired = [i for i in items if i.envelope.expires_at <= now]
    for item in expired:
        with transaction.atomic():
            closed = OutboxItem.objects.filter(
                pk=item.pk, state__in=[OutboxItem.State.QUEUED, OutboxItem.State.SENDING]
            ).update(state=OutboxItem.State.EXPIRED, lease_until=None)
            if closed:
                do_report_non_delivery(item.envelope, item.destination, now)
    return [i for i in items if i not in expired]


def run_once(transport: Transport, *, limit: int = 100, now: dt.datetime | None = None) -> int:
    """One pass: claim, send per destination in batches, record outcomes. Returns sent count."""
    now = now or timezone.now()
    items = claim(limit=limit, now=now)
    if not items:
        return 0
    items = _expire(items, now)
    by_node: dict[Node, list[OutboxItem]] = {}
    for item in items:
        by_node.setdefault(item.destination, []).append(item)
    delivered = 0
    for node, batch in by_node.items():
        try:
            stored = read_envelopes(i.envelope_id for i in batch)
            outcomes = transport(node, [(i, stored[str(i.envelope_id)]) for i in batch])
        except OSError as exc:
            outcomes = {i.pk: Outcome(accepted=False, error=str(exc)[:300]) for i in batch}
        delivered += _record(batch, outcomes, now)
    return delivered


@transaction.atomic
def _record(batch: list[OutboxItem], outcomes: dict[int, Outcome], now: dt.datetime) -> int:
    """Outcomes of one send, applied only to items this worker still holds (its lease)."""
    no_answer = Outcome(accepted=False, error="no answer")
    accepted: dict[dt.datetime | None, list[int]] = {}
    audit: list[AuditEntry] = []
    delivered = 0
    for item in batch:
        outcome = outcomes.get(item.pk, no_answer)
        if outcome.accepted:
            accepted.setdefault(item.lease_until, []).append(item.pk)
            continue
        changes: dict[str, object] = {"attempts": item.attempts + 1, "lease_until": None}
        if outcome.refused_code:
            changes.update(state=OutboxItem.State.REFUSED, last_error=outcome.refused_code)
        else:
            changes.update(
                state=OutboxItem.State.QUEUED,
                last_error=outcome.error[:300],
                next_attempt_at=now + backoff(item.attempts + 1, item.rank),
            )
        # Only while our lease holds: a worker that overran it no longer owns the item.
        updated = OutboxItem.objects.filter(
            pk=item.pk, state=OutboxItem.State.SENDING, lease_until=item.lease_until
        ).update(**changes)
        if updated and outcome.refused_code:
            audit.append(
                AuditEntry(
                    action="exchange.refused_by_next_node",
                    obj=item.envelope,
                    new={"to": item.destination.name, "code": outcome.refused_code},
                )
            )
    # The delivered ones in one statement per lease (one claim gives them all the same).
    for lease, ids in accepted.items():
        delivered += OutboxItem.objects.filter(
            pk__in=ids, state=OutboxItem.State.SENDING, lease_until=lease
        ).update(
            state=OutboxItem.State.DELIVERED,
            delivered_at=now,
            attempts=F("attempts") + 1,
            lease_until=None,
        )
    # Delivery to the next node is high-volume: one batched audit append per pass.
    audit.append(
        AuditEntry(
            action="exchange.batch_sent",
            object_type="node",
            object_id=batch[0].destination.name,
            new={"envelopes": len(batch), "delivered": delivered},
        )
    )
    do_record_batch(audit)
    return delivered


def wait_for_work(timeout: float, *, linger: float = 0.0) -> None:
    """Sleep until something is queued (the outbox's NOTIFY, sent when the enqueuing
    transaction commits) or `timeout` seconds pass; then `linger` more (`notices.wait`).

    The linger: under a steady trickle (a clerk's send every few tens of milliseconds) a
    pass per envelope made each one pay for a whole signed request, its receipt and their
    audit records at both nodes; that, not the traffic, was most of the CPU of both nodes
    at 50 envelopes/s (bench/exchange.py). Under a backlog the worker never waits, so the
    linger costs nothing there."""
    notices.wait(OUTBOX_CHANNEL, timeout, linger=linger)


def waiting_for(child: Node, limit: int) -> list[OutboxItem]:
    """What a pulling child may fetch now: queued items, highest precedence first (expired
    ones are closed on the way, as for pushed items)."""
    now = timezone.now()
    items = list(
        OutboxItem.objects.filter(destination=child, state=OutboxItem.State.QUEUED)
        .select_related("envelope", "destination")
        .order_by("-rank", "seq")[:limit]
    )
    return _expire(items, now)


@transaction.atomic
def record_pulled(child: Node, answers: dict[int, Outcome]) -> int:
    """The child's answers for pulled items, by channel number; unanswered stay queued."""
    now = timezone.now()
    items = OutboxItem.objects.select_for_update().filter(
        destination=child, seq__in=list(answers), state=OutboxItem.State.QUEUED
    )
    recorded = 0
    audit: list[AuditEntry] = []
    for item in items.select_related("envelope"):
        outcome = answers[item.seq]
        item.attempts += 1
        if outcome.accepted:
            item.state, item.delivered_at = OutboxItem.State.DELIVERED, now
        elif outcome.refused_code:
            item.state, item.last_error = OutboxItem.State.REFUSED, outcome.refused_code
            audit.append(
                AuditEntry(
                    action="exchange.refused_by_next_node",
                    obj=item.envelope,
                    new={"to": child.name, "code": outcome.refused_code},
                )
            )
        else:
            continue
        item.save(update_fields=["attempts", "state", "delivered_at", "last_error"])
        recorded += 1
    audit.append(
        AuditEntry(
            action="exchange.batch_pulled",
            object_type="node",
            object_id=child.name,
            new={"answered": len(answers), "recorded": recorded},
        )
    )
    do_record_batch(audit)
    return recorded
