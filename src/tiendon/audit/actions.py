"""Appending to the audit chain. Every state change in the project ends here.

`do_record` appends one record; `do_record_batch` appends many under one lock, for
high-volume events such as transport. Both join the caller's transaction, so a
state change and its audit record commit or roll back together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from tiendon.audit.chain import RecordContent
from tiendon.audit.models import AuditRecord, ChainHead


@dataclass
class AuditEntry:
    """What happened, before it is placed in the chain."""

    action: str
    actor: Any = None  # a units.Person, or None for the system
    unit: Any = None  # a units.Unit, or None
    obj: models.Model | None = None
    object_type: str = ""
    object_id: str = ""
    old: Any = None
    new: Any = None
    client_address: str | None = None
    at: Any = field(default=None)


def client_address(request: HttpRequest | None) -> str | None:
    """The peer address of a request; proxies are not trusted unless configured later."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _normalise(value: Any) -> Any:
    """Plain JSON types only, so the stored value hashes the same after a round trip.

    NUL characters (which PostgreSQL text and jsonb cannot hold, and which hostile input
    can carry into a refusal's record) become U+FFFD.
    """
    if value is None:
        return None
    if isinstance(value, dict) and all(
        isinstance(k, str) and "\x00" not in k and _plain(v) for k, v in value.items()
    ):
        return value  # already what a JSON round trip would give (the common case)
    text = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False).replace("\\u0000", "\ufffd")
    return json.loads(text)


def _plain(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" not in value
    return (
        value is None
        or (isinstance(value, int | float) and not isinstance(value, bool))
        or (isinstance(value, bool))
    )


def _text(value: str) -> str:
    return value.replace("\x00", "\ufffd")


def _build(entry: AuditEntry, seq: int, prev_hash: str, now: Any) -> AuditRecord:
    object_type, object_id = entry.object_type, entry.object_id
    if entry.obj is not None:
        object_type = object_type or entry.obj._meta.label_lower
        object_id = object_id or str(entry.obj.pk)
    actor = entry.actor if entry.actor is not None and entry.actor.pk else None
    unit = entry.unit
    if unit is None and actor is not None:
        unit = getattr(actor, "unit", None)
    content = RecordContent(
        seq=seq,
        at=entry.at or now,
        actor_id=actor.pk if actor else None,
        actor_label=str(actor.get_username()) if actor else "",
        unit_id=unit.pk if unit else None,
        action=_text(entry.action),
        object_type=_text(object_type),
        object_id=_text(object_id),
        old=_normalise(entry.old),
        new=_normalise(entry.new),
        client_address=entry.client_address,
        prev_hash=prev_hash,
    )
    return AuditRecord(
        seq=content.seq,
        at=content.at,
        actor_id=content.actor_id,
        actor_label=content.actor_label,
        unit_id=content.unit_id,
        action=content.action,
        object_type=content.object_type,
        object_id=content.object_id,
        old=content.old,
        new=content.new,
        client_address=content.client_address,
        prev_hash=content.prev_hash,
        hash=content.digest(),
    )


def do_record_batch(entries: Iterable[AuditEntry]) -> list[AuditRecord]:
    """Append entries in order, taking the chain-head lock once for all of them."""
    items: Sequence[AuditEntry] = list(entries)
    if not items:
        return []
    # Inside the caller's transaction no savepoint of its own (two round trips per batch on
    # the hot paths): a failure here fails the caller's transaction, as it should.
    with transaction.atomic(savepoint=False):
        head, _ = ChainHead.objects.select_for_update().get_or_create(id=1)
        now = timezone.now()
        records = []
        seq, prev = head.last_seq, head.last_hash
        for entry in items:
            seq += 1
            record = _build(entry, seq, prev, now)
            records.append(record)
            prev = record.hash
        _insert(records, moved_to=(seq, prev))
    return records


# From this many records a batch goes in by COPY on PostgreSQL (two round trips, but no
# statement to build): transport audits every envelope of every batch it takes.
COPY_FROM = 16
_COLUMNS = (
    "id",
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "unit_id",
    "action",
    "object_type",
    "object_id",
    "old",
    "new",
    "client_address",
    "prev_hash",
    "hash",
)


def _values(record: AuditRecord) -> tuple[Any, ...]:
    """A built record's values in `_COLUMNS` order, without the id."""
    return (
        record.seq,
        record.at,
        record.actor_id,
        record.actor_label,
        record.unit_id,
        record.action,
        record.object_type,
        record.object_id,
        _json_text(record.old),
        _json_text(record.new),
        record.client_address,
        record.prev_hash,
        record.hash,
    )


def _json_text(value: Any) -> str | None:
    # The value is already plain JSON (`_normalise`); SQL NULL for None, as JSONField does.
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _insert(records: list[AuditRecord], *, moved_to: tuple[int, str]) -> None:
    """Store built records, ids set on each, and move the chain head to `moved_to` (last
    seq and hash). On PostgreSQL the head moves in the same statement as the first write
    (a data-modifying WITH): the head stays locked until commit and every appender waits
    for it, so each round trip saved here is saved for all of them. A large batch takes
    its ids from the table's sequence and goes in by COPY: the ORM's bulk insert was a
    tenth of the cost of accepting envelopes (bench/exchange.py). The append-only trigger
    and the unique seq and hash constraints apply to COPY as to INSERT."""
    if connection.vendor != "postgresql":
        AuditRecord.objects.bulk_create(records)
        ChainHead.objects.filter(id=1).update(last_seq=moved_to[0], last_hash=moved_to[1])
        return
    table = AuditRecord._meta.db_table
    move_head = (
        f"WITH moved AS (UPDATE {ChainHead._meta.db_table} "  # noqa: S608
        "SET last_seq = %s, last_hash = %s WHERE id = 1) "
    )
    columns = ", ".join(_COLUMNS)
    if len(records) < COPY_FROM:
        row = "(%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::inet, %s, %s)"
        values = ", ".join([row] * len(records))
        insert = f"INSERT INTO {table} ({', '.join(_COLUMNS[1:])}) VALUES {values} RETURNING id"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(
                move_head + insert,
                [*moved_to, *(value for record in records for value in _values(record))],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
        for pk, record in zip(ids, records, strict=True):
            record.pk = pk
    else:
        with connection.cursor() as cursor:
            ids_from_sequence = (
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)"
            )
            cursor.execute(move_head + ids_from_sequence, [*moved_to, table, len(records)])
            ids = [row[0] for row in cursor.fetchall()]
            with (
                connection.wrap_database_errors,  # IntegrityError etc., as for an INSERT
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for pk, record in zip(ids, records, strict=True):
                    record.pk = pk
                    copy.write_row((pk, *_values(record)))
    for record in records:
        record._state.adding = False
        record._state.db = connection.alias


def do_record(
    action: str,
    *,
    actor: Any = None,
    unit: Any = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    old: Any = None,
    new: Any = None,
    request: HttpRequest | None = None,
) -> AuditRecord:
    """Append one record: who did `action` to what, with old and new values."""
    entry = AuditEntry(
        action=action,
        actor=actor,
        unit=unit,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        old=old,
        new=new,
        client_address=client_address(request),
    )
    return do_record_batch([entry])[0]
