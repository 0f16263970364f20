"""Validating certificates: path, validity period, key usage and revocation, every time.

Path building and CRL checks are pyhanko-certvalidator's (pyca's own verifier does not
check CRLs). Trust anchors are the node's root CAs plus any external CA named in
TIENDON_TRUST_ANCHORS; CRLs are the newest of each CA plus TIENDON_EXTERNAL_CRLS.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from django.db import connection
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors

from tiendon.pki.actions import latest_crl
from tiendon.pki.errors import CertificateRefused
from tiendon.pki.models import CertificateAuthority, Crl

# What each use of a certificate requires of its key usage extension.
KEY_USAGE = {
    "signing": {"digital_signature"},
    "encryption": {"key_agreement"},
}


def _der_blocks(data: bytes, what: str, origin: str) -> list[bytes]:
    """DER of each object in a PEM or DER file; malformed input is refused with its origin."""
    if pem.detect(data):
        try:
            return [der for _kind, _headers, der in pem.unarmor(data, multiple=True)]
        except ValueError as exc:
            raise CertificateRefused(
                f"{origin}: malformed PEM ({exc})", code=f"malformed_{what}"
            ) from exc
    return [data]


def parse_certificate(data: bytes, origin: str = "certificate") -> asn1_x509.Certificate:
    """One X.509 certificate from PEM or DER bytes, or CertificateRefused(malformed_...)."""
    blocks = _der_blocks(data, "certificate", origin)
    if len(blocks) != 1:
        raise CertificateRefused(
            f"{origin}: expected one certificate, found {len(blocks)}",
            code="malformed_certificate",
        )
    return _load_cert(blocks[0], origin)


def _load_cert(der: bytes, origin: str) -> asn1_x509.Certificate:
    try:
        cert = asn1_x509.Certificate.load(der)
        cert.native  # noqa: B018  (asn1crypto parses lazily: force it here)
    except Exception as exc:  # hostile DER makes asn1crypto raise many types (seen: IndexError)
        raise CertificateRefused(
            f"{origin}: not an X.509 certificate ({type(exc).__name__})",
            code="malformed_certificate",
        ) from exc
    return cert


def _load_crl(der: bytes, origin: str) -> asn1_crl.CertificateList:
    try:
        crl = asn1_crl.CertificateList.load(der)
        crl.native  # noqa: B018
    except Exception as exc:  # as in _load_cert
        raise CertificateRefused(f"{origin}: not a CRL", code="malformed_crl") from exc
    return crl


def _external(paths: list[str], what: str) -> list[bytes]:
    blobs = []
    for name in paths:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            raise CertificateRefused(
                f"{name} cannot be read: {exc.strerror}", code=f"unreadable_{what}"
            ) from exc
        blobs.extend(_der_blocks(data, what, name))
    return blobs


def validation_context(moment: dt.datetime | None = None) -> ValidationContext:
    authorities = list(CertificateAuthority.objects.filter(is_active=True).select_related("key"))
    roots = [
        _load_cert(bytes(a.certificate_der), a.name)
        for a in authorities
        if a.kind == CertificateAuthority.Kind.ROOT
    ]
    roots += [
        _load_cert(der, "TIENDON_TRUST_ANCHORS")
        for der in _external(settings.TIENDON_TRUST_ANCHORS, "certificate")
    ]
    intermediates = [
        _load_cert(bytes(a.certificate_der), a.name)
        for a in authorities
        if a.kind in (CertificateAuthority.Kind.ISSUING, CertificateAuthority.Kind.PEER)
    ]
    # The newest CRL as published: the node's worker re-signs it on a timer
    # (`actions.refresh_crls`), so a validation never writes.
    newest = [
        (a, latest_crl(a)) for a in authorities if a.kind != CertificateAuthority.Kind.EXTERNAL
    ]
    crls = [_load_crl(bytes(crl.crl_der), a.name) for a, crl in newest if crl is not None]
    crls += [
        _load_crl(der, "TIENDON_EXTERNAL_CRLS")
        for der in _external(settings.TIENDON_EXTERNAL_CRLS, "crl")
    ]
    return ValidationContext(
        trust_roots=roots,
        other_certs=intermediates,
        crls=crls,
        revocation_mode="require",
        moment=moment,
        allow_fetching=False,
    )


def validate_certificate(
    certificate: bytes | asn1_x509.Certificate,
    *,
    usage: str,
    moment: dt.datetime | None = None,
    context: ValidationContext | None = None,
) -> None:
    """Accept the certificate for `usage` ("signing" or "encryption") or raise
    CertificateRefused with one of: expired, not_yet_valid, revoked, wrong_key_usage,
    unknown_issuer, broken_chain, malformed_certificate."""
    cert = (
        certificate
        if isinstance(certificate, asn1_x509.Certificate)
        else parse_certificate(certificate)
    )
    validator = CertificateValidator(cert, validation_context=context or validation_context(moment))
    try:
        asyncio.run(validator.async_validate_usage(key_usage=KEY_USAGE[usage]))
    except cv_errors.RevokedError as exc:
        raise CertificateRefused(str(exc), code="revoked") from exc
    except cv_errors.ExpiredError as exc:
        raise CertificateRefused(str(exc), code="expired") from exc
    except cv_errors.NotYetValidError as exc:
        raise CertificateRefused(str(exc), code="not_yet_valid") from exc
    except cv_errors.PathBuildingError as exc:
        raise CertificateRefused(str(exc), code="unknown_issuer") from exc
    except cv_errors.InvalidCertificateError as exc:
        raise CertificateRefused(str(exc), code="wrong_key_usage") from exc
    except cv_errors.PathValidationError as exc:
        raise CertificateRefused(str(exc), code="broken_chain") from exc
    except (ValueError, TypeError) as exc:
        # asn1crypto parses lazily: a name or extension it cannot read surfaces here.
        raise CertificateRefused(
            f"certificate cannot be read: {type(exc).__name__}", code="malformed_certificate"
        ) from exc


# Acceptances remembered per process, for the hot paths (every envelope names its sender's
# certificate): keyed by the certificate, the use, and the state of trust and revocation
# here (newest CRL, newest and active CAs), so a new CRL or CA decides afresh at once. An
# entry lasts at most ACCEPTANCE_SECONDS and never past the certificate's own expiry or
# its CRL's next update. Refusals are never remembered.
ACCEPTANCE_SECONDS = 60.0
_ACCEPTED_MAX = 10_000
_accepted: dict[tuple[bytes, str, tuple[object, ...]], dt.datetime] = {}


def _trust_state() -> tuple[object, ...]:
    """(newest CRL, newest CA, active CAs, earliest CRL next update), in one round trip: it
    is read for every batch of envelopes and every send."""
    crl = connection.ops.quote_name(Crl._meta.db_table)
    ca = connection.ops.quote_name(CertificateAuthority._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX(id) FROM {crl}), (SELECT MAX(id) FROM {ca}), "  # noqa: S608
            f"(SELECT COUNT(*) FROM {ca} WHERE is_active), (SELECT MIN(next_update) FROM {crl})"
        )
        newest_crl, newest_ca, active, soonest = cursor.fetchone()
    if isinstance(soonest, str):  # SQLite hands back its text form (UTC, naive)
        soonest = dt.datetime.fromisoformat(soonest).replace(tzinfo=dt.UTC)
    return (newest_crl, newest_ca, active, soonest)


def validate_certificate_remembered(certificate_der: bytes, *, usage: str) -> None:
    """`validate_certificate` now, unless the same certificate was accepted for the same
    use under the same trust and revocation state within the last minute."""
    state = _trust_state()
    key = (hashlib.sha256(certificate_der).digest(), usage, state)
    now = dt.datetime.now(dt.UTC)
    until = _accepted.get(key)
    if until is not None and now < until:
        return
    validate_certificate(certificate_der, usage=usage)
    not_after = parse_certificate(certificate_der).not_valid_after
    limits = [now + dt.timedelta(seconds=ACCEPTANCE_SECONDS), not_after]
    if isinstance(state[3], dt.datetime):
        limits.append(state[3])  # the earliest CRL next update: fetch anew after it
    if len(_accepted) >= _ACCEPTED_MAX:
        _accepted.clear()
    _accepted[key] = min(limits)
