"""People: how passwords are kept, moves between units, acting positions."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, PRODUCTION_HASHERS

from tiendon.audit.models import AuditRecord
from tiendon.errors import InvalidInput
from tiendon.units.actions import do_create_person, do_move_person, do_update_person
from tiendon.units.models import PersonMove


@pytest.mark.django_db
def test_passwords_are_stored_as_argon2_hashes(tree, settings):
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    person = do_create_person(
        username="moi.dongtien",
        full_name="Người Mới",
        unit=tree.commune_a,
        role="clerk",
        password=PASSWORD,
    )
    assert person.password.startswith("argon2$argon2id$")
    assert PASSWORD not in person.password


@pytest.mark.django_db
def test_moving_a_person_keeps_the_history_and_drops_the_old_acting_position(tree):
    do_update_person(tree.clerk_a, actor=tree.ministry_admin, acting_position="Q. Chỉ huy trưởng")
    do_move_person(tree.clerk_a, tree.commune_b, actor=tree.ministry_admin, note="điều động")
    tree.clerk_a.refresh_from_db()
    assert tree.clerk_a.unit == tree.commune_b
    assert tree.clerk_a.acting_position == ""
    move = PersonMove.objects.get(person=tree.clerk_a)
    assert (move.from_unit, move.to_unit, move.note) == (
        tree.commune_a,
        tree.commune_b,
        "điều động",
    )
    record = AuditRecord.objects.get(action="person.moved")
    assert record.old == {"unit": tree.commune_a.code}


@pytest.mark.django_db
def test_moving_a_person_to_their_own_unit_is_refused_and_changes_nothing(tree):
    with pytest.raises(InvalidInput) as refused:
        do_move_person(tree.clerk_a, tree.commune_a, actor=tree.ministry_admin)
    assert refused.value.field == "unit"
    assert not PersonMove.objects.exists()
    assert not AuditRecord.objects.filter(action="person.moved").exists()
