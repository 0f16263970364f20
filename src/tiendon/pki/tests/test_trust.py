"""Trusting an outside CA by configuration; the public CRL and directory endpoints."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse
from django.utils import timezone

from tiendon.pki import x509build
from tiendon.pki.actions import do_issue_unit_keys, do_revoke_certificate
from tiendon.pki.errors import CertificateRefused
from tiendon.pki.issuer import current_issuer
from tiendon.pki.models import CertPurpose
from tiendon.pki.validation import validate_certificate

pytestmark = pytest.mark.django_db


@pytest.fixture
def government_ca(tmp_path):
    """A CA of another authority, with a certificate it issued and its (empty) CRL."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = timezone.now()
    root = x509build.build_root("Government Root CA", key, now)
    leaf = x509build.build_end_entity(
        subject=x509build.SubjectInfo(common_name="Cơ quan ngoài", unit_code="G001"),
        public=ec.generate_private_key(ec.SECP256R1()).public_key(),
        purpose="signing",
        issuer_cert=root,
        issuer_key=key,
        crl_url="http://gov.invalid/root.crl",
        now=now,
    )
    crl = x509build.build_crl(issuer_cert=root, issuer_key=key, number=1, revoked=[], now=now)
    (tmp_path / "gov-root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "gov.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    return tmp_path, leaf.public_bytes(serialization.Encoding.DER)


def test_an_outside_ca_is_unknown_until_configured_as_a_trust_anchor(pki, settings, government_ca):
    folder, leaf = government_ca
    with pytest.raises(CertificateRefused) as refused:
        validate_certificate(leaf, usage="signing")
    assert refused.value.code == "unknown_issuer"
    settings.TIENDON_TRUST_ANCHORS = [str(folder / "gov-root.pem")]
    settings.TIENDON_EXTERNAL_CRLS = [str(folder / "gov.crl")]
    validate_certificate(leaf, usage="signing")


def test_an_outside_ca_without_its_crl_is_still_refused(pki, settings, government_ca):
    folder, leaf = government_ca
    settings.TIENDON_TRUST_ANCHORS = [str(folder / "gov-root.pem")]
    with pytest.raises(CertificateRefused):
        validate_certificate(leaf, usage="signing")


def test_a_malformed_trust_anchor_file_is_named(tree, pki, settings, tmp_path):
    cert = do_issue_unit_keys(tree.commune_a)[0]
    bad = tmp_path / "broken.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    settings.TIENDON_TRUST_ANCHORS = [str(bad)]
    with pytest.raises(CertificateRefused) as refused:
        validate_certificate(bytes(cert.certificate_der), usage="signing")
    assert refused.value.code == "malformed_certificate"
    assert "TIENDON_TRUST_ANCHORS" in refused.value.message


def test_the_crl_distribution_point_serves_the_newest_crl_to_anyone(client, tree, pki):
    certs = {c.purpose: c for c in do_issue_unit_keys(tree.commune_a)}
    signing = certs[CertPurpose.UNIT_SIGNING]
    do_revoke_certificate(signing, reason="keyCompromise")
    point = x509.load_der_x509_certificate(bytes(signing.certificate_der)).extensions
    url = point.get_extension_for_class(x509.CRLDistributionPoints).value[0].full_name[0].value
    path = url.removeprefix("http://127.0.0.1:8000")
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    assert crl.get_revoked_certificate_by_serial_number(int(signing.serial, 16)) is not None
    assert crl.is_signature_valid(current_issuer().certificate.public_key())


def test_the_directory_publishes_a_units_current_certificates(client, tree, pki):
    do_issue_unit_keys(tree.commune_a)
    response = client.get(reverse("pki_directory", args=[tree.commune_a.code]))
    entries = response.json()["certificates"]
    assert {e["purpose"] for e in entries} == {"unit_signing", "unit_encryption"}
    for entry in entries:
        cert = x509.load_pem_x509_certificate(entry["pem"].encode())
        assert f"{cert.serial_number:x}" == entry["serial"]
    assert client.get(reverse("pki_directory", args=["nope"])).status_code == 404
