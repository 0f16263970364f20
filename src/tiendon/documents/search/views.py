"""Pages of search, deadlines and reminders, the outgoing register and case files. Thin:
input is parsed here, reads go through `search`/`deadlines`/`registers`/`casefiles`
(which start from `queries`), changes through their `do_*` actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tiendon.documents import queries
from tiendon.documents.models import Document, DocumentType, IncomingDocument, Urgency
from tiendon.documents.pages import person_of
from tiendon.documents.search import casefiles
from tiendon.documents.search import fts as doc_search
from tiendon.errors import InvalidInput, TiendonError
from tiendon.units.widgets import UnitCodesInput

# The status filter: the states of documents sent, then those of documents received (a
# recalled received copy leaves every view, the search included).
STATUS_CHOICES = [
    (gettext_lazy("Outgoing documents"), Document.State.choices),
    (
        gettext_lazy("Incoming documents"),
        [c for c in IncomingDocument.State.choices if c[0] != IncomingDocument.State.RECALLED],
    ),
]


def _visible(request: HttpRequest, document_id: str) -> Document:
    try:
        return queries.get_visible_document(person_of(request), document_id, request=request)
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc


@login_required
def document_search(request: HttpRequest) -> HttpResponse:
    """GET ?q=…&type=&issuer=&date_from=&date_to=&urgency=&status=&direction=: words, filters
    or both; 400 with the code on bad filters. A search with neither (or with punctuation
    only) says so on the page."""
    person = person_of(request)
    params = {k: str(v) for k, v in request.GET.items() if k not in ("q", "page")}
    query = request.GET.get("q", "")
    issuer = UnitCodesInput(single=True)  # chosen by name; a typed code works too
    context: dict[str, object] = {
        "q": query,
        "params": params,
        "issuer": issuer.render("issuer", params.get("issuer", ""), attrs={"id": "id_issuer"}),
        "issuer_media": issuer.media,
        "types": DocumentType.choices,
        "urgencies": Urgency.choices,
        "statuses": STATUS_CHOICES,
    }
    status = 200
    if request.GET:
        try:
            context["result"] = doc_search.search(person, query, params)
        except InvalidInput as exc:
            context["error"] = exc
            status = 200 if exc.code == "query_empty" else 400
    return render(request, "documents/search.html", context, status=status)


@login_required
def case_file_list(request: HttpRequest) -> HttpResponse:
    """The unit's case files, and a form to open a new one."""
    person = person_of(request)
    people = person.unit.people.filter(is_active=True).order_by("full_name")
    error = None
    if request.method == "POST":
        chosen = request.POST.get("keeper", "")
        keeper = people.filter(pk=chosen).first() if chosen.isdigit() else None
        try:
            case_file = casefiles.do_create_case_file(
                person,
                code=request.POST.get("code", ""),
                title=request.POST.get("title", ""),
                year=request.POST.get("year", ""),
                keeper=keeper,
                request=request,
            )
        except TiendonError as exc:
            error = exc
        else:
            messages.success(request, _("The case file was created."))
            return redirect("case_file_detail", case_file_id=case_file.pk)
    return render(
        request,
        "documents/case_files.html",
        {
            "case_files": casefiles.case_files_visible_to(person),
            "people": people,
            "error": error,
            "form": request.POST if error else {},
        },
        status=400 if error else 200,
    )


@login_required
def case_file_detail(request: HttpRequest, case_file_id: str) -> HttpResponse:
    """A case file's documents in order; POST document=<id> adds one, with remove=1 takes
    it out."""
    person = person_of(request)
    case_file = casefiles.get_visible_case_file(person, case_file_id)
    error = None
    if request.method == "POST":
        removing = request.POST.get("remove") == "1"
        try:
            document = _visible(request, request.POST.get("document", ""))
            if removing:
                casefiles.do_remove_from_case_file(case_file, document, person, request=request)
            else:
                casefiles.do_add_to_case_file(case_file, document, person, request=request)
        except TiendonError as exc:
            error = exc
        else:
            messages.success(
                request,
                _("The document was taken out.") if removing else _("The document was added."),
            )
            return redirect("case_file_detail", case_file_id=case_file.pk)
    entries = casefiles.documents_in(person, case_file)
    inside = {document.pk for _ordinal, document in entries}
    candidates = [
        d
        for d in queries.documents_visible_to(person).defer("pdf", "uploaded_pdf", "body")[:200]
        if d.pk not in inside
    ]
    return render(
        request,
        "documents/case_file_detail.html",
        {"case_file": case_file, "entries": entries, "candidates": candidates, "error": error},
        status=400 if error else 200,
    )
