"""The pages of attachments, reviewers and certified copies: a drafter attaches and
chooses reviewers, a reviewer returns and then approves, the signer's form appears only
after; a province clerk makes a sao y from the received document's page and the commune
reads it as a copy with both signatures' results; other units get 404."""

from __future__ import annotations

import pytest
from conftest import log_in_with_totp
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tiendon.documents import queries
from tiendon.documents.drafting import state
from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.incoming.actions import do_register_incoming
from tiendon.documents.models import Attachment, CertifiedCopy, Document, ReviewStep
from tiendon.documents.tests.conftest import SUBJECT, draft, taken_in
from tiendon.documents.tests.test_attachments import annex_pdf
from tiendon.documents.tests.test_copies import issue_to
from tiendon.units.actions import do_create_person
from tiendon.units.models import Role

pytestmark = pytest.mark.django_db


def logged_in(person) -> Client:
    return log_in_with_totp(Client(), person)


def upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/pdf")


def test_attachments_and_reviewers_through_the_pages(tree, board):
    reviewer = do_create_person(
        username="tm.dongtien",
        full_name="Phạm Văn Tham",
        unit=tree.commune_a,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )
    document = draft(board, recipient_spec=[{"unit": tree.commune_b.code}])
    detail = reverse("document_detail", args=[document.pk])
    drafter = logged_in(board.clerk)
    with translation.override("en"):
        drafter.post(
            reverse("attachment_add", args=[document.pk]),
            {"attachment": upload("not.pdf", b"GIF89a")},
        )
        page = drafter.get(detail).content.decode()
    assert "not_a_pdf" in page
    assert not Attachment.objects.exists()
    drafter.post(
        reverse("attachment_add", args=[document.pk]),
        {"attachment": upload("Phụ lục 1.pdf", annex_pdf())},
    )
    assert "Phụ lục 1.pdf" in drafter.get(detail).content.decode()
    attachment = Attachment.objects.get()
    assert drafter.get(reverse("document_attachment", args=[document.pk, 1])).content == bytes(
        attachment.content
    )

    drafter.post(reverse("reviewers_set", args=[document.pk]), {"reviewer_1": reviewer.pk})
    drafter.post(reverse("document_submit", args=[document.pk]))
    assert ReviewStep.objects.get().reviewer == reviewer

    other_staff = logged_in(tree.clerk_b)
    assert other_staff.get(detail).status_code == 404
    assert other_staff.get(reverse("document_attachment", args=[document.pk, 1])).status_code == 404

    checker = logged_in(reviewer)
    assert 'id="review-form"' in checker.get(detail).content.decode()
    checker.post(
        reverse("review_decide", args=[document.pk]),
        {"decision": "return", "comment": "Bổ sung căn cứ."},
    )
    assert Document.objects.get(pk=document.pk).state == Document.State.DRAFT
    page = drafter.get(detail).content.decode()
    assert "Bổ sung căn cứ." in page
    assert 'id="review-trail"' in page
    drafter.post(reverse("document_submit", args=[document.pk]))
    checker.post(reverse("review_decide", args=[document.pk]), {"decision": "approve"})
    assert ReviewStep.objects.filter(decision="approved").count() == 1

    # After the last approval the signer signs; issuing signs the attachment.
    signed = do_sign(Document.objects.get(pk=document.pk), board.commander, totp_code=board.code())
    from tiendon.pki.actions import do_issue_unit_keys

    do_issue_unit_keys(tree.commune_b)
    issued = do_issue(signed, board.clerk)
    attachment.refresh_from_db()
    assert attachment.signed is not None
    incoming = taken_in(tree.clerk_b, issued.envelope_id)
    receiver = other_staff
    page = receiver.get(reverse("incoming_detail", args=[incoming.pk])).content.decode()
    assert 'id="incoming-attachments"' in page
    download = receiver.get(reverse("incoming_attachment", args=[incoming.pk, 1]))
    assert download.content == bytes(attachment.signed)
    assert drafter.get(reverse("incoming_attachment", args=[incoming.pk, 1])).status_code == 404


def test_the_signer_sees_the_sign_form_only_after_the_last_approval(tree, board):
    reviewer = do_create_person(
        username="tm.dongtien",
        full_name="Phạm Văn Tham",
        unit=tree.commune_a,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )
    document = draft(board)
    from tiendon.documents.drafting.actions import do_submit_for_review
    from tiendon.documents.drafting.reviews import do_approve, do_set_reviewers

    do_set_reviewers(document, board.clerk, reviewers=[reviewer])
    do_submit_for_review(document, board.clerk)
    signer = logged_in(board.commander)
    detail = reverse("document_detail", args=[document.pk])
    page = signer.get(detail).content.decode()
    assert 'id="sign-form"' not in page
    assert 'id="review-turn"' in page
    do_approve(document, reviewer)
    assert 'id="sign-form"' in signer.get(detail).content.decode()


