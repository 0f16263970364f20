"""Personal keys sign on the node only with the signer's second factor at that moment."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import RequestFactory
from django.utils import timezone

from tiendon.audit.models import AuditRecord
from tiendon.pki.actions import do_issue_person_key, do_revoke_certificate
from tiendon.pki.errors import CertificateRefused, PkiError
from tiendon.pki.signing import current_personal_certificate, sign_as_person
from tiendon.units import auth
from tiendon.units.actions_auth import do_confirm_totp

pytestmark = pytest.mark.django_db
DOCUMENT = "Quyết định số 05/QĐ-BCHQS".encode()


@pytest.fixture
def signer(tree, pki):
    commander = tree.province_commander
    secret = auth.new_totp_secret()
    step = auth.current_step()
    do_confirm_totp(
        commander, secret, auth.code_for_step(secret, step - 1), request=RequestFactory().get("/")
    )
    do_issue_person_key(commander)
    commander.refresh_from_db()
    return commander, secret, step


def test_a_fresh_code_signs_and_the_signature_verifies_against_the_personal_certificate(signer):
    person, secret, step = signer
    signed = sign_as_person(person, DOCUMENT, totp_code=auth.code_for_step(secret, step))
    public = x509.load_der_x509_certificate(bytes(signed.certificate.certificate_der)).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signed.signature, DOCUMENT, ec.ECDSA(hashes.SHA256()))
    record = AuditRecord.objects.get(action="pki.personal_signature")
    assert record.actor_id == person.pk
    assert record.new["serial"] == signed.certificate.serial


def test_a_wrong_code_signs_nothing_and_is_audited(signer):
    person, _secret, _step = signer
    with pytest.raises(PkiError) as refused:
        sign_as_person(person, DOCUMENT, totp_code="000000")
    assert refused.value.code == "wrong_code"
    assert AuditRecord.objects.filter(action="pki.signature_refused").count() == 1
    assert not AuditRecord.objects.filter(action="pki.personal_signature").exists()


def test_the_same_code_cannot_authorise_two_signatures(signer):
    person, secret, step = signer
    code = auth.code_for_step(secret, step)
    sign_as_person(person, DOCUMENT, totp_code=code)
    with pytest.raises(PkiError) as refused:
        sign_as_person(person, b"another document", totp_code=code)
    assert refused.value.code == "code_reused"


def test_a_revoked_personal_certificate_cannot_sign(signer):
    person, secret, step = signer
    do_revoke_certificate(current_personal_certificate(person), reason="affiliationChanged")
    with pytest.raises(PkiError) as refused:
        sign_as_person(person, DOCUMENT, totp_code=auth.code_for_step(secret, step))
    assert refused.value.code == "no_personal_certificate"


def test_a_person_without_a_second_factor_cannot_sign(tree, pki):
    do_issue_person_key(tree.commander_a)
    with pytest.raises(PkiError) as refused:
        sign_as_person(tree.commander_a, DOCUMENT, totp_code="123456")
    assert refused.value.code == "second_factor_required"


def test_an_expired_personal_certificate_cannot_sign(tree, pki):
    person = tree.province_commander
    secret = auth.new_totp_secret()
    step = auth.current_step()
    do_confirm_totp(
        person, secret, auth.code_for_step(secret, step - 1), request=RequestFactory().get("/")
    )
    past = timezone.now() - dt.timedelta(days=30)
    do_issue_person_key(person, not_before=past, lifetime=dt.timedelta(days=1))
    person.refresh_from_db()
    with pytest.raises(CertificateRefused) as refused:
        sign_as_person(person, DOCUMENT, totp_code=auth.code_for_step(secret, step))
    assert refused.value.code == "expired"
    assert not AuditRecord.objects.filter(action="pki.personal_signature").exists()
