"""Sending and accepting envelopes: every delivery, local or from another node, comes here.

`seal_for_units` does the cryptography (the sender unit's key through pki's `unit_signer`,
each recipient unit's current encryption certificate); `do_enqueue` stores the result;
`do_accept_envelope` takes an envelope from outside. Each refusal is audited with its
reason code and nothing of a refused envelope is stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from tiendon.audit.actions import AuditEntry, client_address, do_record, do_record_batch
from tiendon.exchange import dispatch, envelope, registry, status, statuses
from tiendon.exchange.blobs import is_inline, write_blob
from tiendon.exchange.envelope import EnvelopeError, Parsed, Sealed
from tiendon.exchange.models import Envelope, EnvelopeBytes, EnvelopeRecipient
from tiendon.exchange.models_transport import PRECEDENCE_RANK, Node, OutboxItem, ServedUnit
from tiendon.exchange.queries import decrypt_for_unit
from tiendon.exchange.routing import Router
from tiendon.exchange.trust import IssuerScope
from tiendon.pki.errors import CertificateRefused, PkiError
from tiendon.pki.models import CertPurpose, DirectoryEntry
from tiendon.pki.queries import current_certificates
from tiendon.pki.signing import UnitSigner, unit_signer
from tiendon.pki.validation import validate_certificate_remembered
from tiendon.units.models import Person, Unit

# The purpose a unit's signature on an envelope (a document's, a receipt, a report) names.
ENVELOPE_SIGNING = "exchange.envelope"


def envelope_signer(unit: Unit) -> UnitSigner:
    """The unit's signer for envelopes, its certificate found valid now; EnvelopeError
    `no_signing_certificate`, or `sender_<code>` as `check_sender` names a refusal."""
    try:
        # Within a second of its last full check the certificate is not judged again here:
        # storing the envelope (`do_enqueue_many`, `_store_many`) judges it again, against
        # the trust and revocation state of that moment, before anything is kept. A seal
        # spent a sixth of its time on the check (bench/exchange.py).
        return unit_signer(unit, purpose=ENVELOPE_SIGNING, fresh_within=1.0)
    except CertificateRefused as exc:
        raise EnvelopeError(
            f"the sender's certificate is refused: {exc.message}", code=f"sender_{exc.code}"
        ) from exc
    except PkiError as exc:
        raise EnvelopeError(
            f"{unit.code} has no current signing certificate", code="no_signing_certificate"
        ) from exc


def sender_for(unit: Unit, signer: UnitSigner | None = None) -> envelope.Sender:
    """The unit's current signing certificate and its key's `sign`.

    The certificate travels alone, without its issuing CA and root: every reader judges it
    against the CAs it holds (docs/envelope.md), so the chain was two thirds of a small
    envelope's bytes carried for no one.

    Its signatures leave no `pki.unit_signature` record: every envelope sealed here is
    stored through `do_enqueue_many` or `_send_receipts`, whose `exchange.envelope_sent`
    record, in the transaction that stores it, names the signature's purpose and serial
    (one audit row per envelope instead of two; see `_sent_record`)."""
    signer = signer or envelope_signer(unit)
    if signer.unit.pk != unit.pk or signer.purpose != ENVELOPE_SIGNING:
        raise ValueError(f"a signer of {signer.unit.code} for {signer.purpose} seals no envelope")
    return envelope.Sender(
        code=unit.code,
        certificate_der=bytes(signer.certificate.certificate_der),
        chain_der=(),
        sign=signer.sign_recorded_by_caller,
    )


def _recipients(units: Sequence[Unit]) -> list[envelope.Recipient]:
    ids = {u.pk for u in units}
    certs = {
        unit_id: bytes(der)
        for unit_id, der in current_certificates(
            unit_id__in=ids,
            purpose=CertPurpose.UNIT_ENCRYPTION,
            person=None,
            not_before__lte=timezone.now(),
            not_after__gt=timezone.now(),
        ).values_list("unit_id", "certificate_der")
    }
    others = [u.pk for u in units if u.pk not in certs]
    if others:
        # Units whose keys another node holds: their certificates as that node published them
        # (newest first, so setdefault keeps the newest valid one).
        now = timezone.now()
        for unit_id, der in (
            DirectoryEntry.objects.filter(
                unit_id__in=others,
                purpose=CertPurpose.UNIT_ENCRYPTION,
                not_before__lte=now,
                not_after__gt=now,
            )
            .order_by("-not_before")
            .values_list("unit_id", "certificate_der")
        ):
            certs.setdefault(unit_id, bytes(der))
    missing = [u.code for u in units if u.pk not in certs]
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise EnvelopeError(
            f"{len(missing)} recipient units have no valid encryption certificate: {shown}",
            code="no_encryption_certificate",
        )
    return [envelope.Recipient(u.code, certs[u.pk]) for u in units]


def _require_fit_for(security: str, *, actor: Person | None, what: str) -> None:
    if security != "none" and not settings.TIENDON_SECRET_FIT:
        do_record(
            "exchange.secret_refused",
            actor=actor,
            object_type="envelope",
            new={"security": security, "what": what},
        )
        raise EnvelopeError(
            f"this node is not declared fit for secret content ({security}); secret documents "
            "travel only in a system on an isolated network or under state cipher protection",
            code="not_fit_for_secret",
        )


def seal_for_units(
    *,
    kind: str,
    payload: bytes,
    sender: Unit,
    recipients: Sequence[Unit],
    precedence: str = "thuong",
    security: str = "none",
    actor: Person | None = None,
    lifetime: dt.timedelta = envelope.DEFAULT_LIFETIME,
    signer: UnitSigner | None = None,
) -> Sealed:
    """The cryptography of sending: encrypt once, wrap per recipient unit, sign.

    `signer` (from `envelope_signer(sender)`) lets a caller sealing many envelopes of one
    sender check its certificate once; without it, each seal checks it anew."""
    _require_fit_for(security, actor=actor, what=f"send {kind}")
    return envelope.seal(
        payload,
        kind=kind,
        sender=sender_for(sender, signer),
        recipients=_recipients(recipients),
        precedence=precedence,
        security=security,
        lifetime=lifetime,
    )


def check_sender(certificate_der: bytes, chain_der: tuple[bytes, ...]) -> None:
    """The sender's certificate must validate now, for signing (revocation included)."""
    try:
        validate_certificate_remembered(certificate_der, usage="signing")
    except CertificateRefused as exc:
        raise EnvelopeError(
            f"the sender's certificate is refused: {exc.message}", code=f"sender_{exc.code}"
        ) from exc


