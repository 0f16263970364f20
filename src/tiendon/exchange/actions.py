"""Sending and accepting envelopes: every delivery, local or from another node, comes here.

`seal_for_units` does the cryptography (sender's key through the keystore, each recipient
unit's current encryption certificate); `do_enqueue` stores the result; `do_accept_envelope`
takes an envelope from outside. Each refusal is audited with its reason code and nothing
of a refused envelope is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence

from cryptography import x509
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from tiendon.audit.actions import do_record
from tiendon.exchange import envelope, status
from tiendon.exchange.blobs import write_blob
from tiendon.exchange.envelope import EnvelopeError, Parsed, Sealed
from tiendon.exchange.models import Envelope, EnvelopeRecipient
from tiendon.exchange.models_transport import PRECEDENCE_RANK, Node, OutboxItem
from tiendon.exchange.queries import decrypt_for_unit
from tiendon.exchange.routing import Router
from tiendon.pki.errors import CertificateRefused
from tiendon.pki.keystore import keystore_for
from tiendon.pki.models import CertificateAuthority, CertPurpose, DirectoryEntry
from tiendon.pki.queries import current_certificates
from tiendon.pki.validation import validate_certificate
from tiendon.units.models import Person, Unit


def sender_for(unit: Unit) -> envelope.Sender:
    """The unit's current signing certificate, its chain, and its key's `sign`."""
    cert = (
        current_certificates(unit=unit, purpose=CertPurpose.UNIT_SIGNING, person=None)
        .select_related("key", "key__token", "issuer")
        .order_by("-issued_at")
        .first()
    )
    if cert is None:
        raise EnvelopeError(
            f"{unit.code} has no current signing certificate", code="no_signing_certificate"
        )
    chain: list[bytes] = []
    authority: CertificateAuthority | None = cert.issuer
    while authority is not None:
        chain.append(bytes(authority.certificate_der))
        authority = authority.parent
    key = cert.key
    keystore = keystore_for(key)
    return envelope.Sender(
        code=unit.code,
        certificate_der=bytes(cert.certificate_der),
        chain_der=tuple(chain),
        sign=lambda data: keystore.sign(key, data),
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
) -> Sealed:
    """The cryptography of sending: encrypt once, wrap per recipient unit, sign."""
    _require_fit_for(security, actor=actor, what=f"send {kind}")
    return envelope.seal(
        payload,
        kind=kind,
        sender=sender_for(sender),
        recipients=_recipients(recipients),
        precedence=precedence,
        security=security,
    )


def check_sender(certificate_der: bytes, chain_der: tuple[bytes, ...]) -> None:
    """The sender's certificate must validate now, for signing (revocation included)."""
    try:
        validate_certificate(certificate_der, usage="signing")
    except CertificateRefused as exc:
        raise EnvelopeError(
            f"the sender's certificate is refused: {exc.message}", code=f"sender_{exc.code}"
        ) from exc


def _sender_code(parsed: Parsed) -> str:
    cert = x509.load_der_x509_certificate(parsed.sender_certificate_der)
    serials = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return str(serials[0].value) if serials else ""


