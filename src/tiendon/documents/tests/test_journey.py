"""The workspace's journey in Debian's Chromium (issue 13, must-show 1), typing no URL after
the login page: the ministry clerk drafts a công văn to Mường Lát picked by name and to all
communes of Lai Châu picked in the tree; the commander, who never enrolled, is led through
enrolment and signs from his queue; the clerk issues from hers; the Mường Lát clerk finds it
in Việc cần làm, reads its pages in the page and registers it; the commander assigns it from
his queue; the officer completes it; the ministry clerk sees the statuses, filtered to those
done. The clicks are counted (printed) and every step is kept as screenshots at 1366 and
390 px in test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD
from django.test import RequestFactory

from tiendon.documents.deadlines.reminders import add_working_days, today_in_vietnam
from tiendon.documents.models import Document, IncomingDocument
from tiendon.documents.tests.conftest import apart_from_the_browser
from tiendon.exchange import dispatch
from tiendon.pki.actions import do_issue_person_key, do_issue_unit_keys
from tiendon.units import auth
from tiendon.units.actions import do_create_person
from tiendon.units.actions_auth import do_confirm_totp
from tiendon.units.models import Person, Role, Unit
from tiendon.units.seed import seed_units

ARTIFACTS = Path("test-artifacts/screenshots")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SUBJECT = "Về việc kiểm tra công tác sẵn sàng chiến đấu khu vực biên giới năm 2027"


class Journey:
    """The browser, with every click counted and every step photographed at both widths."""

    def __init__(self, browser: Any, base: str) -> None:
        self.browser, self.base = browser, base
        self.clicks = 0
        self.page: Any = None

    def click(self, selector: str) -> None:
        self.clicks += 1
        self.page.click(selector)

    def enter(self, selector: str) -> None:
        self.clicks += 1
        self.page.press(selector, "Enter")

    def log_in(self, person: Person, secret: str = "") -> None:
        if self.page is not None:
            self.page.context.close()
        context = self.browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
        self.page = context.new_page()
        self.page.goto(f"{self.base}/login/")  # the only URL typed
        self.page.fill("#id_username", person.username)
        self.page.fill("#id_password", PASSWORD)
        self.click("main form button[type=submit]")
        if secret:
            self.page.fill("#id_code", fresh_code(person, secret))
            self.click("main form button[type=submit]")
        self.page.wait_for_selector(".topbar")

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"workspace-{name}-1366.png"), full_page=True)
        self.page.set_viewport_size({"width": 390, "height": 844})
        assert self.page.evaluate("document.documentElement.scrollWidth") <= 390, name
        self.page.screenshot(path=str(ARTIFACTS / f"workspace-{name}-390.png"), full_page=True)
        self.page.set_viewport_size({"width": 1366, "height": 900})

    def from_queue(self, step: str) -> None:
        """From Việc cần làm (the home page), the item waiting at this step."""
        self.click("#sidenav a[data-key=work]")
        self.click(f"#work-queue li[data-step={step}] a")


def fresh_code(person: Person, secret: str) -> str:
    """The code the app shows in the next 30-second step (each login and each signature
    spends one; the journey does both within seconds)."""
    step = auth.current_step()
    Person.objects.filter(pk=person.pk).update(totp_last_step=step - 1)
    return auth.code_for_step(secret, step)


def hand_over_arrivals() -> None:
    """The node's dispatcher, as it runs there (apart from the browser's event loop)."""
    apart_from_the_browser(dispatch.run_until_idle)


@pytest.fixture
def people(pki: Any) -> dict[str, Any]:
    seed_units()
    ministry = Unit.objects.get(code="BQP")
    muong_lat = Unit.objects.get(code="14845")
    lai_chau = Unit.objects.get(code="12")
    for unit in (ministry, muong_lat, *lai_chau.children.all()):
        do_issue_unit_keys(unit)

    def person(username: str, name: str, unit: Unit, role: str, **extra: Any) -> Person:
        return do_create_person(
            username=username, full_name=name, unit=unit, role=role, password=PASSWORD, **extra
        )

    commander = person("ch.bqp", "Bùi Minh Khang", ministry, Role.COMMANDER, position="Thứ trưởng")
    do_issue_person_key(commander)
    commune_commander = person("ch.muonglat", "Hà Văn Đức", muong_lat, Role.COMMANDER)
    secret = auth.new_totp_secret()
    do_confirm_totp(
        commune_commander,
        secret,
        auth.code_for_step(secret, auth.current_step() - 1),
        request=RequestFactory().get("/"),
    )
    return {
        "clerk": person("vt.bqp", "Trần Thị Thư", ministry, Role.CLERK),
        "commander": commander,
        "commune_clerk": person("vt.muonglat", "Lò Thị Ánh", muong_lat, Role.CLERK),
        "commune_commander": commune_commander,
        "commune_secret": secret,
        "officer": person("cb.muonglat", "Vi Văn Thắng", muong_lat, Role.STAFF),
    }


def test_the_workspace_journey_from_drafting_to_done_without_typing_a_url(
    live_server: Any, browser: Any, people: dict[str, Any]
) -> None:
    trip = Journey(browser, live_server.url)

    # The ministry clerk drafts a công văn: Mường Lát by name, Lai Châu's communes by tree.
    trip.log_in(people["clerk"])
    trip.click("#sidenav a[data-key=outgoing]")
    trip.click("#new-draft")
    page = trip.page
    page.select_option("#id_doc_type", "cong_van")
    page.fill("#id_drafting_office", "TM")
    page.fill("#id_subject", SUBJECT)
    page.fill("#id_body", "Đề nghị các Ban Chỉ huy quân sự xã kiểm tra và báo cáo.")
    page.select_option("#id_signer", str(people["commander"].pk))
    page.fill("#draft-form .unit-search", "muong lat")
    page.locator(".unit-results [data-pick='14845']").wait_for()
    trip.enter("#draft-form .unit-search")
    page.locator("[data-kind='unit'] [data-chips] [data-code='14845']").wait_for()
    trip.click(".unit-tree > summary")
    trip.click(".unit-tree summary:has-text('Quân khu 2')")
    trip.click(".unit-tree summary:has-text('Lai Châu')")
    trip.click(".unit-tree [data-pick='12'][data-pick-kind='set']")
    page.locator("[data-kind='set'] [data-chips] [data-code='12']").wait_for()
    trip.shot("1-draft")
    trip.click("#draft-form button[type=submit]")
    trip.click("#submit-draft")
    assert "Bùi Minh Khang" in page.inner_text(".messages")  # who it waits on, and told
    document = Document.objects.get(subject=SUBJECT)
    assert document.recipient_spec == [{"unit": "14845"}, {"set": "communes_of", "province": "12"}]

    # The commander, never enrolled, is led to enrolment at login, then signs from his queue.
    trip.log_in(people["commander"])
    page = trip.page
    assert page.url.endswith("/account/totp/")
    secret = re.sub(r"\s", "", page.inner_text("#totp-secret"))
    page.fill("#id_code", auth.code_for_step(secret, auth.current_step()))
    trip.shot("2-enrol")
    trip.click("main form button[type=submit]")
    trip.from_queue("sign")
    page.fill("#sign-form input[name=code]", fresh_code(people["commander"], secret))
    trip.click("#sign-form button[type=submit]")
    page.wait_for_selector("#state:text('Đã ký')")
    trip.shot("3-signed")

    # The clerk issues it from her queue; the node takes it in for each recipient.
    trip.log_in(people["clerk"])
    trip.from_queue("issue")
    trip.click("#issue")
    trip.page.wait_for_selector("#state:text('Đã phát hành')")
    hand_over_arrivals()
    assert Document.objects.get(pk=document.pk).state == Document.State.ISSUED

    # Mường Lát's clerk finds it in Việc cần làm, reads its pages in the page, registers it.
    trip.log_in(people["commune_clerk"])
    trip.from_queue("register")
    page = trip.page
    # The first page's picture is drawn by the node and shown (the others load as scrolled).
    page.wait_for_function(
        "() => { const img = document.querySelector('#reader img');"
        " return img !== null && img.complete && img.naturalWidth > 0; }"
    )
    trip.shot("4-read")
    trip.click("#register-button")
    page.wait_for_selector("#arrival-number")
    assert "Chỉ huy đã được báo" in page.inner_text(".messages")
    hand_over_arrivals()  # status 03 back to the ministry

    # The commune commander assigns it from his queue, with a deadline.
    trip.log_in(people["commune_commander"], people["commune_secret"])
    trip.from_queue("assign")
    page = trip.page
    page.check(f"#assign input[value='{people['officer'].pk}']")
    page.fill("#assign input[name=deadline]", add_working_days(today_in_vietnam(), 3).isoformat())
    trip.click("#assign button[type=submit]")
    page.wait_for_selector("#assignments")
    trip.shot("5-assigned")
    hand_over_arrivals()

    # The officer completes it from his queue.
    trip.log_in(people["officer"])
    trip.from_queue("process")
    page = trip.page
    page.fill("#assignments textarea[name=result_note]", "Đã kiểm tra, báo cáo kèm theo.")
    trip.click("#assignments form[action$='/complete'] button")
    page.wait_for_selector("#state:text('Đã xử lý xong')")
    hand_over_arrivals()  # status 06 back to the ministry

    # The ministry clerk sees the statuses, filtered to those done.
    trip.log_in(people["clerk"])
    trip.click("#sidenav a[data-key=outgoing]")
    trip.click(f"a[href$='/documents/{document.pk}/']")
    trip.click("#statuses-link")
    page = trip.page
    page.wait_for_selector("#counts")
    trip.click("#counts a[data-status='06']")
    page.wait_for_selector("#statuses")
    rows = page.locator("#statuses tbody tr").all_inner_texts()
    assert len(rows) == 1
    assert "Mường Lát" in rows[0]
    trip.shot("6-statuses")
    incoming = IncomingDocument.objects.get(unit__code="14845")
    assert incoming.state == IncomingDocument.State.DONE
    print(f"workspace journey: {trip.clicks} clicks, no URL typed after the login page")
    assert trip.clicks <= 40
    trip.page.context.close()