@functools.lru_cache(maxsize=256)
def _sender_certificate(certificate_der: bytes) -> tuple[x509.Certificate, str]:
    """A sender's certificate and the unit code it names, read once per process (a batch
    of hundreds names the same few senders)."""
    cert = x509.load_der_x509_certificate(certificate_der)
    serials = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return cert, str(serials[0].value) if serials else ""


@dataclass(frozen=True)
class Incoming:
    """A parsed, verified envelope on its way into storage."""

    parsed: Parsed
    data: bytes
    sha256: str


@dataclass
class _Plan:
    """Where one envelope goes: recipient units that arrive here, and next hops."""

    item: Incoming
    sender_id: int
    deliveries: list[tuple[int, str, dt.datetime | None]]
    onward: set[Node]


Outcome = Envelope | EnvelopeError


def _plan(
    item: Incoming,
    rows: dict[str, tuple[int, str]],
    scope: IssuerScope,
    came_from: Node | None,
    now: dt.datetime,
) -> _Plan:
    manifest = item.parsed.manifest
    certificate, sender_code = _sender_certificate(item.parsed.sender_certificate_der)
    if sender_code != manifest["sender"]:
        raise EnvelopeError(
            "the manifest names a sender other than the signing certificate's unit",
            code="sender_mismatch",
        )
    codes = item.parsed.recipients
    unknown = [c for c in codes if c not in rows]
    if unknown or manifest["sender"] not in rows:
        raise EnvelopeError(
            f"unknown unit codes: {', '.join((unknown or [manifest['sender']])[:10])}",
            code="misaddressed",
        )
    if not scope.allows_path(rows[manifest["sender"]][1], scope.authority_of(certificate)):
        raise EnvelopeError(
            f"the sender's certificate comes from a CA that may not certify {manifest['sender']}",
            code="sender_issuer_out_of_scope",
        )
    router = scope.router
    deliveries: list[tuple[int, str, dt.datetime | None]] = []
    onward: set[Node] = set()
    for code in codes:
        unit_id, path = rows[code]
        hop = router.next_hop_for_path(path)
        if hop is not None and came_from is not None and hop.pk == came_from.pk:
            continue  # the node it came from deals with these; never send it back
        if hop is None:
            deliveries.append((unit_id, EnvelopeRecipient.State.ARRIVED, now))
        else:
            deliveries.append((unit_id, EnvelopeRecipient.State.PENDING, None))
            onward.add(hop)
    here = any(state == EnvelopeRecipient.State.ARRIVED for _u, state, _at in deliveries)
    if here and not registry.is_known(manifest["kind"]):
        # A relay forwards what it does not know (nodes of other versions go on exchanging);
        # a kind for a unit served here must have an app to take it in.
        raise EnvelopeError(
            f"no app on this node takes payloads of kind {manifest['kind'][:64]!r} in",
            code="unknown_kind",
        )
    unfit = [n.name for n in onward if manifest["security"] != "none" and not n.secret_fit]
    if unfit:
        raise EnvelopeError(
            f"the link to node {unfit[0]} is not declared fit for secret content",
            code="link_not_fit_for_secret",
        )
    return _Plan(item, rows[manifest["sender"]][0], deliveries, onward)


