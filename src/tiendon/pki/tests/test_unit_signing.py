"""A unit's key signs only through pki.signing: its certificate checked first, each use audited."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from tiendon.audit.models import AuditRecord
from tiendon.pki.actions import do_issue_unit_keys, do_revoke_certificate
from tiendon.pki.errors import CertificateRefused, PkiError
from tiendon.pki.models import CertPurpose
from tiendon.pki.signing import sign_as_unit, unit_signer

pytestmark = pytest.mark.django_db
DATA = "Bản sao y số 12/SY-BCHQS".encode()


def _signing_certificate(certs):
    return next(c for c in certs if c.purpose == CertPurpose.UNIT_SIGNING)


def _verify(certificate, signature: bytes, data: bytes) -> None:
    public = x509.load_der_x509_certificate(bytes(certificate.certificate_der)).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, data, ec.ECDSA(hashes.SHA256()))


def test_a_unit_signs_with_its_current_certificate_and_the_signature_is_audited(tree, pki):
    cert = _signing_certificate(do_issue_unit_keys(tree.commune_a))
    signed = sign_as_unit(tree.commune_a, DATA, purpose="documents.copy", actor=tree.clerk_a)
    assert signed.certificate.pk == cert.pk
    _verify(signed.certificate, signed.signature, DATA)
    record = AuditRecord.objects.get(action="pki.unit_signature")
    assert (record.actor_id, record.unit_id) == (tree.clerk_a.pk, tree.commune_a.pk)
    assert record.object_id == str(cert.pk)
    assert record.new["purpose"] == "documents.copy"
    assert record.new["serial"] == cert.serial
    assert record.new["keystore"] == cert.key.keystore


def test_the_audit_record_of_a_unit_signature_holds_no_secret(tree, pki):
    do_issue_unit_keys(tree.commune_a)
    signed = sign_as_unit(tree.commune_a, DATA, purpose="documents.issue")
    record = AuditRecord.objects.get(action="pki.unit_signature")
    assert set(record.new) == {"purpose", "sha256", "serial", "keystore"}
    assert record.old is None
    written = json.dumps([record.old, record.new])
    for secret in (
        DATA.decode(),
        signed.signature.hex(),
        base64.b64encode(signed.signature).decode(),
        base64.b64encode(bytes(signed.certificate.key.encrypted_private)).decode(),
    ):
        assert secret not in written


def test_a_unit_whose_certificate_was_revoked_signs_nothing(tree, pki):
    cert = _signing_certificate(do_issue_unit_keys(tree.commune_a))
    do_revoke_certificate(cert, reason="keyCompromise")
    with pytest.raises(CertificateRefused) as refused:
        sign_as_unit(tree.commune_a, DATA, purpose="documents.issue")
    assert refused.value.code == "revoked"
    assert not AuditRecord.objects.filter(action="pki.unit_signature").exists()


def test_a_unit_whose_certificate_expired_signs_nothing(tree, pki):
    past = timezone.now() - dt.timedelta(days=10)
    do_issue_unit_keys(tree.commune_a, not_before=past, lifetime=dt.timedelta(days=2))
    with pytest.raises(CertificateRefused) as refused:
        unit_signer(tree.commune_a, purpose="documents.issue")
    assert refused.value.code == "expired"


def test_a_unit_that_never_had_a_certificate_is_told_so(tree, pki):
    with pytest.raises(PkiError) as refused:
        sign_as_unit(tree.commune_b, DATA, purpose="documents.issue")
    assert refused.value.code == "no_unit_certificate"


def test_a_signer_checks_the_certificate_once_and_then_signs_without_a_query(
    tree, pki, django_assert_num_queries
):
    do_issue_unit_keys(tree.commune_a)
    signer = unit_signer(tree.commune_a, purpose="exchange.envelope")
    pieces = [f"phong bì {i}".encode() for i in range(3)]
    with django_assert_num_queries(0):
        signatures = [signer.sign_recorded_by_caller(p) for p in pieces]
    for piece, signature in zip(pieces, signatures, strict=True):
        _verify(signer.certificate, signature, piece)
    assert not AuditRecord.objects.filter(action="pki.unit_signature").exists()
    assert signer.audit_facts() == {
        "purpose": "exchange.envelope",
        "serial": signer.certificate.serial,
        "keystore": signer.certificate.key.keystore,
    }


def test_each_audited_signature_of_one_signer_leaves_its_own_record(tree, pki):
    do_issue_unit_keys(tree.commune_a)
    signer = unit_signer(tree.commune_a, purpose="documents.attachment")
    signer.sign(b"first")
    signer.sign(b"second")
    records = AuditRecord.objects.filter(action="pki.unit_signature").order_by("seq")
    assert [r.new["sha256"] for r in records] == [
        hashlib.sha256(b"first").hexdigest(),
        hashlib.sha256(b"second").hexdigest(),
    ]


def test_a_signature_names_its_purpose(tree, pki):
    do_issue_unit_keys(tree.commune_a)
    with pytest.raises(ValueError, match="purpose"):
        unit_signer(tree.commune_a, purpose="")
