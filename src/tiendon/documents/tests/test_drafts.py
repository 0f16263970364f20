"""Drafting: every edit is a new version; bad input is refused with its field and code,
and nothing is stored half-way."""

from __future__ import annotations

import pytest

from tiendon.audit.models import AuditRecord
from tiendon.documents.drafting import state
from tiendon.documents.drafting.actions import (
    do_create_draft,
    do_edit_draft,
    do_return_to_draft,
    do_submit_for_review,
    layout_of,
)
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import Document, DocumentType, DocumentVersion, SigningMode
from tiendon.documents.pdf.layout import render
from tiendon.documents.tests.conftest import SUBJECT, draft
from tiendon.errors import InvalidInput

pytestmark = pytest.mark.django_db


def test_a_draft_starts_at_version_1_and_is_audited(board):
    document = draft(board)
    assert (document.state, document.version) == (Document.State.DRAFT, 1)
    assert document.issuing_unit == board.unit
    assert document.place == "Đông Tiến"  # the place name, without "phường" (Decree 30)
    assert document.signer_title == "Chỉ huy trưởng"
    assert document.signer_rank == "Thiếu tá"
    (version,) = DocumentVersion.objects.filter(document=document)
    assert (version.number, version.subject) == (1, SUBJECT)
    assert AuditRecord.objects.filter(
        action="documents.draft_created", object_id=str(document.pk)
    ).exists()


def test_each_edit_keeps_the_earlier_versions(board):
    document = draft(board)
    document = do_edit_draft(document, board.clerk, subject="Về việc huấn luyện (sửa lần 1)")
    document = do_edit_draft(document, board.clerk, body="Nội dung mới.", urgency="khan")
    versions = list(document.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2, 3]
    assert [v.subject for v in versions] == [
        SUBJECT,
        "Về việc huấn luyện (sửa lần 1)",
        "Về việc huấn luyện (sửa lần 1)",
    ]
    assert versions[2].body == "Nội dung mới."
    assert versions[2].fields["urgency"] == "khan"
    assert versions[0].body != versions[2].body
    assert document.version == 3


def test_only_the_drafter_edits_and_only_while_drafting(board):
    document = draft(board)
    with pytest.raises(DocumentError) as refused:
        do_edit_draft(document, board.commander, subject="Khác")
    assert refused.value.code == "not_the_drafter"
    do_submit_for_review(document, board.clerk)
    with pytest.raises(DocumentError) as refused:
        do_edit_draft(document, board.clerk, subject="Khác")
    assert refused.value.code == "wrong_state"
    assert DocumentVersion.objects.filter(document=document).count() == 1


def test_the_signer_can_return_a_draft_with_a_comment(board):
    document = do_submit_for_review(draft(board), board.clerk)
    with pytest.raises(InvalidInput):
        do_return_to_draft(document, board.commander, comment="  ")
    document = do_return_to_draft(document, board.commander, comment="Bổ sung căn cứ pháp lý.")
    assert document.state == Document.State.DRAFT
    record = AuditRecord.objects.get(action="documents.returned")
    assert record.new["comment"] == "Bổ sung căn cứ pháp lý."


def test_a_failed_edit_leaves_the_draft_and_its_versions_as_they_were(board):
    document = draft(board)
    with pytest.raises(InvalidInput):
        do_edit_draft(document, board.clerk, subject="")
    document.refresh_from_db()
    assert (document.subject, document.version) == (SUBJECT, 1)
    assert DocumentVersion.objects.filter(document=document).count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"subject": "   "}, "subject", "subject_required"),
        ({"subject": "x" * 501}, "subject", "subject_too_long"),
        ({"doc_type": "thu_tay"}, "doc_type", "unknown_type"),
        ({"urgency": "rat_gap"}, "urgency", "unknown_urgency"),
        ({"secrecy": 7}, "secrecy", "unknown_secrecy"),
        ({"body": ""}, "body", "content_required"),
        ({"doc_type": DocumentType.CONG_VAN}, "drafting_office", "drafting_office_required"),
        ({"signing_mode": SigningMode.KT}, "head_title", "head_title_required"),
        ({"signing_mode": "thay"}, "signing_mode", "unknown_signing_mode"),
        ({"secrecy": 1}, "secrecy", "clearance_required"),
        ({"uploaded_pdf": b"PK\x03\x04 a zip file"}, "uploaded_pdf", "not_a_pdf"),
        ({"uploaded_pdf": b"%PDF-1.7\n1 0 obj garbage"}, "uploaded_pdf", "corrupt_pdf"),
    ],
)
def test_bad_input_is_refused_with_field_and_code_and_stores_nothing(board, overrides, field, code):
    with pytest.raises(InvalidInput) as refused:
        draft(board, **overrides)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert not Document.objects.exists()
    assert not DocumentVersion.objects.exists()
    assert not AuditRecord.objects.filter(action="documents.draft_created").exists()


def test_a_signer_of_another_unit_is_refused(board, tree):
    with pytest.raises(InvalidInput) as refused:
        draft(board, signer=tree.province_commander)
    assert refused.value.code == "signer_outside_unit"
    assert not Document.objects.exists()


def test_an_upload_over_the_limit_is_refused(board, monkeypatch):
    monkeypatch.setattr(state, "MAX_UPLOAD_BYTES", 1024)
    with pytest.raises(InvalidInput) as refused:
        draft(board, uploaded_pdf=b"%PDF-1.7\n" + b"0" * 2048)
    assert refused.value.code == "upload_too_large"
    assert not Document.objects.exists()


def test_a_real_pdf_upload_is_kept_with_the_draft(board):
    data = render(layout_of(draft(board))).pdf
    document = do_create_draft(
        board.clerk,
        doc_type=DocumentType.BAO_CAO,
        subject="Báo cáo kết quả tuyển quân",
        uploaded_pdf=data,
        signer=board.commander,
    )
    assert bytes(document.uploaded_pdf) == data
    assert bytes(document.versions.get().uploaded_pdf) == data


def test_metadata_is_plain_json_for_later_sending(board):
    import json

    document = draft(board)
    metadata = json.loads(json.dumps(document.metadata()))
    assert metadata["identifier"] == str(document.pk)
    assert metadata["subject"] == SUBJECT
    assert metadata["signer"]["full_name"] == "Hoàng Văn Đức"
    assert metadata["number"] is None


def test_refusals_speak_vietnamese_to_the_user(board):
    from django.utils import translation

    with translation.override("vi"), pytest.raises(InvalidInput) as refused:
        draft(board, subject="")
    assert refused.value.message == "Phải nhập trích yếu."