def _store_many(
    items: Sequence[Incoming], *, origin: str, came_from: Node | None = None
) -> list[Outcome]:
    """Store verified envelopes together, in the caller's transaction: blobs, one row per
    envelope, one per recipient unit, one outbox row per next hop; then the receipts for
    what arrived here. Each envelope is refused on its own (the outcome at its index);
    only a storage error fails the whole batch.

    Batching is what makes a node fast: a few statements per batch instead of a dozen per
    envelope (bench/exchange.py)."""
    outcomes: list[Outcome | None] = [None] * len(items)
    wanted = {c for i in items for c in (*i.parsed.recipients, i.parsed.manifest["sender"])}
    # Only what routing needs, as plain tuples: a broadcast names all 3,321 communes.
    rows = {
        code: (unit_id, path)
        for code, unit_id, path in Unit.objects.filter(code__in=wanted).values_list(
            "code", "id", "path"
        )
    }
    now = timezone.now()
    scope = IssuerScope()
    plans: list[tuple[int, _Plan]] = []
    for index, item in enumerate(items):
        try:
            plan = _plan(item, rows, scope, came_from, now)
            # Every refusal is decided by here; what remains are storage errors.
            if not is_inline(len(item.data)):
                write_blob(item.parsed.envelope_id, item.data)
        except EnvelopeError as exc:
            outcomes[index] = exc
            continue
        plans.append((index, plan))
    if not plans:
        return [o for o in outcomes if o is not None]
    stored = _insert_envelopes(
        [
            Envelope(
                id=uuid.UUID(plan.item.parsed.envelope_id),
                kind=plan.item.parsed.manifest["kind"],
                sender_id=plan.sender_id,
                precedence=plan.item.parsed.manifest["precedence"],
                security=plan.item.parsed.manifest["security"],
                created_at=envelope.manifest_time(plan.item.parsed.manifest["created"]),
                expires_at=envelope.expires_at(plan.item.parsed.manifest),
                origin=origin,
                size=len(plan.item.data),
                sha256=plan.item.sha256,
                recipient_count=len(plan.item.parsed.recipients),
            )
            for _index, plan in plans
        ]
    )
    placed: list[tuple[Envelope, _Plan]] = []
    for (index, plan), row in zip(plans, stored, strict=True):
        outcomes[index] = row
        placed.append((row, plan))
    _insert_bytes(
        [(row.pk, plan.item.data) for row, plan in placed if is_inline(len(plan.item.data))]
    )
    _insert_deliveries([(row, plan.deliveries) for row, plan in placed])
    _queue_many([(row, plan.onward) for row, plan in placed], now)
    arrivals = [
        (row, [unit_id for unit_id, state, _at in plan.deliveries if state == "arrived"])
        for row, plan in placed
    ]
    dispatch.record_arrivals(arrivals, now)
    receipts: dict[tuple[int, int, str], list[str]] = {}
    for row, arrived_here in arrivals:
        if not arrived_here:
            continue
        if row.kind == status.RECEIPT_KIND:
            statuses.apply_receipt(row, arrived_here)
        elif row.kind == status.NON_DELIVERY_KIND:
            _apply_non_delivery(row, arrived_here)
        elif origin == Envelope.Origin.RECEIVED:
            for unit_id in arrived_here:
                key = (unit_id, row.sender_id, row.precedence)
                receipts.setdefault(key, []).append(str(row.pk))
    if receipts:
        _send_receipts(receipts, status.ARRIVED)
    return [o for o in outcomes if o is not None]


