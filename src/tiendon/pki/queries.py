"""Reads of certificates and tokens, with unit scope enforced here."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from tiendon.errors import OutOfScope
from tiendon.pki.models import Certificate
from tiendon.units.models import Person, Unit
from tiendon.units.queries import can_see_unit


def current_for_unit(unit: Unit) -> QuerySet[Certificate]:
    return Certificate.objects.filter(
        unit=unit, person=None, state=Certificate.State.VALID, superseded_at__isnull=True
    )


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
