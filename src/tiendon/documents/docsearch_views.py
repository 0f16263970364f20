"""Pages of search, deadlines and reminders, the outgoing register and case files. Thin:
input is parsed here, reads go through `search`/`deadlines`/`registers`/`casefiles`
(which start from `queries`), changes through their `do_*` actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tiendon.documents import casefiles, deadlines, queries, registers
from tiendon.documents import search as doc_search
from tiendon.documents.docsearch_models import DueDate
from tiendon.documents.models import Document, DocumentType, Series, Urgency
from tiendon.errors import InvalidInput, TiendonError
from tiendon.units.models import Person


def _person(request: HttpRequest) -> Person:
    person = request.user
    if not isinstance(person, Person):
        raise PermissionDenied("a person of a unit is needed")
    return person


def _visible(request: HttpRequest, document_id: str) -> Document:
    try:
        return queries.get_visible_document(_person(request), document_id, request=request)
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc


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


@login_required
def deadlines_dashboard(request: HttpRequest) -> HttpResponse:
    """Reminders, then overdue and due-soon items (mine, or my unit's with ?scope=unit)."""
    person = _person(request)
    scope = request.GET.get("scope", "person")
    try:
        lists = deadlines.deadline_lists(person, scope=scope)
    except InvalidInput as exc:
        return render(request, "documents/error.html", {"error": exc}, status=400)
    deadlines.do_refresh_reminders(person, request=request)
    return render(
        request,
        "documents/deadlines.html",
        {"lists": lists, "scope": scope, "reminders": deadlines.unread_reminders(person)},
    )


@login_required
@require_POST
def reminder_read(request: HttpRequest, reminder_id: str) -> HttpResponse:
    deadlines.do_mark_reminder_read(reminder_id, _person(request), request=request)
    back = request.POST.get("next", "")  # dismissed from the banner: stay on that page
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("deadlines_dashboard")


@login_required
def document_due_date(request: HttpRequest, document_id: str) -> HttpResponse:
    """Set or clear a document's due date (dd/mm/yyyy) and who must act by then."""
    person = _person(request)
    document = _visible(request, document_id)
    people = person.unit.people.filter(is_active=True).order_by("full_name")
    error = None
    if request.method == "POST":
        raw = request.POST.get("due_date", "").strip()
        chosen = request.POST.get("person", "")
        responsible = people.filter(pk=chosen).first() if chosen.isdigit() else None
        try:
            deadlines.do_set_due_date(
                document, person, raw or None, person=responsible, request=request
            )
        except TiendonError as exc:
            error = exc
        else:
            messages.success(request, _("The due date was saved."))
            return redirect("document_detail", document_id=document.pk)
    due = DueDate.objects.filter(document=document).first()
    return render(
        request,
        "documents/due_date.html",
        {"document": document, "due": due, "people": people, "error": error},
        status=400 if error else 200,
    )


@login_required
def outgoing_register(request: HttpRequest) -> HttpResponse:
    """Sổ văn bản đi of the person's unit: ?date_from=&date_to=&series=&format=xlsx|pdf."""
    person = _person(request)
    fmt = request.GET.get("format", "html")
    unknown = set(request.GET) - {"date_from", "date_to", "series", "format"}
    try:
        if unknown or fmt not in ("html", "xlsx", "pdf"):
            raise InvalidInput(
                _("Unknown parameter: %(name)s.") % {"name": (sorted(unknown) or [fmt])[0][:40]},
                code="unknown_filter",
            )
        register = registers.outgoing_register(
            person,
            date_from=request.GET.get("date_from"),
            date_to=request.GET.get("date_to"),
            series=request.GET.get("series", "ordinary"),
        )
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc
    except InvalidInput as exc:
        return render(request, "documents/error.html", {"error": exc}, status=400)
    if fmt != "html" or register.series == Series.SECRET:
        registers.do_record_register_read(person, register, fmt, request=request)
    if fmt == "html":
        return render(
            request,
            "documents/register_outgoing.html",
            {"register": register, "columns": registers.OUTGOING_COLUMNS},
        )
    name = (
        f"so-van-ban-di-{register.unit.code}-{register.date_from:%Y%m%d}-{register.date_to:%Y%m%d}"
    )
    if fmt == "xlsx":
        response = HttpResponse(
            registers.to_xlsx(register),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(registers.to_pdf(register), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@login_required
def case_file_list(request: HttpRequest) -> HttpResponse:
    """The unit's case files, and a form to open a new one."""
    person = _person(request)
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
    person = _person(request)
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
