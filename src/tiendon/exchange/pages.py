"""The node's page for its administrators: what waits to be handed to each app, what keeps
failing and why, what waits for each neighbour. It only reads."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tiendon.exchange import queries, registry
from tiendon.units.models import Person


@login_required
@require_GET
def node_status(request: HttpRequest) -> HttpResponse:
    person = request.user
    if not isinstance(person, Person) or not person.is_admin:
        raise PermissionDenied("administrators only")
    outbox = queries.outbox_by_destination()
    expired = outbox.pop("expired", 0)
    failing = queries.failing_handoffs()
    for handoff in failing:
        handoff.kind_label = registry.kind_label(handoff.kind)  # type: ignore[attr-defined]
    return render(
        request,
        "exchange/node_status.html",
        {
            "handoffs": [
                (registry.kind_label(kind), row)
                for kind, row in sorted(queries.handoffs_by_kind().items())
            ],
            "failing": failing,
            "outbox": sorted(outbox.items()),
            "expired": expired,
            "envelopes": queries.envelopes_by_state(),
        },
    )
