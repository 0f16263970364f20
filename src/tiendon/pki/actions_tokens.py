"""The crypto-token inventory: registering, issuing, losing and retiring tokens.

Each action runs in one transaction with its audit record. A lost token's certificates are
revoked at once (keyCompromise: whoever holds the token may have its PIN); a retired
token's certificates are revoked as cessationOfOperation.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from tiendon.audit.actions import do_record
from tiendon.errors import InvalidInput
from tiendon.pki.actions import do_publish_crl, do_revoke_certificate
from tiendon.pki.models import Certificate, RevocationReason, Token
from tiendon.pki.tokens import require_token_for
from tiendon.units.models import Person, Unit

SERIAL_MAX_LENGTH = 64


def _snapshot(token: Token) -> dict[str, object]:
    return {
        "serial": token.serial,
        "label": token.label,
        "state": token.state,
        "unit": token.unit.code if token.unit_id and token.unit else None,
        "person": token.person.username if token.person_id and token.person else None,
    }


def _locked(token: Token) -> Token:
    # Lock the token row only: PostgreSQL cannot lock the nullable side of the outer joins.
    rows = Token.objects.select_for_update(of=("self",)).select_related("unit", "person")
    return rows.get(pk=token.pk)


@transaction.atomic
def do_register_token(
    serial: str,
    *,
    label: str = "",
    actor: Person | None = None,
    request: HttpRequest | None = None,
) -> Token:
    """Add a token to the inventory (in stock), by the serial its PKCS#11 library reports."""
    serial = serial.strip()
    label = label.strip()
    if not serial or len(serial) > SERIAL_MAX_LENGTH:
        raise InvalidInput(
            _("A token serial number has 1 to %(max)s characters.") % {"max": SERIAL_MAX_LENGTH},
            field="serial",
        )
    if len(label) > SERIAL_MAX_LENGTH:
        raise InvalidInput(
            _("A token label has at most %(max)s characters.") % {"max": SERIAL_MAX_LENGTH},
            field="label",
        )
    existing = Token.objects.filter(serial=serial).select_related("unit", "person").first()
    if existing is not None:
        raise InvalidInput(
            _("Token %(serial)s is already in the inventory (%(state)s).")
            % {"serial": serial, "state": existing.get_state_display()},
            code="token_already_registered",
            field="serial",
        )
    token = Token.objects.create(serial=serial, label=label, state=Token.State.IN_STOCK)
    do_record(
        "pki.token_registered",
        actor=actor,
        obj=token,
        new=_snapshot(token),
        request=request,
    )
    return token


@transaction.atomic
def do_issue_token(
    token: Token,
    *,
    unit: Unit,
    person: Person | None = None,
    actor: Person | None = None,
    request: HttpRequest | None = None,
) -> Token:
    """Hand a token to a unit (its unit key) or to a person of that unit (personal key)."""
    token = _locked(token)
    if person is not None and person.unit_id != unit.pk:
        raise InvalidInput(
            _("%(person)s does not belong to %(unit)s.")
            % {"person": person.full_name, "unit": unit},
            code="person_not_in_unit",
            field="person",
        )
    require_token_for(token, unit=unit, person=person)
    if token.state == Token.State.ISSUED:
        return token  # already with this holder: nothing changes
    old = _snapshot(token)
    token.state = Token.State.ISSUED
    token.unit = unit
    token.person = person
    token.save(update_fields=["state", "unit", "person", "changed_at"])
    do_record(
        "pki.token_issued",
        actor=actor,
        unit=unit,
        obj=token,
        old=old,
        new=_snapshot(token),
        request=request,
    )
    return token


def _revoke_keys_on(
    token: Token, reason: str, actor: Person | None, request: HttpRequest | None
) -> list[str]:
    certs = (
        Certificate.objects.filter(key__token=token, state=Certificate.State.VALID)
        .select_related("unit")
        .order_by("issued_at", "serial")
    )
    revoked = [
        do_revoke_certificate(cert, reason=reason, actor=actor, request=request, publish=False)
        for cert in certs
    ]
    # One new CRL per issuing CA, published at once, covering every certificate above.
    for authority in {cert.issuer for cert in revoked}:
        do_publish_crl(authority, actor=actor)
    return [cert.serial for cert in revoked]


@transaction.atomic
def do_report_token_lost(
    token: Token, *, actor: Person | None = None, request: HttpRequest | None = None
) -> Token:
    """Mark a token lost and revoke, at once, every valid certificate whose key is on it."""
    token = _locked(token)
    if token.state == Token.State.LOST:
        raise InvalidInput(
            _("Token %(serial)s was already reported lost.") % {"serial": token.serial},
            code="token_already_lost",
            field="token",
        )
    old = _snapshot(token)
    token.state = Token.State.LOST
    token.save(update_fields=["state", "changed_at"])
    revoked = _revoke_keys_on(token, RevocationReason.KEY_COMPROMISE, actor, request)
    do_record(
        "pki.token_lost",
        actor=actor,
        unit=token.unit,
        obj=token,
        old=old,
        new={**_snapshot(token), "revoked_certificates": revoked},
        request=request,
    )
    return token


@transaction.atomic
def do_retire_token(
    token: Token, *, actor: Person | None = None, request: HttpRequest | None = None
) -> Token:
    """Take a token out of service for good; its certificates end (cessationOfOperation)."""
    token = _locked(token)
    if token.state == Token.State.LOST:
        raise InvalidInput(
            _("Token %(serial)s was reported lost; its certificates are already revoked.")
            % {"serial": token.serial},
            code="token_already_lost",
            field="token",
        )
    if token.state == Token.State.REVOKED:
        raise InvalidInput(
            _("Token %(serial)s is already retired.") % {"serial": token.serial},
            code="token_already_retired",
            field="token",
        )
    old = _snapshot(token)
    token.state = Token.State.REVOKED
    token.save(update_fields=["state", "changed_at"])
    revoked = _revoke_keys_on(token, RevocationReason.CESSATION_OF_OPERATION, actor, request)
    do_record(
        "pki.token_revoked",
        actor=actor,
        unit=token.unit,
        obj=token,
        old=old,
        new={**_snapshot(token), "revoked_certificates": revoked},
        request=request,
    )
    return token
