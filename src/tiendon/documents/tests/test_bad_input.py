"""The "Bad input" list of issue 5, through the pages a person uses: a non-PDF or corrupt
PDF, an upload over the limit (refused by its size, never read), a subject over 500
characters, an unknown recipient, a signer without a valid certificate, a revoked
certificate, a signature broken after signing. Each shows a clear message, and nothing is
half-stored: no draft, no signature, no number consumed."""

from __future__ import annotations

import io
from typing import Any

import pytest
from conftest import log_in_with_totp
from django.core.files.uploadedfile import (
    InMemoryUploadedFile,
    SimpleUploadedFile,
    TemporaryUploadedFile,
)
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from tiendon.audit.models import AuditRecord
from tiendon.documents.drafting import state
from tiendon.documents.drafting.actions import do_sign
from tiendon.documents.incoming import actions as actions_flow
from tiendon.documents.models import Document, IncomingDocument, NumberCounter
from tiendon.documents.tests.conftest import in_review
from tiendon.pki.actions import do_revoke_certificate
from tiendon.pki.models import Certificate, CertPurpose
from tiendon.pki.signing import current_personal_certificate
from tiendon.units import auth
from tiendon.units.models import Person

pytestmark = pytest.mark.django_db


def vi(message: str) -> str:
    with translation.override("vi"):
        return gettext(message)


def _draft_post(board: Any, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "doc_type": "quyet_dinh",
        "subject": "Về việc kiểm tra công tác sẵn sàng chiến đấu",
        "body": "Nội dung.",
        "urgency": "normal",
        "secrecy": "0",
        "signer": board.commander.pk,
        "signing_mode": "direct",
        "signer_title": "CHỈ HUY TRƯỞNG",
    }
    values.update(overrides)
    return values


def _nothing_drafted() -> None:
    assert not Document.objects.exists()
    assert not AuditRecord.objects.filter(action="documents.draft_created").exists()


def _client_file(name: str, data: bytes) -> io.BytesIO:
    """A file for the test client to send (not an UploadedFile, which `never_read` guards)."""
    upload = io.BytesIO(data)
    upload.name = name
    return upload


