"""`{% if u|within:user.unit %}`: link a unit only where the person may open it (a chain of
command shows the units above as names)."""

from __future__ import annotations

from django import template

from tiendon.units.models import Unit

register = template.Library()


@register.filter
def within(unit: Unit, root: Unit) -> bool:
    return unit.is_within(root)
