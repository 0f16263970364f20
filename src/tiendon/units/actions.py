"""Every change to units and people, each in one transaction with its audit record."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.http import HttpRequest

from tiendon.audit.actions import do_record
from tiendon.errors import InvalidInput
from tiendon.units.models import Clearance, Person, PersonMove, Role, Unit
from tiendon.units.places import default_place_name


def unit_snapshot(unit: Unit) -> dict[str, Any]:
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "commune_type": unit.commune_type,
        "parent": unit.parent.code if unit.parent_id and unit.parent else None,
        "abbreviation": unit.abbreviation,
        "org_id": unit.org_id,
        "place_name": unit.place_name,
    }


def _person_snapshot(person: Person) -> dict[str, Any]:
    return {
        "username": person.username,
        "full_name": person.full_name,
        "unit": person.unit.code,
        "role": person.role,
        "clearance": person.clearance,
        "rank": person.rank,
        "position": person.position,
        "acting_position": person.acting_position,
        "is_active": person.is_active,
    }


def _full_clean(obj: Unit | Person, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(f"{field}: {' '.join(messages)}", field=field) from exc


def set_path(unit: Unit) -> None:
    """Compute path and depth from the parent (the unit must already have an id)."""
    parent_path = unit.parent.path if unit.parent_id and unit.parent else "/"
    unit.path = f"{parent_path}{unit.pk}/"
    unit.depth = unit.path.count("/") - 2


@transaction.atomic
def do_create_unit(
    *,
    code: str,
    name: str,
    kind: str,
    parent: Unit | None,
    abbreviation: str = "",
    commune_type: str = "",
    short_name: str = "",
    org_id: str = "",
    place_name: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    actor: Person | None = None,
    request: HttpRequest | None = None,
    audit: bool = True,
) -> Unit:
    """A new unit; without a place name it gets the one `units.places` gives its kind."""
    place_name = place_name.strip() or default_place_name(
        kind,
        code=code,
        name=name,
        short_name=short_name,
        parent_place=parent.place_name if parent is not None else "",
    )
    unit = Unit(
        code=code,
        name=name,
        kind=kind,
        parent=parent,
        abbreviation=abbreviation,
        commune_type=commune_type,
        short_name=short_name,
        org_id=org_id,
        place_name=place_name,
        latitude=latitude,
        longitude=longitude,
    )
    _full_clean(unit, exclude=["path", "depth"])
    unit.save()
    set_path(unit)
    unit.save(update_fields=["path", "depth"])
    if audit:
        do_record(
            "unit.created",
            actor=actor,
            unit=unit,
            obj=unit,
            new=unit_snapshot(unit),
            request=request,
        )
    return unit


@transaction.atomic
def do_update_unit(
    unit: Unit, *, actor: Person | None, request: HttpRequest | None = None, **changes: Any
) -> Unit:
    allowed = {
        "name",
        "short_name",
        "abbreviation",
        "org_id",
        "place_name",
        "is_active",
        "latitude",
        "longitude",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}", field=min(unknown))
    old = unit_snapshot(unit)
    for key, value in changes.items():
        setattr(unit, key, value)
    _full_clean(unit, exclude=["path", "depth"])
    new = unit_snapshot(unit)
    if new == old and "is_active" not in changes:
        return unit
    unit.save()
    do_record("unit.updated", actor=actor, unit=unit, obj=unit, old=old, new=new, request=request)
    return unit


@transaction.atomic
def do_move_unit(
    unit: Unit, new_parent: Unit, *, actor: Person | None, request: HttpRequest | None = None
) -> Unit:
    """Re-attach a unit (and its whole subtree) under another parent."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    if new_parent.path.startswith(unit.path):
        raise InvalidInput(
            f"{new_parent.code} lies under {unit.code}: a unit cannot move below itself",
            code="cycle",
            field="parent",
        )
    old = unit_snapshot(unit)
    old_path = unit.path
    unit.parent = new_parent
    set_path(unit)
    new_path = unit.path
    unit.save(update_fields=["parent", "path", "depth"])
    # Rewrite the prefix of every descendant's path in one statement.
    descendants = Unit.objects.filter(path__startswith=old_path).exclude(pk=unit.pk)
    descendants.update(
        path=Concat(Value(new_path), Substr(F("path"), len(old_path) + 1)),
        depth=F("depth") + (new_path.count("/") - old_path.count("/")),
    )
    do_record(
        "unit.moved",
        actor=actor,
        unit=unit,
        obj=unit,
        old=old,
        new=unit_snapshot(unit),
        request=request,
    )
    return unit


