"""The shell's pages: the home page per role and the unit page with its chain of command."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tiendon.units import queries
from tiendon.units.models import LoginThrottle, Person, Role, UnitKind


@login_required
def home(request: HttpRequest) -> HttpResponse:
    person: Person = request.user  # type: ignore[assignment]
    if request.headers.get("HX-Request"):  # the queue, polled: Hỏa tốc arrivals show at once
        return render(request, "web/work_queue.html")
    unit = person.unit
    context: dict[str, object] = {
        "unit": unit,
        "chain": unit.chain_of_command(),
        "province": unit.province(),
        "children": queries.children_in_vietnamese_order(unit)[:20],
        "children_total": unit.children.count(),
        "subtree_total": queries.units_visible_to(person).count() - 1,
        "colleagues": queries.order_people_vi(person.unit.people.filter(is_active=True))[:50],
    }
    if person.role == Role.COMMANDER:
        counts = (
            queries.units_visible_to(person)
            .exclude(pk=unit.pk)
            .values_list("kind")
            .annotate(n=Count("id"))
        )
        context["subordinate_kinds"] = [(UnitKind(kind).label, n) for kind, n in counts]
    if person.role == Role.ADMIN:
        context["people_total"] = queries.people_visible_to(person).count()
        context["locked_total"] = LoginThrottle.objects.filter(
            scope=LoginThrottle.Scope.ACCOUNT, locked_until__gt=timezone.now()
        ).count()
    return render(request, "web/home.html", context)


@login_required
def unit_detail(request: HttpRequest, code: str) -> HttpResponse:
    person: Person = request.user  # type: ignore[assignment]
    unit = queries.get_visible_unit(person, code)
    children = Paginator(queries.children_in_vietnamese_order(unit), 100).get_page(
        request.GET.get("page")
    )
    people = queries.order_people_vi(unit.people.filter(is_active=True))
    return render(
        request,
        "web/unit_detail.html",
        {
            "unit": unit,
            "chain": unit.chain_of_command(),
            "province": unit.province(),
            "children": children,
            "people": people[:200],
        },
    )