def _store(
    parsed: Parsed, data: bytes, *, origin: str, sha256: str, came_from: Node | None = None
) -> Envelope:
    manifest = parsed.manifest
    if _sender_code(parsed) != manifest["sender"]:
        raise EnvelopeError(
            "the manifest names a sender other than the signing certificate's unit",
            code="sender_mismatch",
        )
    codes = parsed.recipients
    # Only what routing needs, as plain tuples: a broadcast names all 3,321 communes.
    rows = {
        code: (unit_id, path)
        for code, unit_id, path in Unit.objects.filter(
            code__in=[*codes, manifest["sender"]]
        ).values_list("code", "id", "path")
    }
    unknown = [c for c in codes if c not in rows]
    if unknown or manifest["sender"] not in rows:
        raise EnvelopeError(
            f"unknown unit codes: {', '.join((unknown or [manifest['sender']])[:10])}",
            code="misaddressed",
        )
    now = timezone.now()
    router = Router()
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
    unfit = [n.name for n in onward if manifest["security"] != "none" and not n.secret_fit]
    if unfit:
        raise EnvelopeError(
            f"the link to node {unfit[0]} is not declared fit for secret content",
            code="link_not_fit_for_secret",
        )
    # Every refusal is decided above: from here on, only storage errors remain.
    write_blob(parsed.envelope_id, data)
    stored = Envelope.objects.create(
        id=uuid.UUID(parsed.envelope_id),
        kind=manifest["kind"],
        sender_id=rows[manifest["sender"]][0],
        precedence=manifest["precedence"],
        security=manifest["security"],
        created_at=envelope.manifest_time(manifest["created"]),
        expires_at=envelope.expires_at(manifest),
        origin=origin,
        size=len(data),
        sha256=sha256,
        recipient_count=len(codes),
    )
    _insert_deliveries(stored, deliveries)
    for node in sorted(onward, key=lambda n: n.pk):
        _queue(stored, node, now)
    arrived_here = [unit_id for unit_id, state, _at in deliveries if state == "arrived"]
    if stored.kind == status.RECEIPT_KIND:
        _apply_receipt(stored, arrived_here)
    elif origin == Envelope.Origin.RECEIVED and arrived_here:
        _send_receipts(stored, arrived_here, status.ARRIVED)
    return stored


def _send_receipts(stored: Envelope, unit_ids: list[int], code: str) -> None:
    """Each recipient unit served here tells the sender, in a signed envelope of its own,
    that the envelope reached it (durable like any envelope: the same outbox carries it)."""
    sender = Unit.objects.get(pk=stored.sender_id)
    for unit in Unit.objects.filter(pk__in=unit_ids):
        payload = {
            "envelope": str(stored.pk),
            "unit": unit.code,
            "status": code,
            "at": timezone.now().strftime(envelope.TIME_FORMAT),
        }
        try:
            sealed = seal_for_units(
                kind=status.RECEIPT_KIND,
                payload=envelope.canonical_json(payload),
                sender=unit,
                recipients=[sender],
                precedence=stored.precedence,
            )
        except EnvelopeError as exc:
            # No key for the unit here, or no certificate for the sender: say so, go on.
            do_record(
                "exchange.receipt_not_sent",
                unit=unit,
                obj=stored,
                new={"code": exc.code, "status": code},
            )
            continue
        _store(
            envelope.parse(sealed.data, check_sender=check_sender),
            sealed.data,
            origin=Envelope.Origin.LOCAL,
            sha256=hashlib.sha256(sealed.data).hexdigest(),
        )


def _apply_receipt(receipt: Envelope, unit_ids: list[int]) -> None:
    """A receipt for a unit served here (the original sender): record the status it reports
    on the original envelope's delivery to the unit that signed it."""
    for unit in Unit.objects.filter(pk__in=unit_ids):
        try:
            report = json.loads(decrypt_for_unit(receipt, unit))
            reporter = str(report["unit"])
            code = str(report["status"])
            original = uuid.UUID(str(report["envelope"]))
        except (EnvelopeError, ValueError, KeyError, TypeError) as exc:
            do_record(
                "exchange.receipt_refused", obj=receipt, unit=unit, new={"reason": str(exc)[:200]}
            )
            continue
        # Only the unit that signed the receipt may report on its own delivery, and only
        # to the unit that sent the original.
        updated = (
            EnvelopeRecipient.objects.filter(
                envelope_id=original,
                envelope__sender=unit,
                unit__code=reporter,
            )
            .filter(unit_id=receipt.sender_id)
            .update(status=code, status_at=receipt.created_at)
        )
        do_record(
            "exchange.status_received" if updated else "exchange.receipt_refused",
            obj=receipt,
            unit=unit,
            new={"envelope": str(original), "unit": reporter, "status": code},
        )


