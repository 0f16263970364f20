"""An administrator manages only the people of their own subtree."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PASSWORD, log_in_with_totp
from django.urls import reverse

from tiendon.audit.models import AuditRecord
from tiendon.units.actions import do_create_person
from tiendon.units.models import Person, Role


@pytest.fixture
def commune_a_admin(client: Any, tree: Any) -> Any:
    admin = do_create_person(
        username="qt.dongtien",
        full_name="Ngô Văn Quang",
        unit=tree.commune_a,
        role=Role.ADMIN,
        password=PASSWORD,
    )
    return log_in_with_totp(client, admin)


def test_commune_a_admin_sees_commune_a_people(commune_a_admin: Any, tree: Any) -> None:
    page = commune_a_admin.get(reverse("person_detail", args=[tree.clerk_a.username]))
    assert page.status_code == 200
    assert tree.clerk_a.full_name in page.content.decode()


def test_commune_a_admin_cannot_see_commune_b_people(commune_a_admin: Any, tree: Any) -> None:
    username = tree.clerk_b.username
    assert commune_a_admin.get(reverse("person_detail", args=[username])).status_code == 404
    listing = commune_a_admin.get(reverse("unit_people", args=[tree.commune_b.code]))
    assert listing.status_code == 404
    assert AuditRecord.objects.filter(action="permission.denied").exists()


def test_commune_a_admin_cannot_change_commune_b_people(commune_a_admin: Any, tree: Any) -> None:
    username = tree.clerk_b.username
    for name, data in (
        (
            "person_password_reset",
            {"new_password": "Mat-khau-moi-2026", "new_password_again": "Mat-khau-moi-2026"},
        ),
        ("person_totp_reset", {}),
        ("person_unlock", {}),
        ("person_move", {"unit_code": tree.commune_a.code}),
        ("person_acting_position", {"acting_position": "Quyền"}),
    ):
        assert commune_a_admin.post(reverse(name, args=[username]), data).status_code == 404, name
    person = Person.objects.get(pk=tree.clerk_b.pk)
    assert person.unit == tree.commune_b
    assert person.acting_position == ""


def test_commune_a_admin_cannot_see_people_above(commune_a_admin: Any, tree: Any) -> None:
    username = tree.province_commander.username
    assert commune_a_admin.get(reverse("person_detail", args=[username])).status_code == 404


def test_commune_a_admin_cannot_move_someone_out_of_scope(commune_a_admin: Any, tree: Any) -> None:
    url = reverse("person_move", args=[tree.clerk_a.username])
    response = commune_a_admin.post(url, {"unit_code": tree.commune_b.code})
    assert response.status_code == 400
    assert Person.objects.get(pk=tree.clerk_a.pk).unit == tree.commune_a
