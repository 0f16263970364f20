"""Issuing and validating certificates: profiles, every refusal reason, rotation."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import timezone

from tiendon.audit.models import AuditRecord
from tiendon.pki import x509build
from tiendon.pki.actions import (
    do_issue_person_key,
    do_issue_unit_keys,
    do_revoke_certificate,
    do_revoke_unit,
)
from tiendon.pki.errors import CertificateRefused, PkiError
from tiendon.pki.issuer import current_issuer
from tiendon.pki.keystore import KeystoreError, SoftwareKeystore
from tiendon.pki.models import Certificate, CertPurpose, Crl, StoredKey
from tiendon.pki.validation import validate_certificate

pytestmark = pytest.mark.django_db


def _x509(cert: Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(bytes(cert.certificate_der))


def _refusal(der: bytes, usage: str = "signing") -> str:
    with pytest.raises(CertificateRefused) as refused:
        validate_certificate(der, usage=usage)
    return refused.value.code


def _by_purpose(certs: list[Certificate]) -> dict[str, Certificate]:
    return {c.purpose: c for c in certs}


def test_unit_certificates_carry_the_profile_extensions(tree, pki):
    certs = _by_purpose(do_issue_unit_keys(tree.commune_a))
    signing = _x509(certs[CertPurpose.UNIT_SIGNING])
    encryption = _x509(certs[CertPurpose.UNIT_ENCRYPTION])
    usage = signing.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.content_commitment
    assert not usage.key_agreement
    assert encryption.extensions.get_extension_for_class(x509.KeyUsage).value.key_agreement
    assert not signing.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    issuing = current_issuer().certificate
    ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    aki = signing.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski
    points = signing.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value.endswith(".crl")
    serial = signing.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value
    assert serial == tree.commune_a.code
    assert "Đông Tiến" in signing.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert signing.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
        tree.commune_a.name
    )


def test_issuance_is_audited_and_the_certificates_validate(tree, pki):
    certs = _by_purpose(do_issue_unit_keys(tree.commune_a, actor=tree.ministry_admin))
    validate_certificate(bytes(certs[CertPurpose.UNIT_SIGNING].certificate_der), usage="signing")
    validate_certificate(
        bytes(certs[CertPurpose.UNIT_ENCRYPTION].certificate_der), usage="encryption"
    )
    records = AuditRecord.objects.filter(action="pki.certificate_issued")
    assert records.count() == 2
    assert {r.actor_id for r in records} == {tree.ministry_admin.pk}


def test_personal_certificate_names_person_position_and_unit(tree, pki):
    cert = _x509(do_issue_person_key(tree.province_commander))
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Lê Văn Chỉ"
    assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Chỉ huy trưởng"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
        tree.province.name
    )


def test_revoked_certificate_is_refused_as_revoked(tree, pki):
    certs = _by_purpose(do_issue_unit_keys(tree.commune_a))
    signing = certs[CertPurpose.UNIT_SIGNING]
    crls_before = Crl.objects.count()
    do_revoke_certificate(signing, reason="keyCompromise", actor=tree.ministry_admin)
    assert Crl.objects.count() == crls_before + 1  # published at once
    assert _refusal(bytes(signing.certificate_der)) == "revoked"
    revoked = AuditRecord.objects.get(action="pki.certificate_revoked")
    assert revoked.new["reason"] == "keyCompromise"


def test_expired_certificate_is_refused_as_expired(tree, pki):
    past = timezone.now() - dt.timedelta(days=10)
    certs = do_issue_unit_keys(tree.commune_a, not_before=past, lifetime=dt.timedelta(days=2))
    assert _refusal(bytes(_by_purpose(certs)[CertPurpose.UNIT_SIGNING].certificate_der)) == (
        "expired"
    )


def test_certificate_not_yet_valid_is_refused(tree, pki):
    future = timezone.now() + dt.timedelta(days=3)
    certs = do_issue_unit_keys(tree.commune_a, not_before=future)
    assert _refusal(bytes(_by_purpose(certs)[CertPurpose.UNIT_SIGNING].certificate_der)) == (
        "not_yet_valid"
    )


def test_encryption_certificate_used_for_signing_is_refused_for_its_key_usage(tree, pki):
    certs = _by_purpose(do_issue_unit_keys(tree.commune_a))
    encryption = bytes(certs[CertPurpose.UNIT_ENCRYPTION].certificate_der)
    assert _refusal(encryption, usage="signing") == "wrong_key_usage"
    signing = bytes(certs[CertPurpose.UNIT_SIGNING].certificate_der)
    assert _refusal(signing, usage="encryption") == "wrong_key_usage"


def _foreign_ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    return x509build.build_root(name, key, timezone.now()), key


def test_certificate_from_an_unknown_ca_is_refused_as_unknown_issuer(tree, pki):
    foreign_root, foreign_key = _foreign_ca("Some Other Root")
    leaf = x509build.build_end_entity(
        subject=x509build.SubjectInfo(common_name="Giả mạo", unit_code="99999"),
        public=ec.generate_private_key(ec.SECP256R1()).public_key(),
        purpose="signing",
        issuer_cert=foreign_root,
        issuer_key=foreign_key,
        crl_url="http://127.0.0.1/x.crl",
        now=timezone.now(),
    )
    assert _refusal(leaf.public_bytes(serialization.Encoding.DER)) == "unknown_issuer"


def test_certificate_with_a_forged_issuer_signature_is_refused_as_broken_chain(tree, pki):
    issuer = current_issuer()
    # Same issuer name and key identifier as the node's CA, but signed by another key.
    forged = x509build.build_end_entity(
        subject=x509build.SubjectInfo(common_name="Giả mạo", unit_code=tree.commune_a.code),
        public=ec.generate_private_key(ec.SECP256R1()).public_key(),
        purpose="signing",
        issuer_cert=issuer.certificate,
        issuer_key=ec.generate_private_key(ec.SECP256R1()),
        crl_url=issuer.crl_url,
        now=timezone.now(),
    )
    assert _refusal(forged.public_bytes(serialization.Encoding.DER)) == "broken_chain"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a certificate at all",
        b"-----BEGIN CERTIFICATE-----\nbm90IGRlcg==\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
        b"\x30\x82\x01\x00" + b"\x00" * 10,
    ],
)
def test_malformed_pem_or_der_is_refused_with_its_own_code(pki, data):
    assert _refusal(data) == "malformed_certificate"


def test_rotation_supersedes_the_old_pair_but_old_encryption_keys_still_open(tree, pki):
    old = _by_purpose(do_issue_unit_keys(tree.commune_a))
    suite = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    old_public = _x509(old[CertPurpose.UNIT_ENCRYPTION]).public_key()
    sealed = suite.encrypt(b"van ban cu", old_public, info=b"test")
    new = _by_purpose(do_issue_unit_keys(tree.commune_a))
    old_enc = Certificate.objects.get(pk=old[CertPurpose.UNIT_ENCRYPTION].pk)
    assert old_enc.superseded_at is not None
    assert old_enc.state == Certificate.State.VALID
    assert new[CertPurpose.UNIT_ENCRYPTION].superseded_at is None
    old_private = SoftwareKeystore().private_key(old_enc.key)
    assert suite.decrypt(sealed, old_private, info=b"test") == b"van ban cu"


def test_software_keys_are_never_stored_in_plaintext(tree, pki):
    cert = _by_purpose(do_issue_unit_keys(tree.commune_a))[CertPurpose.UNIT_SIGNING]
    stored = StoredKey.objects.get(pk=cert.key_id)
    private = SoftwareKeystore().private_key(stored)
    pkcs8 = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    scalar = private.private_numbers().private_value.to_bytes(32, "big")
    blob = bytes(stored.encrypted_private)
    assert pkcs8 not in blob
    assert scalar not in blob
    signature = SoftwareKeystore().sign(stored, b"data")
    _x509(cert).public_key().verify(signature, b"data", ec.ECDSA(hashes.SHA256()))


def test_a_wrong_node_secret_cannot_open_stored_keys(tree, pki, monkeypatch):
    cert = _by_purpose(do_issue_unit_keys(tree.commune_a))[CertPurpose.UNIT_SIGNING]
    monkeypatch.setenv("TIENDON_NODE_SECRET", "another-secret-of-sufficient-length-0123456789")
    with pytest.raises(KeystoreError) as refused:
        SoftwareKeystore().private_key(StoredKey.objects.get(pk=cert.key_id))
    assert refused.value.code == "key_unopenable"


def test_missing_or_short_node_secret_is_named(tree, pki, monkeypatch):
    monkeypatch.delenv("TIENDON_NODE_SECRET")
    monkeypatch.delenv("TIENDON_NODE_SECRET_FILE", raising=False)
    with pytest.raises(KeystoreError) as refused:
        SoftwareKeystore()
    assert refused.value.code == "node_secret_missing"
    monkeypatch.setenv("TIENDON_NODE_SECRET", "short")
    with pytest.raises(KeystoreError) as refused:
        SoftwareKeystore()
    assert refused.value.code == "node_secret_short"


def test_revoking_a_unit_revokes_its_current_pair_with_one_crl(tree, pki):
    do_issue_unit_keys(tree.commune_a)
    before = Crl.objects.count()
    revoked = do_revoke_unit(tree.commune_a, reason="keyCompromise")
    assert {c.purpose for c in revoked} == {CertPurpose.UNIT_SIGNING, CertPurpose.UNIT_ENCRYPTION}
    assert Crl.objects.count() == before + 1
    with pytest.raises(PkiError) as again:
        do_revoke_unit(tree.commune_a, reason="keyCompromise")
    assert again.value.code == "nothing_to_revoke"


def test_an_unknown_revocation_reason_changes_nothing(tree, pki):
    cert = do_issue_unit_keys(tree.commune_a)[0]
    with pytest.raises(PkiError) as refused:
        do_revoke_certificate(cert, reason="becauseISaidSo")
    assert refused.value.code == "unknown_reason"
    cert.refresh_from_db()
    assert cert.state == Certificate.State.VALID


def test_a_node_can_stand_under_an_existing_national_root_without_keeping_its_key(tree):
    from tiendon.pki.actions import do_init_pki
    from tiendon.pki.models import CertificateAuthority

    national_key = ec.generate_private_key(ec.SECP256R1())
    national = x509build.build_root("Bộ Quốc phòng Root CA", national_key, timezone.now())
    result = do_init_pki(national_root=(national, national_key))
    assert result.root.key is None
    assert CertificateAuthority.objects.get(pk=result.root.pk).key_identifier == (
        national.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    )
    assert current_issuer().certificate.issuer == national.subject
    cert = _by_purpose(do_issue_unit_keys(tree.commune_a))[CertPurpose.UNIT_SIGNING]
    validate_certificate(bytes(cert.certificate_der), usage="signing")


def test_a_national_root_with_a_key_that_is_not_its_own_is_refused(tree):
    from tiendon.pki.actions import do_init_pki
    from tiendon.pki.models import CertificateAuthority

    national_key = ec.generate_private_key(ec.SECP256R1())
    national = x509build.build_root("Bộ Quốc phòng Root CA", national_key, timezone.now())
    with pytest.raises(PkiError) as refused:
        do_init_pki(national_root=(national, ec.generate_private_key(ec.SECP256R1())))
    assert refused.value.code == "wrong_key"
    assert not CertificateAuthority.objects.exists()


def test_a_remembered_acceptance_ends_the_moment_a_new_crl_revokes_it(tree, pki):
    from tiendon.pki.validation import validate_certificate_remembered

    signing = _by_purpose(do_issue_unit_keys(tree.commune_a))[CertPurpose.UNIT_SIGNING]
    der = bytes(signing.certificate_der)
    validate_certificate_remembered(der, usage="signing")
    validate_certificate_remembered(der, usage="signing")  # remembered: no path building
    do_revoke_certificate(signing, reason="keyCompromise", actor=tree.ministry_admin)
    with pytest.raises(CertificateRefused) as refused:
        validate_certificate_remembered(der, usage="signing")
    assert refused.value.code == "revoked"
    with pytest.raises(CertificateRefused) as refused:
        validate_certificate_remembered(der, usage="encryption")  # another use: decided anew
    assert refused.value.code in {"revoked", "wrong_key_usage"}


def test_validating_only_reads_the_crl_and_the_worker_refreshes_it(tree, pki):
    from tiendon.pki.actions import refresh_crls

    do_issue_unit_keys(tree.commune_a)
    cert = Certificate.objects.filter(unit=tree.commune_a, purpose=CertPurpose.UNIT_SIGNING).get()
    newest = Crl.objects.order_by("-number").first()
    # Past half its life: a validation still reads it as it is, and publishes nothing.
    old = timezone.now() - dt.timedelta(days=4)
    Crl.objects.filter(pk=newest.pk).update(this_update=old, next_update=old + dt.timedelta(days=7))
    count = Crl.objects.count()
    validate_certificate(bytes(cert.certificate_der), usage="signing")
    assert Crl.objects.count() == count
    # The node's worker re-signs it on its timer; a fresh one is left alone.
    (published,) = refresh_crls()
    assert published.number == newest.number + 1
    assert refresh_crls() == []
    validate_certificate(bytes(cert.certificate_der), usage="signing")