def _insert_deliveries(
    stored: Envelope, deliveries: list[tuple[int, str, dt.datetime | None]]
) -> None:
    """One row per recipient unit, inserted in a few statements: the ORM's per-object work
    was most of the cost of storing a broadcast to 3,321 communes (bench/broadcast.py)."""
    table = EnvelopeRecipient._meta.db_table
    envelope_id = Envelope._meta.pk.get_db_prep_value(stored.pk, connection)
    arrived = EnvelopeRecipient._meta.get_field("arrived_at")
    # Arrival here is status 01 in this node's own view; receipts carry it to the sender.
    rows = [
        (
            envelope_id,
            unit_id,
            state,
            arrived.get_db_prep_value(at, connection),
            status.ARRIVED if at else "",
            arrived.get_db_prep_value(at, connection),
        )
        for unit_id, state, at in deliveries
    ]
    columns = "envelope_id, unit_id, state, arrived_at, status, status_at"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Six array parameters instead of thousands of placeholders for the driver to parse.
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT %s, * FROM unnest("  # noqa: S608
                "%s::bigint[], %s::text[], %s::timestamptz[], %s::text[], %s::timestamptz[])",
                [envelope_id, *(list(column) for column in list(zip(*rows, strict=True))[1:])],
            )
            return
        for start in range(0, len(rows), 400):
            chunk = rows[start : start + 400]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
                + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk)),
                [value for row in chunk for value in row],
            )


def _queue(stored: Envelope, node: Node, now: dt.datetime) -> OutboxItem:
    """One outbox row per next hop, numbered on that node's channel (in the caller's
    transaction: the transactional outbox)."""
    locked = Node.objects.select_for_update().get(pk=node.pk)
    locked.out_seq += 1
    locked.save(update_fields=["out_seq"])
    return OutboxItem.objects.create(
        envelope=stored,
        destination=locked,
        seq=locked.out_seq,
        rank=PRECEDENCE_RANK[stored.precedence],
        next_attempt_at=now,
    )


@transaction.atomic
def do_enqueue(
    sealed: Sealed,
    *,
    actor: Person | None = None,
    request: HttpRequest | None = None,
) -> Envelope:
    """Store an envelope this node sealed; it goes through the same checks as any other."""
    parsed = envelope.parse(sealed.data, check_sender=check_sender)
    stored = _store(
        parsed,
        sealed.data,
        origin=Envelope.Origin.LOCAL,
        sha256=hashlib.sha256(sealed.data).hexdigest(),
    )
    do_record(
        "exchange.envelope_sent",
        actor=actor,
        unit=stored.sender,
        obj=stored,
        new={
            "kind": stored.kind,
            "recipients": stored.recipient_count,
            "precedence": stored.precedence,
            "security": stored.security,
            "size": stored.size,
        },
        request=request,
    )
    return stored


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


def _already_held(envelope_id: str, sha256: str) -> Envelope | None:
    """The envelope if held with these very bytes; a `replay` refusal if with others."""
    existing = Envelope.objects.filter(pk=envelope_id).first()
    if existing is not None and existing.sha256 != sha256:
        raise EnvelopeError(
            f"envelope {envelope_id} is already held with other content", code="replay"
        )
    return existing


def do_accept_envelope(
    data: bytes,
    *,
    via: str = "",
    came_from: Node | None = None,
    request: HttpRequest | None = None,
) -> Envelope:
    """Take an envelope from another node: verify, store once, or refuse with a reason.

    A repeated delivery of the same bytes is acknowledged and ignored (idempotent by id);
    the same id with other bytes is refused as a replay. `came_from` is the neighbour that
    handed it over: recipients it routes to are left to it, never sent back.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        parsed = envelope.parse(data, check_sender=check_sender)
        existing = _already_held(parsed.envelope_id, sha256)
        if existing is not None:
            return existing
        _require_fit_for(parsed.manifest["security"], actor=None, what=f"accept from {via}")
        try:
            with transaction.atomic():
                stored = _store(
                    parsed,
                    data,
                    origin=Envelope.Origin.RECEIVED,
                    sha256=sha256,
                    came_from=came_from,
                )
                do_record(
                    "exchange.envelope_received",
                    unit=stored.sender,
                    obj=stored,
                    new={"kind": stored.kind, "via": via, "size": stored.size},
                    request=request,
                )
        except IntegrityError:
            # The same id arrived twice at once and the other delivery committed first.
            held = _already_held(parsed.envelope_id, sha256)
            if held is None:
                raise
            return held
        return stored
    except EnvelopeError as exc:
        do_record(
            "exchange.envelope_refused",
            object_type="envelope",
            object_id=sha256[:64],
            new={"code": exc.code, "reason": exc.message[:300], "size": len(data), "via": via},
            request=request,
        )
        raise