def _send_receipts(
    groups: dict[tuple[int, int, str], list[str]], code: str, *, note: str = ""
) -> list[Envelope]:
    """Each recipient unit served here tells each sender, in a signed envelope of its own,
    which of its envelopes reached it (durable like any envelope: the same outbox carries
    it). One receipt per recipient unit, sender and precedence covers a whole batch."""
    units = Unit.objects.in_bulk({k for key in groups for k in key[:2]})
    signers: dict[int, UnitSigner] = {}  # a unit's certificate checked once per call
    sealed: list[Incoming] = []
    for (unit_id, sender_id, precedence), envelope_ids in groups.items():
        unit = units[unit_id]
        payload = {
            "envelopes": envelope_ids,
            "unit": unit.code,
            "status": code,
            "at": timezone.now().strftime(envelope.TIME_FORMAT),
            **({"note": note} if note else {}),
        }
        try:
            if unit_id not in signers:
                signers[unit_id] = envelope_signer(unit)
            receipt = seal_for_units(
                kind=status.RECEIPT_KIND,
                payload=envelope.canonical_json(payload),
                sender=unit,
                recipients=[units[sender_id]],
                precedence=precedence,
                signer=signers[unit_id],
            )
        except EnvelopeError as exc:
            # No key for the unit here, or no certificate for the sender: say so, go on.
            do_record(
                "exchange.receipt_not_sent",
                unit=unit,
                object_type="envelope",
                object_id=envelope_ids[0],
                new={"code": exc.code, "status": code, "envelopes": len(envelope_ids)},
            )
            continue
        sealed.append(
            Incoming(
                envelope.parse(receipt.data, check_sender=check_sender),
                receipt.data,
                hashlib.sha256(receipt.data).hexdigest(),
            )
        )
    stored: list[Envelope] = []
    for outcome in _store_many(sealed, origin=Envelope.Origin.LOCAL):
        if isinstance(outcome, EnvelopeError):
            raise outcome  # our own receipt, refused by our own checks: a bug, not input
        stored.append(outcome)
    # Receipts carry their unit's signature like any envelope sealed here, so they are
    # recorded as sent like one (their units are in `units`: no query).
    do_record_batch(
        _sent_record(row, item, unit=units[row.sender_id], actor=None, address=None)
        for row, item in zip(stored, sealed, strict=True)
    )
    return stored


STATUS_NOTE_MAX = statuses.STATUS_NOTE_MAX


@transaction.atomic
def do_send_status(
    original: Envelope | uuid.UUID | str,
    unit: Unit,
    code: str,
    *,
    note: str = "",
    actor: Person | None = None,
    request: HttpRequest | None = None,
) -> Envelope:
    """A recipient unit served here reports how it handles `original` (registered,
    refused, assigned, in progress, done, recall answers: exchange/status.py) to the unit
    that sent it, in a signed receipt that travels like any envelope. `note` carries the
    reason of a refusal or the result of the work. The sender's delivery table shows it."""
    if not isinstance(original, Envelope):
        found = Envelope.objects.filter(pk=original).first()
        if found is None:
            raise EnvelopeError(f"no envelope {original}", code="not_a_recipient")
        original = found
    if len(note) > STATUS_NOTE_MAX:
        raise EnvelopeError(
            f"the note is longer than {STATUS_NOTE_MAX} characters", code="oversized"
        )
    delivery = EnvelopeRecipient.objects.filter(
        envelope=original, unit=unit, state=EnvelopeRecipient.State.ARRIVED
    ).first()
    if delivery is None:
        raise EnvelopeError(
            f"{unit.code} holds no arrived copy of envelope {original.pk}", code="not_a_recipient"
        )
    # The owning app's vocabulary says which codes exist and which may follow which.
    registry.check_status(original.kind, delivery.status or registry.ARRIVED, code)
    receipts = _send_receipts(
        {(unit.pk, original.sender_id, original.precedence): [str(original.pk)]}, code, note=note
    )
    if not receipts:
        raise EnvelopeError("no receipt could be sealed for this status", code="receipt_not_sent")
    # This node's own view of the recipient's status, as the sender will see it.
    EnvelopeRecipient.objects.filter(pk=delivery.pk).update(
        status=code, status_at=timezone.now(), status_note=note
    )
    do_record(
        "exchange.status_sent",
        actor=actor,
        unit=unit,
        obj=original,
        new={"status": code, "note": note[:200], "receipt": str(receipts[0].pk)},
        request=request,
    )
    return receipts[0]


