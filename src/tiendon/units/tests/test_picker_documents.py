"""The unit picker on the documents' pages: recipients are chosen by name, shown as chips,
and the form still posts unit codes (typed codes keep working, with or without JavaScript);
the draft page stays light. (Here rather than in documents' tests: the picker is units'.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import log_in_with_totp
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from tiendon.documents.models import Document
from tiendon.documents.tests.conftest import SUBJECT, board, draft, province_board

# Fixtures of the documents' tests, used here as they are.
__all__ = ["board", "province_board"]

pytestmark = pytest.mark.django_db


def size(asset: str) -> int:
    """Bytes of a static file as served uncompressed (WhiteNoise also serves it gzipped)."""
    return Path(str(finders.find(asset))).stat().st_size


def draft_post(board, **recipients) -> dict:
    return {
        "doc_type": "quyet_dinh",
        "subject": SUBJECT,
        "body": "Nội dung.",
        "urgency": "normal",
        "secrecy": "0",
        "signer": board.commander.pk,
        "signing_mode": "direct",
        **recipients,
    }


def test_the_new_draft_page_has_the_picker_and_stays_under_200_kb(province_board):
    clerk = log_in_with_totp(Client(), province_board.clerk)
    html = clerk.get(reverse("document_new")).content.decode()
    assert 'name="recipient_units"' in html  # the codes field, all there is without JS
    assert 'name="communes_of"' in html
    assert "data-unit-picker" in html
    assert f'hx-get="{reverse("unit_pick")}?sets=1&amp;scope=all"' in html
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert "django_htmx/htmx-2.min.js" in assets
    assert "units/picker.js" in assets
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)  # nothing from outside
    weight = len(html.encode()) + sum(size(a) for a in assets)
    assert weight < 200_000, weight
    assert size("units/picker.js") < 3_000


def test_chosen_units_and_sets_post_as_codes_and_come_back_as_chips(province_board):
    clerk = log_in_with_totp(Client(), province_board.clerk)
    response = clerk.post(
        reverse("document_new"),
        draft_post(province_board, recipient_units="15853, 16690", communes_of="38"),
    )
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.recipient_spec == [
        {"unit": "15853"},
        {"unit": "16690"},
        {"set": "communes_of", "province": "38"},
    ]
    html = clerk.get(reverse("document_edit", args=[document.pk])).content.decode()
    assert 'value="15853 16690"' in html
    assert "Phường Đông Tiến <small>· Thanh Hóa</small>" in html
    assert "Phường Trường Vinh <small>· Nghệ An</small>" in html
    assert "Tất cả xã, phường thuộc Thanh Hóa" in html


def test_a_mistyped_code_is_refused_and_its_chip_says_so(board):
    clerk = log_in_with_totp(Client(), board.clerk)
    response = clerk.post(reverse("document_new"), draft_post(board, recipient_units="16690 99999"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Không có đơn vị nào mã 99999" in html
    assert "Phường Trường Vinh" in html
    assert not Document.objects.exists()


def test_the_edit_page_names_a_drafts_recipients(board):
    document = draft(board, recipient_spec=[{"unit": "16690"}])
    clerk = log_in_with_totp(Client(), board.clerk)
    html = clerk.get(reverse("document_edit", args=[document.pk])).content.decode()
    assert "Phường Trường Vinh <small>· Nghệ An</small>" in html
    assert "units/picker.js" in html


def test_the_groups_page_picks_members_by_name(province_board):
    clerk = log_in_with_totp(Client(), province_board.clerk)
    html = clerk.get(reverse("recipient_groups")).content.decode()
    assert "data-unit-picker" in html
    assert "sets=0" in html  # a group holds units, not whole sets
    clerk.post(reverse("recipient_groups"), {"name": "Phía Đông", "units": "15853"})
    assert "Phường Đông Tiến" in clerk.get(reverse("recipient_groups")).content.decode()


def test_a_nul_in_posted_codes_is_a_form_error_not_a_server_error(board):
    clerk = log_in_with_totp(Client(), board.clerk)
    response = clerk.post(
        reverse("document_new"), draft_post(board, recipient_units="16690\x00", communes_of="\x00")
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Document.objects.exists()
