"""Reads of certificates and tokens, with unit scope enforced here."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.utils import timezone

from tiendon.errors import OutOfScope
from tiendon.pki.models import Certificate, CertPurpose, Token
from tiendon.units.models import Person, Unit
from tiendon.units.queries import can_see_unit


def current_certificates(**filters: object) -> QuerySet[Certificate]:
    """Certificates in use: valid state and not replaced by a newer pair (rotation)."""
    return Certificate.objects.filter(
        state=Certificate.State.VALID, superseded_at__isnull=True, **filters
    )


def current_for_unit(unit: Unit) -> QuerySet[Certificate]:
    return current_certificates(unit=unit, person=None)


def published_certificates(code: str) -> list[Certificate] | None:
    """The directory entry of a unit: its current certificates, or None if no such unit."""
    unit = Unit.objects.filter(code=code).first()
    if unit is None:
        return None
    return list(current_for_unit(unit).order_by("purpose"))


def certificates_of_unit(viewer: Person, unit: Unit) -> QuerySet[Certificate]:
    """Every certificate of a unit (and of its people), for a viewer whose scope holds it."""
    if not can_see_unit(viewer, unit):
        raise OutOfScope("unit", unit.code)
    return (
        Certificate.objects.filter(unit=unit)
        .select_related("key", "key__token", "person")
        .order_by("-issued_at")
    )


def get_visible_certificate(viewer: Person, serial: str) -> Certificate:
    cert = Certificate.objects.select_related("unit", "issuer").filter(serial=serial).first()
    if cert is None or not can_see_unit(viewer, cert.unit):
        raise OutOfScope("certificate", serial)
    return cert


def certificates_by_state() -> dict[str, int]:
    """For `tiendon stats`: current, superseded (rotated), expired, revoked."""
    now = timezone.now()
    revoked = Certificate.objects.filter(state=Certificate.State.REVOKED).count()
    valid = Certificate.objects.filter(state=Certificate.State.VALID)
    expired = valid.filter(not_after__lt=now).count()
    superseded = valid.filter(not_after__gte=now, superseded_at__isnull=False).count()
    current = valid.filter(not_after__gte=now, superseded_at__isnull=True).count()
    return {
        "current": current,
        "superseded": superseded,
        "expired": expired,
        "revoked": revoked,
        "total": current + superseded + expired + revoked,
    }


def units_with_current_certificate_on_token() -> QuerySet[Unit]:
    """Units whose current signing certificate's key is on a token (readiness reads this)."""
    on_token = Certificate.objects.filter(
        person=None,
        purpose=CertPurpose.UNIT_SIGNING,
        state=Certificate.State.VALID,
        superseded_at__isnull=True,
        not_after__gt=timezone.now(),
        key__token__isnull=False,
        key__token__state=Token.State.ISSUED,
    )
    return Unit.objects.filter(pk__in=on_token.values("unit_id"))


def tokens_issued_to(unit: Unit) -> int:
    """Crypto tokens issued to the unit (or its people) and not lost or retired."""
    return Token.objects.filter(unit=unit, state=Token.State.ISSUED).count()


def tokens_by_state() -> dict[str, int]:
    """The node's whole token inventory by state, every state present (zero if none)."""
    counts = dict(Token.objects.values_list("state").annotate(n=Count("id")))
    return {state: counts.get(state, 0) for state in Token.State.values}
