"""Building the node's X.509 certificates and CRLs (pure functions, no database).

Profiles: root CA (keyCertSign, cRLSign, pathLen 1), issuing CA (pathLen 0), unit and
personal signing (digitalSignature, contentCommitment; EKU documentSigning, RFC 9336),
unit encryption (keyAgreement, for HPKE's DHKEM). Every end-entity certificate names a
CRL distribution point on the node and carries the unit's code in the subject.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

COUNTRY = "VN"
ORGANISATION = "Bộ Quốc phòng"
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning
CA_LIFETIME = dt.timedelta(days=365 * 20)
ISSUING_LIFETIME = dt.timedelta(days=365 * 10)
END_ENTITY_LIFETIME = dt.timedelta(days=365 * 3)
CRL_LIFETIME = dt.timedelta(days=7)
BACKDATE = dt.timedelta(minutes=5)  # tolerate clocks a little behind at the communes


_SHORT_FORMS = (("Ban Chỉ huy Quân sự", "Ban CHQS"), ("Bộ Chỉ huy Quân sự", "Bộ CHQS"))


def common_name(text: str, limit: int = 64) -> str:
    """A commonName within X.520's bound (64, counted in UTF-8 bytes by pyca).

    Vietnamese unit names run long: the usual abbreviations come first, then the name is
    cut at a character boundary. The full name goes in the OU attribute.
    """
    for long, short in _SHORT_FORMS:
        if len(text.encode()) <= limit:
            break
        text = text.replace(long, short)
    while len(text.encode()) > limit:
        text = text[:-1]
    return text


@dataclass(frozen=True)
class SubjectInfo:
    common_name: str
    unit_code: str
    unit_name: str = ""
    title: str = ""
    person_id: str = ""

    def name(self) -> x509.Name:
        parts = [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
        ]
        if self.unit_name:
            parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, self.unit_name))
        if self.title:
            parts.append(x509.NameAttribute(NameOID.TITLE, self.title[:64]))
        parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name(self.common_name)))
        # The unit's code (and, for a person, the username) in X.520 serialNumber.
        serial = self.unit_code if not self.person_id else f"{self.unit_code}/{self.person_id}"
        parts.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial[:64]))
        return x509.Name(parts)


NODE_SERIAL_PREFIX = "node:"
NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,58}")  # unit-code alphabet; fits in 64


def node_subject(name: str) -> SubjectInfo:
    """A node certificate names its node in serialNumber as "node:NAME"; unit codes cannot
    contain ':', so no unit certificate can speak for a node, nor a node's for a unit."""
    if not NODE_NAME.fullmatch(name):
        raise ValueError(f"node names use letters, digits, '.', '_', '-' (got {name!r})")
    return SubjectInfo(common_name=f"Tiền Đồn node {name}", unit_code=f"{NODE_SERIAL_PREFIX}{name}")


def _ca_name(name_text: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name(name_text)),
        ]
    )


def _key_usage(**on: bool) -> x509.KeyUsage:
    flags = {
        "digital_signature": False,
        "content_commitment": False,
        "key_encipherment": False,
        "data_encipherment": False,
        "key_agreement": False,
        "key_cert_sign": False,
        "crl_sign": False,
        "encipher_only": False,
        "decipher_only": False,
    }
    flags.update(on)
    return x509.KeyUsage(**flags)


def build_root(
    common_name: str, private: ec.EllipticCurvePrivateKey, now: dt.datetime
) -> x509.Certificate:
    name = _ca_name(common_name)
    public = private.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(private, hashes.SHA256())
    )


def build_issuing(
    common_name: str,
    public: ec.EllipticCurvePublicKey,
    root_cert: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    crl_url: str,
    now: dt.datetime,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_ca_name(common_name))
        .issuer_name(root_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + ISSUING_LIFETIME, root_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(_aki(root_cert), critical=False)
        .add_extension(_crl_dp(crl_url), critical=False)
        .sign(root_key, hashes.SHA256())
    )


def _aki(issuer_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _crl_dp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )


def build_end_entity(
    *,
    subject: SubjectInfo,
    public: ec.EllipticCurvePublicKey,
    purpose: str,
    issuer_cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    crl_url: str,
    now: dt.datetime,
    lifetime: dt.timedelta = END_ENTITY_LIFETIME,
    not_before: dt.datetime | None = None,
) -> x509.Certificate:
    """A unit or personal certificate; `purpose` is "signing" or "encryption"."""
    start = not_before or (now - BACKDATE)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject.name())
        .issuer_name(issuer_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(min(start + lifetime, issuer_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(_aki(issuer_cert), critical=False)
        .add_extension(_crl_dp(crl_url), critical=False)
    )
    if purpose == "signing":
        builder = builder.add_extension(
            _key_usage(digital_signature=True, content_commitment=True), critical=True
        ).add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
    elif purpose == "encryption":
        builder = builder.add_extension(_key_usage(key_agreement=True), critical=True)
    else:
        raise ValueError(f"unknown certificate purpose {purpose!r}")
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: dt.datetime
    reason: x509.ReasonFlags


def build_crl(
    *,
    issuer_cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    number: int,
    revoked: Iterable[RevokedEntry],
    now: dt.datetime,
    lifetime: dt.timedelta = CRL_LIFETIME,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(now - BACKDATE)
        .next_update(now + lifetime)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(_aki(issuer_cert), critical=False)
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.revoked_at)
            .add_extension(x509.CRLReason(entry.reason), critical=False)
            .build()
        )
    return builder.sign(issuer_key, hashes.SHA256())
