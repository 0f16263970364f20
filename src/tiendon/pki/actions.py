"""Every change to the node's PKI: CA set-up, issuance, rotation, revocation, CRLs.

Each action runs in one transaction and writes its audit records, so a key is never
stored without its certificate, nor a certificate without its key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from tiendon.audit.actions import AuditEntry, client_address, do_record, do_record_batch
from tiendon.pki import x509build
from tiendon.pki.errors import PkiError
from tiendon.pki.issuer import Issuer, crl_url, current_issuer
from tiendon.pki.keystore import Keystore, SoftwareKeystore, node_keystore
from tiendon.pki.models import (
    Certificate,
    CertificateAuthority,
    CertPurpose,
    Crl,
    DirectoryEntry,
    KeyAlgorithm,
    RevocationReason,
    StoredKey,
    Token,
)
from tiendon.pki.queries import current_certificates
from tiendon.pki.tokens import require_token_held_by
from tiendon.units.models import Person, Unit

ROOT_CRL_LIFETIME = dt.timedelta(days=365)


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _ski(public: ec.EllipticCurvePublicKey) -> str:
    return x509.SubjectKeyIdentifier.from_public_key(public).digest.hex()


def _save_authority(
    *,
    name: str,
    kind: str,
    cert: x509.Certificate,
    key: StoredKey | None,
    parent: CertificateAuthority | None,
) -> CertificateAuthority:
    der = cert.public_bytes(serialization.Encoding.DER)
    if key is not None:
        key.save()
    public = _ec_public(cert)
    return CertificateAuthority.objects.create(
        name=name,
        kind=kind,
        parent=parent,
        certificate_der=der,
        fingerprint=fingerprint(der),
        key_identifier=_ski(public),
        key=key,
    )


@dataclass(frozen=True)
class InitResult:
    root: CertificateAuthority
    issuing: CertificateAuthority
    root_key_file: Path | None


@transaction.atomic
def do_init_pki(
    *,
    root_name: str = "Tiền Đồn Root CA",
    issuing_name: str = "Tiền Đồn Issuing CA",
    root_key_out: Path | None = None,
    passphrase: bytes | None = None,
    national_root: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    actor: Person | None = None,
) -> InitResult:
    """Create this node's issuing CA under a root, and publish both CRLs.

    The root is new, or `national_root` (one root above an issuing CA per node: its key
    is brought to the node for this moment only and never stored). A new root's key is
    written to `root_key_out` (encrypted with `passphrase`) and not kept on the node; without
    it (demo), it stays in the software keystore.
    """
    if CertificateAuthority.objects.filter(kind=CertificateAuthority.Kind.ROOT).exists():
        raise PkiError("this node's PKI is already initialised", code="already_initialised")
    if root_key_out is not None and not passphrase:
        raise PkiError("an offline root key needs a passphrase", code="passphrase_missing")
    now = timezone.now()
    keystore = SoftwareKeystore()
    root_stored = None
    written = None
    if national_root is not None:
        root_cert, root_private = national_root
        if _ski(root_private.public_key()) != _ski(_ec_public(root_cert)):
            raise PkiError("the root key does not match the root certificate", code="wrong_key")
        root_name = root_cert.subject.rfc4514_string()[:200]
    else:
        root_private = ec.generate_private_key(ec.SECP256R1())
        root_cert = x509build.build_root(root_name, root_private, now)
        if root_key_out is not None:
            written = _write_offline_root(root_key_out, root_private, root_cert, passphrase or b"")
        else:
            root_stored = keystore.import_private_key(KeyAlgorithm.EC_P256_SIGN, root_private)
    root = _save_authority(
        name=root_name,
        kind=CertificateAuthority.Kind.ROOT,
        cert=root_cert,
        key=root_stored,
        parent=None,
    )
    issuing_stored = keystore.generate_signing_key(label="issuing-ca")
    issuing_private = keystore.private_key(issuing_stored)
    issuing_cert = x509build.build_issuing(
        issuing_name,
        issuing_private.public_key(),
        root_cert,
        root_private,
        crl_url(root.key_identifier),
        now,
    )
    issuing = _save_authority(
        name=issuing_name,
        kind=CertificateAuthority.Kind.ISSUING,
        cert=issuing_cert,
        key=issuing_stored,
        parent=root,
    )
    _publish_crl(root, root_cert, root_private, now, lifetime=ROOT_CRL_LIFETIME)
    _publish_crl(issuing, issuing_cert, issuing_private, now)
    do_record(
        "pki.initialised",
        actor=actor,
        obj=root,
        new={
            "root": root.fingerprint,
            "issuing": issuing.fingerprint,
            "root_key": "software keystore" if root_stored else "offline",
            "national_root": national_root is not None,
        },
    )
    return InitResult(root=root, issuing=issuing, root_key_file=written)


def _ec_public(cert: x509.Certificate) -> ec.EllipticCurvePublicKey:
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise PkiError("only EC P-256 CAs are supported", code="wrong_key_type")
    return public


def _write_offline_root(
    folder: Path, private: ec.EllipticCurvePrivateKey, cert: x509.Certificate, passphrase: bytes
) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        key_file = folder / "root-key.pem"
        if key_file.exists():
            raise PkiError(f"{key_file} already exists; refusing to overwrite it", code="exists")
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )
        fd = key_file.open("xb")
        with fd:
            fd.write(pem)
        key_file.chmod(0o600)
        (folder / "root-cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    except OSError as exc:
        raise PkiError(f"cannot write the root key to {folder}: {exc.strerror}", code="io") from exc
    return key_file


def load_offline_root_key(path: Path, passphrase: bytes) -> ec.EllipticCurvePrivateKey:
    """The root key from its offline file; a wrong passphrase or bad file gets its own code."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PkiError(f"cannot read {path}: {exc.strerror}", code="io") from exc
    try:
        private = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as exc:
        raise PkiError(
            f"{path} is encrypted: give its passphrase", code="passphrase_missing"
        ) from exc
    except ValueError as exc:
        text = str(exc).lower()
        if "password" in text or "decrypt" in text or "bad decrypt" in text:
            raise PkiError(f"wrong passphrase for {path}", code="wrong_passphrase") from exc
        raise PkiError(f"{path} is not a PEM private key", code="malformed_key") from exc
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{path} does not hold an EC key", code="malformed_key")
    return private