def do_report_non_delivery(stored: Envelope, destination: Node, now: dt.datetime) -> int:
    """`stored` expired before `destination` took it: its recipient units behind that node
    are marked undelivered here, and, when it came from another node, the sender is told
    in a signed non-delivery report from the unit this node serves above those units.
    Returns how many recipient units were not reached."""
    router = Router()
    rows = list(
        EnvelopeRecipient.objects.filter(
            envelope=stored, state=EnvelopeRecipient.State.PENDING
        ).select_related("unit")
    )
    missed = [r for r in rows if router.next_hop_for_path(r.unit.path) == destination]
    EnvelopeRecipient.objects.filter(pk__in=[r.pk for r in missed]).update(
        state=EnvelopeRecipient.State.UNDELIVERED, status_at=now
    )
    do_record(
        "exchange.not_delivered",
        obj=stored,
        new={"to": destination.name, "units": len(missed), "reason": "expired"},
    )
    if not missed or stored.origin != Envelope.Origin.RECEIVED:
        return len(missed)  # the sender is served here: its delivery table shows it
    reporter = _reporting_unit([r.unit for r in missed])
    if reporter is None:
        do_record("exchange.non_delivery_not_sent", obj=stored, new={"code": "no_reporting_unit"})
        return len(missed)
    payload = {
        "envelope": str(stored.pk),
        "units": sorted(r.unit.code for r in missed),
        "reason": "expired",
        "at": now.strftime(envelope.TIME_FORMAT),
    }
    try:
        report = seal_for_units(
            kind=status.NON_DELIVERY_KIND,
            payload=envelope.canonical_json(payload),
            sender=reporter,
            recipients=[Unit.objects.get(pk=stored.sender_id)],
            precedence=stored.precedence,
        )
    except EnvelopeError as exc:
        do_record("exchange.non_delivery_not_sent", obj=stored, new={"code": exc.code})
        return len(missed)
    do_enqueue(report)
    return len(missed)


def _reporting_unit(units: Sequence[Unit]) -> Unit | None:
    """The unit served by this node that stands above all of `units` (it speaks for them)."""
    served = Unit.objects.filter(
        pk__in=ServedUnit.objects.filter(node__relation=Node.Relation.SELF).values("unit")
    )
    for unit in sorted(served, key=lambda u: -len(u.path)):
        if all(u.path.startswith(unit.path) for u in units):
            return unit
    return None


def _apply_non_delivery(report: Envelope, unit_ids: list[int]) -> None:
    """A non-delivery report for a unit served here (the original sender): the units named
    are marked undelivered, only if the reporting unit stands above each of them."""
    reporter = Unit.objects.get(pk=report.sender_id)
    for unit in Unit.objects.filter(pk__in=unit_ids):
        try:
            body = json.loads(decrypt_for_unit(report, unit))
            original = uuid.UUID(str(body["envelope"]))
            codes = [str(c) for c in body["units"]][: statuses.RECEIPT_MAX_ENVELOPES]
        except (EnvelopeError, ValueError, KeyError, TypeError) as exc:
            do_record(
                "exchange.receipt_refused", obj=report, unit=unit, new={"reason": str(exc)[:200]}
            )
            continue
        updated = EnvelopeRecipient.objects.filter(
            envelope_id=original,
            envelope__sender=unit,
            unit__code__in=codes,
            unit__path__startswith=reporter.path,
            state=EnvelopeRecipient.State.PENDING,
        ).update(state=EnvelopeRecipient.State.UNDELIVERED, status_at=report.created_at)
        do_record(
            "exchange.non_delivery_received" if updated else "exchange.receipt_refused",
            obj=report,
            unit=unit,
            new={"envelope": str(original), "units": len(codes), "updated": updated},
        )


# From this many rows a table gets them by COPY on PostgreSQL (as audit records do): COPY
# takes two round trips, an INSERT one, and a clerk's send or a small batch has a row or two.
COPY_FROM = 16


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Rows into `table` by COPY (PostgreSQL), in the caller's transaction. psycopg formats
    each row in C; building one array parameter per column, its Python dumpers cost more
    than the statement saved (bench/exchange.py). A duplicate key raises IntegrityError,
    as an INSERT would."""
    with connection.cursor() as cursor, connection.wrap_database_errors:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


def _insert_envelopes(rows: list[Envelope]) -> list[Envelope]:
    """Envelope rows, by COPY on PostgreSQL: the ORM's bulk_create spent a fifth of a
    batch's time preparing values."""
    if connection.vendor != "postgresql" or len(rows) < COPY_FROM:
        return Envelope.objects.bulk_create(rows)
    now = timezone.now()
    fields = list(Envelope._meta.concrete_fields)
    for row in rows:
        row.stored_at = now
    # The values as Python holds them (UUID, str, int, aware datetime): psycopg adapts them.
    _copy(
        Envelope._meta.db_table,
        [connection.ops.quote_name(f.column) for f in fields],
        ([getattr(row, f.attname) for f in fields] for row in rows),
    )
    for row in rows:
        row._state.adding = False
        row._state.db = connection.alias
    return rows


