"""Sending and receiving: a document issued at the province reaches the commune's inbox
through the exchange; the commune registers, assigns and completes it, and the province
sees each status with its time; refusal, duplicates, recall, secret documents, scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from tiendon.audit.models import AuditRecord
from tiendon.documents import queries
from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.errors import DocumentError
from tiendon.documents.incoming.actions import (
    do_answer_recall,
    do_assign_incoming,
    do_complete_assignment,
    do_open_incoming,
    do_receive_paper,
    do_refuse_incoming,
    do_register_incoming,
    do_request_recall,
    do_start_assignment,
)
from tiendon.documents.models import Document, IncomingDocument, NumberCounter
from tiendon.documents.tests.conftest import SUBJECT, in_review, run_concurrently, taken_in
from tiendon.errors import InvalidInput, OutOfScope
from tiendon.exchange import dispatch
from tiendon.exchange.models import Envelope, EnvelopeRecipient
from tiendon.exchange.models_dispatch import Handoff
from tiendon.pki.actions import do_issue_unit_keys
from tiendon.units.actions import do_create_person
from tiendon.units.models import Clearance, Role

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + dt.timedelta(days=1)


def issue_to(board, spec, **overrides):
    document = do_sign(
        in_review(board, recipient_spec=spec, **overrides),
        board.commander,
        totp_code=board.code(),
    )
    return do_issue(document, board.clerk)


@pytest.fixture
def staff_a(tree):
    return do_create_person(
        username="cb.dongtien",
        full_name="Ngô Văn Cường",
        unit=tree.commune_a,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )


@pytest.fixture
def sent(tree, board, province_board):
    """A decision of the Thanh Hóa command, issued to the Đông Tiến commune board."""
    return issue_to(province_board, [{"unit": tree.commune_a.code}])


def statuses(board, document):
    table = queries.recipient_statuses(board.clerk, document.pk)
    return {row["unit__code"]: (row["code"], row["at"], row["status_note"]) for row in table.rows}


def opened(tree, document):
    (waiting,) = queries.waiting_envelopes(tree.clerk_a)
    assert waiting.envelope_id == document.envelope_id
    return taken_in(tree.clerk_a, waiting.envelope_id)


def test_a_document_goes_from_issuing_to_done_and_the_sender_sees_each_status(
    tree, province_board, sent, staff_a
):
    envelope = Envelope.objects.get(pk=sent.envelope_id)
    assert envelope.kind == "document"
    assert envelope.sender == tree.province
    assert sent.recipient_spec == [{"unit": "15853"}]
    seen = []

    def check(code):
        code_now, at, note = statuses(province_board, sent)["15853"]
        assert code_now == code
        assert at is not None
        seen.append((code, at))
        return note

    check("01")
    incoming = opened(tree, sent)
    assert incoming.subject == SUBJECT
    assert incoming.issuer_code == "38"
    assert incoming.number_and_symbol == sent.number_and_symbol
    assert len(incoming.verification) == 2
    assert all(v["bottom_line"] and v["trusted"] and v["intact"] for v in incoming.verification)
    assert not any(v["revoked"] for v in incoming.verification)
    assert queries.waiting_envelopes(tree.clerk_a).count() == 0
    pdf, content_type = queries.incoming_file(tree.clerk_a, incoming.pk)
    assert content_type == "application/pdf"
    assert pdf == bytes(sent.pdf)

    incoming = do_register_incoming(incoming, tree.clerk_a)
    assert incoming.arrival_number == 1
    check("03")
    (assignment,) = do_assign_incoming(
        incoming, tree.commander_a, assignees=[staff_a], deadline=TOMORROW
    )
    check("04")
    do_start_assignment(assignment, staff_a)
    check("05")
    do_complete_assignment(assignment, staff_a, result_note="Đã tổ chức huấn luyện.")
    assert check("06") == "Đã tổ chức huấn luyện."
    assert [code for code, _at in seen] == ["01", "03", "04", "05", "06"]
    assert [at for _code, at in seen] == sorted(at for _code, at in seen)
    incoming.refresh_from_db()
    assert incoming.state == IncomingDocument.State.DONE
    table = queries.recipient_statuses(province_board.clerk, sent.pk)
    assert table.total == 1
    assert table.by_code == {"06": 1}


def test_arrival_numbers_run_through_the_year_per_unit(tree, board, province_board):
    first = issue_to(province_board, [{"unit": "15853"}])
    second = issue_to(province_board, [{"unit": "15853"}])
    numbers = []
    for document in (first, second):
        incoming = taken_in(tree.clerk_a, document.envelope_id)
        numbers.append(do_register_incoming(incoming, tree.clerk_a).arrival_number)
    assert numbers == [1, 2]
    counter = NumberCounter.objects.get(issuing_unit=tree.commune_a, series="incoming")
    assert counter.last_number == 2


def test_a_refused_document_tells_the_sender_why(tree, province_board, sent):
    incoming = opened(tree, sent)
    with pytest.raises(InvalidInput) as empty:
        do_refuse_incoming(incoming, tree.clerk_a, reason="  ")
    assert empty.value.code == "note_required"
    do_refuse_incoming(incoming, tree.clerk_a, reason="Gửi nhầm đơn vị.")
    code, at, note = statuses(province_board, sent)["15853"]
    assert (code, note) == ("02", "Gửi nhầm đơn vị.")
    assert at is not None
    with pytest.raises(DocumentError) as again:
        do_register_incoming(incoming, tree.clerk_a)
    assert again.value.code == "wrong_state"


def test_the_same_document_on_paper_is_flagged_as_a_duplicate(tree, province_board, sent):
    incoming = do_register_incoming(opened(tree, sent), tree.clerk_a)
    paper = do_receive_paper(
        tree.clerk_a,
        scan=bytes(sent.pdf),
        issuer_name=tree.province.name,
        subject=SUBJECT,
        doc_type="quyet_dinh",
        number=sent.number,
        notation=sent.symbol,
        issue_date=timezone.localdate(),
    )
    assert paper.source == IncomingDocument.Source.PAPER
    with pytest.raises(DocumentError) as warned:
        do_register_incoming(paper, tree.clerk_a)
    assert warned.value.code == "duplicate"
    assert "01" in warned.value.message
    paper = do_register_incoming(paper, tree.clerk_a, accept_duplicate=True)
    assert paper.arrival_number == incoming.arrival_number + 1


def test_a_paper_scan_follows_the_incoming_flow_without_statuses(tree, staff_a):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    paper = do_receive_paper(
        tree.clerk_a,
        scan=png,
        issuer_name="Ủy ban nhân dân phường Đông Tiến",
        subject="Về việc phối hợp tuyển quân",
        doc_type="cong_van",
        number=7,
        notation="UBND-VP",
    )
    paper = do_register_incoming(paper, tree.clerk_a)
    (assignment,) = do_assign_incoming(
        paper, tree.commander_a, assignees=[staff_a], deadline=TOMORROW
    )
    do_complete_assignment(assignment, staff_a, result_note="Đã phối hợp.")
    paper.refresh_from_db()
    assert paper.state == IncomingDocument.State.DONE
    data, content_type = queries.incoming_file(tree.clerk_a, paper.pk)
    assert (data, content_type) == (png, "image/png")
    assert not AuditRecord.objects.filter(action="exchange.status_sent").exists()
    with pytest.raises(InvalidInput) as bad:
        do_receive_paper(
            tree.clerk_a, scan=b"hello", issuer_name="X", subject="Y", doc_type="cong_van"
        )
    assert bad.value.code == "not_a_scan"


def test_recall_accepted_removes_the_copy_and_keeps_the_record(tree, province_board, sent):
    incoming = do_register_incoming(opened(tree, sent), tree.clerk_a)
    document = do_request_recall(sent, province_board.clerk, reason="Văn bản có sai sót.")
    assert document.state == Document.State.RECALLED
    with pytest.raises(DocumentError):
        do_request_recall(document, province_board.clerk, reason="lần nữa")
    assert queries.waiting_envelopes(tree.clerk_a).count() == 0  # recalls are not waiting
    recalled = taken_in(tree.clerk_a, document.recall_envelope_id, recall=True)
    assert recalled.pk == incoming.pk
    assert recalled.recall_reason == "Văn bản có sai sót."
    do_answer_recall(recalled, tree.clerk_a, accept=True)
    assert statuses(province_board, sent)["15853"][0] == "15"
    with pytest.raises(OutOfScope):
        queries.get_visible_incoming(tree.clerk_a, incoming.pk)
    assert incoming.pk not in [r.pk for r in queries.incoming_list(tree.clerk_a)]
    (record,) = queries.recalled_records(tree.clerk_a)
    assert record.recall_answer == IncomingDocument.RecallAnswer.ACCEPTED


def test_recall_refused_needs_a_reason_and_keeps_the_copy(tree, province_board, sent):
    incoming = opened(tree, sent)
    recall = do_request_recall(sent, province_board.clerk, reason="Văn bản có sai sót.")
    recalled = taken_in(tree.clerk_a, recall.recall_envelope_id, recall=True)
    with pytest.raises(InvalidInput):
        do_answer_recall(recalled, tree.clerk_a, accept=False)
    do_answer_recall(recalled, tree.clerk_a, accept=False, note="Đã triển khai thực hiện.")
    code, _at, note = statuses(province_board, sent)["15853"]
    assert (code, note) == ("16", "Đã triển khai thực hiện.")
    assert queries.get_visible_incoming(tree.clerk_a, incoming.pk).pk == incoming.pk
    with pytest.raises(DocumentError) as twice:
        do_answer_recall(recalled, tree.clerk_a, accept=True)
    assert twice.value.code == "wrong_state"


def test_a_secret_document_is_refused_by_a_node_not_fit_and_nothing_is_issued(
    tree, board, province_board
):
    document = do_sign(
        in_review(province_board, recipient_spec=[{"unit": "15853"}], secrecy=1),
        province_board.commander,
        totp_code=province_board.code(),
    )
    with translation.override("vi"), pytest.raises(DocumentError) as refused:
        do_issue(document, province_board.clerk)
    assert refused.value.code == "not_fit_for_secret"
    assert "chưa được công bố đủ điều kiện xử lý văn bản mật" in refused.value.message
    document.refresh_from_db()
    assert document.state == Document.State.SIGNED
    assert document.number is None
    assert not NumberCounter.objects.filter(issuing_unit=tree.province).exists()
    assert not Envelope.objects.exists()
    audit = AuditRecord.objects.get(action="documents.send_refused")
    assert audit.new["code"] == "not_fit_for_secret"


def test_a_secret_document_on_a_fit_node_hides_its_subject_from_the_uncleared(
    tree, board, province_board, settings
):
    settings.TIENDON_SECRET_FIT = True
    cleared = do_create_person(
        username="vt2.dongtien",
        full_name="Lý Thị Mai",
        unit=tree.commune_a,
        role=Role.CLERK,
        password="Mat-khau-thu-nghiem-2026",
        clearance=Clearance.MAT,
    )
    sent = issue_to(province_board, [{"unit": "15853"}], secrecy=1)
    # The uncleared clerk cannot open the envelope at all.
    dispatch.run_until_idle()  # recorded from its label
    with pytest.raises(OutOfScope):
        do_open_incoming(tree.clerk_a, str(sent.envelope_id))
    incoming = do_open_incoming(cleared, str(sent.envelope_id))
    assert incoming.secrecy == 1
    (row,) = queries.incoming_list(tree.clerk_a)
    assert row.subject == ""
    assert row.masked
    (row,) = queries.incoming_list(cleared)
    assert row.subject == SUBJECT
    with pytest.raises(queries.ClearanceRequired):
        queries.get_visible_incoming(tree.clerk_a, incoming.pk)
    queries.get_visible_incoming(cleared, incoming.pk)
    actions = list(
        AuditRecord.objects.filter(action__startswith="documents.secret_").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["documents.secret_opened", "documents.secret_refused"]


def test_another_units_received_document_is_out_of_scope(tree, province_board, sent):
    incoming = opened(tree, sent)
    with pytest.raises(OutOfScope):
        queries.get_visible_incoming(tree.clerk_b, incoming.pk)
    with pytest.raises(OutOfScope):
        queries.incoming_file(tree.clerk_b, incoming.pk)
    with pytest.raises(OutOfScope):
        do_open_incoming(tree.clerk_b, str(sent.envelope_id))
    with pytest.raises(OutOfScope):
        queries.recipient_statuses(tree.clerk_a, sent.pk)  # the commune did not issue it
    with pytest.raises(OutOfScope):
        do_register_incoming(incoming, tree.clerk_b)
    assert queries.incoming_list(tree.clerk_b) == []


def test_bad_recipients_are_refused_at_drafting(tree, province_board):
    cases = [
        ([{"unit": "99999"}], "unknown_recipient"),
        ([{"unit": "38"}], "self_recipient"),
        ([{"group": 12345}], "unknown_group"),
        ([{"set": "all_communes"}], "set_not_allowed"),
        ([{"set": "communes_of", "province": "40"}], "set_not_allowed"),
        ([{"set": "communes_of", "province": "77"}], "unknown_recipient"),
        ([{"nothing": 1}], "bad_recipients"),
    ]
    for spec, code in cases:
        with pytest.raises(InvalidInput) as refused:
            in_review(province_board, recipient_spec=spec)
        assert refused.value.code == code, spec


def test_an_empty_set_is_refused_at_issuing_and_consumes_no_number(tree, board, province_board):
    # The children of the Thanh Hóa command: one commune, made inactive.
    tree.commune_a.is_active = False
    tree.commune_a.save()
    document = do_sign(
        in_review(province_board, recipient_spec=[{"set": "children"}]),
        province_board.commander,
        totp_code=province_board.code(),
    )
    with pytest.raises(DocumentError) as empty:
        do_issue(document, province_board.clerk)
    assert empty.value.code == "no_recipients"
    assert not NumberCounter.objects.filter(issuing_unit=tree.province).exists()


def test_sets_and_groups_resolve_to_units_and_show_in_noi_nhan(tree, board, province_board):
    from tiendon.documents.drafting.recipients import labels, resolve
    from tiendon.documents.models import RecipientGroup

    group = RecipientGroup.objects.create(owner=tree.province, name="Các phường phía Đông")
    group.members.add(tree.commune_a)
    spec = [{"group": group.pk}, {"set": "communes_of", "province": "38"}, {"set": "children"}]
    assert [u.code for u in resolve(tree.province, spec)] == ["15853"]
    lines = labels(tree.province, spec)
    assert lines[0] == "- Các phường phía Đông;"
    assert "Thanh Hóa" in lines[1]
    ministry_all = resolve(tree.ministry, [{"set": "all_communes"}])
    assert {u.code for u in ministry_all} == {"15853", "16690"}


def test_workflow_order_and_people_are_enforced(tree, province_board, sent, staff_a):
    incoming = opened(tree, sent)
    with pytest.raises(DocumentError) as early:
        do_assign_incoming(incoming, tree.commander_a, assignees=[staff_a], deadline=TOMORROW)
    assert early.value.code == "wrong_state"
    with pytest.raises(DocumentError) as not_clerk:
        do_register_incoming(incoming, staff_a)
    assert not_clerk.value.code == "not_allowed"
    incoming = do_register_incoming(incoming, tree.clerk_a)
    with pytest.raises(DocumentError) as twice:
        do_register_incoming(incoming, tree.clerk_a)
    assert twice.value.code == "wrong_state"
    with pytest.raises(InvalidInput) as outsider:
        do_assign_incoming(incoming, tree.commander_a, assignees=[tree.clerk_b], deadline=TOMORROW)
    assert outsider.value.code == "assignee_outside_unit"
    with pytest.raises(DocumentError) as not_commander:
        do_assign_incoming(incoming, tree.clerk_a, assignees=[staff_a], deadline=TOMORROW)
    assert not_commander.value.code == "not_allowed"
    with pytest.raises(InvalidInput):
        do_assign_incoming(incoming, tree.commander_a, assignees=[staff_a], deadline=None)
    (assignment,) = do_assign_incoming(
        incoming, tree.commander_a, assignees=[staff_a], deadline=TOMORROW
    )
    with pytest.raises(DocumentError) as someone_else:
        do_start_assignment(assignment, tree.clerk_a)
    assert someone_else.value.code == "not_the_assignee"
    do_complete_assignment(assignment, staff_a, result_note="Xong.")
    with pytest.raises(DocumentError) as after_done:
        do_start_assignment(assignment, staff_a)
    assert after_done.value.code == "wrong_state"
    assert statuses(province_board, sent)["15853"][0] == "06"


def test_a_broadcast_is_one_envelope_with_one_delivery_per_unit(tree, board, province_board):
    do_issue_unit_keys(tree.commune_b)
    from tiendon.units.actions import do_create_unit
    from tiendon.units.models import CommuneType, UnitKind

    extra = [
        do_create_unit(
            code=f"158{i:02d}",
            name=f"Ban Chỉ huy Quân sự xã Thử {i}",
            kind=UnitKind.COMMUNE_BOARD,
            commune_type=CommuneType.XA,
            parent=tree.province,
            abbreviation="BCHQS",
        )
        for i in range(5)
    ]
    for unit in extra:
        do_issue_unit_keys(unit)
    sent = issue_to(province_board, [{"set": "communes_of", "province": "38"}])
    assert Envelope.objects.count() == 1
    assert EnvelopeRecipient.objects.filter(envelope_id=sent.envelope_id).count() == 6
    table = queries.recipient_statuses(province_board.clerk, sent.pk)
    assert table.total == 6
    assert table.by_code == {"01": 6}
    pdf_text = bytes(sent.pdf)
    assert b"%PDF" in pdf_text[:8]


def test_resolving_sets_and_reading_statuses_cost_the_same_queries_for_many_units(
    tree, board, province_board, django_assert_max_num_queries
):
    from tiendon.documents.drafting.recipients import resolve
    from tiendon.units.actions import do_create_unit
    from tiendon.units.models import CommuneType, UnitKind

    small = issue_to(province_board, [{"unit": "15853"}])
    for i in range(40):
        unit = do_create_unit(
            code=f"159{i:02d}",
            name=f"Ban Chỉ huy Quân sự xã Thử {i}",
            kind=UnitKind.COMMUNE_BOARD,
            commune_type=CommuneType.XA,
            parent=tree.province,
            abbreviation="BCHQS",
        )
        do_issue_unit_keys(unit)
    with django_assert_max_num_queries(4):
        units = resolve(tree.ministry, [{"set": "all_communes"}])
    assert len(units) == 42
    big = issue_to(province_board, [{"set": "communes_of", "province": "38"}])
    for document, total in ((small, 1), (big, 41)):
        with django_assert_max_num_queries(4):  # the document, its audit, counts, one page
            table = queries.recipient_statuses(province_board.clerk, document.pk)
        assert table.total == total


def test_a_document_changed_after_signing_shows_as_not_verified(tree, province_board, sent):
    data = bytearray(bytes(sent.pdf))
    index = data.index(b"Thanh H") if b"Thanh H" in data else len(data) // 3
    data[index] ^= 0x01  # one byte changed inside the signed range
    paper = do_receive_paper(
        tree.clerk_a,
        scan=bytes(data),
        issuer_name=tree.province.name,
        subject=SUBJECT,
        doc_type="quyet_dinh",
    )
    assert paper.verification
    assert not all(v["bottom_line"] for v in paper.verification)
    genuine = opened(tree, sent)
    assert all(v["bottom_line"] for v in genuine.verification)


def test_flash_documents_come_first_in_the_inbox(tree, board, province_board):
    routine = issue_to(province_board, [{"unit": "15853"}])
    flash = issue_to(province_board, [{"unit": "15853"}], urgency="hoa_toc")
    later = issue_to(province_board, [{"unit": "15853"}])
    waiting = [w.envelope_id for w in queries.waiting_envelopes(tree.clerk_a)]
    assert waiting == [flash.envelope_id, later.envelope_id, routine.envelope_id]
    for document in (routine, flash, later):
        taken_in(tree.clerk_a, document.envelope_id)
    listed = [r.envelope_id for r in queries.incoming_list(tree.clerk_a)]
    assert listed[0] == flash.envelope_id


CONCURRENT_REGISTRATIONS = 30
WORKERS = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_arrival_numbers_without_gap_or_duplicate(tree):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    papers = [
        do_receive_paper(
            tree.clerk_a,
            scan=png,
            issuer_name=f"Cơ quan {i}",
            subject=f"Văn bản số {i}",
            doc_type="cong_van",
        )
        for i in range(CONCURRENT_REGISTRATIONS)
    ]
    run_concurrently(papers, lambda paper: do_register_incoming(paper, tree.clerk_a), WORKERS)
    numbers = sorted(
        IncomingDocument.objects.filter(unit=tree.commune_a).values_list(
            "arrival_number", flat=True
        )
    )
    assert numbers == list(range(1, CONCURRENT_REGISTRATIONS + 1))


def test_an_unreadable_delivery_can_be_refused_with_a_reason(tree, board, province_board):
    from tiendon.documents.incoming.actions import do_refuse_delivery
    from tiendon.exchange.actions import do_send_envelope

    garbage = do_send_envelope(
        kind="document",
        payload=b"not a zip at all",
        sender=tree.province,
        recipients=[tree.commune_a],
        actor=province_board.clerk,
    )
    dispatch.run_until_idle()
    handoff = Handoff.objects.get(envelope=garbage)  # retried later, visible to the admins
    assert (handoff.state, handoff.error_code) == ("waiting", "bad_payload")
    assert [w.envelope_id for w in queries.waiting_envelopes(tree.clerk_a)] == [garbage.pk]
    with pytest.raises(OutOfScope):
        do_refuse_delivery(tree.clerk_b, str(garbage.pk), reason="Không đọc được.")
    refused = do_refuse_delivery(tree.clerk_a, str(garbage.pk), reason="Không đọc được.")
    assert refused.state == IncomingDocument.State.REFUSED
    assert queries.waiting_envelopes(tree.clerk_a).count() == 0
    delivery = EnvelopeRecipient.objects.get(envelope=garbage, unit=tree.commune_a)
    assert (delivery.status, delivery.status_note) == ("02", "Không đọc được.")
