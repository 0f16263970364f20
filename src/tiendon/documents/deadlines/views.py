"""Pages of deadlines and reminders: the deadline lists, a reminder read, a document's due
date. Thin: reads and changes go through `reminders`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tiendon.documents import queries
from tiendon.documents.deadlines import reminders as deadlines
from tiendon.documents.models import Document, DueDate
from tiendon.documents.pages import person_of
from tiendon.errors import InvalidInput, TiendonError


def _visible(request: HttpRequest, document_id: str) -> Document:
    try:
        return queries.get_visible_document(person_of(request), document_id, request=request)
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc


@login_required
def deadlines_dashboard(request: HttpRequest) -> HttpResponse:
    """Reminders, then overdue and due-soon items (mine, or my unit's with ?scope=unit)."""
    person = person_of(request)
    scope = request.GET.get("scope", "person")
    try:
        lists = deadlines.deadline_lists(person, scope=scope)
    except InvalidInput as exc:
        return render(request, "documents/error.html", {"error": exc}, status=400)
    return render(
        request,
        "documents/deadlines.html",
        {"lists": lists, "scope": scope, "reminders": deadlines.unread_reminders(person)},
    )


@login_required
@require_POST
def reminder_read(request: HttpRequest, reminder_id: str) -> HttpResponse:
    deadlines.do_mark_reminder_read(reminder_id, person_of(request), request=request)
    back = request.POST.get("next", "")  # dismissed from the banner: stay on that page
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("deadlines_dashboard")


@login_required
@require_POST
def reminders_read_many(request: HttpRequest) -> HttpResponse:
    done = deadlines.do_mark_reminders_read(
        request.POST.getlist("ids"), person_of(request), request=request
    )
    if done:
        messages.success(request, _("%(n)s reminders marked as read.") % {"n": done})
    else:
        messages.error(request, _("Choose the reminders to mark as read."))
    return redirect("deadlines_dashboard")


@login_required
def document_due_date(request: HttpRequest, document_id: str) -> HttpResponse:
    """Set or clear a document's due date (dd/mm/yyyy) and who must act by then."""
    person = person_of(request)
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
