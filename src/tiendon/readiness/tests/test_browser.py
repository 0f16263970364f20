"""In Debian's Chromium at phone width: the national dashboard, drill-down to a province
and a commune, and the blocked list filtered by reason and by province."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import PASSWORD
from django.utils import timezone

from tiendon.readiness.actions import do_take_snapshot

ARTIFACTS = Path("test-artifacts/screenshots")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _fits_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 390


def test_ministry_clerk_drills_down_and_filters_the_blocked_list(live_server, page, surveyed):
    today = timezone.localdate()
    do_take_snapshot(today - dt.timedelta(days=1))
    do_take_snapshot(today)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", surveyed.tree.ministry_clerk.username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector(".topbar")

    page.goto(f"{live_server.url}/readiness/")
    assert page.inner_text("#n-total") == "4"
    assert page.inner_text("#n-ready") == "1"
    assert page.inner_text("#n-blocked") == "2"
    assert page.inner_text("#n-working") == "0"  # measured from documents: none yet
    assert page.locator("svg.chart").count() == 2  # per province, and the trend
    assert _fits_phone(page)
    _shot(page, "readiness-national-390px")

    page.click("#provinces a:text('Thanh Hóa')")
    page.wait_for_selector("#communes")
    assert page.inner_text(".scope-name") == "Thanh Hóa"
    assert page.locator("#communes tbody tr").count() == 2
    assert _fits_phone(page)
    _shot(page, "readiness-province-thanh-hoa-390px")

    page.click("#communes a:text('Phường Đông Tiến')")
    page.wait_for_selector("#commune-state")
    assert page.inner_text("#commune-state") == "Sẵn sàng"
    assert page.inner_text("#working") == "không"  # not working digitally yet
    _shot(page, "readiness-commune-dong-tien-390px")

    page.goto(f"{live_server.url}/readiness/BQP/blocked/")
    assert page.locator("#blocked tbody tr").count() == 2
    page.select_option("#f-reason", "power_supply")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**reason=power_supply**")
    rows = page.locator("#blocked tbody tr")
    assert rows.count() == 1
    assert "Phường Cửa Lò" in rows.first.inner_text()
    _shot(page, "readiness-blocked-power-supply-390px")

    page.select_option("#f-reason", "")
    page.select_option("#f-province", "38")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**province=38**")
    assert page.locator("#blocked tbody tr").count() == 0
    assert "0 xã còn vướng mắc" in page.inner_text("#blocked-count")
    assert _fits_phone(page)
