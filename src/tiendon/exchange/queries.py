"""Reads of envelopes: who may see one, and opening a payload for an authorised person."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, Count, F, Max, Min, Q, QuerySet, Value
from django.db.models.expressions import Case, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from tiendon.audit.actions import do_record
from tiendon.errors import OutOfScope
from tiendon.exchange import envelope
from tiendon.exchange.blobs import read_blob
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.models import CLEARANCE_FOR_LABEL, Envelope, EnvelopeRecipient, Handoff
from tiendon.exchange.models_transport import Node, OutboxItem, ServedUnit
from tiendon.exchange.status import ARRIVED
from tiendon.pki.keystore import SoftwareKeystore
from tiendon.pki.models import Certificate, CertPurpose
from tiendon.units.models import Person, Unit


def inbox(person: Person, *, kinds: Iterable[str] | None = None) -> QuerySet[EnvelopeRecipient]:
    """What has arrived for the person's own unit (of `kinds`, if given)."""
    rows = EnvelopeRecipient.objects.filter(unit=person.unit, state=EnvelopeRecipient.State.ARRIVED)
    if kinds is not None:
        rows = rows.filter(envelope__kind__in=list(kinds))
    return rows.select_related("envelope", "envelope__sender").order_by("-arrived_at")


def get_openable_envelope(person: Person, envelope_id: str) -> Envelope:
    """The envelope, if the person's unit is a recipient and their clearance suffices."""
    stored = Envelope.objects.filter(pk=envelope_id).first() if _is_uuid(envelope_id) else None
    if (
        stored is None
        or not stored.deliveries.filter(
            unit=person.unit, state=EnvelopeRecipient.State.ARRIVED
        ).exists()
        or person.clearance < CLEARANCE_FOR_LABEL[stored.security]
    ):
        raise OutOfScope("envelope", envelope_id)
    return stored


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def open_payload(person: Person, envelope_id: str, *, request: HttpRequest | None = None) -> bytes:
    """Decrypt an envelope's payload for an authorised person of a recipient unit (audited)."""
    stored = get_openable_envelope(person, envelope_id)
    payload = decrypt_for_unit(stored, person.unit)
    do_record(
        "exchange.payload_opened", actor=person, obj=stored, unit=person.unit, request=request
    )
    return payload


def decrypt_for_unit(stored: Envelope, unit: Unit) -> bytes:
    """The payload, opened with the unit's encryption keys held here (rotated ones too).
    Callers decide who may see it: `open_payload` for people, the receipt handler inside."""
    data = read_blob(str(stored.pk))
    if hashlib.sha256(data).hexdigest() != stored.sha256:
        raise EnvelopeError(
            f"the stored envelope {stored.pk} differs from what arrived", code="stored_altered"
        )
    # Verified at arrival (signature, sender's certificate as revocation then stood, hashes),
    # and these are the bytes verified then: not verified again.
    parsed = envelope.parse_stored(data)
    wanted = {w.kid for w in parsed.wraps if w.recipient == unit.code}
    keystore = SoftwareKeystore()
    opened = {}
    for cert in Certificate.objects.filter(
        unit=unit, person=None, purpose=CertPurpose.UNIT_ENCRYPTION
    ).select_related("key"):
        kid = envelope.key_id(bytes(cert.certificate_der))
        if kid in wanted:
            opened[kid] = keystore.private_key(cert.key)
    return envelope.open_for(parsed, recipient=unit.code, keys=opened)


def envelopes_by_state() -> dict[str, int]:
    """For `tiendon stats`: envelopes held, and deliveries to recipient units by state."""
    counts = dict(EnvelopeRecipient.objects.values_list("state").annotate(n=Count("id")))
    figures = {"envelopes": Envelope.objects.count()}
    figures.update({f"deliveries_{s}": counts.get(s, 0) for s in EnvelopeRecipient.State.values})
    return figures


