"""The drafting pages: draft, submit, sign with a code, issue; other units get 404."""

from __future__ import annotations

import pytest
from conftest import log_in_with_totp
from django.urls import reverse

from tiendon.documents.models import Document
from tiendon.documents.tests.conftest import SUBJECT, draft
from tiendon.units import auth
from tiendon.units.models import Person

pytestmark = pytest.mark.django_db


def _fresh_code(person) -> str:
    person = Person.objects.get(pk=person.pk)
    step = auth.current_step()  # still accepted if the step turns over before the check
    Person.objects.filter(pk=person.pk).update(totp_last_step=step - 1)
    return auth.code_for_step(person.totp_secret, step)


def test_a_clerk_drafts_the_commander_signs_and_the_clerk_issues_through_the_pages(board, client):
    clerk = log_in_with_totp(client, board.clerk)
    page = clerk.get(reverse("document_new"))
    assert page.status_code == 200
    response = clerk.post(
        reverse("document_new"),
        {
            "doc_type": "quyet_dinh",
            "subject": SUBJECT,
            "body": "Nội dung quyết định.",
            "urgency": "khan",
            "secrecy": "0",
            "signer": board.commander.pk,
            "signing_mode": "direct",
            "recipients": "Như Điều 3;\nLưu: VT.",
        },
    )
    document = Document.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("document_detail", args=[document.pk])
    assert SUBJECT in clerk.get(response["Location"]).content.decode()
    clerk.post(reverse("document_submit", args=[document.pk]))
    document.refresh_from_db()
    assert document.state == Document.State.IN_REVIEW

    from django.test import Client

    commander = log_in_with_totp(Client(), board.commander)
    commander.post(
        reverse("document_sign", args=[document.pk]), {"code": _fresh_code(board.commander)}
    )
    document.refresh_from_db()
    assert document.state == Document.State.SIGNED

    clerk.post(reverse("document_issue", args=[document.pk]))
    document.refresh_from_db()
    assert document.number_and_symbol == "01/QĐ-BCHQS"
    pdf = clerk.get(reverse("document_pdf", args=[document.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content == bytes(document.pdf)
    listing = clerk.get(reverse("document_list")).content.decode()
    assert "01/QĐ-BCHQS" in listing
    # A document is "phát hành" (issued); "cấp phát" is what a CA does with a certificate.
    assert "Đã phát hành" in listing
    assert "Đã cấp phát" not in listing


def test_a_wrong_code_is_shown_and_nothing_is_signed(board, client):
    from tiendon.documents.drafting.actions import do_submit_for_review

    document = do_submit_for_review(draft(board), board.clerk)
    commander = log_in_with_totp(client, board.commander)
    response = commander.post(
        reverse("document_sign", args=[document.pk]), {"code": "000000"}, follow=True
    )
    assert "wrong_code" in response.content.decode()
    document.refresh_from_db()
    assert document.state == Document.State.IN_REVIEW


def test_bad_input_is_shown_on_the_form(board, client):
    clerk = log_in_with_totp(client, board.clerk)
    response = clerk.post(
        reverse("document_new"),
        {
            "doc_type": "cong_van",
            "subject": "Báo cáo",
            "body": "Nội dung.",
            "urgency": "normal",
            "secrecy": "0",
            "signer": board.commander.pk,
            "signing_mode": "direct",
        },
    )
    assert response.status_code == 200
    assert not Document.objects.exists()
    assert "Công văn phải có chữ viết tắt của đơn vị soạn thảo." in response.content.decode()


def test_every_document_page_answers_404_to_another_unit(board, tree, client):
    document = draft(board)
    other = log_in_with_totp(client, tree.clerk_b)
    for name in ("document_detail", "document_pdf"):
        assert other.get(reverse(name, args=[document.pk])).status_code == 404
    for name in ("document_submit", "document_sign", "document_issue"):
        assert other.post(reverse(name, args=[document.pk])).status_code == 404
    assert SUBJECT not in other.get(reverse("document_list")).content.decode()


def test_a_secret_document_is_refused_to_an_uncleared_person_of_the_unit(
    province_board, tree, client
):
    from tiendon.units.actions import do_create_person
    from tiendon.units.models import Role

    secret = draft(province_board, doc_type="chi_thi", secrecy=1)
    officer = do_create_person(
        username="cb.thanhhoa2",
        full_name="Ngô Văn Sĩ",
        unit=tree.province,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )
    browser = log_in_with_totp(client, officer)
    assert browser.get(reverse("document_detail", args=[secret.pk])).status_code == 403
    assert browser.get(reverse("document_pdf", args=[secret.pk])).status_code == 403


def test_the_drafter_edits_through_the_page_and_a_new_version_is_kept(board, client):
    document = draft(board)
    clerk = log_in_with_totp(client, board.clerk)
    form = clerk.get(reverse("document_edit", args=[document.pk]))
    assert SUBJECT in form.content.decode()
    response = clerk.post(
        reverse("document_edit", args=[document.pk]),
        {
            "doc_type": "quyet_dinh",
            "subject": "Về việc huấn luyện (sửa)",
            "body": "Nội dung đã sửa.",
            "urgency": "normal",
            "secrecy": "0",
            "signer": board.commander.pk,
            "signing_mode": "direct",
            "recipients": "Lưu: VT.",
        },
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert (document.version, document.subject) == (2, "Về việc huấn luyện (sửa)")
    assert list(document.versions.values_list("subject", flat=True).order_by("number")) == [
        SUBJECT,
        "Về việc huấn luyện (sửa)",
    ]


def test_the_signer_returns_the_draft_with_a_comment_through_the_page(board, client):
    from tiendon.documents.drafting.actions import do_submit_for_review

    document = do_submit_for_review(draft(board), board.clerk)
    commander = log_in_with_totp(client, board.commander)
    commander.post(reverse("document_return", args=[document.pk]), {"comment": "Bổ sung căn cứ."})
    document.refresh_from_db()
    assert document.state == Document.State.DRAFT


def test_another_unit_cannot_open_the_edit_page(board, tree, client):
    document = draft(board)
    other = log_in_with_totp(client, tree.clerk_b)
    assert other.get(reverse("document_edit", args=[document.pk])).status_code == 404
    assert other.post(reverse("document_return", args=[document.pk])).status_code == 404


def test_the_signature_panel_says_in_words_what_holds() -> None:
    from tiendon.documents.templatetags.signatures import signature_panel

    good = {
        "intact": True,
        "valid": True,
        "trusted": True,
        "revoked": False,
        "docmdp_ok": True,
        "bottom_line": True,
        "signer": "Country: VN, Organization: Bộ Quốc phòng, Organizational Unit: Bộ Chỉ huy "
        "Quân sự tỉnh Thanh Hóa, Common Name: Lê Văn Chỉ",
    }
    changed = {**good, "intact": False, "bottom_line": False}
    revoked = {**good, "revoked": True, "bottom_line": False}
    from django.utils import translation

    with translation.override("en"):
        panel = signature_panel([good, changed, revoked, {"error": "unsigned"}])
    rows = [(r.get("who"), r.get("unit"), r["ok"]) for r in panel["rows"]]
    assert rows[0] == ("Lê Văn Chỉ", "Bộ Chỉ huy Quân sự tỉnh Thanh Hóa", True)
    assert [r["ok"] for r in panel["rows"]] == [True, False, False, False]
    assert [str(r["state"]) for r in panel["rows"][1:3]] == [
        "changed after signing",
        "certificate revoked",
    ]
    assert not panel["all_ok"]
