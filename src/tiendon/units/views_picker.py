"""The unit picker's fragments, asked for by htmx: matches for what was typed, one level of
the tree, and the chips of the codes a field holds (`units.widgets.UnitCodesInput`).

GET only and read-only. A refused query (too long, control characters) answers 200 with
its message in the fragment, so htmx shows it where the matches would be.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tiendon.errors import InvalidInput
from tiendon.units import queries
from tiendon.units.models import Person, Unit


@dataclass(frozen=True)
class PickerOptions:
    """What the field asking wants: `sets` offers "all communes of this province" (the draft's
    recipients), `scope=mine` keeps to the person's own subtree (moving a person)."""

    sets: bool
    within: Unit | None
    person: Person

    @classmethod
    def of(cls, request: HttpRequest) -> PickerOptions:
        person = request.user
        assert isinstance(person, Person)
        mine = request.GET.get("scope") == "mine"
        return cls(
            sets=request.GET.get("sets") == "1", within=person.unit if mine else None, person=person
        )

    def offers_set(self, picked: queries.PickedUnit) -> bool:
        return self.sets and picked.is_province and queries.can_see_unit(self.person, picked.unit)

    def rows(self, picked: list[queries.PickedUnit]) -> list[tuple[queries.PickedUnit, bool]]:
        return [(p, self.offers_set(p)) for p in picked]


@require_GET
@login_required
def unit_pick(request: HttpRequest) -> HttpResponse:
    options = PickerOptions.of(request)
    try:
        matches = queries.search_units(request.GET.get("q", ""), within=options.within)
    except InvalidInput as refused:
        return render(request, "units/picker/results.html", {"refused": refused.message})
    return render(
        request,
        "units/picker/results.html",
        {"matches": matches, "rows": options.rows(matches.units)},
    )


@require_GET
@login_required
def unit_pick_tree(request: HttpRequest) -> HttpResponse:
    """One level of the tree: below `under` (a code), or the top with the top unit itself."""
    options = PickerOptions.of(request)
    code = request.GET.get("under", "")
    top = None
    if code:
        parent = queries.units_for_codes([code])[0][1]
        if parent is None or (
            options.within is not None and not parent.unit.path.startswith(options.within.path)
        ):
            return render(request, "units/picker/tree.html", {"rows": []})
        under = parent.unit
    else:
        found = queries.tree_top(options.within)
        if found is None:
            return render(request, "units/picker/tree.html", {"rows": []})
        under = found
        top = queries.PickedUnit(under)
    children = queries.tree_children(under)
    return render(
        request,
        "units/picker/tree.html",
        {
            "top": top,
            "rows": options.rows(children),
            # A level of communes only (166 in Thanh Hóa) is shown in columns.
            "leaves": top is None and not any(c.child_count for c in children),
            "sets": "1" if options.sets else "0",
            "scope": "mine" if options.within is not None else "all",
        },
    )


@require_GET
@login_required
def unit_pick_chips(request: HttpRequest) -> HttpResponse:
    """The chips of a field's codes: `kind=unit` (each a unit) or `kind=set` (each province
    standing for all its communes); a code that names no unit gets a chip saying so."""
    codes = queries.split_unit_codes(request.GET.get("codes", ""))
    return render(
        request,
        "units/picker/chips.html",
        {"chips": queries.units_for_codes(codes), "kind": request.GET.get("kind", "unit")},
    )
