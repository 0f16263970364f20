"""Administrators' people pages: list, reset password, move, acting position."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PASSWORD, log_in_with_totp
from django.urls import reverse

from tiendon.audit.models import AuditRecord
from tiendon.units.models import Person

NEW_PASSWORD = "Mat-khau-dat-lai-2026"


@pytest.fixture
def admin_client(client: Any, tree: Any) -> Any:
    """The ministry administrator, logged in with password and TOTP."""
    admin = tree.ministry_admin
    return log_in_with_totp(client, admin)


def test_admin_sees_the_people_of_a_unit(admin_client: Any, tree: Any) -> None:
    page = admin_client.get(reverse("unit_people", args=[tree.commune_a.code])).content.decode()
    assert tree.clerk_a.full_name in page
    assert tree.commander_a.full_name in page
    assert tree.clerk_b.full_name not in page


def test_people_link_takes_the_admin_to_their_own_unit(admin_client: Any, tree: Any) -> None:
    response = admin_client.get(reverse("people"))
    assert response["Location"] == reverse("unit_people", args=[tree.ministry.code])


def test_a_clerk_cannot_open_the_people_pages(client: Any, tree: Any) -> None:
    client.post(reverse("login"), {"username": tree.clerk_a.username, "password": PASSWORD})
    assert client.get(reverse("unit_people", args=[tree.commune_a.code])).status_code == 404
    assert client.get(reverse("person_detail", args=[tree.commander_a.username])).status_code == 404
    response = client.post(reverse("person_unlock", args=[tree.commander_a.username]))
    assert response.status_code == 404


def test_admin_resets_a_password_and_the_person_logs_in_with_it(
    admin_client: Any, client: Any, tree: Any
) -> None:
    url = reverse("person_password_reset", args=[tree.clerk_a.username])
    weak = admin_client.post(url, {"new_password": "123", "new_password_again": "123"})
    assert weak.status_code == 400
    admin_client.post(url, {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    record = AuditRecord.objects.get(action="person.password_reset")
    assert record.actor_id == tree.ministry_admin.pk
    assert NEW_PASSWORD not in str(record.new)

    admin_client.post(reverse("logout"))
    response = client.post(
        reverse("login"), {"username": tree.clerk_a.username, "password": NEW_PASSWORD}, follow=True
    )
    assert response.wsgi_request.user == tree.clerk_a


def test_admin_moves_a_person_and_the_history_shows_it(admin_client: Any, tree: Any) -> None:
    url = reverse("person_move", args=[tree.clerk_a.username])
    admin_client.post(url, {"unit_code": tree.commune_b.code, "note": "QĐ 12/QĐ-BCHQS"})
    person = Person.objects.get(pk=tree.clerk_a.pk)
    assert person.unit == tree.commune_b
    page = admin_client.get(reverse("person_detail", args=[person.username])).content.decode()
    assert "QĐ 12/QĐ-BCHQS" in page
    assert tree.commune_a.name in page
    assert AuditRecord.objects.filter(action="person.moved").exists()


def test_moving_to_an_unknown_unit_shows_a_form_error(admin_client: Any, tree: Any) -> None:
    url = reverse("person_move", args=[tree.clerk_a.username])
    response = admin_client.post(url, {"unit_code": "KHONGCO"})
    assert response.status_code == 400
    assert "Không có đơn vị nào mang mã này" in response.content.decode()
    assert Person.objects.get(pk=tree.clerk_a.pk).unit == tree.commune_a


def test_admin_sets_an_acting_position(admin_client: Any, tree: Any) -> None:
    url = reverse("person_acting_position", args=[tree.commander_a.username])
    admin_client.post(url, {"acting_position": "Quyền Chính trị viên"})
    assert Person.objects.get(pk=tree.commander_a.pk).acting_position == "Quyền Chính trị viên"
    page = admin_client.get(reverse("unit_people", args=[tree.commune_a.code])).content.decode()
    assert "Quyền Chính trị viên" in page
    assert AuditRecord.objects.filter(action="person.updated").exists()
