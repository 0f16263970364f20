"""Attachments: checked at drafting like the content upload, signed by the organisation top
right of page 1 at issuing (pdfsig, pyHanko, pdftotext agree), carried to the recipients,
verified there, and a changed byte shows; a failure signing one issues nothing."""

from __future__ import annotations

import io
import subprocess
import unicodedata
import zoneinfo

import pytest
from django.utils import translation
from reportlab.pdfgen.canvas import Canvas

from tiendon.audit.models import AuditRecord
from tiendon.documents import queries
from tiendon.documents.drafting import state
from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.drafting.attachments import do_add_attachment
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import Attachment, Document, IncomingAttachment, NumberCounter
from tiendon.documents.pdf import container, pades, stamps
from tiendon.documents.pdf.layout import SERIF, register_fonts
from tiendon.documents.tests.conftest import draft, taken_in
from tiendon.errors import InvalidInput, OutOfScope
from tiendon.exchange.models import Envelope
from tiendon.exchange.queries import open_payload

pytestmark = pytest.mark.django_db


def annex_pdf(title: str = "Phụ lục: danh sách dân quân thường trực", pages: int = 2) -> bytes:
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, initialFontName=SERIF)
    for index in range(pages):
        canvas.setFont(SERIF, 14)
        canvas.drawString(72, 700, f"{title} — trang {index + 1}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _text(pdf: bytes, tmp_path, name: str = "a.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return unicodedata.normalize("NFC", out.stdout.decode())


def _issued_with_annex(board, tree, **overrides):
    document = draft(board, recipient_spec=[{"unit": tree.commune_b.code}], **overrides)
    do_add_attachment(document, board.clerk, name="Phu luc 1.pdf", content=annex_pdf())
    from tiendon.documents.drafting.actions import do_submit_for_review

    document = do_submit_for_review(document, board.clerk)
    document = do_sign(document, board.commander, totp_code=board.code())
    return do_issue(document, board.clerk)


@pytest.fixture
def commune_b_keys(tree, pki):
    from tiendon.pki.actions import do_issue_unit_keys

    do_issue_unit_keys(tree.commune_b)


def test_an_attachment_is_signed_top_right_with_unit_number_and_vietnam_time(
    board, tree, commune_b_keys, tmp_path
):
    document = _issued_with_annex(board, tree)
    (attachment,) = Attachment.objects.filter(document=document)
    signed = bytes(attachment.signed)
    # pyHanko: the unit's signature, intact, trusted, nothing changed after it.
    reports = pades.verify(signed)
    assert len(reports) == 1
    (report,) = reports
    assert report.bottom_line
    assert report.intact
    assert report.trusted
    assert not report.revoked
    assert "Ban Chỉ huy Quân sự phường Đông Tiến" in report.signer_subject
    # poppler's independent check of the byte range.
    path = tmp_path / "annex.pdf"
    path.write_bytes(signed)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    assert out.stdout.count("Signature is Valid.") == 1, out.stdout
    # The stamp's text: unit, the document's number and symbol, ISO 8601 with +07:00.
    text = _text(signed, tmp_path)
    assert "Ban Chỉ huy Quân sự phường Đông Tiến" in text
    assert f"Số: {document.number_and_symbol}" in text
    issued_local = document.issued_at.astimezone(zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"))
    assert f"{issued_local.date().isoformat()}T" in text
    assert "+07:00" in text
    # Top right of page 1: the stamp text comes before the page's own text.
    assert text.index("+07:00") < text.index("Phụ lục")
    # The attachment's own content is untouched (an incremental update).
    assert signed.startswith(bytes(attachment.content))


def test_attachments_travel_in_the_container_and_are_verified_on_arrival(
    board, tree, commune_b_keys, tmp_path
):
    document = _issued_with_annex(board, tree)
    envelope = Envelope.objects.get(pk=document.envelope_id)
    incoming = taken_in(tree.clerk_b, envelope.pk)
    (received,) = IncomingAttachment.objects.filter(incoming=incoming)
    assert received.name == "Phu luc 1.pdf"
    assert received.verified
    data, name = queries.incoming_attachment(tree.clerk_b, incoming.pk, received.position)
    assert name == "Phu luc 1.pdf"
    assert data == bytes(Attachment.objects.get(document=document).signed)
    assert "Phụ lục" in _text(data, tmp_path)
    # Another unit cannot download it.
    with pytest.raises(OutOfScope):
        queries.incoming_attachment(tree.clerk_a, incoming.pk, received.position)


def test_a_changed_byte_in_a_received_attachment_shows_as_not_verified(
    board, tree, commune_b_keys, monkeypatch
):
    """The delivery decrypts to a container whose signed annex has one byte changed (what
    a faulty store or a holder of the content key could hand over): the container's own
    hashes are consistent, so only the signature can tell."""
    document = _issued_with_annex(board, tree)
    payload = container.unpack_document(open_payload(tree.clerk_b, str(document.envelope_id)))
    (name, data) = next(iter(payload.attachments.items()))
    changed = bytearray(data)
    at = changed.index(b"/MediaBox")  # inside the signed byte range
    changed[at + 12] ^= 0x01
    forged = container.pack_document(payload.metadata, payload.pdf, {name: bytes(changed)})
    unpack = container.unpack_document
    monkeypatch.setattr(container, "unpack_document", lambda data: unpack(forged))
    incoming = taken_in(tree.clerk_b, document.envelope_id)
    (row,) = IncomingAttachment.objects.filter(incoming=incoming)
    assert not row.verified
    assert all(v["bottom_line"] for v in incoming.verification)  # the document itself is fine


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"GIF89a not a pdf", "not_a_pdf"),
        (b"%PDF-1.7\n garbage without pages", "corrupt_pdf"),
    ],
)
def test_a_bad_attachment_is_refused_with_field_and_code_and_nothing_is_stored(
    board, content, code
):
    document = draft(board)
    with translation.override("en"), pytest.raises(InvalidInput) as refused:
        do_add_attachment(document, board.clerk, name="x.pdf", content=content)
    assert refused.value.code == code
    assert refused.value.field == "attachment"
    assert not Attachment.objects.exists()
    assert not AuditRecord.objects.filter(action="documents.attachment_added").exists()