def test_a_sao_y_is_made_from_the_received_documents_page_and_read_as_a_copy(
    tree,
    ministry_board,
    province_board,
    board,
):
    directive = issue_to(ministry_board, [{"unit": tree.province.code}])
    (waiting,) = queries.waiting_envelopes(province_board.clerk)
    at_38 = do_register_incoming(
        taken_in(province_board.clerk, waiting.envelope_id), province_board.clerk
    )
    province = logged_in(province_board.clerk)
    page = province.get(reverse("incoming_detail", args=[at_38.pk])).content.decode()
    assert 'id="make-copy"' in page
    form_page = province.get(reverse("incoming_copy", args=[at_38.pk]))
    assert form_page.status_code == 200
    made = province.post(
        reverse("incoming_copy", args=[at_38.pk]),
        {"form": "SY", "pages": "", "communes_of": tree.province.code},
    )
    copy = CertifiedCopy.objects.get()
    assert made["Location"] == reverse("copy_detail", args=[copy.pk])
    detail = province.get(made["Location"]).content.decode()
    assert "01/SY-BCHQS" in detail
    assert directive.number_and_symbol in detail
    assert province.get(reverse("copy_pdf", args=[copy.pk])).content == bytes(copy.pdf)
    assert "01/SY-BCHQS" in province.get(reverse("copy_list")).content.decode()

    commune = logged_in(tree.clerk_a)
    incoming_id = taken_in(tree.clerk_a, copy.envelope_id).pk
    page = commune.get(reverse("incoming_detail", args=[incoming_id])).content.decode()
    assert 'id="copy-of"' in page
    assert directive.number_and_symbol in page
    assert tree.ministry.name in page
    assert SUBJECT in page
    inbox = commune.get(reverse("incoming_list")).content.decode()
    assert 'class="badge copy-of"' in inbox
    assert directive.number_and_symbol in inbox
    original = commune.get(reverse("incoming_original", args=[incoming_id]))
    assert original.content == bytes(directive.pdf)

    # Another unit: nothing of it.
    other = logged_in(tree.clerk_b)
    assert other.get(reverse("copy_detail", args=[copy.pk])).status_code == 404
    assert other.get(reverse("copy_pdf", args=[copy.pk])).status_code == 404
    assert other.get(reverse("incoming_copy", args=[at_38.pk])).status_code == 404
    assert other.post(reverse("incoming_copy", args=[at_38.pk]), {"form": "SY"}).status_code == 404
    assert other.get(reverse("incoming_original", args=[incoming_id])).status_code == 404

    # A trích sao without pages is refused on the form, nothing made.
    with translation.override("en"):
        again = province.post(
            reverse("incoming_copy", args=[at_38.pk]),
            {"form": "TrS", "pages": "", "send_to_children": "on"},
        )
    assert again.status_code == 200
    assert "pages_required" in again.content.decode()
    assert CertifiedCopy.objects.count() == 1


def test_an_attachment_over_the_limit_is_refused_on_the_page_before_it_is_read(board, monkeypatch):

    monkeypatch.setattr(state, "MAX_UPLOAD_BYTES", 1000)
    document = draft(board)
    drafter = logged_in(board.clerk)
    with translation.override("en"):
        drafter.post(
            reverse("attachment_add", args=[document.pk]),
            {"attachment": upload("big.pdf", annex_pdf(pages=3))},
        )
        page = drafter.get(reverse("document_detail", args=[document.pk])).content.decode()
    assert "upload_too_large" in page
    assert not Attachment.objects.exists()


def test_a_unit_copies_its_own_issued_document_from_its_page(tree, province_board, board):
    own = issue_to(province_board, [])
    clerk = logged_in(province_board.clerk)
    page = clerk.get(reverse("document_detail", args=[own.pk])).content.decode()
    assert 'id="make-copy"' in page
    made = clerk.post(
        reverse("document_copy", args=[own.pk]),
        {"form": "TrS", "pages": "1", "send_to_children": "on"},
    )
    copy = CertifiedCopy.objects.get()
    assert made["Location"] == reverse("copy_detail", args=[copy.pk])
    assert copy.number_and_symbol == "01/TrS-BCHQS"
    assert copy.source_document_id == own.pk
    assert "01/TrS-BCHQS" in clerk.get(reverse("document_detail", args=[own.pk])).content.decode()
    other = logged_in(tree.clerk_a)
    assert other.get(reverse("document_copy", args=[own.pk])).status_code == 404
