"""In Debian's Chromium, on a phone-wide screen: a commune clerk drafts a document."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PASSWORD

from tiendon.documents.models import Document
from tiendon.documents.tests.conftest import SUBJECT

ARTIFACTS = Path("test-artifacts/screenshots")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_commune_clerk_drafts_a_decision_on_a_phone(live_server, page, board):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", board.clerk.username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector(".unit-name")
    page.goto(f"{live_server.url}/documents/new/")
    page.select_option("#id_doc_type", "quyet_dinh")
    page.fill("#id_subject", SUBJECT)
    page.fill("#id_body", "Giao nhiệm vụ huấn luyện dân quân năm 2027.")
    page.select_option("#id_signer", str(board.commander.pk))
    page.fill("#id_recipients", "Như Điều 3;\nLưu: VT.")
    page.click("#draft-form button[type=submit]")
    page.wait_for_selector("#state")
    assert page.inner_text("#state") == "Dự thảo"
    assert SUBJECT in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "documents-draft-390px.png"), full_page=True)
    assert Document.objects.get().subject == SUBJECT