def test_an_attachment_over_the_size_limit_is_refused(board, monkeypatch):

    monkeypatch.setattr(state, "MAX_UPLOAD_BYTES", 1000)
    document = draft(board)
    with pytest.raises(InvalidInput) as refused:
        do_add_attachment(document, board.clerk, name="big.pdf", content=annex_pdf(pages=3))
    assert refused.value.code == "upload_too_large"
    assert refused.value.field == "attachment"
    assert not Attachment.objects.exists()


def test_only_the_drafter_attaches_and_only_to_a_draft(board, tree):
    document = draft(board)
    with pytest.raises(DocumentError) as refused:
        do_add_attachment(document, board.commander, name="a.pdf", content=annex_pdf())
    assert refused.value.code == "not_the_drafter"
    attachment = do_add_attachment(document, board.clerk, name="../../etc/a", content=annex_pdf())
    assert attachment.name == "a.pdf"
    assert AuditRecord.objects.filter(action="documents.attachment_added").count() == 1


def test_a_failure_signing_an_attachment_issues_nothing_and_consumes_no_number(
    board, tree, commune_b_keys, monkeypatch
):
    document = draft(board, recipient_spec=[{"unit": tree.commune_b.code}])
    do_add_attachment(document, board.clerk, name="p.pdf", content=annex_pdf())
    from tiendon.documents.drafting.actions import do_submit_for_review

    signed = do_sign(
        do_submit_for_review(document, board.clerk), board.commander, totp_code=board.code()
    )

    def broken(*args, **kwargs):
        raise DocumentError("the attachment could not be signed", code="signing_failed")

    monkeypatch.setattr(stamps, "sign_top_right", broken)
    with pytest.raises(DocumentError):
        do_issue(signed, board.clerk)
    monkeypatch.undo()
    signed.refresh_from_db()
    assert signed.state == Document.State.SIGNED
    assert not NumberCounter.objects.filter(last_number__gt=0).exists()
    assert not Envelope.objects.exists()
    assert Attachment.objects.get(document=signed).signed is None
    assert do_issue(signed, board.clerk).number == 1