def load_certificate_file(path: Path) -> x509.Certificate:
    """A PEM or DER certificate file; a malformed one is refused with its own code."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PkiError(f"cannot read {path}: {exc.strerror}", code="io") from exc
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise PkiError(
            f"{path} is not a PEM or DER certificate", code="malformed_certificate"
        ) from exc


@dataclass(frozen=True)
class ImportedAuthorities:
    added: list[str]  # names of CAs now known
    crls: int  # newer CRLs stored


@transaction.atomic
def do_import_authorities(
    entries: Iterable[tuple[bytes, bytes | None]], *, via: str, actor: Person | None = None
) -> ImportedAuthorities:
    """Learn other nodes' issuing CAs and their CRLs, as published at /pki/authorities.

    A CA is taken only if a root this node trusts signed it; a CRL only if its CA signed it
    and it is newer than the one held. Everything else is refused by code, and nothing of a
    refused entry is stored.
    """
    roots = {
        a.key_identifier: a
        for a in CertificateAuthority.objects.filter(kind=CertificateAuthority.Kind.ROOT)
    }
    added: list[str] = []
    crls = 0
    for cert_der, crl_der in entries:
        cert = _trusted_ca(cert_der, roots)
        der = cert.public_bytes(serialization.Encoding.DER)
        authority = CertificateAuthority.objects.filter(fingerprint=fingerprint(der)).first()
        if authority is None:
            issuer_ski = _authority_key_id(cert)
            authority = CertificateAuthority.objects.create(
                name=cert.subject.rfc4514_string()[:200],
                kind=CertificateAuthority.Kind.PEER,
                parent=roots[issuer_ski],
                certificate_der=der,
                fingerprint=fingerprint(der),
                key_identifier=_ski(_ec_public(cert)),
                introduced_by=via[:64],
            )
            added.append(authority.name)
        if crl_der is not None and _store_newer_crl(authority, cert, crl_der):
            crls += 1
    if added or crls:
        do_record(
            "pki.authorities_imported",
            actor=actor,
            object_type="node",
            object_id=via[:64],
            new={"added": added, "crls": crls},
        )
    return ImportedAuthorities(added=added, crls=crls)


def _authority_key_id(cert: x509.Certificate) -> str:
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound as exc:
        raise PkiError("a CA certificate without an authority key id", code="untrusted") from exc
    return (aki.key_identifier or b"").hex()


def _trusted_ca(der: bytes, roots: dict[str, CertificateAuthority]) -> x509.Certificate:
    try:
        cert = x509.load_der_x509_certificate(der)
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except Exception as exc:  # hostile DER: pyca raises several types
        raise PkiError("not a CA certificate", code="malformed_certificate") from exc
    if not constraints.ca:
        raise PkiError("not a CA certificate", code="not_a_ca")
    if _ski(_ec_public(cert)) in roots:
        return cert  # one of our roots, published back to us
    root = roots.get(_authority_key_id(cert))
    if root is None:
        raise PkiError(
            f"{cert.subject.rfc4514_string()} is not under a trusted root", code="untrusted"
        )
    root_cert = x509.load_der_x509_certificate(bytes(root.certificate_der))
    try:
        cert.verify_directly_issued_by(root_cert)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise PkiError("the CA certificate's signature does not verify", code="untrusted") from exc
    return cert


def _store_newer_crl(authority: CertificateAuthority, cert: x509.Certificate, der: bytes) -> bool:
    try:
        crl = x509.load_der_x509_crl(der)
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except Exception as exc:  # hostile DER
        raise PkiError("not a CRL", code="malformed_crl") from exc
    if crl.issuer != cert.subject or not crl.is_signature_valid(_ec_public(cert)):
        raise PkiError(f"a CRL not signed by {authority.name}", code="bad_crl_signature")
    latest = authority.crls.order_by("-number").first()
    if latest is not None and latest.number >= number:
        return False
    Crl.objects.create(
        authority=authority,
        number=number,
        this_update=crl.last_update_utc,
        next_update=crl.next_update_utc or crl.last_update_utc,
        crl_der=der,
    )
    return True


def published_directory() -> list[tuple[str, str, bytes]]:
    """What /pki/directory publishes: the current certificates of the units whose keys this
    node holds, then those it learned from other nodes and still holds valid (so a node
    relays its children's units upwards). Tuples of unit code, purpose, DER."""
    own = [
        (code, purpose, bytes(der))
        for code, purpose, der in current_certificates(
            person=None, purpose__in=[CertPurpose.UNIT_SIGNING, CertPurpose.UNIT_ENCRYPTION]
        ).values_list("unit__code", "purpose", "certificate_der")
    ]
    held = {(code, purpose) for code, purpose, _der in own}
    now = timezone.now()
    learned = [
        (code, purpose, bytes(der))
        for code, purpose, der in DirectoryEntry.objects.filter(
            not_before__lte=now, not_after__gt=now
        )
        .order_by("-not_before")
        .values_list("unit__code", "purpose", "certificate_der")
        if (code, purpose) not in held
    ]
    return own + learned


def issuing_authority(cert: x509.Certificate) -> CertificateAuthority | None:
    """The CA held here whose key signed `cert` (by its authority key identifier). One
    read, so no transaction of its own (it runs for every batch of envelopes)."""
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None
    if not aki.key_identifier:
        return None
    return CertificateAuthority.objects.filter(key_identifier=aki.key_identifier.hex()).first()


# Whether a CA may certify a unit (by code); exchange decides it from the network's shape.
MayCertify = Callable[[str, CertificateAuthority | None], bool]


def do_import_directory(
    entries: Iterable[tuple[str, str, bytes]], *, via: str, may_certify: MayCertify | None = None
) -> int:
    """Keep other nodes' units' certificates that validate here (path and revocation), and
    whose CA may certify that unit (`may_certify`).

    Units whose keys this node holds keep their own certificates. Returns how many entries
    are new; an entry that does not validate is skipped and audited, the others kept.
    """
    from tiendon.pki.validation import validate_certificate

    own = set(current_certificates(person=None).values_list("unit__code", "purpose").distinct())
    units = {u.code: u for u in Unit.objects.only("id", "code")}
    added = 0
    refused: list[str] = []
    usage: dict[str, str] = {
        CertPurpose.UNIT_SIGNING: "signing",
        CertPurpose.UNIT_ENCRYPTION: "encryption",
    }
    for code, purpose, der in entries:
        if purpose not in usage or code not in units or (code, purpose) in own:
            continue
        try:
            validate_certificate(der, usage=usage[purpose])
            cert = x509.load_der_x509_certificate(der)
            serial = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
            if not serial or serial[0].value != code:
                raise PkiError("the certificate names another unit", code="wrong_unit")
            if may_certify is not None and not may_certify(code, issuing_authority(cert)):
                raise PkiError("its CA may not certify this unit", code="issuer_out_of_scope")
        except PkiError as exc:  # CertificateRefused included
            refused.append(f"{code}/{purpose}: {exc.code}")
            continue
        _entry, created = DirectoryEntry.objects.get_or_create(
            fingerprint=fingerprint(der),
            defaults={
                "unit": units[code],
                "purpose": purpose,
                "certificate_der": der,
                "not_before": cert.not_valid_before_utc,
                "not_after": cert.not_valid_after_utc,
                "via": via[:64],
            },
        )
        added += int(created)
    if added or refused:
        do_record(
            "pki.directory_imported",
            object_type="node",
            object_id=via[:64],
            new={"added": added, "refused": refused[:50]},
        )
    return added


def published_authorities() -> list[tuple[bytes, bytes | None]]:
    """What /pki/authorities publishes: every CA this node knows, with its newest CRL."""
    out = []
    for authority in CertificateAuthority.objects.filter(is_active=True).exclude(
        kind=CertificateAuthority.Kind.EXTERNAL
    ):
        crl = ensure_fresh_crl(authority) if authority.crls.exists() else None
        out.append((bytes(authority.certificate_der), bytes(crl.crl_der) if crl else None))
    return out


def authorities_document() -> dict[str, list[dict[str, str | None]]]:
    """published_authorities() as the JSON document /pki/authorities serves."""
    return {
        "authorities": [
            {
                "certificate": base64.b64encode(cert).decode(),
                "crl": base64.b64encode(crl).decode() if crl else None,
            }
            for cert, crl in published_authorities()
        ]
    }


@transaction.atomic
def do_publish_root_crl(
    root_key: ec.EllipticCurvePrivateKey, *, actor: Person | None = None
) -> Crl:
    """Re-sign the root's CRL with its offline key (brought to the node for the occasion)."""
    root = CertificateAuthority.objects.select_for_update().get(
        kind=CertificateAuthority.Kind.ROOT, is_active=True
    )
    cert = x509.load_der_x509_certificate(bytes(root.certificate_der))
    if _ski(root_key.public_key()) != root.key_identifier:
        raise PkiError("that key does not belong to this node's root CA", code="wrong_key")
    crl = _publish_crl(root, cert, root_key, timezone.now(), lifetime=ROOT_CRL_LIFETIME)
    do_record("pki.crl_published", actor=actor, obj=root, new={"number": crl.number})
    return crl


def _publish_crl(
    authority: CertificateAuthority,
    cert: x509.Certificate,
    private: ec.EllipticCurvePrivateKey,
    now: dt.datetime,
    lifetime: dt.timedelta = x509build.CRL_LIFETIME,
) -> Crl:
    """Sign and store the next CRL of `authority` (caller holds the transaction)."""
    locked = CertificateAuthority.objects.select_for_update().get(pk=authority.pk)
    locked.crl_number += 1
    locked.save(update_fields=["crl_number"])
    authority.crl_number = locked.crl_number
    revoked = [
        x509build.RevokedEntry(
            serial=int(row.serial, 16),
            revoked_at=row.revoked_at or now,
            reason=x509.ReasonFlags[_REASON_FLAG[row.revocation_reason]],
        )
        for row in Certificate.objects.filter(
            issuer=authority, state=Certificate.State.REVOKED
        ).only("serial", "revoked_at", "revocation_reason")
    ]
    built = x509build.build_crl(
        issuer_cert=cert,
        issuer_key=private,
        number=locked.crl_number,
        revoked=revoked,
        now=now,
        lifetime=lifetime,
    )
    return Crl.objects.create(
        authority=authority,
        number=locked.crl_number,
        this_update=built.last_update_utc,
        next_update=built.next_update_utc or now + lifetime,
        crl_der=built.public_bytes(serialization.Encoding.DER),
    )


_REASON_FLAG = {
    RevocationReason.UNSPECIFIED: "unspecified",
    RevocationReason.KEY_COMPROMISE: "key_compromise",
    RevocationReason.AFFILIATION_CHANGED: "affiliation_changed",
    RevocationReason.SUPERSEDED: "superseded",
    RevocationReason.CESSATION_OF_OPERATION: "cessation_of_operation",
    "": "unspecified",
}


def latest_crl(authority: CertificateAuthority) -> Crl | None:
    """The CA's newest CRL, as published (a read: `refresh_crls` keeps it fresh)."""
    return authority.crls.order_by("-number").first()


def refresh_crls() -> list[Crl]:
    """Re-sign each CRL of this node's own CAs past half its lifetime (the node's worker
    calls this on a timer, so validating a certificate only ever reads a CRL). Returns the
    CRLs published now."""
    published = []
    for authority in CertificateAuthority.objects.filter(key__isnull=False):
        latest = latest_crl(authority)
        if latest is None:
            continue
        fresh = ensure_fresh_crl(authority)
        if fresh.pk != latest.pk:
            published.append(fresh)
    return published


def ensure_fresh_crl(authority: CertificateAuthority) -> Crl:
    """The CA's newest CRL, re-signed first when more than half its lifetime has passed.

    Only for CAs whose key the node holds; an offline root's CRL is renewed by hand
    (`tiendon pki root-crl`).
    """
    latest = authority.crls.order_by("-number").first()
    now = timezone.now()
    if latest is not None:
        half = (latest.next_update - latest.this_update) / 2
        if authority.key_id is None or now < latest.this_update + half:
            return latest
    issuer = Issuer(authority)
    with transaction.atomic():
        return _publish_crl(authority, issuer.certificate, issuer.private_key, now)


def _snapshot(cert: Certificate) -> dict[str, object]:
    return {
        "serial": cert.serial,
        "purpose": cert.purpose,
        "unit": cert.unit.code,
        "person": cert.person.username if cert.person_id and cert.person else None,
        "keystore": cert.key.keystore,
        "token": cert.key.token.serial if cert.key.token_id and cert.key.token else None,
        "not_after": cert.not_after.isoformat(),
    }


def _issue(
    issuer: Issuer,
    *,
    key: StoredKey,
    purpose: str,
    unit: Unit,
    person: Person | None,
    subject: x509build.SubjectInfo,
    now: dt.datetime,
    lifetime: dt.timedelta = x509build.END_ENTITY_LIFETIME,
    not_before: dt.datetime | None = None,
) -> Certificate:
    """Sign a certificate for `key` and build (unsaved) its row."""
    public = serialization.load_der_public_key(bytes(key.public_key_der))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    built = x509build.build_end_entity(
        subject=subject,
        public=public,
        purpose="encryption" if purpose == CertPurpose.UNIT_ENCRYPTION else "signing",
        issuer_cert=issuer.certificate,
        issuer_key=issuer.private_key,
        crl_url=issuer.crl_url,
        now=now,
        lifetime=lifetime,
        not_before=not_before,
    )
    der = built.public_bytes(serialization.Encoding.DER)
    return Certificate(
        serial=f"{built.serial_number:x}",
        fingerprint=fingerprint(der),
        issuer=issuer.authority,
        purpose=purpose,
        unit=unit,
        person=person,
        key=key,
        certificate_der=der,
        subject=built.subject.rfc4514_string()[:500],
        not_before=built.not_valid_before_utc,
        not_after=built.not_valid_after_utc,
    )


def _supersede(
    unit: Unit, purposes: Sequence[str], person: Person | None, now: dt.datetime
) -> None:
    current_certificates(unit=unit, person=person, purpose__in=purposes).update(superseded_at=now)


def _unit_subject(unit: Unit) -> x509build.SubjectInfo:
    return x509build.SubjectInfo(common_name=unit.name, unit_code=unit.code, unit_name=unit.name)


def issue_unit_certificates(
    issuer: Issuer,
    unit: Unit,
    *,
    signing_keystore: Keystore,
    token: Token | None = None,
    now: dt.datetime | None = None,
    lifetime: dt.timedelta = x509build.END_ENTITY_LIFETIME,
    not_before: dt.datetime | None = None,
) -> list[Certificate]:
    """Keys and certificates for one unit, unsaved (the caller saves and audits them)."""
    now = now or timezone.now()
    signing_key = signing_keystore.generate_signing_key(label=f"unit-{unit.code}", token=token)
    with _discarded_on_failure(signing_keystore, signing_key):
        return _unit_pair(issuer, unit, signing_key, signing_keystore, now, lifetime, not_before)


def _unit_pair(
    issuer: Issuer,
    unit: Unit,
    signing_key: StoredKey,
    signing_keystore: Keystore,
    now: dt.datetime,
    lifetime: dt.timedelta,
    not_before: dt.datetime | None,
) -> list[Certificate]:
    encryption_key = _software(signing_keystore).generate_hpke_key()
    subject = _unit_subject(unit)
    certs = [
        _issue(
            issuer,
            key=signing_key,
            purpose=CertPurpose.UNIT_SIGNING,
            unit=unit,
            person=None,
            subject=subject,
            now=now,
            lifetime=lifetime,
            not_before=not_before,
        ),
        _issue(
            issuer,
            key=encryption_key,
            purpose=CertPurpose.UNIT_ENCRYPTION,
            unit=unit,
            person=None,
            subject=subject,
            now=now,
            lifetime=lifetime,
            not_before=not_before,
        ),
    ]
    return certs


@contextmanager
def _discarded_on_failure(keystore: Keystore, key: StoredKey) -> Iterator[None]:
    """If anything fails before the key's certificate is stored, remove the key from its token:
    the database rolls back by itself, a token does not."""
    try:
        yield
    except BaseException:
        keystore.discard_key(key)
        raise


def _software(keystore: Keystore) -> SoftwareKeystore:
    """HPKE keys always live in the software keystore (docs/adr/0005)."""
    if isinstance(keystore, SoftwareKeystore):
        return keystore
    return SoftwareKeystore()


def _save_issued(certs: Iterable[Certificate]) -> None:
    for cert in certs:
        cert.key.save()
        cert.key_id = cert.key.pk
        cert.save()


@transaction.atomic
def do_issue_unit_keys(
    unit: Unit,
    *,
    signing_keystore: Keystore | None = None,
    token: Token | None = None,
    actor: Person | None = None,
    request: HttpRequest | None = None,
    lifetime: dt.timedelta = x509build.END_ENTITY_LIFETIME,
    not_before: dt.datetime | None = None,
) -> list[Certificate]:
    """Issue (or rotate) a unit's signing and encryption keys with their certificates.

    Earlier certificates stay valid but are marked superseded, so their encryption keys
    still open what was sent to them.
    """
    if token is not None:
        require_token_held_by(token, unit=unit)
    issuer = current_issuer()
    keystore = signing_keystore or node_keystore()
    now = timezone.now()
    certs = issue_unit_certificates(
        issuer,
        unit,
        signing_keystore=keystore,
        token=token,
        now=now,
        lifetime=lifetime,
        not_before=not_before,
    )
    signing_key = next(c.key for c in certs if c.purpose == CertPurpose.UNIT_SIGNING)
    with _discarded_on_failure(keystore, signing_key):
        _supersede(unit, [CertPurpose.UNIT_SIGNING, CertPurpose.UNIT_ENCRYPTION], None, now)
        _save_issued(certs)
    do_record_batch(
        AuditEntry(
            action="pki.certificate_issued",
            actor=actor,
            unit=unit,
            obj=cert,
            new=_snapshot(cert),
            client_address=client_address(request),
        )
        for cert in certs
    )
    return certs


@transaction.atomic
def do_issue_person_key(
    person: Person,
    *,
    keystore: Keystore | None = None,
    token: Token | None = None,
    actor: Person | None = None,
    request: HttpRequest | None = None,
    lifetime: dt.timedelta = x509build.END_ENTITY_LIFETIME,
    not_before: dt.datetime | None = None,
) -> Certificate:
    """A personal signing certificate naming the person, their position and unit."""
    if token is not None:
        require_token_held_by(token, unit=person.unit, person=person)
    issuer = current_issuer()
    keystore = keystore or node_keystore()
    now = timezone.now()
    key = keystore.generate_signing_key(label=f"person-{person.username}", token=token)
    with _discarded_on_failure(keystore, key):
        cert = _person_certificate(issuer, person, key, now, lifetime, not_before)
        _supersede(person.unit, [CertPurpose.PERSON_SIGNING], person, now)
        _save_issued([cert])
    do_record(
        "pki.certificate_issued",
        actor=actor,
        unit=person.unit,
        obj=cert,
        new=_snapshot(cert),
        request=request,
    )
    return cert


@transaction.atomic
def do_issue_node_certificate(
    name: str,
    *,
    home_unit: Unit,
    replaces: Certificate | None = None,
    keystore: Keystore | None = None,
    actor: Person | None = None,
) -> Certificate:
    """The certificate a node signs its requests to other nodes with ("node:NAME");
    `replaces` (the node's previous one) is marked superseded."""
    issuer = current_issuer()
    keystore = keystore or node_keystore()
    try:
        subject = x509build.node_subject(name)
    except ValueError as exc:
        raise PkiError(str(exc), code="bad_node_name") from exc
    now = timezone.now()
    key = keystore.generate_signing_key(label=f"node-{name}")
    with _discarded_on_failure(keystore, key):
        cert = _issue(
            issuer,
            key=key,
            purpose=CertPurpose.NODE,
            unit=home_unit,
            person=None,
            subject=subject,
            now=now,
        )
        if replaces is not None:
            Certificate.objects.filter(pk=replaces.pk).update(superseded_at=now)
        _save_issued([cert])
    do_record("pki.certificate_issued", actor=actor, unit=home_unit, obj=cert, new=_snapshot(cert))
    return cert


def _person_certificate(
    issuer: Issuer,
    person: Person,
    key: StoredKey,
    now: dt.datetime,
    lifetime: dt.timedelta,
    not_before: dt.datetime | None,
) -> Certificate:
    subject = x509build.SubjectInfo(
        common_name=person.full_name,
        unit_code=person.unit.code,
        unit_name=person.unit.name,
        title=person.acting_position or person.position,
        person_id=person.username,
    )
    return _issue(
        issuer,
        key=key,
        purpose=CertPurpose.PERSON_SIGNING,
        unit=person.unit,
        person=person,
        subject=subject,
        now=now,
        lifetime=lifetime,
        not_before=not_before,
    )


def units_lacking_keys() -> QuerySet[Unit]:
    """Units without a current signing or a current encryption certificate."""
    signing = current_certificates(purpose=CertPurpose.UNIT_SIGNING, person=None)
    encryption = current_certificates(purpose=CertPurpose.UNIT_ENCRYPTION, person=None)
    return Unit.objects.filter(is_active=True).exclude(
        Q(pk__in=signing.values("unit_id")) & Q(pk__in=encryption.values("unit_id"))
    )


def _store_batch(
    units: list[Unit], certs: list[Certificate], now: dt.datetime, actor: Person | None
) -> None:
    current_certificates(
        unit__in=units,
        person=None,
        purpose__in=[CertPurpose.UNIT_SIGNING, CertPurpose.UNIT_ENCRYPTION],
    ).update(superseded_at=now)
    StoredKey.objects.bulk_create([c.key for c in certs])
    for cert in certs:
        cert.key_id = cert.key.pk
    Certificate.objects.bulk_create(certs)
    do_record_batch(
        AuditEntry(
            action="pki.certificate_issued", actor=actor, unit=c.unit, obj=c, new=_snapshot(c)
        )
        for c in certs
    )


def issue_missing_unit_keys(
    *,
    batch_size: int = 200,
    on_batch: Callable[[int], None] | None = None,
    actor: Person | None = None,
) -> int:
    """Issue keys for every unit that lacks them, one committed batch at a time.

    Resumable: an interrupted run leaves whole batches (never a key without its
    certificate), and the next run picks up the units still lacking keys.
    """
    issuer = current_issuer()
    keystore = node_keystore()
    issuer.private_key  # noqa: B018  (open the CA key once, before the loop)
    done = 0
    pending = list(units_lacking_keys().order_by("path").values_list("pk", flat=True))
    for start in range(0, len(pending), batch_size):
        ids = pending[start : start + batch_size]
        certs: list[Certificate] = []
        try:
            with transaction.atomic():
                units = list(Unit.objects.filter(pk__in=ids))
                now = timezone.now()
                for unit in units:
                    certs.extend(
                        issue_unit_certificates(issuer, unit, signing_keystore=keystore, now=now)
                    )
                _store_batch(units, certs, now, actor)
        except BaseException:
            # The batch rolled back in the database; a token keeps what was made on it.
            for cert in certs:
                if cert.purpose == CertPurpose.UNIT_SIGNING:
                    keystore.discard_key(cert.key)
            raise
        done += len(units)
        if on_batch is not None:
            on_batch(len(units))
    return done


@transaction.atomic
def do_revoke_certificate(
    cert: Certificate,
    *,
    reason: str,
    actor: Person | None = None,
    request: HttpRequest | None = None,
    publish: bool = True,
) -> Certificate:
    """Revoke one certificate and (by default) publish the issuer's new CRL at once."""
    if reason not in RevocationReason.values:
        raise PkiError(
            f"unknown revocation reason {reason!r}; "
            f"use one of {', '.join(RevocationReason.values)}",
            code="unknown_reason",
        )
    cert = Certificate.objects.select_for_update().select_related("unit", "key").get(pk=cert.pk)
    if cert.state == Certificate.State.REVOKED:
        raise PkiError(f"certificate {cert.serial} is already revoked", code="already_revoked")
    old = {"state": cert.state}
    cert.state = Certificate.State.REVOKED
    cert.revoked_at = timezone.now()
    cert.revocation_reason = reason
    cert.save(update_fields=["state", "revoked_at", "revocation_reason"])
    do_record(
        "pki.certificate_revoked",
        actor=actor,
        unit=cert.unit,
        obj=cert,
        old=old,
        new={"state": cert.state, "reason": reason, "serial": cert.serial},
        request=request,
    )
    if publish:
        do_publish_crl(cert.issuer, actor=actor)
    return cert


@transaction.atomic
def do_revoke_unit(
    unit: Unit, *, reason: str, actor: Person | None = None, request: HttpRequest | None = None
) -> list[Certificate]:
    """Revoke the unit's current certificates (signing and encryption) with one new CRL."""
    certs = list(current_certificates(unit=unit, person=None))
    if not certs:
        raise PkiError(f"unit {unit.code} has no current certificate", code="nothing_to_revoke")
    revoked = [
        do_revoke_certificate(c, reason=reason, actor=actor, request=request, publish=False)
        for c in certs
    ]
    for authority in {c.issuer for c in revoked}:
        do_publish_crl(authority, actor=actor)
    return revoked


@transaction.atomic
def do_publish_crl(authority: CertificateAuthority, *, actor: Person | None = None) -> Crl:
    issuer = Issuer(CertificateAuthority.objects.select_related("key").get(pk=authority.pk))
    crl = _publish_crl(issuer.authority, issuer.certificate, issuer.private_key, timezone.now())
    do_record("pki.crl_published", actor=actor, obj=issuer.authority, new={"number": crl.number})
    return crl
