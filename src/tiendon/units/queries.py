"""Reads of units and people, with unit scope enforced here and only here.

A person sees their own unit and every unit below it, at any depth. Views and APIs
fetch units and people through these functions, never through `objects` directly.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from tiendon.errors import OutOfScope
from tiendon.units.collation import vi_collate
from tiendon.units.models import Person, Unit


def subtree(unit: Unit) -> QuerySet[Unit]:
    """The unit and all units below it."""
    return Unit.objects.filter(path__startswith=unit.path)


def units_visible_to(person: Person) -> QuerySet[Unit]:
    return subtree(person.unit)


def can_see_unit(person: Person, unit: Unit) -> bool:
    return unit.path.startswith(person.unit.path)


def get_visible_unit(person: Person, code: str) -> Unit:
    """The unit with this code, if the person may see it; OutOfScope otherwise."""
    unit = Unit.objects.filter(code=code).first()
    if unit is None or not can_see_unit(person, unit):
        raise OutOfScope("unit", code)
    return unit


def people_visible_to(person: Person) -> QuerySet[Person]:
    return Person.objects.filter(unit__path__startswith=person.unit.path)


def get_visible_person(viewer: Person, username: str) -> Person:
    target = Person.objects.select_related("unit").filter(username=username).first()
    if target is None or not can_see_unit(viewer, target.unit):
        raise OutOfScope("person", username)
    return target


def children_in_vietnamese_order(unit: Unit) -> QuerySet[Unit]:
    return Unit.objects.filter(parent=unit).order_by(vi_collate("name", connection.vendor))


def order_units_vi(queryset: QuerySet[Unit]) -> QuerySet[Unit]:
    return queryset.order_by(vi_collate("name", connection.vendor), "code")


def order_people_vi(queryset: QuerySet[Person]) -> QuerySet[Person]:
    return queryset.order_by(vi_collate("full_name", connection.vendor), "username")
