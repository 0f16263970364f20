"""In Debian's Chromium, on the official list of units: a ministry clerk drafting a document
types "muong lat", picks Mường Lát, opens the tree and picks all communes of Thanh Hóa,
removes a unit picked by mistake, and saves; the draft's recipients are those. Screenshots
at 1366 and 390 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD

from tiendon.documents.models import Document
from tiendon.units.actions import do_create_person
from tiendon.units.models import Role, Unit
from tiendon.units.seed import seed_units

ARTIFACTS = Path("test-artifacts/screenshots")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def ministry() -> dict[str, Any]:
    seed_units()
    bqp = Unit.objects.get(code="BQP")
    clerk = do_create_person(
        username="vt.bqp", full_name="Trần Thị Thư", unit=bqp, role=Role.CLERK, password=PASSWORD
    )
    signer = do_create_person(
        username="ch.bqp",
        full_name="Bùi Minh Khang",
        unit=bqp,
        role=Role.COMMANDER,
        password=PASSWORD,
        position="Thứ trưởng",
    )
    return {"clerk": clerk, "signer": signer}


def _log_in(browser: Any, base: str, person: Any, width: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", person.username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector(".topbar")
    return page


def test_a_clerk_picks_recipients_by_name_and_by_tree(
    live_server: Any, browser: Any, ministry: dict[str, Any]
) -> None:
    base = live_server.url
    page = _log_in(browser, base, ministry["clerk"], 1366)
    page.goto(f"{base}/documents/new/")
    page.select_option("#id_doc_type", "cong_van")
    page.fill("#id_drafting_office", "TM")
    page.fill("#id_subject", "Về việc kiểm tra sẵn sàng chiến đấu khu vực biên giới")
    page.fill("#id_body", "Nội dung.")
    page.select_option("#id_signer", str(ministry["signer"].pk))

    # By name, without tones: one match, shown with its province.
    search = page.locator("#draft-form .unit-search")
    search.fill("muong lat")
    option = page.locator(".unit-results [data-pick='14845']")
    option.wait_for()
    assert option.inner_text() == "Xã Mường Lát · Thanh Hóa"
    search.press("Enter")  # the first match, from the keyboard
    units_chips = page.locator("[data-kind='unit'] [data-chips]")
    units_chips.locator("[data-code='14845']").wait_for()
    assert page.input_value("#id_recipient_units") == "14845"

    # A name that matches nothing says so, in Vietnamese.
    search.fill("Москва")
    page.wait_for_selector(".unit-results :text('Không có đơn vị nào tên')")

    # A unit picked by mistake is removed from its chip.
    search.fill("ha noi")
    page.locator(".unit-results [data-pick='01']").first.click()
    units_chips.locator("[data-code='01']").wait_for()
    units_chips.locator("[data-code='01'] .chip-remove").click()
    units_chips.locator("[data-code='01']").wait_for(state="detached")
    assert page.input_value("#id_recipient_units") == "14845"

    # The tree: Quân khu 4 → Thanh Hóa → all its communes, as one choice.
    page.click(".unit-tree > summary")
    page.click(".unit-tree summary:has-text('Quân khu 4')")
    page.click(".unit-tree summary:has-text('Thanh Hóa')")
    page.click(".unit-tree [data-pick='38'][data-pick-kind='set']")
    page.locator("[data-kind='set'] [data-chips] [data-code='38']").wait_for()
    assert page.input_value("#id_communes_of") == "38"
    assert "Tất cả xã, phường thuộc Thanh Hóa" in page.inner_text("[data-kind='set'] [data-chips]")
    page.locator(".unit-tree [data-pick='14845']").wait_for()  # Mường Lát is in the tree too
    _shot(page, "unit-picker-1366px")

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "unit-picker-390px")

    page.click("#draft-form button[type=submit]")
    page.wait_for_selector("#submit-draft")
    document = Document.objects.get()
    assert document.recipient_spec == [
        {"unit": "14845"},
        {"set": "communes_of", "province": "38"},
    ]
    assert "Ban CHQS các xã, phường thuộc Thanh Hóa" in page.content()
    page.context.close()


def test_without_javascript_the_codes_are_typed_and_named_after_saving(
    live_server: Any, browser: Any, ministry: dict[str, Any]
) -> None:
    base = live_server.url
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="vi-VN", java_script_enabled=False
    )
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", ministry["clerk"].username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.goto(f"{base}/documents/new/")
    assert not page.locator("#draft-form .unit-search").is_visible()  # no picker without JS
    page.select_option("#id_doc_type", "quyet_dinh")
    page.fill("#id_subject", "Về việc huấn luyện dân quân năm 2027")
    page.fill("#id_body", "Nội dung.")
    page.select_option("#id_signer", str(ministry["signer"].pk))
    page.fill("#id_recipient_units", "14845")
    page.fill("#id_communes_of", "38")
    page.click("#draft-form button[type=submit]")
    document = Document.objects.get()
    assert document.recipient_spec == [
        {"unit": "14845"},
        {"set": "communes_of", "province": "38"},
    ]
    page.goto(f"{base}/documents/{document.pk}/edit")
    chips = page.inner_text("[data-kind='unit'] [data-chips]")
    assert "Xã Mường Lát" in chips
    assert "×" not in chips  # nothing to click without JavaScript
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "unit-picker-no-js-390px")
    context.close()
