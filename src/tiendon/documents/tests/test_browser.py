"""In Debian's Chromium, the whole journey of a document (issue 5, must-show 1): a ministry
officer drafts, the commander signs with his second factor, the clerk issues to two
communes; a commune clerk registers, the commander assigns, the officer completes; the
ministry sees both recipients' statuses. Then the main lists at a phone's width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD
from django.test import RequestFactory

from tiendon.documents.deadlines.reminders import add_working_days, today_in_vietnam
from tiendon.documents.models import Document
from tiendon.documents.tests.conftest import apart_from_the_browser
from tiendon.exchange import dispatch
from tiendon.pki.actions import do_issue_person_key, do_issue_unit_keys
from tiendon.units import auth
from tiendon.units.actions import do_create_person
from tiendon.units.actions_auth import do_confirm_totp
from tiendon.units.models import Clearance, Person, Role

ARTIFACTS = Path("test-artifacts/screenshots")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBJECT = "Về việc tổ chức diễn tập khu vực phòng thủ cấp xã năm 2027"
BODY = (
    "Bộ Quốc phòng giao Ban Chỉ huy quân sự các phường tổ chức diễn tập khu vực phòng thủ "
    "năm 2027 theo kế hoạch được phê duyệt; báo cáo kết quả trước ngày 30 tháng 6."
)


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _fits_phone(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 390


def _fresh_code(person: Person, secret: str) -> str:
    """A code for the current step that the person has not spent (each login and each
    signature spends one; the test does both within one 30-second step)."""
    step = auth.current_step()
    Person.objects.filter(pk=person.pk).update(totp_last_step=step - 1)
    return auth.code_for_step(secret, step)


def _log_in(browser: Any, base: str, person: Person, *, secret: str = "", width: int = 1280):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", person.username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    if secret:
        page.wait_for_selector("#id_code")
        page.fill("#id_code", _fresh_code(person, secret))
        page.click("main form button[type=submit]")
    page.wait_for_selector(".topbar")
    return page


@pytest.fixture
def journey(tree: Any, pki: Any) -> dict[str, Any]:
    officer = do_create_person(
        username="tl.bqp",
        full_name="Đặng Quốc Huy",
        unit=tree.ministry,
        role=Role.STAFF,
        password=PASSWORD,
        rank="Thiếu tá",
        position="Trợ lý Tác chiến",
    )
    commander = do_create_person(
        username="ch.bqp",
        full_name="Bùi Minh Khang",
        unit=tree.ministry,
        role=Role.COMMANDER,
        password=PASSWORD,
        rank="Thượng tướng",
        position="Thứ trưởng",
        clearance=Clearance.MAT,
    )
    staff_a = do_create_person(
        username="cb.dongtien",
        full_name="Ngô Văn Cường",
        unit=tree.commune_a,
        role=Role.STAFF,
        password=PASSWORD,
    )
    secret = auth.new_totp_secret()
    do_confirm_totp(
        commander,
        secret,
        auth.code_for_step(secret, auth.current_step() - 1),
        request=RequestFactory().get("/"),
    )
    do_issue_person_key(commander)
    for unit in (tree.ministry, tree.commune_a, tree.commune_b):
        do_issue_unit_keys(unit)
    secret_a = auth.new_totp_secret()  # the commune's commander works with a second factor
    step = auth.current_step() - 1
    do_confirm_totp(
        tree.commander_a,
        secret_a,
        auth.code_for_step(secret_a, step),
        request=RequestFactory().get("/"),
    )
    return {
        "officer": officer,
        "commander": commander,
        "secret": secret,
        "secret_a": secret_a,
        "staff_a": staff_a,
    }


def test_a_document_from_drafting_to_done_in_two_communes(
    live_server: Any, browser: Any, tree: Any, journey: dict[str, Any]
) -> None:
    base = live_server.url
    commander = journey["commander"]

    # The ministry officer drafts and submits it for signing.
    page = _log_in(browser, base, journey["officer"])
    page.goto(f"{base}/documents/new/")
    page.select_option("#id_doc_type", "quyet_dinh")
    page.fill("#id_subject", SUBJECT)
    page.fill("#id_body", BODY)
    page.select_option("#id_signer", str(commander.pk))
    page.fill("#id_signer_title", "THỨ TRƯỞNG")
    page.fill("#id_recipients", "Như trên;\nLưu: VT, TC.")
    page.fill("#id_recipient_units", "15853 16690")
    _shot(page, "journey-1-officer-drafts")
    page.click("#draft-form button[type=submit]")
    page.wait_for_selector("#submit-draft")
    document = Document.objects.get(subject=SUBJECT)
    assert page.inner_text("#state") == "Dự thảo"
    page.click("#submit-draft")
    page.wait_for_selector("#state:text('Đang trình ký')")
    page.context.close()

    # The commander signs with a code from his authenticator app.
    page = _log_in(browser, base, commander, secret=journey["secret"])
    page.goto(f"{base}/documents/{document.pk}/")
    page.fill("#sign-form input[name=code]", _fresh_code(commander, journey["secret"]))
    _shot(page, "journey-2-commander-signs")
    page.click("#sign-form button[type=submit]")
    page.wait_for_selector("#state:text('Đã ký')")
    page.context.close()

    # The clerk issues it: number, date, the unit's signature, sent to both communes.
    page = _log_in(browser, base, tree.ministry_clerk)
    page.goto(f"{base}/documents/{document.pk}/")
    page.click("#issue")
    page.wait_for_selector("h1:has-text('01/QĐ-BQP')")
    document.refresh_from_db()
    assert document.state == Document.State.ISSUED
    assert document.number_and_symbol == "01/QĐ-BQP"
    _shot(page, "journey-3-clerk-issues")
    page.context.close()

    # The node's dispatcher takes it in as it arrives; each commune clerk finds it in "Việc
    # cần làm", opens it (both signatures verified) and registers it.
    apart_from_the_browser(dispatch.run_until_idle)
    for clerk, name in ((tree.clerk_a, "dong-tien"), (tree.clerk_b, "truong-vinh")):
        page = _log_in(browser, base, clerk)
        page.goto(f"{base}/")
        page.click("#work-queue li[data-step=register] a")
        page.wait_for_selector("#verification")
        assert "Mọi chữ ký đều toàn vẹn, hợp lệ và tin cậy" in page.inner_text("#verification")
        page.click("#register-button")
        page.wait_for_selector("#arrival-number")
        assert page.inner_text("#arrival-number") == "01"
        _shot(page, f"journey-4-{name}-clerk-registers")
        page.context.close()

    # The Đông Tiến commander assigns it to an officer, with a deadline.
    deadline = add_working_days(today_in_vietnam(), 3)
    page = _log_in(browser, base, tree.commander_a, secret=journey["secret_a"])
    page.click("#work-queue li[data-step=assign] a")  # from his queue
    page.check(f"#assign input[value='{journey['staff_a'].pk}']")
    page.fill("#assign input[name=deadline]", deadline.isoformat())
    page.click("#assign button[type=submit]")
    page.wait_for_selector("#assignments")
    assert "Ngô Văn Cường" in page.inner_text("#assignments")
    _shot(page, "journey-5-commander-assigns")
    page.context.close()

    # The officer starts and completes it with a result note.
    page = _log_in(browser, base, journey["staff_a"])
    page.goto(f"{base}/documents/incoming/")
    page.click(f"#my-assignments a:text('{SUBJECT}')")
    page.click("#assignments form[action$='/start'] button")
    page.wait_for_selector("#state:text('Đang xử lý')")
    page.fill("#assignments textarea[name=result_note]", "Đã xây dựng kế hoạch diễn tập.")
    page.click("#assignments form[action$='/complete'] button")
    page.wait_for_selector("#state:text('Đã xử lý xong')")
    _shot(page, "journey-6-officer-completes")
    page.context.close()

    # The ministry sees each recipient's status: done at Đông Tiến, registered at Trường Vinh.
    page = _log_in(browser, base, tree.ministry_clerk)
    page.goto(f"{base}/documents/{document.pk}/")
    page.click("#statuses-link")
    page.wait_for_selector("#statuses")
    rows = {row.split("\t")[0]: row for row in page.locator("#statuses tbody tr").all_inner_texts()}
    assert "06" in rows["Ban Chỉ huy Quân sự phường Đông Tiến (15853)"]
    assert "Đã xây dựng kế hoạch diễn tập." in rows["Ban Chỉ huy Quân sự phường Đông Tiến (15853)"]
    assert "03" in rows["Ban Chỉ huy Quân sự phường Trường Vinh (16690)"]
    _shot(page, "journey-7-ministry-sees-statuses")
    page.context.close()

    # The main lists on a phone, 390 px wide: nothing wider than the screen.
    for person, pages in (
        (tree.ministry_clerk, ["/documents/", f"/documents/{document.pk}/statuses"]),
        (
            journey["staff_a"],
            ["/documents/incoming/", "/documents/incoming/register/", "/documents/deadlines/"],
        ),
    ):
        page = _log_in(browser, base, person, width=390)
        for path in pages:
            page.goto(f"{base}{path}")
            assert page.locator("main").count() == 1
            assert _fits_phone(page), path
            _shot(page, "phone-390px" + path.replace("/", "-").rstrip("-"))
        page.context.close()
