"""Validating certificates: path, validity period, key usage and revocation, every time.

Path building and CRL checks are pyhanko-certvalidator's (pyca's own verifier does not
check CRLs). Trust anchors are the node's root CAs plus any external CA named in
TIENDON_TRUST_ANCHORS; CRLs are the newest of each CA plus TIENDON_EXTERNAL_CRLS.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors

from tiendon.pki.actions import ensure_fresh_crl
from tiendon.pki.errors import CertificateRefused
from tiendon.pki.models import CertificateAuthority

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
    crls = [
        _load_crl(bytes(ensure_fresh_crl(a).crl_der), a.name)
        for a in authorities
        if a.kind != CertificateAuthority.Kind.EXTERNAL and a.crls.exists()
    ]
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
