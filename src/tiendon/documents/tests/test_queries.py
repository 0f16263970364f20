"""Visibility: a unit sees its own documents; a secret document needs the clearance, and
every opening of one is audited."""

from __future__ import annotations

import uuid

import pytest

from tiendon.audit.models import AuditRecord
from tiendon.documents.models import DocumentType
from tiendon.documents.queries import (
    ClearanceRequired,
    documents_visible_to,
    get_visible_document,
    versions_of,
)
from tiendon.documents.tests.conftest import draft
from tiendon.errors import OutOfScope

pytestmark = pytest.mark.django_db


def test_people_of_the_unit_see_its_documents(board):
    document = draft(board)
    assert list(documents_visible_to(board.commander)) == [document]
    assert get_visible_document(board.clerk, document.pk) == document
    assert [v.number for v in versions_of(board.clerk, document.pk)] == [1]


def test_a_clerk_of_another_unit_cannot_list_or_open_the_document(board, tree):
    document = draft(board)
    assert not documents_visible_to(tree.clerk_b).exists()
    with pytest.raises(OutOfScope):
        get_visible_document(tree.clerk_b, document.pk)


def test_the_superior_unit_does_not_see_a_document_it_neither_issued_nor_received(board, tree):
    document = draft(board)
    assert not documents_visible_to(tree.province_commander).exists()
    with pytest.raises(OutOfScope):
        get_visible_document(tree.ministry_admin, document.pk)


def test_an_unknown_or_malformed_id_looks_like_another_units_document(board):
    for document_id in (uuid.uuid4(), "not-a-uuid", "1 OR 1=1"):
        with pytest.raises(OutOfScope):
            get_visible_document(board.clerk, document_id)


def test_a_person_without_clearance_never_gets_a_secret_document(province_board, tree):
    from tiendon.units.actions import do_create_person
    from tiendon.units.models import Role

    secret = draft(province_board, doc_type=DocumentType.CHI_THI, secrecy=1)
    officer = do_create_person(
        username="cb.thanhhoa",
        full_name="Ngô Văn Sĩ",
        unit=tree.province,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )
    assert secret not in documents_visible_to(officer)
    with pytest.raises(ClearanceRequired) as refused:
        get_visible_document(officer, secret.pk)
    assert refused.value.code == "clearance_required"
    record = AuditRecord.objects.get(action="documents.secret_refused")
    assert record.actor_id == officer.pk
    assert record.object_id == str(secret.pk)
    assert "subject" not in (record.new or {})


def test_every_opening_of_a_secret_document_is_audited(province_board):
    secret = draft(province_board, doc_type=DocumentType.CHI_THI, secrecy=1)
    assert secret in documents_visible_to(province_board.clerk)
    get_visible_document(province_board.clerk, secret.pk)
    get_visible_document(province_board.commander, secret.pk)
    opened = AuditRecord.objects.filter(action="documents.secret_opened", object_id=str(secret.pk))
    assert sorted(opened.values_list("actor_id", flat=True)) == sorted(
        [province_board.clerk.pk, province_board.commander.pk]
    )


def test_the_subject_of_a_secret_document_stays_out_of_the_audit_chain(province_board):
    secret = draft(province_board, doc_type=DocumentType.CHI_THI, secrecy=1)
    record = AuditRecord.objects.get(action="documents.draft_created", object_id=str(secret.pk))
    assert "subject" not in record.new