def outbox_by_destination(now: dt.datetime | None = None) -> dict[str, int]:
    """For `tiendon stats`: per next node, envelopes waiting for it and the age in seconds
    of the oldest (what an operator watches when a commune's link is down)."""
    now = now or timezone.now()
    waiting = (
        OutboxItem.objects.filter(state__in=[OutboxItem.State.QUEUED, OutboxItem.State.SENDING])
        .values_list("destination__name")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .order_by("destination__name")
    )
    figures: dict[str, int] = {}
    for name, count, oldest in waiting:
        figures[f"{name}.waiting"] = count
        figures[f"{name}.oldest_undelivered_s"] = int((now - oldest).total_seconds())
    figures["expired"] = OutboxItem.objects.filter(state=OutboxItem.State.EXPIRED).count()
    return figures


@dataclass(frozen=True)
class DeliveryStatus:
    unit_id: int
    arrived_at: dt.datetime | None
    status: str
    status_at: dt.datetime | None
    status_note: str


def delivery_statuses(
    envelope_id: uuid.UUID | str, unit_ids: list[int] | None = None
) -> list[DeliveryStatus]:
    """Each recipient unit's delivery of an envelope as this node knows it: arrival, and the
    latest status reported (for an envelope the caller has checked the viewer may see)."""
    rows = EnvelopeRecipient.objects.filter(envelope_id=envelope_id)
    if unit_ids is not None:
        rows = rows.filter(unit_id__in=unit_ids)
    return [
        DeliveryStatus(*row)
        for row in rows.values_list("unit_id", "arrived_at", "status", "status_at", "status_note")
    ]


@dataclass(frozen=True)
class OpenableDelivery:
    """An envelope delivered to a person's unit, as the app that owns its kind needs it."""

    envelope_id: uuid.UUID
    kind: str
    sender_code: str
    sender_name: str
    precedence: str
    security: str
    arrived_at: dt.datetime | None


def openable_delivery(
    person: Person, envelope_id: str, *, kinds: frozenset[str] | None = None
) -> OpenableDelivery:
    """What arrived for the person's unit under `envelope_id`, if their clearance suffices
    (and its kind is among `kinds`); else OutOfScope, like another unit's envelope."""
    stored = get_openable_envelope(person, str(envelope_id))
    if kinds is not None and stored.kind not in kinds:
        raise OutOfScope("envelope", str(envelope_id))
    arrived_at = (
        stored.deliveries.filter(unit=person.unit).values_list("arrived_at", flat=True).first()
    )
    return OpenableDelivery(
        envelope_id=stored.pk,
        kind=stored.kind,
        sender_code=stored.sender.code,
        sender_name=stored.sender.name,
        precedence=stored.precedence,
        security=stored.security,
        arrived_at=arrived_at,
    )


def envelopes_delivered_to(unit_id: int, clearance: int) -> QuerySet[EnvelopeRecipient, Any]:
    """The ids (a subquery) of envelopes that arrived for the unit, of labels a person of
    that clearance may open."""
    cleared = [label for label, level in CLEARANCE_FOR_LABEL.items() if level <= clearance]
    return EnvelopeRecipient.objects.filter(
        unit=unit_id, state=EnvelopeRecipient.State.ARRIVED, envelope__security__in=cleared
    ).values("envelope")


def last_sent_at(unit: Unit) -> dt.datetime | None:
    """When the unit last sent an envelope (None: never); rollout readiness shows it."""
    sent = Envelope.objects.filter(sender=unit)
    last: dt.datetime | None = sent.aggregate(t=Max("created_at"))["t"]
    return last


def last_received_at(unit: Unit) -> dt.datetime | None:
    """When an envelope last arrived for the unit (None: never); rollout readiness shows it."""
    arrived = EnvelopeRecipient.objects.filter(unit=unit, state=EnvelopeRecipient.State.ARRIVED)
    last: dt.datetime | None = arrived.aggregate(t=Max("arrived_at"))["t"]
    return last