def _insert_bytes(rows: Sequence[tuple[uuid.UUID, bytes]]) -> None:
    """Small envelopes' bytes, in the storing transaction. On PostgreSQL the bytes go as
    binary parameters (two arrays, one statement): quoting them into the SQL text, as the
    ORM's client-side binding does, was the largest cost of accepting a batch."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        EnvelopeBytes.objects.bulk_create(
            EnvelopeBytes(envelope_id=envelope_id, data=data) for envelope_id, data in rows
        )
        return
    import psycopg

    table = EnvelopeBytes._meta.db_table
    with psycopg.Cursor(connection.connection) as cursor:  # server-side binding
        cursor.execute(
            f"INSERT INTO {table} (envelope_id, data) "  # noqa: S608
            "SELECT * FROM unnest(%b::uuid[], %b::bytea[])",
            [[envelope_id for envelope_id, _ in rows], [data for _, data in rows]],
        )


def _insert_deliveries(
    batch: Sequence[tuple[Envelope, list[tuple[int, str, dt.datetime | None]]]],
) -> None:
    """One row per recipient unit, inserted in a few statements: the ORM's per-object work
    was most of the cost of storing a broadcast to 3,321 communes (bench/broadcast.py)."""
    table = EnvelopeRecipient._meta.db_table
    columns = (
        "envelope_id",
        "unit_id",
        "state",
        "arrived_at",
        "status",
        "status_at",
        "status_note",
    )
    # Arrival here is status 01 in this node's own view; receipts carry it to the sender.
    if connection.vendor == "postgresql" and sum(len(d) for _s, d in batch) >= COPY_FROM:
        _copy(
            table,
            columns,
            (
                (stored.pk, unit_id, state, at, status.ARRIVED if at else "", at, "")
                for stored, deliveries in batch
                for unit_id, state, at in deliveries
            ),
        )
        return
    pk = Envelope._meta.pk
    arrived = EnvelopeRecipient._meta.get_field("arrived_at")
    rows = [
        (
            pk.get_db_prep_value(stored.pk, connection),
            unit_id,
            state,
            arrived.get_db_prep_value(at, connection),
            status.ARRIVED if at else "",
            arrived.get_db_prep_value(at, connection),
            "",
        )
        for stored, deliveries in batch
        for unit_id, state, at in deliveries
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 130):
            chunk = rows[start : start + 130]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk)),
                [value for row in chunk for value in row],
            )


OUTBOX_CHANNEL = "tiendon_outbox"


def _queue_many(batch: Sequence[tuple[Envelope, set[Node]]], now: dt.datetime) -> None:
    """One outbox row per envelope and next hop, numbered on that node's channel, in the
    caller's transaction (the transactional outbox). Each channel's counter is locked once
    per batch."""
    by_node: dict[int, list[Envelope]] = {}
    for stored, nodes in batch:
        for node in nodes:
            by_node.setdefault(node.pk, []).append(stored)
    if not by_node:
        return
    if connection.vendor == "postgresql":
        _queue_numbered(by_node, now)
        return
    items: list[OutboxItem] = []
    for node_id in sorted(by_node):
        envelopes = by_node[node_id]
        first = _take_channel_numbers(node_id, len(envelopes))
        items.extend(
            OutboxItem(
                envelope=stored,
                destination_id=node_id,
                seq=first + offset,
                rank=PRECEDENCE_RANK[stored.precedence],
                next_attempt_at=now,
            )
            for offset, stored in enumerate(envelopes)
        )
    OutboxItem.objects.bulk_create(items)


def _queue_numbered(by_node: dict[int, list[Envelope]], now: dt.datetime) -> None:
    """PostgreSQL: each node's counter taken and its outbox rows inserted in one statement.

    Senders to one node queue one after the other (its counter stays locked until the
    sender commits), so what runs after the counter is taken is kept to that statement,
    the audit append and the commit: under load each round trip there was a wait for
    every other sender (bench/exchange.py). The NOTIFY goes first for the same reason;
    PostgreSQL delivers it at commit either way, and wakes idle workers
    (worker.wait_for_work)."""
    node_table = connection.ops.quote_name(Node._meta.db_table)
    outbox_table = connection.ops.quote_name(OutboxItem._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"NOTIFY {OUTBOX_CHANNEL}")
        for node_id in sorted(by_node):
            envelopes = by_node[node_id]
            count = len(envelopes)
            cursor.execute(
                f"WITH counter AS (UPDATE {node_table} SET out_seq = out_seq + %s "  # noqa: S608
                "WHERE id = %s RETURNING out_seq - %s AS base) "
                f"INSERT INTO {outbox_table} (envelope_id, destination_id, seq, rank, state, "
                "attempts, next_attempt_at, last_error, created_at) "
                "SELECT t.envelope_id, %s, counter.base + t.n, t.rank, %s, 0, %s, '', %s "
                "FROM counter, unnest(%s::uuid[], %s::smallint[]) "
                "WITH ORDINALITY AS t(envelope_id, rank, n)",
                [
                    count,
                    node_id,
                    count,
                    node_id,
                    OutboxItem.State.QUEUED.value,
                    now,
                    now,
                    [stored.pk for stored in envelopes],
                    [PRECEDENCE_RANK[stored.precedence] for stored in envelopes],
                ],
            )
            if cursor.rowcount != count:
                raise Node.DoesNotExist(f"node {node_id} is gone")


def _take_channel_numbers(node_id: int, count: int) -> int:
    """The first of `count` channel numbers to `node_id`, taken in the caller's transaction
    (the write holds until it commits, so the numbers have no gaps). SQLite only: on
    PostgreSQL `_queue_numbered` takes them in the statement that inserts the items."""
    table = connection.ops.quote_name(Node._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET out_seq = out_seq + %s WHERE id = %s RETURNING out_seq",  # noqa: S608
            [count, node_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Node.DoesNotExist(f"node {node_id} is gone")
    return int(row[0]) - count + 1


def do_enqueue(
    sealed: Sealed,
    *,
    actor: Person | None = None,
    request: HttpRequest | None = None,
) -> Envelope:
    """Store an envelope this node sealed; it goes through the same checks as any other."""
    (stored,) = do_enqueue_many([sealed], actor=actor, request=request)
    return stored


@transaction.atomic
def do_enqueue_many(
    sealed: Sequence[Sealed],
    *,
    actor: Person | None = None,
    request: HttpRequest | None = None,
) -> list[Envelope]:
    """Store envelopes this node sealed, in one transaction: all or none."""
    checker = _memoised(check_sender)
    items = [
        Incoming(
            envelope.parse(s.data, check_sender=checker), s.data, hashlib.sha256(s.data).hexdigest()
        )
        for s in sealed
    ]
    stored: list[Envelope] = []
    for outcome in _store_many(items, origin=Envelope.Origin.LOCAL):
        if isinstance(outcome, EnvelopeError):
            raise outcome
        stored.append(outcome)
    address = client_address(request)
    senders = _senders(stored)
    do_record_batch(
        _sent_record(row, item, unit=senders[row.sender_id], actor=actor, address=address)
        for row, item in zip(stored, items, strict=True)
    )
    return stored


def _sent_record(
    row: Envelope, item: Incoming, *, unit: Unit, actor: Person | None, address: str | None
) -> AuditEntry:
    """`exchange.envelope_sent` for an envelope sealed here. It is also the audit record of
    the unit signature the envelope carries (`sender_for` signs without one of its own):
    the purpose and the serial of the certificate (which names the key and its keystore),
    read from the envelope itself; the envelope's SHA-256 is on its row. One record per
    envelope, as before: a separate `pki.unit_signature` row per envelope would double the
    audit writes of the hot path."""
    certificate, _code = _sender_certificate(item.parsed.sender_certificate_der)
    return AuditEntry(
        action="exchange.envelope_sent",
        actor=actor,
        unit=unit,
        obj=row,
        new={
            "kind": row.kind,
            "recipients": row.recipient_count,
            "precedence": row.precedence,
            "security": row.security,
            "size": row.size,
            "signature": {"purpose": ENVELOPE_SIGNING, "serial": f"{certificate.serial_number:x}"},
        },
        client_address=address,
    )


def do_send_envelope(
    *,
    kind: str,
    payload: bytes,
    sender: Unit,
    recipients: Sequence[Unit],
    precedence: str = "thuong",
    security: str = "none",
    actor: Person | None = None,
    request: HttpRequest | None = None,
) -> Envelope:
    sealed = seal_for_units(
        kind=kind,
        payload=payload,
        sender=sender,
        recipients=recipients,
        precedence=precedence,
        security=security,
        actor=actor,
    )
    return do_enqueue(sealed, actor=actor, request=request)


SenderCheck = Callable[[bytes, tuple[bytes, ...]], None]


def _memoised(check: SenderCheck) -> SenderCheck:
    """`check` once per distinct certificate and chain in a batch: a batch is judged
    against one revocation state, the one at its arrival."""
    seen: dict[tuple[bytes, tuple[bytes, ...]], EnvelopeError | None] = {}

    def memo(certificate_der: bytes, chain_der: tuple[bytes, ...]) -> None:
        key = (certificate_der, chain_der)
        if key not in seen:
            try:
                check(certificate_der, chain_der)
                seen[key] = None
            except EnvelopeError as exc:
                seen[key] = exc
        refused = seen[key]
        if refused is not None:
            raise EnvelopeError(refused.message, code=refused.code)

    return memo


def do_accept_envelope(
    data: bytes,
    *,
    via: str = "",
    came_from: Node | None = None,
    request: HttpRequest | None = None,
) -> Envelope:
    """Take one envelope from another node (see `do_accept_batch`); raise its refusal."""
    (outcome,) = do_accept_batch([data], via=via, came_from=came_from, request=request)
    if isinstance(outcome, EnvelopeError):
        raise outcome
    return outcome


def do_accept_batch(
    batch: Sequence[bytes],
    *,
    via: str = "",
    came_from: Node | None = None,
    request: HttpRequest | None = None,
) -> list[Outcome]:
    """Take envelopes from another node: verify each, store each once, or refuse it with a
    reason. Returns, in order, the stored envelope or the refusal for each.

    A repeated delivery of the same bytes is acknowledged and ignored (idempotent by id);
    the same id with other bytes is refused as a replay. `came_from` is the neighbour that
    handed them over: recipients it routes to are left to it, never sent back. Every
    refusal is audited; nothing of a refused envelope is stored.
    """
    outcomes: list[Outcome | None] = [None] * len(batch)
    checker = _memoised(check_sender)
    fresh: dict[str, tuple[int, Incoming]] = {}
    duplicates: list[tuple[int, int]] = []  # (index, index of its first copy)
    for index, data in enumerate(batch):
        sha256 = hashlib.sha256(data).hexdigest()
        try:
            parsed = envelope.parse(data, check_sender=checker)
            _require_fit_for(parsed.manifest["security"], actor=None, what=f"accept from {via}")
        except EnvelopeError as exc:
            outcomes[index] = exc
            continue
        earlier = fresh.get(parsed.envelope_id)
        if earlier is not None:
            if earlier[1].sha256 != sha256:
                outcomes[index] = _replay(parsed.envelope_id)
            else:
                duplicates.append((index, earlier[0]))
            continue
        fresh[parsed.envelope_id] = (index, Incoming(parsed, data, sha256))
    for attempt in range(2):
        held = Envelope.objects.in_bulk(list(fresh))
        for envelope_id, row in held.items():
            index, item = fresh.pop(str(envelope_id))
            outcomes[index] = row if row.sha256 == item.sha256 else _replay(item.parsed.envelope_id)
        pending = list(fresh.values())
        try:
            with transaction.atomic():
                stored = _store_many(
                    [item for _index, item in pending],
                    origin=Envelope.Origin.RECEIVED,
                    came_from=came_from,
                )
                address = client_address(request)
                senders = _senders(stored)
                do_record_batch(
                    AuditEntry(
                        action="exchange.envelope_received",
                        unit=senders[row.sender_id],
                        obj=row,
                        new={"kind": row.kind, "via": via, "size": row.size},
                        client_address=address,
                    )
                    for row in stored
                    if isinstance(row, Envelope)
                )
        except IntegrityError:
            # Some of these arrived at once on another connection, which committed first:
            # take what it stored, and store the rest.
            if attempt == 1:
                raise
            continue
        for (index, _item), outcome in zip(pending, stored, strict=True):
            outcomes[index] = outcome
        break
    for index, first in duplicates:
        outcomes[index] = outcomes[first]
    _audit_refusals(batch, outcomes, via=via, request=request)
    decided = [o for o in outcomes if o is not None]
    assert len(decided) == len(batch), "every envelope of a batch is stored or refused"
    return decided


def _senders(outcomes: Sequence[Outcome]) -> dict[int, Unit]:
    """The sending units, for the audit records (which keep only their ids): the rows were
    just looked up by `_store_many`, so no query."""
    return {
        unit_id: Unit(pk=unit_id)
        for unit_id in {o.sender_id for o in outcomes if isinstance(o, Envelope)}
    }


def _replay(envelope_id: str) -> EnvelopeError:
    return EnvelopeError(
        f"envelope {envelope_id} is already held with other content", code="replay"
    )


def _audit_refusals(
    batch: Sequence[bytes],
    outcomes: Sequence[Outcome | None],
    *,
    via: str,
    request: HttpRequest | None,
) -> None:
    address = client_address(request)
    do_record_batch(
        AuditEntry(
            action="exchange.envelope_refused",
            object_type="envelope",
            object_id=hashlib.sha256(data).hexdigest()[:64],
            new={"code": exc.code, "reason": exc.message[:300], "size": len(data), "via": via},
            client_address=address,
        )
        for data, exc in zip(batch, outcomes, strict=True)
        if isinstance(exc, EnvelopeError)
    )


def do_hand_over_arrivals() -> int:
    """Hand every waiting arrival to its handler now, until none waits (the demo's seed and
    tools; a node runs the dispatcher as its own process). Returns how many were handed."""
    return dispatch.run_until_idle()
