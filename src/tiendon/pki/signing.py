"""Remote signing: a person's key is used on the node, each use authorised at that moment
by the person's own second factor (docs/adr/0006-remote-signing.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest

from tiendon.audit.actions import do_record
from tiendon.pki.errors import PkiError
from tiendon.pki.keystore import keystore_for
from tiendon.pki.models import Certificate, CertPurpose
from tiendon.pki.queries import current_certificates
from tiendon.pki.validation import validate_certificate
from tiendon.units.actions_auth import TotpResult, spend_totp_code
from tiendon.units.models import Person


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
            f"{person.username} must enrol a second factor before signing",
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
        code = "code_reused" if result is TotpResult.REUSED else "wrong_code"
        raise PkiError("the second-factor code was not accepted for this signature", code=code)
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