@transaction.atomic
def do_create_person(
    *,
    username: str,
    full_name: str,
    unit: Unit,
    role: str,
    clearance: int = Clearance.NONE,
    rank: str = "",
    position: str = "",
    password: str | None = None,
    actor: Person | None = None,
    request: HttpRequest | None = None,
    check_password: bool = True,
) -> Person:
    person = Person(
        username=username,
        full_name=full_name,
        unit=unit,
        role=role,
        clearance=clearance,
        rank=rank,
        position=position,
    )
    _full_clean(person, exclude=["password"])
    if password:
        if check_password:
            _validate_password(password, person)
        person.set_password(password)
    else:
        person.set_unusable_password()
    person.save()
    do_record(
        "person.created",
        actor=actor,
        unit=unit,
        obj=person,
        new=_person_snapshot(person),
        request=request,
    )
    return person


def _validate_password(password: str, person: Person) -> None:
    try:
        validate_password(password, person)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), code="weak_password", field="password") from exc


@transaction.atomic
def do_update_person(
    person: Person, *, actor: Person | None, request: HttpRequest | None = None, **changes: Any
) -> Person:
    """Change name, role, clearance, rank, position, acting position or active state."""
    allowed = {"full_name", "role", "clearance", "rank", "position", "acting_position", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}", field=min(unknown))
    old = _person_snapshot(person)
    for key, value in changes.items():
        setattr(person, key, value)
    _full_clean(person, exclude=["password"])
    new = _person_snapshot(person)
    if new == old:
        return person
    person.save()
    do_record(
        "person.updated",
        actor=actor,
        obj=person,
        unit=person.unit,
        old=old,
        new=new,
        request=request,
    )
    return person


@transaction.atomic
def do_move_person(
    person: Person,
    to_unit: Unit,
    *,
    actor: Person | None,
    note: str = "",
    request: HttpRequest | None = None,
) -> Person:
    """Move a person to another unit, keeping the history of where they were."""
    person = Person.objects.select_for_update().select_related("unit").get(pk=person.pk)
    if person.unit_id == to_unit.pk:
        raise InvalidInput(f"{person.username} already belongs to {to_unit.code}", field="unit")
    from_unit = person.unit
    PersonMove.objects.create(
        person=person, from_unit=from_unit, to_unit=to_unit, moved_by=actor, note=note
    )
    person.unit = to_unit
    # An acting position belongs to the old unit.
    person.acting_position = ""
    person.save(update_fields=["unit", "acting_position"])
    do_record(
        "person.moved",
        actor=actor,
        unit=to_unit,
        obj=person,
        old={"unit": from_unit.code},
        new={"unit": to_unit.code, "note": note},
        request=request,
    )
    return person


@transaction.atomic
def do_set_password_by_admin(
    person: Person, new_password: str, *, actor: Person, request: HttpRequest | None = None
) -> None:
    """An administrator sets a new password (no e-mail is assumed on a military network)."""
    _validate_password(new_password, person)
    person.set_password(new_password)
    person.save(update_fields=["password"])
    # The password itself is never written to the audit log.
    do_record("person.password_reset", actor=actor, obj=person, unit=person.unit, request=request)


@transaction.atomic
def do_change_own_password(
    person: Person, old_password: str, new_password: str, *, request: HttpRequest | None = None
) -> None:
    if not person.check_password(old_password):
        raise InvalidInput(
            "the current password is wrong", code="wrong_password", field="old_password"
        )
    _validate_password(new_password, person)
    person.set_password(new_password)
    person.save(update_fields=["password"])
    do_record("person.password_changed", actor=person, obj=person, request=request)


def roles_that_need_totp() -> set[str]:
    return {Role.ADMIN}
