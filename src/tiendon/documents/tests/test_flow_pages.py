"""The receiving pages: a commune clerk opens and registers, the commander assigns, the
officer completes; the sender's status page and recall; the register's exports; other
units get 404, the uncleared get no subject."""

from __future__ import annotations

import io
import subprocess
import unicodedata

import pytest
from conftest import log_in_with_totp
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from tiendon.documents.models import Document, IncomingDocument, RecipientGroup
from tiendon.documents.tests.conftest import SUBJECT, taken_in
from tiendon.documents.tests.test_flow import TOMORROW, issue_to
from tiendon.exchange import dispatch
from tiendon.units.actions import do_create_person
from tiendon.units.models import Role

pytestmark = pytest.mark.django_db


def logged_in(person) -> Client:
    return log_in_with_totp(Client(), person)


def pdftotext(data: bytes, tmp_path) -> str:
    path = tmp_path / "register.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return unicodedata.normalize("NFC", out.stdout.decode())


def test_the_whole_receiving_journey_through_the_pages(tree, board, province_board, tmp_path):
    staff = do_create_person(
        username="cb.dongtien",
        full_name="Ngô Văn Cường",
        unit=tree.commune_a,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )
    sent = issue_to(province_board, [{"unit": "15853"}])
    dispatch.run_until_idle()  # the node takes it in at arrival
    clerk = logged_in(tree.clerk_a)
    inbox = clerk.get(reverse("incoming_list"))
    assert inbox.status_code == 200
    assert "Bộ Chỉ huy Quân sự tỉnh Thanh Hóa" in inbox.content.decode()
    incoming = IncomingDocument.objects.get(envelope_id=sent.envelope_id)
    assert reverse("incoming_detail", args=[incoming.pk]) in inbox.content.decode()
    page = clerk.get(reverse("incoming_detail", args=[incoming.pk])).content.decode()
    assert SUBJECT in page
    assert 'id="verification"' in page
    # Signatures as people read them: who, for which unit, and "hợp lệ"; no DN, no enum.
    assert "Lê Văn Chỉ" in page
    assert '<span class="verdict">hợp lệ</span>' in page
    # Where it is: the breadcrumb leads back to the inbox.
    assert f'<a href="{reverse("incoming_list")}">Văn bản đến</a></nav>' in page
    assert "Common Name" not in page
    assert "FORM_FILLING" not in page
    # The reader: the PDF's pages as pictures in the page, drawn on the node.
    first = reverse("incoming_page", args=[incoming.pk, 1])
    assert f'src="{first}"' in page
    picture = clerk.get(first)
    assert picture["Content-Type"] == "image/jpeg"
    assert picture.content.startswith(b"\xff\xd8")
    assert clerk.get(reverse("incoming_page", args=[incoming.pk, 99])).status_code == 404
    assert clerk.get(reverse("incoming_file", args=[incoming.pk]))["Content-Type"] == (
        "application/pdf"
    )
    clerk.post(reverse("incoming_register_action", args=[incoming.pk]))
    incoming.refresh_from_db()
    assert incoming.arrival_number == 1

    commander = logged_in(tree.commander_a)
    commander.post(
        reverse("incoming_assign", args=[incoming.pk]),
        {"assignees": [staff.pk], "deadline": TOMORROW.isoformat()},
    )
    officer = logged_in(staff)
    assert SUBJECT in officer.get(reverse("incoming_list")).content.decode()
    assignment = incoming.assignments.get()
    officer.post(reverse("assignment_start", args=[assignment.pk]))
    officer.post(
        reverse("assignment_complete", args=[assignment.pk]), {"result_note": "Đã thực hiện."}
    )
    incoming.refresh_from_db()
    assert incoming.state == IncomingDocument.State.DONE

    sender = logged_in(province_board.clerk)
    statuses = sender.get(reverse("document_statuses", args=[sent.pk])).content.decode()
    assert "15853" in statuses
    assert "06" in statuses
    assert "Đã thực hiện." in statuses

    # Another unit sees none of it.
    other = logged_in(tree.clerk_b)
    assert other.get(reverse("incoming_detail", args=[incoming.pk])).status_code == 404
    assert other.get(reverse("incoming_file", args=[incoming.pk])).status_code == 404
    assert other.get(reverse("document_statuses", args=[sent.pk])).status_code == 404
    assert other.get(reverse("incoming_page", args=[incoming.pk, 1])).status_code == 404
    assert other.get(reverse("document_page", args=[sent.pk, 1])).status_code == 404
    own = logged_in(province_board.clerk)
    assert own.get(reverse("document_page", args=[sent.pk, 1]))["Content-Type"] == "image/jpeg"
    assert other.post(reverse("incoming_open", args=[sent.envelope_id])).status_code == 404

    register = clerk.get(reverse("incoming_register"))
    assert SUBJECT in register.content.decode()
    xlsx = clerk.get(reverse("incoming_register"), {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet["B2"].value == "Số đến"
    assert sheet["B3"].value == "01"
    assert SUBJECT in sheet["F3"].value
    assert "Ngô Văn Cường" in sheet["G3"].value
    pdf = clerk.get(reverse("incoming_register"), {"export": "pdf"})
    assert pdf.content.startswith(b"%PDF")
    text = pdftotext(pdf.content, tmp_path)
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN" in text
    assert "Ngô Văn Cường" in text

    # Recall from the sender's page, accepted from the commune's.
    sender.post(reverse("document_recall", args=[sent.pk]), {"reason": "Sai sót."})
    assert Document.objects.get(pk=sent.pk).state == Document.State.RECALLED
    dispatch.run_until_idle()
    assert "Sai sót." in clerk.get(reverse("incoming_detail", args=[incoming.pk])).content.decode()
    clerk.post(reverse("incoming_recall_answer", args=[incoming.pk]), {"answer": "accept"})
    assert clerk.get(reverse("incoming_detail", args=[incoming.pk])).status_code == 404
    assert "15" in sender.get(reverse("document_statuses", args=[sent.pk])).content.decode()


def test_a_draft_takes_its_recipients_from_the_form(tree, province_board):
    clerk = logged_in(province_board.clerk)
    group = RecipientGroup.objects.create(owner=tree.province, name="Phía Đông")
    group.members.add(tree.commune_a)
    response = clerk.post(
        reverse("document_new"),
        {
            "doc_type": "quyet_dinh",
            "subject": SUBJECT,
            "body": "Nội dung.",
            "urgency": "normal",
            "secrecy": "0",
            "signer": province_board.commander.pk,
            "signing_mode": "direct",
            "recipient_units": "15853",
            "recipient_groups": [str(group.pk)],
            "communes_of": "38",
        },
    )
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.recipient_spec == [
        {"unit": "15853"},
        {"group": group.pk},
        {"set": "communes_of", "province": "38"},
    ]
    bad = clerk.post(
        reverse("document_new"),
        {
            "doc_type": "quyet_dinh",
            "subject": SUBJECT,
            "body": "Nội dung.",
            "urgency": "normal",
            "secrecy": "0",
            "signer": province_board.commander.pk,
            "signing_mode": "direct",
            "recipient_units": "99999",
        },
    )
    detail = clerk.get(reverse("document_detail", args=[document.pk])).content.decode()
    assert "- Phía Đông;" in detail
    assert "Ban CHQS các xã, phường thuộc Thanh Hóa" in detail
    assert bad.status_code == 200
    assert "99999" in bad.content.decode()
    assert Document.objects.count() == 1


def test_groups_are_saved_per_unit(tree, province_board):
    clerk = logged_in(province_board.clerk)
    clerk.post(reverse("recipient_groups"), {"name": "Phía Đông", "units": "15853"})
    (group,) = RecipientGroup.objects.filter(owner=tree.province)
    assert [u.code for u in group.members.all()] == ["15853"]
    refused = clerk.post(reverse("recipient_groups"), {"name": "Sai", "units": "99999"})
    assert refused.status_code == 200
    assert RecipientGroup.objects.count() == 1
    assert (
        "Phía Đông" not in logged_in(tree.clerk_b).get(reverse("recipient_groups")).content.decode()
    )


def test_a_paper_document_is_received_from_the_page(tree):
    clerk = logged_in(tree.clerk_a)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = clerk.post(
        reverse("paper_new"),
        {
            "scan": SimpleUploadedFile("scan.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 32),
            "issuer_name": "UBND phường Đông Tiến",
            "doc_type": "cong_van",
            "number": "3",
            "notation": "UBND-VP",
            "subject": "Về việc phối hợp",
            "urgency": "normal",
            "secrecy": "0",
        },
    )
    incoming = IncomingDocument.objects.get()
    assert response["Location"] == reverse("incoming_detail", args=[incoming.pk])
    assert incoming.scan_type == "image/jpeg"
    bad = clerk.post(
        reverse("paper_new"),
        {
            "scan": SimpleUploadedFile("scan.txt", b"hello"),
            "issuer_name": "X",
            "doc_type": "cong_van",
            "subject": "Y",
            "urgency": "normal",
            "secrecy": "0",
        },
    )
    assert bad.status_code == 200
    assert IncomingDocument.objects.count() == 1


def test_the_issue_page_says_why_a_secret_document_was_not_sent(tree, board, province_board):
    from tiendon.documents.drafting.actions import do_sign
    from tiendon.documents.tests.conftest import in_review

    document = do_sign(
        in_review(province_board, recipient_spec=[{"unit": "15853"}], secrecy=1),
        province_board.commander,
        totp_code=province_board.code(),
    )
    clerk = logged_in(province_board.clerk)
    response = clerk.post(reverse("document_issue", args=[document.pk]), follow=True)
    page = response.content.decode()
    assert "not_fit_for_secret" in page
    assert "văn bản mật" in page
    assert Document.objects.get(pk=document.pk).state == Document.State.SIGNED


def test_a_bad_envelope_id_is_not_found(tree):
    clerk = logged_in(tree.clerk_a)
    assert clerk.post(reverse("incoming_open", args=["not-a-uuid"])).status_code == 404
    assert clerk.get(reverse("incoming_detail", args=["abc"])).status_code == 404
    assert clerk.get(reverse("incoming_detail", args=["999"])).status_code == 404


def test_an_unreadable_delivery_is_refused_from_the_inbox(tree, board, province_board):
    from tiendon.exchange.actions import do_send_envelope
    from tiendon.exchange.models import EnvelopeRecipient

    garbage = do_send_envelope(
        kind="document", payload=b"junk", sender=tree.province, recipients=[tree.commune_a]
    )
    dispatch.run_until_idle()  # the payload cannot be taken in: it stays waiting
    clerk = logged_in(tree.clerk_a)
    inbox = clerk.get(reverse("incoming_list")).content.decode()
    assert reverse("incoming_refuse_delivery", args=[garbage.pk]) in inbox
    other = logged_in(tree.clerk_b)
    assert (
        other.post(
            reverse("incoming_refuse_delivery", args=[garbage.pk]), {"reason": "x"}
        ).status_code
        == 404
    )
    clerk.post(reverse("incoming_refuse_delivery", args=[garbage.pk]), {"reason": "Hỏng."})
    delivery = EnvelopeRecipient.objects.get(envelope=garbage, unit=tree.commune_a)
    assert (delivery.status, delivery.status_note) == ("02", "Hỏng.")


def test_a_result_file_is_downloaded_by_the_unit_only(tree, board, province_board):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tiendon.documents.incoming.actions import (
        do_assign_incoming,
        do_register_incoming,
    )

    staff = do_create_person(
        username="cb.dongtien",
        full_name="Ngô Văn Cường",
        unit=tree.commune_a,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )
    sent = issue_to(province_board, [{"unit": "15853"}])
    incoming = do_register_incoming(taken_in(tree.clerk_a, sent.envelope_id), tree.clerk_a)
    (assignment,) = do_assign_incoming(
        incoming, tree.commander_a, assignees=[staff], deadline=TOMORROW
    )
    officer = logged_in(staff)
    officer.post(
        reverse("assignment_complete", args=[assignment.pk]),
        {"result_file": SimpleUploadedFile("bao-cao.pdf", b"%PDF-1.7 ket qua")},
    )
    assignment.refresh_from_db()
    assert assignment.state == "done"
    page = logged_in(tree.commander_a).get(reverse("incoming_detail", args=[incoming.pk]))
    assert "bao-cao.pdf" in page.content.decode()
    download = logged_in(tree.commander_a).get(reverse("assignment_file", args=[assignment.pk]))
    assert download.content == b"%PDF-1.7 ket qua"
    other = logged_in(tree.clerk_b).get(reverse("assignment_file", args=[assignment.pk]))
    assert other.status_code == 404


def test_a_broadcasts_statuses_are_counted_on_top_and_filtered_by_status(
    tree, board, province_board
):
    from tiendon.documents.incoming.actions import do_register_incoming
    from tiendon.pki.actions import do_issue_unit_keys

    do_issue_unit_keys(tree.commune_b)
    sent = issue_to(province_board, [{"unit": "15853"}, {"unit": "16690"}])
    do_register_incoming(taken_in(tree.clerk_a, sent.envelope_id), tree.clerk_a)
    sender = logged_in(province_board.clerk)
    url = reverse("document_statuses", args=[sent.pk])
    page = sender.get(url).content.decode()
    assert 'data-status="03"' in page  # one registered, one arrived: each a filter link
    assert 'data-status="01"' in page
    registered = sender.get(url, {"status": "03"}).content.decode()
    assert "15853" in registered
    assert "16690" not in registered
    arrived = sender.get(url, {"status": "01"}).content.decode()
    assert "16690" in arrived
    assert "15853" not in arrived
    # An unknown status filters nothing; a page number of another script is page 1.
    for odd in ({"status": "zz"}, {"page": "²"}, {"page": "9" * 30}):
        response = sender.get(url, odd)
        assert response.status_code == 200


def test_a_clerk_registers_several_arrivals_at_once_and_is_told_of_each_left_out(
    tree, board, province_board
):
    from tiendon.documents.incoming.actions import do_register_incoming

    first = taken_in(tree.clerk_a, issue_to(province_board, [{"unit": "15853"}]).envelope_id)
    second = taken_in(tree.clerk_a, issue_to(province_board, [{"unit": "15853"}]).envelope_id)
    clerk = logged_in(tree.clerk_a)
    inbox = clerk.get(reverse("incoming_list")).content.decode()
    assert f'name="ids" value="{first.pk}"' in inbox
    do_register_incoming(second, tree.clerk_a)  # another clerk, a moment before
    other_units = IncomingDocument.objects.create(
        unit=tree.commune_b,
        source="paper",
        issuer_name="X",
        subject="Y",
        doc_type="cong_van",
        arrived_at=first.arrived_at,
    )
    answer = clerk.post(
        reverse("incoming_register_many"),
        {"ids": [first.pk, second.pk, other_units.pk, "x"]},
        follow=True,
    ).content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    other_units.refresh_from_db()
    assert (first.state, first.arrival_number) == ("registered", 2)
    assert second.arrival_number == 1  # registered once, not twice
    assert other_units.state == "arrived"  # another unit's id changes nothing
    assert "Đã vào sổ 1" in answer
    assert "wrong_state" in answer  # the one left out, said by name with its reason
