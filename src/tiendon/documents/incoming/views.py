"""Pages of the receiving side (inbox, a received document, the incoming register, paper
documents), of recall, of the sender's status table and of recipient groups. Thin: input
is parsed here, changes go through `actions_flow`, reads through `queries`."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tiendon.documents import queries
from tiendon.documents import statuses as status_codes
from tiendon.documents.delivery import history
from tiendon.documents.drafting.forms import split_codes
from tiendon.documents.incoming import actions as actions_flow
from tiendon.documents.incoming.forms import (
    AssignForm,
    CompleteForm,
    GroupForm,
    PaperForm,
    RefuseForm,
    RegisterRangeForm,
)
from tiendon.documents.models import Assignment, IncomingDocument, RecipientGroup
from tiendon.documents.pages import page_number, person_of, run_action, shown
from tiendon.documents.pdf.pages import page_response
from tiendon.documents.registers import incoming as incoming_register
from tiendon.errors import InvalidInput, TiendonError
from tiendon.units.models import Person, Role

STATUS_PAGE = 200
INBOX_PAGE = 50


def _incoming(request: HttpRequest, incoming_id: str) -> IncomingDocument:
    try:
        return queries.get_visible_incoming(person_of(request), incoming_id, request=request)
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc


@login_required
def incoming_list(request: HttpRequest) -> HttpResponse:
    person = person_of(request)
    page = page_number(request)
    rows = queries.incoming_list(person, limit=INBOX_PAGE + 1, offset=(page - 1) * INBOX_PAGE)
    return render(
        request,
        "documents/incoming_list.html",
        {
            "waiting": queries.waiting_envelopes(person)[:200],
            "documents": rows[:INBOX_PAGE],
            "page": page,
            "next_page": page + 1 if len(rows) > INBOX_PAGE else None,
            "assignments": queries.assignments_of(person),
            "recalled": queries.recalled_records(person)[:50],
            "is_clerk": person.role in (Role.CLERK, Role.ADMIN),
        },
    )


@login_required
@require_POST
def incoming_open(request: HttpRequest, envelope_id: str) -> HttpResponse:
    """Open a delivered document (a secret one gets its content for a cleared person)."""
    try:
        incoming = actions_flow.do_open_incoming(person_of(request), envelope_id, request=request)
    except ValueError as exc:  # not an envelope id
        raise Http404("no such delivery") from exc
    except TiendonError as exc:
        messages.error(request, shown(exc))
        return redirect("incoming_list")
    return redirect("incoming_detail", incoming_id=incoming.pk)


@login_required
@require_POST
def incoming_refuse_delivery(request: HttpRequest, envelope_id: str) -> HttpResponse:
    """Refuse a delivery that could not be opened (its payload unreadable)."""
    done = run_action(
        request,
        lambda: actions_flow.do_refuse_delivery(
            person_of(request), envelope_id, reason=request.POST.get("reason", ""), request=request
        ),
    )
    if done:
        messages.success(request, _("Refused; the sender is told why."))
    return redirect("incoming_list")


@login_required
def incoming_detail(request: HttpRequest, incoming_id: str) -> HttpResponse:
    incoming = _incoming(request, incoming_id)
    person = person_of(request)
    is_clerk = person.role in (Role.CLERK, Role.ADMIN)
    arrived = incoming.state == IncomingDocument.State.ARRIVED
    assignable = incoming.state in (
        IncomingDocument.State.REGISTERED,
        IncomingDocument.State.ASSIGNED,
        IncomingDocument.State.IN_PROGRESS,
    ) and person.role in (Role.COMMANDER, Role.ADMIN)
    return render(
        request,
        "documents/incoming_detail.html",
        {
            "incoming": incoming,
            "verified": bool(incoming.verification)
            and all(v.get("bottom_line") for v in incoming.verification),
            "duplicates": actions_flow.find_duplicates(incoming) if arrived else [],
            "can_register": arrived and is_clerk,
            "refuse_form": RefuseForm(),
            "assign_form": AssignForm(people=queries.assignable_people(person))
            if assignable
            else None,
            "assignments": incoming.assignments.select_related("assignee").order_by("pk"),
            "complete_form": CompleteForm(),
            "recall_pending": incoming.recall_answer == IncomingDocument.RecallAnswer.PENDING,
            "reader_pages": range(1, incoming.page_count + 1),
        },
    )


@login_required
def incoming_page(request: HttpRequest, incoming_id: str, number: int) -> HttpResponse:
    """One page of the received PDF as a picture, for the reader (opened like the file)."""
    try:
        data, content_type = queries.incoming_file(person_of(request), incoming_id, request=request)
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc
    return page_response(data, content_type, number)


@login_required
def incoming_file(request: HttpRequest, incoming_id: str) -> HttpResponse:
    try:
        data, content_type = queries.incoming_file(person_of(request), incoming_id, request=request)
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="van-ban-den-{incoming_id}"'
    return response


@login_required
@require_POST
def incoming_register_action(request: HttpRequest, incoming_id: str) -> HttpResponse:
    incoming = _incoming(request, incoming_id)
    accept = request.POST.get("accept_duplicate") == "1"
    if run_action(
        request,
        lambda: actions_flow.do_register_incoming(
            incoming, person_of(request), accept_duplicate=accept, request=request
        ),
    ):
        messages.success(
            request, _("Registered. The commander is told to assign it (or assigns it below).")
        )
    return redirect("incoming_detail", incoming_id=incoming.pk)


@login_required
@require_POST
def incoming_register_many(request: HttpRequest) -> HttpResponse:
    """Register the chosen arrivals, each in its own transaction: one another clerk has
    just registered, or one that needs a look (a possible duplicate), is said by name and
    left as it is; the others are registered."""
    person = person_of(request)
    ids = [i for i in request.POST.getlist("ids")[:200] if i.isascii() and i.isdigit()]
    done, refused = actions_flow.do_register_many(person, ids, request=request)
    if done:
        numbers = ", ".join(row.arrival_text for row in done)
        messages.success(
            request,
            _("Registered %(n)s: arrival no. %(numbers)s. The commander is told to assign them.")
            % {"n": len(done), "numbers": numbers},
        )
    for row, reason in refused:
        messages.warning(request, f"{row.number_and_symbol or row.subject[:60]}: {reason}")
    if not done and not refused:
        messages.error(request, _("Choose the documents to register."))
    return redirect("incoming_list")


@login_required
@require_POST
def incoming_refuse(request: HttpRequest, incoming_id: str) -> HttpResponse:
    incoming = _incoming(request, incoming_id)
    form = RefuseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason."))
    elif run_action(
        request,
        lambda: actions_flow.do_refuse_incoming(
            incoming, person_of(request), reason=form.cleaned_data["reason"], request=request
        ),
    ):
        messages.success(request, _("Refused; the sender is told why."))
    return redirect("incoming_detail", incoming_id=incoming.pk)


@login_required
@require_POST
def incoming_assign(request: HttpRequest, incoming_id: str) -> HttpResponse:
    incoming = _incoming(request, incoming_id)
    person = person_of(request)
    people = queries.assignable_people(person)
    form = AssignForm(request.POST, people=people)
    if not form.is_valid():
        messages.error(request, _("Choose the officers and a deadline."))
    else:
        chosen = list(people.filter(pk__in=[int(p) for p in form.cleaned_data["assignees"]]))
        if run_action(
            request,
            lambda: actions_flow.do_assign_incoming(
                incoming,
                person,
                assignees=chosen,
                deadline=form.cleaned_data["deadline"],
                request=request,
            ),
        ):
            messages.success(request, _("Assigned. Each officer is told, with the deadline."))
    return redirect("incoming_detail", incoming_id=incoming.pk)


def _assignment(request: HttpRequest, assignment_id: str) -> Assignment:
    person = person_of(request)
    assignment = (
        Assignment.objects.filter(pk=int(assignment_id), assignee=person)
        .select_related("incoming")
        .first()
        if assignment_id.isdigit()
        else None
    )
    if assignment is None:
        raise Http404("no such assignment")
    _incoming(request, str(assignment.incoming_id))  # scope, clearance, recall
    return assignment


@login_required
@require_POST
def assignment_start(request: HttpRequest, assignment_id: str) -> HttpResponse:
    assignment = _assignment(request, assignment_id)
    run_action(
        request,
        lambda: actions_flow.do_start_assignment(assignment, person_of(request), request=request),
    )
    return redirect("incoming_detail", incoming_id=assignment.incoming_id)


@login_required
@require_POST
def assignment_complete(request: HttpRequest, assignment_id: str) -> HttpResponse:
    assignment = _assignment(request, assignment_id)
    form = CompleteForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Write the result or attach a file."))
    else:
        upload = form.cleaned_data["result_file"]
        if run_action(
            request,
            lambda: actions_flow.do_complete_assignment(
                assignment,
                person_of(request),
                result_note=form.cleaned_data["result_note"],
                result_file=upload.read() if upload else None,
                result_file_name=upload.name if upload else "",
                request=request,
            ),
        ):
            messages.success(request, _("Done."))
    return redirect("incoming_detail", incoming_id=assignment.incoming_id)


@login_required
@require_POST
def incoming_recall_answer(request: HttpRequest, incoming_id: str) -> HttpResponse:
    incoming = _incoming(request, incoming_id)
    accept = request.POST.get("answer") == "accept"
    if run_action(
        request,
        lambda: actions_flow.do_answer_recall(
            incoming,
            person_of(request),
            accept=accept,
            note=request.POST.get("note", ""),
            request=request,
        ),
    ):
        messages.success(request, _("The answer was sent to the sender."))
    if accept:
        return redirect("incoming_list")
    return redirect("incoming_detail", incoming_id=incoming.pk)


@login_required
def paper_new(request: HttpRequest) -> HttpResponse:
    person = person_of(request)
    form = PaperForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        scan = data.pop("scan")
        try:
            incoming = actions_flow.do_receive_paper(
                person, scan=scan.read(), request=request, **data
            )
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        except TiendonError as exc:
            form.add_error(None, shown(exc))
        else:
            messages.success(request, _("The paper document was received; register it now."))
            return redirect("incoming_detail", incoming_id=incoming.pk)
    return render(request, "documents/paper_new.html", {"form": form})


def _range(request: HttpRequest) -> RegisterRangeForm:
    today = timezone.localdate()
    # The year so far unless a range is given.
    data = {"date_from": today.replace(month=1, day=1).isoformat(), "date_to": today.isoformat()}
    data.update({k: str(request.GET[k]) for k in data if request.GET.get(k)})
    return RegisterRangeForm(data)


@login_required
def incoming_register_page(request: HttpRequest) -> HttpResponse:
    person = person_of(request)
    form = _range(request)
    rows: list[incoming_register.RegisterRow] = []
    if form.is_valid():
        entries = queries.incoming_register(
            person, date_from=form.cleaned_data["date_from"], date_to=form.cleaned_data["date_to"]
        )
        rows = incoming_register.rows(entries)
        export = request.GET.get("export")
        if export in ("xlsx", "pdf"):
            return _export(person, form, rows, export)
    return render(
        request,
        "documents/incoming_register.html",
        {"form": form, "rows": rows, "columns": incoming_register.COLUMNS},
    )


def _export(
    person: Person, form: RegisterRangeForm, rows: list[incoming_register.RegisterRow], kind: str
) -> HttpResponse:
    start: dt.date = form.cleaned_data["date_from"]
    end: dt.date = form.cleaned_data["date_to"]
    title = f"SỔ ĐĂNG KÝ VĂN BẢN ĐẾN — {person.unit.name} — từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}"
    name = f"so-van-ban-den-{person.unit.code}-{start:%Y%m%d}-{end:%Y%m%d}"
    if kind == "xlsx":
        response = HttpResponse(
            incoming_register.to_xlsx(title, rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    else:
        response = HttpResponse(
            incoming_register.to_pdf(title, rows), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response


@login_required
def document_statuses(request: HttpRequest, document_id: str) -> HttpResponse:
    """The sender's table: every recipient's processing status, with its time."""
    person = person_of(request)
    page = page_number(request)
    status = request.GET.get("status")
    if status is not None and status != "" and status not in status_codes.LABELS:
        status = None  # an unknown code filters nothing
    try:
        table = queries.recipient_statuses(
            person,
            document_id,
            offset=(page - 1) * STATUS_PAGE,
            limit=STATUS_PAGE,
            status=status,
            request=request,
        )
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc
    history.with_history(table.document.issuing_unit, table.document.envelope_id, table.rows)
    return render(
        request,
        "documents/statuses.html",
        {
            "document": table.document,
            "table": table,
            "labels": status_codes.LABELS,
            "counts": [
                (code, status_codes.LABELS.get(code, _("Not arrived yet")), n)
                for code, n in table.by_code.items()
            ],
            "page": page,
            "status": status,
            "next_page": page + 1 if page * STATUS_PAGE < table.total else None,
        },
    )


@login_required
@require_POST
def document_recall(request: HttpRequest, document_id: str) -> HttpResponse:
    person = person_of(request)
    try:
        document = queries.get_visible_document(person, document_id, request=request)
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc
    if run_action(
        request,
        lambda: actions_flow.do_request_recall(
            document, person, reason=request.POST.get("reason", ""), request=request
        ),
    ):
        messages.success(request, _("The recall request was sent to every recipient."))
    return redirect("document_statuses", document_id=document.pk)


@login_required
def recipient_groups(request: HttpRequest) -> HttpResponse:
    person = person_of(request)
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions_flow.do_save_recipient_group(
                person,
                name=form.cleaned_data["name"],
                unit_codes=split_codes(form.cleaned_data["units"]),
                request=request,
            )
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        except TiendonError as exc:
            form.add_error(None, shown(exc))
        else:
            messages.success(request, _("The group was saved."))
            return redirect("recipient_groups")
    groups = RecipientGroup.objects.filter(owner=person.unit).prefetch_related("members")
    return render(
        request,
        "documents/recipient_groups.html",
        {"form": form, "groups": groups.order_by("name")},
    )


@login_required
def assignment_file(request: HttpRequest, assignment_id: str) -> HttpResponse:
    try:
        data, name = queries.assignment_result_file(
            person_of(request), assignment_id, request=request
        )
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc
    response = HttpResponse(data, content_type="application/octet-stream")
    safe = "".join(c for c in name if c.isalnum() or c in "._-") or "ket-qua"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response
