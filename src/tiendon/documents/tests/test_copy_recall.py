"""Recalling certified copies (13/15/16, as for a document), the recall of an original
reaching the copies made of it, a sao lục of one's own copy, and each recipient's whole
status history on the sender's pages."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.timezone import localtime

from tiendon.audit.models import AuditRecord
from tiendon.documents import queries
from tiendon.documents.copies.actions import do_make_copy, do_request_copy_recall
from tiendon.documents.delivery import history
from tiendon.documents.errors import DocumentError
from tiendon.documents.incoming.actions import (
    do_answer_recall,
    do_register_incoming,
    do_request_recall,
)
from tiendon.documents.models import CertifiedCopy, IncomingCopy, IncomingDocument
from tiendon.documents.tests.test_copies import issue_to, open_waiting
from tiendon.errors import InvalidInput, OutOfScope
from tiendon.exchange import dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def forwarded(tree, ministry_board, province_board, board):
    """A ministry directive registered at the province and forwarded to Đông Tiến as a sao
    y, which the commune registered."""
    directive = issue_to(ministry_board, [{"unit": tree.province.code}])
    at_38 = do_register_incoming(open_waiting(province_board.clerk), province_board.clerk)
    copy = do_make_copy(
        province_board.clerk, form="SY", incoming=at_38, recipient_spec=[{"unit": "15853"}]
    )
    at_commune = do_register_incoming(open_waiting(tree.clerk_a), tree.clerk_a)
    return directive, at_38, copy, at_commune


def open_recall(clerk):
    dispatch.run_until_idle()
    return IncomingDocument.objects.get(unit=clerk.unit, recall_answer="pending")


def statuses(viewer, copy):
    _copy, _total, _by_code, rows = queries.copy_statuses(viewer, copy.pk)
    return {row["unit__code"]: row["code"] for row in rows}


def test_the_copying_unit_recalls_a_copy_and_the_commune_gives_it_back(
    tree, province_board, forwarded
):
    _directive, _at_38, copy, at_commune = forwarded
    with pytest.raises(InvalidInput) as no_reason:
        do_request_copy_recall(copy, province_board.clerk, reason=" ")
    assert no_reason.value.code == "note_required"
    with pytest.raises(OutOfScope):
        do_request_copy_recall(copy, tree.clerk_a, reason="Không phải của xã.")
    recalled = do_request_copy_recall(copy, province_board.clerk, reason="Sao nhầm bản.")
    assert recalled.recalled_at is not None
    with pytest.raises(DocumentError) as twice:
        do_request_copy_recall(copy, province_board.clerk, reason="Lần nữa.")
    assert twice.value.code == "wrong_state"
    assert AuditRecord.objects.filter(action="documents.copy_recall_requested").count() == 1
    # A recalled copy is frozen: no sao lục is made of it.
    with pytest.raises(DocumentError) as frozen:
        do_make_copy(province_board.clerk, form="SL", copy=copy, recipient_spec=[{"unit": "15853"}])
    assert frozen.value.code == "wrong_state"

    asked = open_recall(tree.clerk_a)
    assert asked.pk == at_commune.pk
    assert asked.recall_reason == "Sao nhầm bản."
    do_answer_recall(asked, tree.clerk_a, accept=True)
    assert statuses(province_board.clerk, copy)["15853"] == "15"
    with pytest.raises(OutOfScope):
        queries.get_visible_incoming(tree.clerk_a, at_commune.pk)
    (record,) = queries.recalled_records(tree.clerk_a)
    assert record.pk == at_commune.pk


def test_a_recipient_may_refuse_to_give_a_copy_back_with_a_reason(tree, province_board, forwarded):
    _directive, _at_38, copy, at_commune = forwarded
    do_request_copy_recall(copy, province_board.clerk, reason="Sao nhầm bản.")
    asked = open_recall(tree.clerk_a)
    with pytest.raises(InvalidInput):
        do_answer_recall(asked, tree.clerk_a, accept=False)
    do_answer_recall(asked, tree.clerk_a, accept=False, note="Đã triển khai thực hiện.")
    assert statuses(province_board.clerk, copy)["15853"] == "16"
    assert queries.get_visible_incoming(tree.clerk_a, at_commune.pk).pk == at_commune.pk


def test_recalling_the_original_recalls_the_copies_made_of_it_down_the_chain(
    tree, ministry_board, province_board, forwarded
):
    directive, at_38, copy, at_commune = forwarded
    do_request_recall(directive, ministry_board.clerk, reason="Ban hành nhầm.")
    asked = open_recall(province_board.clerk)
    assert asked.pk == at_38.pk
    # Before the province accepts, its copy stands.
    copy.refresh_from_db()
    assert copy.recalled_at is None
    do_answer_recall(asked, province_board.clerk, accept=True)
    copy.refresh_from_db()
    assert copy.recalled_at is not None
    assert copy.recall_reason == "Văn bản gốc đã bị thu hồi: Ban hành nhầm."
    # The commune is asked in turn, and its answer goes to the province.
    at_commune_asked = open_recall(tree.clerk_a)
    assert at_commune_asked.pk == at_commune.pk
    assert at_commune_asked.recall_reason == "Văn bản gốc đã bị thu hồi: Ban hành nhầm."
    do_answer_recall(at_commune_asked, tree.clerk_a, accept=True)
    assert statuses(province_board.clerk, copy)["15853"] == "15"


def test_a_refused_recall_of_the_original_leaves_the_copies_alone(
    tree, ministry_board, province_board, forwarded
):
    directive, _at_38, copy, _at_commune = forwarded
    do_request_recall(directive, ministry_board.clerk, reason="Ban hành nhầm.")
    asked = open_recall(province_board.clerk)
    do_answer_recall(asked, province_board.clerk, accept=False, note="Đã sao gửi các xã.")
    copy.refresh_from_db()
    assert copy.recalled_at is None
    assert queries.waiting_envelopes(tree.clerk_a).count() == 0


def test_a_unit_makes_a_sao_luc_of_its_own_copy(tree, province_board, forwarded):
    _directive, at_38, copy, _at_commune = forwarded
    with pytest.raises(InvalidInput) as wrong:
        do_make_copy(province_board.clerk, form="SY", copy=copy, recipient_spec=[{"unit": "15853"}])
    assert wrong.value.code == "wrong_copy_form"
    with pytest.raises(OutOfScope):
        do_make_copy(tree.clerk_a, form="SL", copy=copy, recipient_spec=[{"unit": "15853"}])
    sao_luc = do_make_copy(
        province_board.clerk, form="SL", copy=copy, recipient_spec=[{"unit": "15853"}]
    )
    assert sao_luc.number_and_symbol == "01/SL-BCHQS"
    assert sao_luc.source_copy_id == copy.pk
    assert sao_luc.source_incoming_id == at_38.pk  # still found from the received original
    assert sao_luc.depth == 2
    assert sao_luc.original == copy.original
    assert bytes(sao_luc.original_pdf) == bytes(copy.original_pdf)
    received = open_waiting(tree.clerk_a)
    copy_of = IncomingCopy.objects.get(incoming=received)
    assert copy_of.form == "SL"
    assert copy_of.original_verified
    # Recalling the copy takes the sao lục made of it along.
    do_request_copy_recall(copy, province_board.clerk, reason="Sao nhầm bản.")
    sao_luc.refresh_from_db()
    assert sao_luc.recall_reason == "Văn bản gốc đã bị thu hồi: Sao nhầm bản."
    assert CertifiedCopy.objects.filter(recalled_at__isnull=True).count() == 0


def test_the_sender_sees_every_status_of_each_recipient_with_its_time(
    tree, province_board, forwarded, client
):
    from tiendon.documents.incoming.actions import do_assign_incoming

    _directive, _at_38, copy, at_commune = forwarded
    do_assign_incoming(
        at_commune,
        tree.commander_a,
        assignees=[tree.clerk_a],
        deadline=at_commune.arrived_at.date().replace(year=at_commune.arrived_at.year + 1),
    )
    # The statuses came back as receipts; the dispatcher hands them to the history once.
    assert dispatch.run_until_idle() >= 2
    steps = history.history_of(copy.envelope_id, [tree.commune_a.pk])[tree.commune_a.pk]
    assert [s.code for s in steps] == ["01", "03", "04"]
    assert steps[1].at <= steps[2].at
    assert steps[2].note == tree.clerk_a.full_name
    # Nothing is handed over twice, and reading the history writes nothing.
    assert dispatch.run_until_idle() == 0
    assert len(history.history_of(copy.envelope_id, [tree.commune_a.pk])[tree.commune_a.pk]) == 3

    client.force_login(province_board.clerk)
    page = client.get(reverse("copy_detail", args=[copy.pk])).content.decode()
    assert "Lịch sử trạng thái (3)" in page
    assert '<span class="status">03</span> Đã vào sổ' in page
    assert (
        f'<span class="status">04</span> Đã giao xử lý · {localtime(steps[2].at):%d/%m/%Y}' in page
    )
    assert 'id="copy-recall-form"' in page
    assert 'id="copy-sao-luc"' in page
    client.cookies["django_language"] = "en"
    assert (
        "Status history (3)" in client.get(reverse("copy_detail", args=[copy.pk])).content.decode()
    )
    # The recall from the page; another unit's clerk gets a 404.
    client.force_login(tree.clerk_b)
    assert client.post(reverse("copy_recall", args=[copy.pk]), {"reason": "x"}).status_code == 404
    assert client.get(reverse("copy_copy", args=[copy.pk])).status_code == 404
    client.force_login(province_board.clerk)
    done = client.post(reverse("copy_recall", args=[copy.pk]), {"reason": "Sao nhầm bản."})
    assert done.status_code == 302
    page = client.get(reverse("copy_detail", args=[copy.pk])).content.decode()
    assert 'id="copy-recalled"' in page
    assert 'id="copy-recall-form"' not in page


def test_the_document_page_and_the_export_carry_each_recipients_history(
    tree, ministry_board, forwarded, client
):
    from tiendon.documents.registers.export import export_metadata, files_to_export

    directive, _at_38, _copy, _at_commune = forwarded
    client.force_login(ministry_board.clerk)
    page = client.get(reverse("document_statuses", args=[directive.pk])).content.decode()
    assert "Lịch sử trạng thái (2)" in page
    assert '<span class="status">01</span>' in page
    assert '<span class="status">03</span> Đã vào sổ' in page
    metadata = export_metadata(directive, files_to_export(directive))
    assert [s["code"] for s in metadata["status_history"][tree.province.code]] == ["01", "03"]
    assert metadata["status_history"][tree.province.code][1]["at"].endswith("+07:00")
    # Another unit's person never reaches the table.
    client.force_login(tree.clerk_b)
    assert client.get(reverse("document_statuses", args=[directive.pk])).status_code == 404
