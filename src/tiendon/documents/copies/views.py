"""Pages of attachments, reviewers and certified copies. Thin: input is parsed here, the
work is done by `attachments`, `reviews` and `copies`, and reads go through `queries`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tiendon.documents import queries
from tiendon.documents.copies import actions as copies
from tiendon.documents.copies.forms import AttachmentForm, CopyNewForm, ReviewersForm
from tiendon.documents.delivery.history import with_history
from tiendon.documents.drafting import attachments, reviews
from tiendon.documents.models import (
    Attachment,
    CertifiedCopy,
    CopyForm,
    Document,
    IncomingCopy,
    IncomingDocument,
    RecipientGroup,
)
from tiendon.documents.pages import person_of, run_action, shown
from tiendon.errors import InvalidInput, OutOfScope, TiendonError
from tiendon.units.models import Person, Role


def _cleared(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc


def _download(data: bytes, name: str, content_type: str = "application/pdf") -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    safe = name.encode("ascii", "replace").decode().replace('"', "")
    response["Content-Disposition"] = f'inline; filename="{safe}"'
    return response


# Attachments and reviewers of an outgoing document.


def _document(request: HttpRequest, document_id: str) -> Document:
    return _cleared(lambda: queries.get_visible_document(person_of(request), document_id))


@login_required
@require_POST
def attachment_add(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document(request, document_id)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a PDF file."))
    else:
        upload = form.cleaned_data["attachment"]

        def add() -> None:
            attachments.check_size(upload.size)  # before reading it into memory
            attachments.do_add_attachment(
                document,
                person_of(request),
                name=upload.name,
                content=upload.read(),
                request=request,
            )

        if run_action(request, add):
            messages.success(request, _("The attachment was added."))
    return redirect("document_detail", document_id=document.pk)


@login_required
@require_POST
def attachment_remove(request: HttpRequest, document_id: str, position: str) -> HttpResponse:
    document = _document(request, document_id)
    attachment = Attachment.objects.filter(document=document, position=position).first()
    if attachment is None:
        raise OutOfScope("attachment", position)
    run_action(
        request,
        lambda: attachments.do_remove_attachment(attachment, person_of(request), request=request),
    )
    return redirect("document_detail", document_id=document.pk)


@login_required
def document_attachment(request: HttpRequest, document_id: str, position: str) -> HttpResponse:
    data, name = _cleared(
        lambda: queries.document_attachment(
            person_of(request), document_id, position, request=request
        )
    )
    return _download(data, name)


@login_required
@require_POST
def reviewers_set(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document(request, document_id)
    person = person_of(request)
    people = queries.assignable_people(person)
    form = ReviewersForm(request.POST, people=people)
    if not form.is_valid():
        messages.error(request, _("Choose reviewers from the list."))
    else:
        by_id = {p.pk: p for p in people}
        chosen = [by_id[i] for i in form.chosen_ids() if i in by_id]
        if run_action(
            request,
            lambda: reviews.do_set_reviewers(document, person, reviewers=chosen, request=request),
        ):
            messages.success(request, _("The reviewers were saved."))
    return redirect("document_detail", document_id=document.pk)


@login_required
@require_POST
def review_decide(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document(request, document_id)
    person = person_of(request)
    comment = request.POST.get("comment", "")
    if request.POST.get("decision") == "approve":
        done = run_action(
            request,
            lambda: reviews.do_approve(document, person, comment=comment, request=request),
        )
        if done:
            messages.success(request, _("You approved the draft."))
    else:
        done = run_action(
            request,
            lambda: reviews.do_return_for_changes(
                document, person, comment=comment, request=request
            ),
        )
        if done:
            messages.success(request, _("The draft went back to the drafter."))
    return redirect("document_detail", document_id=document.pk)


# Received documents: attachments, the original a copy carries.


@login_required
def incoming_attachment(request: HttpRequest, incoming_id: str, position: str) -> HttpResponse:
    data, name = _cleared(
        lambda: queries.incoming_attachment(
            person_of(request), incoming_id, position, request=request
        )
    )
    return _download(data, name)


@login_required
def incoming_original(request: HttpRequest, incoming_id: str) -> HttpResponse:
    data = _cleared(
        lambda: queries.incoming_original_file(person_of(request), incoming_id, request=request)
    )
    return _download(data, f"ban-goc-{incoming_id}.pdf")


# Certified copies.


def _copy_form(request: HttpRequest, person: Person, *, of_copy: bool = False) -> CopyNewForm:
    # Forwarding down is the usual case; a received copy can only be copied as a sao lục.
    initial = {"send_to_children": True, "form": CopyForm.SAO_LUC if of_copy else CopyForm.SAO_Y}
    form = CopyNewForm(request.POST or None, initial=initial)
    form.set_groups(RecipientGroup.objects.filter(owner=person.unit).order_by("name"))
    return form


def _make_copy(
    request: HttpRequest,
    form: CopyNewForm,
    *,
    incoming: IncomingDocument | None = None,
    document: Document | None = None,
    copy: CertifiedCopy | None = None,
) -> Any:
    person = person_of(request)
    try:
        return copies.do_make_copy(
            person,
            form=form.cleaned_data["form"],
            incoming=incoming,
            document=document,
            copy=copy,
            pages=copies.parse_pages(form.cleaned_data["pages"]),
            recipient_spec=form.recipient_spec(),
            request=request,
        )
    except InvalidInput as exc:
        field = exc.field if exc.field in form.fields else None
        form.add_error(field, shown(exc))
    except TiendonError as exc:
        form.add_error(None, shown(exc))
    return None


def _copy_page(
    request: HttpRequest, form: CopyNewForm, context: dict[str, Any], **source: Any
) -> HttpResponse:
    """The copy form of one source: made and sent on a valid POST (then its page),
    otherwise the form again, with the refusal's message if there was one."""
    if request.method == "POST" and form.is_valid():
        made = _make_copy(request, form, **source)
        if made is not None:
            messages.success(request, _("The copy was made and sent."))
            return redirect("copy_detail", copy_id=made.pk)
    return render(request, "documents/copy_new.html", {"form": form, **context})