@pytest.fixture
def never_read(monkeypatch: Any) -> None:
    """Any read of an uploaded file's content on the server side fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("the upload was read")

    for cls in (InMemoryUploadedFile, TemporaryUploadedFile):
        monkeypatch.setattr(cls, "read", refuse)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 a zip file, not a PDF", "The file is not a PDF."),
        (b"%PDF-1.7\n1 0 obj garbage", "The PDF is damaged and cannot be read."),
    ],
)
def test_a_non_pdf_or_corrupt_pdf_upload_is_refused_on_the_form(board, client, content, message):
    log_in_with_totp(client, board.clerk)
    upload = SimpleUploadedFile("noi-dung.pdf", content, content_type="application/pdf")
    response = client.post(reverse("document_new"), _draft_post(board, uploaded_pdf=upload))
    assert response.status_code == 200
    assert vi(message) in response.content.decode()
    _nothing_drafted()


def test_an_upload_over_the_limit_is_refused_by_its_size_without_being_read(
    board, client, monkeypatch, never_read
):
    # The limit is 50 MB; a 200 MB upload is the same case at a smaller scale here.
    monkeypatch.setattr(state, "MAX_UPLOAD_BYTES", 4 * 1024)
    log_in_with_totp(client, board.clerk)
    upload = _client_file("lon.pdf", b"%PDF-1.7\n" + b"0" * 16 * 1024)
    response = client.post(reverse("document_new"), _draft_post(board, uploaded_pdf=upload))
    assert response.status_code == 200
    form = response.context["form"]
    assert [e.code for e in form.errors.as_data()["uploaded_pdf"]] == ["upload_too_large"]
    assert vi("The file is larger than %(mb)s MB; nothing was saved.") % {"mb": 1} in (
        response.content.decode()
    )
    _nothing_drafted()


def test_a_paper_scan_over_the_limit_is_refused_without_being_read(
    tree, client, monkeypatch, never_read
):
    monkeypatch.setattr(actions_flow, "MAX_SCAN_BYTES", 4 * 1024)
    client.force_login(tree.clerk_a)
    response = client.post(
        reverse("paper_new"),
        {
            "scan": _client_file("scan.pdf", b"%PDF-1.7\n" + b"0" * 16 * 1024),
            "issuer_name": "Ủy ban nhân dân phường Đông Tiến",
            "doc_type": "cong_van",
            "subject": "Về việc phối hợp tuyển quân",
            "urgency": "normal",
            "secrecy": "0",
        },
    )
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["scan"]] == [
        "upload_too_large"
    ]
    assert not IncomingDocument.objects.exists()


def test_a_subject_over_500_characters_is_refused_on_the_form(board, client):
    log_in_with_totp(client, board.clerk)
    response = client.post(reverse("document_new"), _draft_post(board, subject="Về " * 200))
    assert response.status_code == 200
    assert "subject" in response.context["form"].errors
    assert "500" in str(response.context["form"].errors["subject"])
    _nothing_drafted()


def test_an_unknown_recipient_is_refused_on_the_form(board, client):
    log_in_with_totp(client, board.clerk)
    response = client.post(
        reverse("document_new"), _draft_post(board, recipient_units="15853 99999")
    )
    assert response.status_code == 200
    assert "99999" in response.content.decode()
    _nothing_drafted()


def _sign_through_the_page(client: Any, board: Any, document: Any) -> str:
    log_in_with_totp(client, board.commander)
    board.commander.refresh_from_db()
    secret = Person.objects.get(pk=board.commander.pk).totp_secret
    step = auth.current_step()
    Person.objects.filter(pk=board.commander.pk).update(totp_last_step=step - 1)
    response = client.post(
        reverse("document_sign", args=[document.pk]),
        {"code": auth.code_for_step(secret, step)},
        follow=True,
    )
    return response.content.decode()


def _nothing_signed(document: Any) -> None:
    document.refresh_from_db()
    assert document.state == Document.State.IN_REVIEW
    assert document.pdf is None
    assert not AuditRecord.objects.filter(action="documents.signed").exists()


MESSAGE_NO_CERTIFICATE = (
    "You have no valid personal signing certificate (never issued, revoked or expired): "
    "ask the administrator for a new one. Nothing was signed."
)


def test_a_signer_who_never_had_a_certificate_is_told_and_nothing_is_signed(board, client):
    document = in_review(board)
    Certificate.objects.filter(person=board.commander).delete()
    page = _sign_through_the_page(client, board, document)
    assert vi(MESSAGE_NO_CERTIFICATE) in page
    _nothing_signed(document)


def test_a_signer_whose_certificate_was_revoked_is_told_and_nothing_is_signed(board, client):
    document = in_review(board)
    do_revoke_certificate(current_personal_certificate(board.commander), reason="keyCompromise")
    page = _sign_through_the_page(client, board, document)
    assert vi(MESSAGE_NO_CERTIFICATE) in page
    _nothing_signed(document)


def _issue_through_the_page(client: Any, board: Any, document: Any) -> str:
    client.force_login(board.clerk)
    return client.post(reverse("document_issue", args=[document.pk]), follow=True).content.decode()


def _nothing_issued(document: Any) -> None:
    document.refresh_from_db()
    assert document.state == Document.State.SIGNED
    assert document.number is None
    assert document.envelope_id is None
    assert not NumberCounter.objects.filter(last_number__gt=0).exists()
    assert not AuditRecord.objects.filter(action="documents.issued").exists()


def test_a_revoked_unit_certificate_stops_issuing_and_consumes_no_number(board, client):
    document = do_sign(in_review(board), board.commander, totp_code=board.code())
    for cert in Certificate.objects.filter(
        unit=board.unit, person=None, purpose=CertPurpose.UNIT_SIGNING
    ):
        do_revoke_certificate(cert, reason="keyCompromise")
    page = _issue_through_the_page(client, board, document)
    assert vi("The issuing unit has no signing certificate.") in page
    _nothing_issued(document)


def test_a_signature_broken_after_signing_stops_issuing_and_consumes_no_number(board, client):
    document = do_sign(in_review(board), board.commander, totp_code=board.code())
    data = bytearray(bytes(document.pdf))
    at = data.index(b"/Contents")  # inside the signed byte range
    data[at + 12] ^= 0x01
    Document.objects.filter(pk=document.pk).update(pdf=bytes(data))
    page = _issue_through_the_page(client, board, document)
    assert (
        vi("The signer's signature does not verify; the document was changed after signing.")
        in page
        or "corrupt_pdf" in page
    )
    _nothing_issued(document)
