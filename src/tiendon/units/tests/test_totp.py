"""The TOTP second factor: enrolment, the code step at login, reuse, and the admin-site gate."""

from __future__ import annotations

from typing import Any

from conftest import PASSWORD
from django.test import RequestFactory
from django.urls import reverse

from tiendon.audit.models import AuditRecord
from tiendon.units import auth
from tiendon.units.actions_auth import do_confirm_totp
from tiendon.units.models import Person


def enrol(person: Person) -> str:
    """Give the person a confirmed second factor through the real action."""
    secret = auth.new_totp_secret()
    code = auth.code_for_step(secret, auth.current_step())
    assert do_confirm_totp(person, secret, code, request=RequestFactory().get("/"))
    return secret


def fresh_code(secret: str, ahead: int = 1) -> str:
    """A code not used yet: the enrolment spent the current step's code."""
    return auth.code_for_step(secret, auth.current_step() + ahead)


def post_password(client: Any, person: Person) -> Any:
    return client.post(reverse("login"), {"username": person.username, "password": PASSWORD})


def test_enrolment_page_shows_a_qr_code_and_a_key_without_outside_requests(
    client: Any, tree: Any
) -> None:
    client.post(reverse("login"), {"username": tree.clerk_a.username, "password": PASSWORD})
    page = client.get(reverse("totp_enrol")).content.decode()
    assert "<svg" in page
    assert 'id="id_code"' in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


def test_confirming_a_code_turns_two_step_login_on_and_is_audited(client: Any, tree: Any) -> None:
    post_password(client, tree.clerk_a)
    client.get(reverse("totp_enrol"))
    secret = client.session[auth.SESSION_ENROL_SECRET]

    wrong = client.post(reverse("totp_enrol"), {"code": "000000"})
    assert "Sai mã" in wrong.content.decode()

    client.post(reverse("totp_enrol"), {"code": auth.code_for_step(secret, auth.current_step())})
    tree.clerk_a.refresh_from_db()
    assert tree.clerk_a.has_totp
    assert tree.clerk_a.totp_secret == secret
    record = AuditRecord.objects.get(action="auth.totp_enrolled")
    assert record.actor_id == tree.clerk_a.pk
    assert secret not in str(record.new)


def test_a_person_with_totp_is_not_logged_in_until_the_code_is_entered(
    client: Any, tree: Any
) -> None:
    secret = enrol(tree.clerk_a)
    response = post_password(client, tree.clerk_a)
    assert response["Location"] == reverse("login_verify")
    assert client.get(reverse("password_change")).status_code == 302  # not logged in

    page = client.get(reverse("login_verify")).content.decode()
    assert 'id="id_code"' in page

    response = client.post(reverse("login_verify"), {"code": fresh_code(secret)}, follow=True)
    assert response.wsgi_request.user == tree.clerk_a
    assert client.session["otp_verified"] is True
    login = AuditRecord.objects.filter(action="auth.login").last()
    assert login is not None
    assert login.new["second_factor"] == "totp"


def test_a_code_cannot_be_used_twice(client: Any, tree: Any) -> None:
    secret = enrol(tree.clerk_a)
    code = fresh_code(secret)
    post_password(client, tree.clerk_a)
    client.post(reverse("login_verify"), {"code": code})
    client.post(reverse("logout"))

    post_password(client, tree.clerk_a)
    response = client.post(reverse("login_verify"), {"code": code}, follow=True)
    assert not response.wsgi_request.user.is_authenticated
    assert "Mã này đã được sử dụng" in response.content.decode()
    failed = AuditRecord.objects.filter(action="auth.login_failed").last()
    assert failed is not None
    assert failed.new["reason"] == "totp_reused"


def test_the_enrolment_code_cannot_be_replayed_at_login(client: Any, tree: Any) -> None:
    secret = enrol(tree.clerk_a)
    post_password(client, tree.clerk_a)
    replay = auth.code_for_step(secret, auth.current_step())
    response = client.post(reverse("login_verify"), {"code": replay}, follow=True)
    assert not response.wsgi_request.user.is_authenticated


