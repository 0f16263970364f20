"""Login, failed-login lock-outs, unlocking, logout and the idle timeout, as a user sees them."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

from conftest import PASSWORD
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from tiendon.audit.models import AuditRecord
from tiendon.units import auth
from tiendon.units.actions import do_create_person
from tiendon.units.actions_auth import do_confirm_totp
from tiendon.units.models import LoginThrottle, Role

WRONG = "not-the-password-123"


def post_login(client: Any, username: str, password: str, **extra: Any) -> Any:
    return client.post(
        reverse("login"), {"username": username, "password": password}, follow=True, **extra
    )


def log_in_as_admin(client: Any, admin: Any) -> None:
    """Enrol the administrator's second factor and pass both login steps."""
    secret = auth.new_totp_secret()
    now = auth.current_step()
    do_confirm_totp(
        admin, secret, auth.code_for_step(secret, now), request=RequestFactory().get("/")
    )
    post_login(client, admin.username, PASSWORD)
    client.post(reverse("login_verify"), {"code": auth.code_for_step(secret, now + 1)})
    assert client.session["otp_verified"] is True


def actions_for(object_id: str) -> list[str]:
    return list(AuditRecord.objects.filter(object_id=object_id).values_list("action", flat=True))


def test_login_page_has_the_fields_a_browser_test_types_into(client: Any, db: Any) -> None:
    page = client.get(reverse("login")).content.decode()
    assert 'id="id_username"' in page
    assert 'id="id_password"' in page
    assert 'name="viewport"' in page


def test_wrong_password_shows_the_vietnamese_error(client: Any, tree: Any) -> None:
    response = post_login(client, tree.clerk_a.username, WRONG)
    assert "Sai tên đăng nhập hoặc mật khẩu." in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_right_password_logs_in_and_is_audited(client: Any, tree: Any) -> None:
    response = post_login(client, tree.clerk_a.username, PASSWORD)
    assert response.wsgi_request.user == tree.clerk_a
    assert "auth.login" in actions_for(str(tree.clerk_a.pk))


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(
    client: Any, tree: Any
) -> None:
    for _ in range(5):
        response = post_login(client, tree.clerk_a.username, WRONG)
    assert "bị khóa" in response.content.decode()

    response = post_login(client, tree.clerk_a.username, PASSWORD)
    page = response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert "bị khóa" in page
    lock = LoginThrottle.objects.get(scope="account", key=tree.clerk_a.username)
    assert lock.locked_until is not None
    until = timezone.localtime(lock.locked_until).strftime("%d/%m/%Y %H:%M")
    assert until in page

    actions = actions_for(str(tree.clerk_a.pk))
    assert actions.count("auth.login_failed") == 6  # five wrong, one refused while locked
    assert actions.count("auth.locked") == 1
    assert "auth.login" not in actions


def test_failed_logins_never_write_the_password_to_the_audit_log(client: Any, tree: Any) -> None:
    post_login(client, tree.clerk_a.username, WRONG)
    for record in AuditRecord.objects.all():
        assert WRONG not in str(record.new)
        assert WRONG not in str(record.old)


def test_failed_login_for_an_unknown_username_is_audited_with_what_was_typed(
    client: Any, db: Any
) -> None:
    typed = "khong.ton.tai." + "x" * 100
    post_login(client, typed, WRONG)
    record = AuditRecord.objects.get(action="auth.login_failed")
    assert record.object_id == typed[:64]
    assert record.new["reason"] == "password"


def test_a_successful_login_clears_the_failure_count(client: Any, tree: Any) -> None:
    for _ in range(4):
        post_login(client, tree.clerk_a.username, WRONG)
    post_login(client, tree.clerk_a.username, PASSWORD)
    client.post(reverse("logout"))
    for _ in range(4):
        post_login(client, tree.clerk_a.username, WRONG)
    response = post_login(client, tree.clerk_a.username, PASSWORD)
    assert response.wsgi_request.user == tree.clerk_a


def test_the_lock_ends_after_the_lockout_duration(client: Any, tree: Any) -> None:
    for _ in range(5):
        post_login(client, tree.clerk_a.username, WRONG)
    LoginThrottle.objects.filter(key=tree.clerk_a.username).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    response = post_login(client, tree.clerk_a.username, PASSWORD)
    assert response.wsgi_request.user == tree.clerk_a