def serving_node(unit: Unit) -> Node | None:
    """The edge node listed as serving the unit itself (None: no node serves it directly),
    with its name and last heartbeat; rollout readiness shows them."""
    served = ServedUnit.objects.select_related("node").filter(unit=unit).first()
    return served.node if served else None


# What a recipient's delivery shows as its status: the last status it reported, or 01 once
# the envelope reached it (a local delivery sends no receipt for 01), or nothing yet.
EFFECTIVE_STATUS = Case(
    When(~Q(status=""), then=F("status")),
    When(state=EnvelopeRecipient.State.ARRIVED, then=Value(ARRIVED)),
    default=Value(""),
    output_field=CharField(),
)
EFFECTIVE_TIME = Coalesce(F("status_at"), F("arrived_at"))


def deliveries_of(envelope_id: uuid.UUID | str) -> QuerySet[Any, Any]:
    """An envelope's recipient units, each with `code` (its effective status) and `at`
    (when it was reported), for the sender's tables; counted and paged by the caller, for
    an envelope the caller has checked the viewer may see."""
    return EnvelopeRecipient.objects.filter(envelope_id=envelope_id).annotate(
        code=EFFECTIVE_STATUS, at=EFFECTIVE_TIME
    )


def statuses_reported(since: dt.datetime | None = None) -> QuerySet[EnvelopeRecipient]:
    """Deliveries whose recipient unit reported a processing status of its own (anything
    past the transport's 01) — since `since`, if given. Filter by unit (an OuterRef too)."""
    rows = EnvelopeRecipient.objects.filter(state=EnvelopeRecipient.State.ARRIVED).exclude(
        status__in=["", ARRIVED]
    )
    return rows if since is None else rows.filter(status_at__gte=since)


def recipient_units(envelope_id: uuid.UUID | str) -> tuple[str, list[Unit]]:
    """An envelope's precedence and its recipient units, by code (to answer it, or to
    recall it from every one of them)."""
    original = Envelope.objects.get(pk=envelope_id)
    units = Unit.objects.filter(
        pk__in=EnvelopeRecipient.objects.filter(envelope=original).values("unit")
    ).order_by("code")
    return original.precedence, list(units)


def handoffs_by_kind() -> dict[str, dict[str, int]]:
    """For `tiendon stats` and the node's page: per payload kind, the arrived deliveries
    waiting for their handler (of which `failing`: tried and put back), and those handled."""
    figures: dict[str, dict[str, int]] = {}
    for kind, state, failing, n in (
        Handoff.objects.annotate(failing=Q(attempts__gt=0))
        .values_list("kind", "state", "failing")
        .annotate(n=Count("id"))
        .order_by()
    ):
        row = figures.setdefault(kind, {"waiting": 0, "failing": 0, "done": 0})
        row[state] += n
        if state == Handoff.State.WAITING and failing:
            row["failing"] += n
    return figures


def failing_handoffs(limit: int = 50) -> list[Handoff]:
    """Deliveries whose handler failed and waits to be tried again, oldest first."""
    return list(
        Handoff.objects.filter(state=Handoff.State.WAITING, attempts__gt=0)
        .select_related("unit", "envelope__sender")
        .order_by("pk")[:limit]
    )


def handoff_totals(now: dt.datetime | None = None) -> dict[str, int | None]:
    """For `tiendon stats`: arrived deliveries waiting for their app's handler, of which
    failing (tried and put back), handled, and the age of the oldest waiting, in seconds."""
    now = now or timezone.now()
    totals: dict[str, int | None] = {"waiting": 0, "failing": 0, "done": 0}
    for row in handoffs_by_kind().values():
        for key in ("waiting", "failing", "done"):
            totals[key] = (totals[key] or 0) + row[key]
    oldest = (
        Handoff.objects.filter(state=Handoff.State.WAITING)
        .aggregate(t=Min("envelope__stored_at"))
        .get("t")
    )
    totals["oldest_waiting_s"] = None if oldest is None else int((now - oldest).total_seconds())
    return totals