def test_wrong_codes_count_as_failed_logins_and_lock_the_account(client: Any, tree: Any) -> None:
    secret = enrol(tree.clerk_a)
    post_password(client, tree.clerk_a)
    for _ in range(5):
        response = client.post(reverse("login_verify"), {"code": "123456"}, follow=True)
    assert "bị khóa" in response.content.decode()
    assert AuditRecord.objects.filter(action="auth.locked").count() == 1

    post_password(client, tree.clerk_a)  # refused: locked
    response = client.post(reverse("login_verify"), {"code": fresh_code(secret)}, follow=True)
    assert not response.wsgi_request.user.is_authenticated


def test_an_admin_without_totp_is_sent_to_enrolment_and_can_reach_nothing_else(
    client: Any, tree: Any
) -> None:
    admin = tree.ministry_admin
    response = post_password(client, admin)
    assert response["Location"] == reverse("totp_enrol")
    for url in (reverse("home"), reverse("people"), reverse("password_change"), "/admin/"):
        blocked = client.get(url)
        assert blocked.status_code == 302, url
        assert blocked["Location"] == reverse("totp_enrol")
    page = client.get(reverse("totp_enrol")).content.decode()
    assert "Quản trị viên và chỉ huy (người ký văn bản) bắt buộc dùng đăng nhập hai bước" in page

    secret = client.session[auth.SESSION_ENROL_SECRET]
    client.post(reverse("totp_enrol"), {"code": auth.code_for_step(secret, auth.current_step())})
    assert client.get(reverse("people"), follow=True).status_code == 200
    assert client.get("/admin/").status_code == 200


def test_a_clerk_is_refused_by_the_admin_site(client: Any, tree: Any) -> None:
    anonymous = client.get("/admin/", follow=True)
    assert anonymous.redirect_chain[-1][0].startswith(reverse("login"))

    post_password(client, tree.clerk_a)
    response = client.get("/admin/units/person/", follow=True)
    assert response.status_code == 403
    assert tree.clerk_b.username not in response.content.decode()


def test_an_admin_who_has_not_passed_totp_is_refused_by_the_admin_site(
    client: Any, tree: Any
) -> None:
    enrol(tree.ministry_admin)
    post_password(client, tree.ministry_admin)  # password only, code not yet given
    response = client.get("/admin/units/person/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert tree.clerk_b.username not in response.content.decode()


def test_an_admin_who_passed_totp_gets_into_the_admin_site(client: Any, tree: Any) -> None:
    secret = enrol(tree.ministry_admin)
    post_password(client, tree.ministry_admin)
    client.post(reverse("login_verify"), {"code": fresh_code(secret)})
    response = client.get("/admin/units/person/")
    assert response.status_code == 200
    assert tree.clerk_b.username in response.content.decode()


def test_admin_site_lists_only_the_admins_subtree(client: Any, tree: Any) -> None:
    from tiendon.units.actions import do_create_person
    from tiendon.units.models import Role

    admin_a = do_create_person(
        username="qt.dongtien",
        full_name="Ngô Văn Quang",
        unit=tree.commune_a,
        role=Role.ADMIN,
        password=PASSWORD,
    )
    secret = enrol(admin_a)
    post_password(client, admin_a)
    client.post(reverse("login_verify"), {"code": fresh_code(secret)})
    page = client.get("/admin/units/person/").content.decode()
    assert tree.clerk_a.username in page
    assert tree.clerk_b.username not in page


def test_an_admin_resets_a_lost_second_factor(client: Any, tree: Any) -> None:
    secret = enrol(tree.ministry_admin)
    enrol(tree.clerk_a)
    post_password(client, tree.ministry_admin)
    client.post(reverse("login_verify"), {"code": fresh_code(secret)})
    client.post(reverse("person_totp_reset", args=[tree.clerk_a.username]))
    tree.clerk_a.refresh_from_db()
    assert not tree.clerk_a.has_totp
    record = AuditRecord.objects.get(action="auth.totp_reset")
    assert record.actor_id == tree.ministry_admin.pk

    client.post(reverse("logout"))
    response = client.post(
        reverse("login"),
        {"username": tree.clerk_a.username, "password": PASSWORD},
        follow=True,
    )
    assert response.wsgi_request.user == tree.clerk_a