@login_required
def incoming_copy_new(request: HttpRequest, incoming_id: str) -> HttpResponse:
    person = person_of(request)
    incoming = _cleared(lambda: queries.get_visible_incoming(person, incoming_id, request=request))
    form = _copy_form(
        request, person, of_copy=IncomingCopy.objects.filter(incoming=incoming).exists()
    )
    return _copy_page(request, form, {"source": incoming, "incoming": True}, incoming=incoming)


@login_required
def document_copy_new(request: HttpRequest, document_id: str) -> HttpResponse:
    person = person_of(request)
    document = _document(request, document_id)
    form = _copy_form(request, person)
    return _copy_page(request, form, {"source": document, "incoming": False}, document=document)


@login_required
def copy_copy_new(request: HttpRequest, copy_id: str) -> HttpResponse:
    """A sao lục of one of the unit's own copies."""
    person = person_of(request)
    copy = _cleared(lambda: queries.get_visible_copy(person, copy_id, request=request))
    form = _copy_form(request, person, of_copy=True)
    context = {"source": copy, "incoming": False, "own_copy": True}
    return _copy_page(request, form, context, copy=copy)


@login_required
@require_POST
def copy_recall(request: HttpRequest, copy_id: str) -> HttpResponse:
    person = person_of(request)
    copy = _cleared(lambda: queries.get_visible_copy(person, copy_id, request=request))
    if run_action(
        request,
        lambda: copies.do_request_copy_recall(
            copy, person, reason=request.POST.get("reason", ""), request=request
        ),
    ):
        messages.success(request, _("The recall request was sent to every recipient."))
    return redirect("copy_detail", copy_id=copy.pk)


@login_required
def copy_list(request: HttpRequest) -> HttpResponse:
    rows = queries.copies_visible_to(person_of(request))[:200]
    return render(request, "documents/copy_list.html", {"copies": rows})


@login_required
def copy_detail(request: HttpRequest, copy_id: str) -> HttpResponse:
    person = person_of(request)
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    copy, total, by_code, rows = _cleared(
        lambda: queries.copy_statuses(person, copy_id, offset=offset, request=request)
    )
    with_history(copy.copying_unit, copy.envelope_id, rows)
    sent = copy.envelope_id is not None and copy.recalled_at is None
    return render(
        request,
        "documents/copy_detail.html",
        {
            "copy": copy,
            "form_name": CopyForm(copy.form).label,
            "total": total,
            "by_code": sorted(by_code.items()),
            "rows": rows,
            "can_copy": person.role in (Role.CLERK, Role.ADMIN),
            "can_recall": sent and person.role in (Role.CLERK, Role.COMMANDER, Role.ADMIN),
        },
    )


@login_required
def copy_pdf(request: HttpRequest, copy_id: str) -> HttpResponse:
    copy = _cleared(lambda: queries.get_visible_copy(person_of(request), copy_id, request=request))
    return _download(bytes(copy.pdf), f"{copy.number_and_symbol.replace('/', '-')}.pdf")
