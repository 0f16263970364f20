"""Pages of search, deadlines and reminders, the outgoing register and case files. Thin:
input is parsed here, reads go through `search`/`deadlines`/`registers`/`casefiles`
(which start from `queries`), changes through their `do_*` actions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tiendon.documents import search as doc_search
from tiendon.documents.models import DocumentType, Urgency
from tiendon.errors import InvalidInput
from tiendon.units.models import Person


def _person(request: HttpRequest) -> Person:
    person = request.user
    if not isinstance(person, Person):
        raise PermissionDenied("a person of a unit is needed")
    return person


@login_required
def document_search(request: HttpRequest) -> HttpResponse:
    """GET ?q=…&type=&issuer=&date_from=&date_to=&urgency=&status=; 400 with the code on
    bad input."""
    person = _person(request)
    params = {k: str(v) for k, v in request.GET.items() if k not in ("q", "page")}
    query = request.GET.get("q", "")
    context: dict[str, object] = {
        "q": query,
        "params": params,
        "types": DocumentType.choices,
        "urgencies": Urgency.choices,
        "searched": "q" in request.GET,
    }
    status = 200
    if "q" in request.GET:
        try:
            context["result"] = doc_search.search(person, query, params)
        except InvalidInput as exc:
            context["error"] = exc
            status = 400
    return render(request, "documents/search.html", context, status=status)
