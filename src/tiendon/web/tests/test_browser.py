"""In Debian's Chromium: a commune clerk logs in, mistypes, and gets locked out."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PASSWORD

from tiendon.audit.models import AuditRecord

ARTIFACTS = Path("test-artifacts/screenshots")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _submit_login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main form button[type=submit]")


def test_commune_clerk_logs_in_and_sees_commune_and_province(live_server, page, tree):
    page.set_viewport_size({"width": 390, "height": 844})
    _submit_login(page, live_server.url, tree.clerk_a.username, PASSWORD)
    page.wait_for_selector(".unit-name")
    assert page.inner_text(".unit-name") == "Ban Chỉ huy Quân sự phường Đông Tiến"
    assert page.inner_text(".province-name") == "Thanh Hóa"
    assert "Bộ Quốc phòng" in page.inner_text(".chain")
    # Usable on a phone: nothing wider than the 390 px screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "commune-clerk-home-390px")


def test_wrong_password_shows_a_vietnamese_error(live_server, page, tree):
    _submit_login(page, live_server.url, tree.clerk_a.username, "sai-mat-khau")
    error = page.inner_text(".errorlist, .msg.error, .form-error")
    assert "Sai tên đăng nhập hoặc mật khẩu" in error
    _shot(page, "login-wrong-password")


def test_five_wrong_passwords_lock_the_account_and_are_audited(live_server, page, tree):
    for _ in range(5):
        _submit_login(page, live_server.url, tree.clerk_a.username, "sai-mat-khau")
    _submit_login(page, live_server.url, tree.clerk_a.username, PASSWORD)
    assert "khóa" in page.content().lower()
    assert page.url.rstrip("/").endswith("/login")
    _shot(page, "login-locked")
    about_clerk = AuditRecord.objects.filter(
        object_type="units.person", object_id=str(tree.clerk_a.pk)
    )
    assert about_clerk.filter(action="auth.login_failed").count() >= 5
    assert about_clerk.filter(action="auth.locked").count() == 1
    assert not about_clerk.filter(action="auth.login").exists()
