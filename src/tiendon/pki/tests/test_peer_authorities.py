"""Learning another node's issuing CA and CRLs, so what its units sign validates here."""

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse
from django.utils import timezone

from tiendon.audit.models import AuditRecord
from tiendon.pki import x509build
from tiendon.pki.actions import do_import_authorities
from tiendon.pki.errors import CertificateRefused, PkiError
from tiendon.pki.issuer import Issuer
from tiendon.pki.models import CertificateAuthority
from tiendon.pki.validation import validate_certificate

pytestmark = pytest.mark.django_db
DER = serialization.Encoding.DER


@pytest.fixture
def other_node(pki):
    """A second node's issuing CA under our (demo) root, its CRL, and a unit certificate."""
    root = Issuer(pki.root)
    key = ec.generate_private_key(ec.SECP256R1())
    now = timezone.now()
    issuing = x509build.build_issuing(
        "Node Thanh Hoa Issuing CA",
        key.public_key(),
        root.certificate,
        root.private_key,
        "http://127.0.0.1:9/pki/crl/x.crl",
        now,
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = x509build.build_end_entity(
        subject=x509build.SubjectInfo("Ban CHQS xã Mường Lát", "14845"),
        public=leaf_key.public_key(),
        purpose="signing",
        issuer_cert=issuing,
        issuer_key=key,
        crl_url="http://127.0.0.1:9/pki/crl/x.crl",
        now=now,
    )

    def crl(number, revoked=()):
        return x509build.build_crl(
            issuer_cert=issuing,
            issuer_key=key,
            number=number,
            now=timezone.now(),
            revoked=[
                x509build.RevokedEntry(
                    c.serial_number, timezone.now(), x509.ReasonFlags.key_compromise
                )
                for c in revoked
            ],
        ).public_bytes(DER)

    return issuing.public_bytes(DER), leaf, crl, key


def test_a_unit_of_another_node_validates_once_its_ca_and_crl_are_imported(other_node):
    issuing, leaf, crl, _key = other_node
    with pytest.raises(CertificateRefused) as refused:
        validate_certificate(leaf.public_bytes(DER), usage="signing")
    assert refused.value.code == "unknown_issuer"
    result = do_import_authorities([(issuing, crl(1))], via="tinh-38")
    assert result.crls == 1
    assert CertificateAuthority.objects.filter(kind="peer").count() == 1
    validate_certificate(leaf.public_bytes(DER), usage="signing")
    assert AuditRecord.objects.get(action="pki.authorities_imported").object_id == "tinh-38"


def test_a_newer_crl_from_the_other_node_revokes_its_certificate_here(other_node):
    issuing, leaf, crl, _key = other_node
    do_import_authorities([(issuing, crl(1))], via="tinh-38")
    do_import_authorities([(issuing, crl(2, revoked=[leaf]))], via="tinh-38")
    with pytest.raises(CertificateRefused) as refused:
        validate_certificate(leaf.public_bytes(DER), usage="signing")
    assert refused.value.code == "revoked"
    # An older CRL replayed later changes nothing.
    assert do_import_authorities([(issuing, crl(1))], via="tinh-38").crls == 0


def test_a_ca_not_under_a_trusted_root_is_refused_and_nothing_stored(pki):
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    rogue_root = x509build.build_root("Rogue", rogue_key, timezone.now())
    rogue_issuing = x509build.build_issuing(
        "Rogue Issuing",
        ec.generate_private_key(ec.SECP256R1()).public_key(),
        rogue_root,
        rogue_key,
        "http://x/x.crl",
        timezone.now(),
    )
    before = CertificateAuthority.objects.count()
    with pytest.raises(PkiError) as refused:
        do_import_authorities([(rogue_issuing.public_bytes(DER), None)], via="evil")
    assert refused.value.code == "untrusted"
    assert CertificateAuthority.objects.count() == before


def test_a_crl_not_signed_by_its_ca_is_refused(other_node, pki):
    issuing, _leaf, _crl, _key = other_node
    forged = x509build.build_crl(
        issuer_cert=x509.load_der_x509_certificate(issuing),
        issuer_key=ec.generate_private_key(ec.SECP256R1()),
        number=9,
        revoked=[],
        now=timezone.now(),
    ).public_bytes(DER)
    with pytest.raises(PkiError) as refused:
        do_import_authorities([(issuing, forged)], via="evil")
    assert refused.value.code == "bad_crl_signature"
    assert not CertificateAuthority.objects.filter(kind="peer").exists()


def test_the_authorities_endpoint_publishes_what_another_node_imports(client, pki):
    entries = client.get(reverse("pki_authorities")).json()["authorities"]
    assert len(entries) == 2  # root and issuing CA, each with its CRL
    pairs = [(base64.b64decode(e["certificate"]), base64.b64decode(e["crl"])) for e in entries]
    # Importing our own publication changes nothing: those CAs are known already.
    assert do_import_authorities(pairs, via="self").added == []


def test_another_nodes_unit_certificates_are_kept_only_if_they_validate(other_node, tree):
    from tiendon.pki.actions import do_import_directory
    from tiendon.pki.models import DirectoryEntry

    issuing, _leaf, crl, ca_key = other_node
    do_import_authorities([(issuing, crl(1))], via="tinh-38")
    issuing_cert = x509.load_der_x509_certificate(issuing)

    def unit_cert(signed_by: ec.EllipticCurvePrivateKey) -> bytes:
        return x509build.build_end_entity(
            subject=x509build.SubjectInfo("Ban CHQS phường Đông Tiến", tree.commune_a.code),
            public=ec.generate_private_key(ec.SECP256R1()).public_key(),
            purpose="encryption",
            issuer_cert=issuing_cert,
            issuer_key=signed_by,
            crl_url="http://127.0.0.1:9/x.crl",
            now=timezone.now(),
        ).public_bytes(DER)

    genuine = unit_cert(ca_key)
    forged = unit_cert(ec.generate_private_key(ec.SECP256R1()))
    added = do_import_directory(
        [
            (tree.commune_a.code, "unit_encryption", genuine),
            (tree.commune_a.code, "unit_encryption", forged),
            (tree.commune_b.code, "unit_encryption", genuine),  # names commune A, listed as B
        ],
        via="tinh-38",
    )
    assert added == 1
    assert DirectoryEntry.objects.get().unit == tree.commune_a
    refused = AuditRecord.objects.get(action="pki.directory_imported").new["refused"]
    assert len(refused) == 2
