"""Signing on the node. A person's key is used only when the person's own second factor
authorises that use at that moment (docs/adr/0006-remote-signing.md); a unit's key signs
for the unit (issued documents, certified copies, envelopes) only through `unit_signer`
or `sign_as_unit`, which check its certificate first and audit each signature."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from tiendon.audit.actions import do_record
from tiendon.pki.errors import CertificateRefused, PkiError
from tiendon.pki.keystore import Keystore, keystore_for
from tiendon.pki.models import Certificate, CertPurpose
from tiendon.pki.queries import current_certificates
from tiendon.pki.validation import validate_certificate, validate_certificate_remembered
from tiendon.units.actions_auth import TotpResult, spend_totp_code
from tiendon.units.models import Person, Unit


@dataclass(frozen=True)
class PersonalSignature:
    signature: bytes  # DER ECDSA-SHA256
    certificate: Certificate


def current_personal_certificate(person: Person) -> Certificate:
    cert = (
        current_certificates(person=person, purpose=CertPurpose.PERSON_SIGNING)
        .select_related("key", "key__token", "issuer")
        .order_by("-issued_at")
        .first()
    )
    if cert is None:
        raise PkiError(
            f"{person.username} has no personal signing certificate",
            code="no_personal_certificate",
        )
    return cert


def sign_as_person(
    person: Person, data: bytes, *, totp_code: str, request: HttpRequest | None = None
) -> PersonalSignature:
    """Sign `data` with the person's own key, if the code they typed now is fresh and right.

    A refused attempt is audited and commits on its own; nothing is signed.
    """
    if not person.has_totp:
        raise PkiError(
            _('Set up your second factor before signing: open "Set up the second factor".'),
            code="second_factor_required",
        )
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        result, _step = spend_totp_code(person, totp_code)
        if result is not TotpResult.ACCEPTED:
            do_record(
                "pki.signature_refused",
                actor=person,
                obj=person,
                unit=person.unit,
                new={"reason": result.value, "sha256": digest},
                request=request,
            )
    if result is not TotpResult.ACCEPTED:
        if result is TotpResult.REUSED:
            raise PkiError(
                _(
                    "This code was just used (to log in or for another signature): wait for "
                    "the next code in your app, at most 30 seconds, and sign again."
                ),
                code="code_reused",
            )
        raise PkiError(
            _("The code is not right: type the 6 digits your app shows now."), code="wrong_code"
        )
    cert = current_personal_certificate(person)
    # The signer's own certificate must still be good now (revocation included).
    validate_certificate(bytes(cert.certificate_der), usage="signing")
    with transaction.atomic():
        signature = keystore_for(cert.key).sign(cert.key, data)
        do_record(
            "pki.personal_signature",
            actor=person,
            obj=cert,
            unit=person.unit,
            new={"sha256": digest, "serial": cert.serial, "keystore": cert.key.keystore},
            request=request,
        )
    return PersonalSignature(signature=signature, certificate=cert)


# ---------------------------------------------------------------- a unit's key


@dataclass(frozen=True)
class UnitSignature:
    signature: bytes  # DER ECDSA-SHA256
    certificate: Certificate


def current_unit_certificate(unit: Unit) -> Certificate:
    """The unit's current organisation signing certificate (with its key and token loaded),
    not yet checked for validity: `unit_signer` does that.

    Refused with a code: `revoked` when the unit's certificate was revoked and no other
    took its place, `no_unit_certificate` when it has none in force."""
    cert = (
        current_certificates(unit=unit, person=None, purpose=CertPurpose.UNIT_SIGNING)
        # The key and its token only: an envelope is sealed with it many times a second,
        # and joining the issuing chain cost a fifth of a seal (bench/exchange.py). PDF
        # signing reads the chain through `issuer` when it needs it.
        .select_related("key", "key__token")
        .order_by("-issued_at")
        .first()
    )
    if cert is not None:
        return cert
    # Only on the way to a refusal: say "revoked" rather than "none" when that is the truth.
    revoked = Certificate.objects.filter(
        unit=unit,
        person=None,
        purpose=CertPurpose.UNIT_SIGNING,
        state=Certificate.State.REVOKED,
        superseded_at__isnull=True,
    )
    if revoked.exists():
        raise CertificateRefused(f"{unit.code}'s signing certificate is revoked", code="revoked")
    raise PkiError(f"{unit.code} has no signing certificate", code="no_unit_certificate")


class UnitSigner:
    """A unit's current signing certificate, checked valid once, and its key's `sign`.

    Made by `unit_signer`; meant for one action (issuing a document and its attachments,
    a certified copy, a run of envelopes), not to be kept: a revocation after it was made
    is seen by the next signer, not by this one."""

    def __init__(
        self,
        unit: Unit,
        certificate: Certificate,
        *,
        purpose: str,
        actor: Person | None,
        request: HttpRequest | None,
    ) -> None:
        self.unit = unit
        self.certificate = certificate
        self.purpose = purpose
        self._actor = actor
        self._request = request
        self._keystore: Keystore = keystore_for(certificate.key)

    def sign(self, data: bytes) -> bytes:
        """Sign `data` with the unit's key (DER ECDSA-SHA256) and record `pki.unit_signature`
        (purpose, SHA-256 of the data, certificate serial, keystore; never the data)."""
        signature = self.sign_recorded_by_caller(data)
        do_record(
            "pki.unit_signature",
            actor=self._actor,
            obj=self.certificate,
            unit=self.unit,
            new=self.audit_facts() | {"sha256": hashlib.sha256(data).hexdigest()},
            request=self._request,
        )
        return signature

    def sign_recorded_by_caller(self, data: bytes) -> bytes:
        """Sign `data` without an audit record of its own: only for a caller that records
        `audit_facts()` of every signature in its own audit record, in the same transaction
        that keeps what was signed (the exchange, whose `exchange.envelope_sent` record per
        envelope carries them: a second record per envelope would double its audit writes
        on the hot path)."""
        return self._keystore.sign(self.certificate.key, data)

    def audit_facts(self) -> dict[str, str]:
        """What an audit record of a signature by this signer names (no secret in it)."""
        return {
            "purpose": self.purpose,
            "serial": self.certificate.serial,
            "keystore": self.certificate.key.keystore,
        }


# When each certificate last passed the full check in this process (`fresh_within`).
_CHECKED: dict[bytes, float] = {}
_CHECKED_MAX = 1024


def unit_signer(
    unit: Unit,
    *,
    purpose: str,
    actor: Person | None = None,
    request: HttpRequest | None = None,
    fresh_within: float = 0.0,
) -> UnitSigner:
    """The unit's signer for `purpose` (e.g. "documents.issue", "exchange.envelope"), once
    its current signing certificate is found valid now, revocation included.

    Raises PkiError `no_unit_certificate`, or CertificateRefused with its code (revoked,
    expired, not_yet_valid, unknown_issuer, ...). The check is pki.validation's remembered
    one, keyed by the certificate and the state of trust and revocation here, so a new CRL
    or CA decides afresh at once. `fresh_within` (seconds): a certificate that passed that
    check so recently in this process is not checked again; only for a caller whose
    signature is judged again before anything signed is kept (the exchange: `do_enqueue`
    checks the sender's certificate as any node does, in the same action)."""
    if not purpose:
        raise ValueError("a unit signature names its purpose")
    cert = current_unit_certificate(unit)
    der = bytes(cert.certificate_der)
    key = hashlib.sha256(der).digest()
    checked = _CHECKED.get(key)
    if not fresh_within or checked is None or time.monotonic() - checked > fresh_within:
        validate_certificate_remembered(der, usage="signing")
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = time.monotonic()
    return UnitSigner(unit, cert, purpose=purpose, actor=actor, request=request)


def sign_as_unit(
    unit: Unit,
    data: bytes,
    *,
    purpose: str,
    actor: Person | None = None,
    request: HttpRequest | None = None,
) -> UnitSignature:
    """Sign `data` with the unit's key, if its certificate is valid now; audited as
    `pki.unit_signature`. For several signatures in one action, use `unit_signer` once."""
    signer = unit_signer(unit, purpose=purpose, actor=actor, request=request)
    return UnitSignature(signature=signer.sign(data), certificate=signer.certificate)