def test_many_failures_from_one_address_lock_that_address_for_every_account(
    client: Any, tree: Any, settings: Any
) -> None:
    settings.ADDRESS_LOCKOUT_THRESHOLD = 3
    for name in ("a.khong.co", "b.khong.co", "c.khong.co"):
        post_login(client, name, WRONG, REMOTE_ADDR="10.1.2.3")
    response = post_login(client, tree.clerk_a.username, PASSWORD, REMOTE_ADDR="10.1.2.3")
    assert not response.wsgi_request.user.is_authenticated
    assert "máy tính này" in response.content.decode()
    assert AuditRecord.objects.filter(action="auth.locked", object_id="10.1.2.3").exists()

    elsewhere = post_login(client, tree.clerk_a.username, PASSWORD, REMOTE_ADDR="10.9.9.9")
    assert elsewhere.wsgi_request.user == tree.clerk_a


def test_admin_unlocks_a_locked_account_and_the_unlock_is_audited(client: Any, tree: Any) -> None:
    for _ in range(5):
        post_login(client, tree.clerk_a.username, WRONG)
    log_in_as_admin(client, tree.ministry_admin)

    page = client.get(reverse("person_detail", args=[tree.clerk_a.username])).content.decode()
    assert "khóa đến" in page
    client.post(reverse("person_unlock", args=[tree.clerk_a.username]))
    record = AuditRecord.objects.get(action="auth.unlocked")
    assert record.actor_id == tree.ministry_admin.pk
    assert record.object_id == str(tree.clerk_a.pk)

    client.post(reverse("logout"))
    response = post_login(client, tree.clerk_a.username, PASSWORD)
    assert response.wsgi_request.user == tree.clerk_a


def test_admin_of_another_subtree_cannot_unlock(client: Any, tree: Any) -> None:
    admin_b = do_create_person(
        username="qt.truongvinh",
        full_name="Vũ Văn Quyết",
        unit=tree.commune_b,
        role=Role.ADMIN,
        password=PASSWORD,
    )
    for _ in range(5):
        post_login(client, tree.clerk_a.username, WRONG)
    log_in_as_admin(client, admin_b)
    response = client.post(reverse("person_unlock", args=[tree.clerk_a.username]))
    assert response.status_code == 404
    assert not AuditRecord.objects.filter(action="auth.unlocked").exists()


def test_unlock_account_command_lifts_the_lock(client: Any, tree: Any) -> None:
    for _ in range(5):
        post_login(client, tree.clerk_a.username, WRONG)
    out = StringIO()
    call_command("unlock_account", tree.clerk_a.username, stdout=out)
    assert "unlocked" in out.getvalue()
    assert AuditRecord.objects.filter(action="auth.unlocked").exists()
    response = post_login(client, tree.clerk_a.username, PASSWORD)
    assert response.wsgi_request.user == tree.clerk_a


def test_logout_is_a_post_and_is_audited(client: Any, tree: Any) -> None:
    post_login(client, tree.clerk_a.username, PASSWORD)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"), follow=True)
    assert not response.wsgi_request.user.is_authenticated
    assert "auth.logout" in actions_for(str(tree.clerk_a.pk))


def test_a_session_idle_past_the_timeout_is_logged_out(
    client: Any, tree: Any, settings: Any
) -> None:
    post_login(client, tree.clerk_a.username, PASSWORD)
    page = reverse("password_change")
    assert client.get(page).status_code == 200

    key = client.session.session_key
    # Each request pushes the expiry forward (SESSION_SAVE_EVERY_REQUEST).
    expiry = Session.objects.get(session_key=key).expire_date
    assert expiry > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)

    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_changing_my_own_password(client: Any, tree: Any) -> None:
    post_login(client, tree.clerk_a.username, PASSWORD)
    new = "Mat-khau-moi-cua-toi-2026"
    wrong = client.post(
        reverse("password_change"),
        {"old_password": WRONG, "new_password": new, "new_password_again": new},
    )
    assert wrong.status_code == 200
    assert "password_changed" not in actions_for(str(tree.clerk_a.pk))
    client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password": new, "new_password_again": new},
    )
    assert "person.password_changed" in actions_for(str(tree.clerk_a.pk))
    client.post(reverse("logout"))
    assert post_login(client, tree.clerk_a.username, new).wsgi_request.user == tree.clerk_a
