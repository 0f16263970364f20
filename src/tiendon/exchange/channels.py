"""Channel numbers: each node numbers what it sends to each neighbour (OutboxItem.seq), so
the neighbour can see a hole in what it holds and ask for it again after a grace period.
The numbers detect loss; they do not force an order (precedence decides what goes first).

A hole is normal for a moment (a Hỏa tốc envelope overtakes routine ones; a worker retries
part of a batch), so a number is asked for only when it has been missing for the grace
period since a higher one arrived. The sender answers for each: sent again, still on its
way, or closed for good (expired or refused), which closes the hole here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tiendon.audit.actions import AuditEntry, do_record_batch
from tiendon.exchange.models_transport import ChannelSeen, Node, OutboxItem

ASK_AT_MOST = 1000  # numbers per request


def record_seen(node: Node, seqs: Iterable[int], *, now: dt.datetime | None = None) -> None:
    """Numbers that came in from `node` (decided: accepted or refused)."""
    now = now or timezone.now()
    numbers = sorted(set(seqs))
    if not numbers:
        return
    if connection.vendor == "postgresql":
        # One array parameter: a model instance per number was an eighth of the work of
        # taking a push of 500 (bench/exchange.py).
        table = connection.ops.quote_name(ChannelSeen._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (node_id, seq, seen_at) "
                "SELECT %s, unnest(%s::bigint[]), %s ON CONFLICT DO NOTHING",
                [node.pk, numbers, now],
            )
        return
    ChannelSeen.objects.bulk_create(
        [ChannelSeen(node=node, seq=seq, seen_at=now) for seq in numbers],
        ignore_conflicts=True,
    )


@transaction.atomic
def missing(node: Node, *, now: dt.datetime | None = None) -> list[int]:
    """Numbers missing from `node`'s channel for longer than the grace period, oldest first.
    Moves the channel's complete prefix forward and forgets the numbers below it."""
    now = now or timezone.now()
    grace = dt.timedelta(seconds=settings.TIENDON_EXCHANGE_GAP_GRACE)
    locked = Node.objects.select_for_update().get(pk=node.pk)
    complete = locked.in_complete
    expected, holes = complete + 1, list[int]()
    seen = ChannelSeen.objects.filter(node=locked, seq__gt=complete).order_by("seq")
    for seq, seen_at in seen.values_list("seq", "seen_at").iterator():
        if seq < expected:
            continue
        if seq == expected and not holes:
            complete = seq
        elif seq > expected and now - seen_at >= grace:
            holes.extend(range(expected, min(seq, expected + ASK_AT_MOST)))
        elif seq > expected:
            holes.append(-1)  # a young hole: not asked yet, but the prefix stops here
        expected = seq + 1
    if complete != locked.in_complete:
        Node.objects.filter(pk=locked.pk).update(in_complete=complete)
        ChannelSeen.objects.filter(node=locked, seq__lte=complete).delete()
    return [seq for seq in holes if seq > 0][:ASK_AT_MOST]


@transaction.atomic
def do_resend(node: Node, seqs: Iterable[int]) -> list[dict[str, object]]:
    """`node` asks again for numbers of our channel to it: a delivered item is queued again
    (the receiver keeps one copy of anything it gets twice); one still queued or in flight
    will come anyway; an expired or refused one is closed for good; a number never given
    is unknown."""
    wanted = sorted(set(seqs))[:ASK_AT_MOST]
    items = {
        item.seq: item
        for item in OutboxItem.objects.select_for_update().filter(destination=node, seq__in=wanted)
    }
    now = timezone.now()
    answers: list[dict[str, object]] = []
    requeue: list[int] = []
    for seq in wanted:
        item = items.get(seq)
        if item is None:
            answers.append({"seq": seq, "state": "unknown"})
        elif item.state == OutboxItem.State.DELIVERED:
            requeue.append(item.pk)
            answers.append({"seq": seq, "state": "resent"})
        elif item.state in (OutboxItem.State.EXPIRED, OutboxItem.State.REFUSED):
            answers.append({"seq": seq, "state": item.state})
        else:
            answers.append({"seq": seq, "state": "on_its_way"})
    OutboxItem.objects.filter(pk__in=requeue).update(
        state=OutboxItem.State.QUEUED, next_attempt_at=now, lease_until=None
    )
    do_record_batch(
        [
            AuditEntry(
                action="exchange.resend_requested",
                object_type="node",
                object_id=node.name,
                new={"asked": len(wanted), "resent": len(requeue)},
            )
        ]
    )
    return answers


def close_for_good(node: Node, answers: Iterable[dict[str, object]]) -> int:
    """Numbers the sender says will never come (expired, refused, unknown): seen, so the
    hole closes; audited, since something addressed to us was lost on the way."""
    closed = [
        (int(str(a["seq"])), str(a["state"]))
        for a in answers
        if a.get("state") in ("expired", "refused", "unknown")
    ]
    if closed:
        record_seen(node, [seq for seq, _state in closed])
        do_record_batch(
            [
                AuditEntry(
                    action="exchange.channel_gap_closed",
                    object_type="node",
                    object_id=node.name,
                    new={"closed": [[seq, state] for seq, state in closed][:50]},
                )
            ]
        )
    return len(closed)
