"""Pages to draft, read, sign and issue documents. Thin: input is parsed here, the work
is done by `actions`, and every read goes through `queries` (scope and clearance)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tiendon.documents import queries
from tiendon.documents.drafting import actions, reviews
from tiendon.documents.drafting.forms import DraftForm, SignForm
from tiendon.documents.drafting.recipients import labels
from tiendon.documents.models import Document, RecipientGroup
from tiendon.documents.pages import person_of, run_action, shown
from tiendon.documents.pdf import layout, pages
from tiendon.documents.pdf.pages import page_response
from tiendon.errors import InvalidInput, TiendonError
from tiendon.units.models import Person

RECIPIENT_FIELDS = (
    "recipient_units",
    "recipient_groups",
    "send_to_children",
    "send_to_all_communes",
    "communes_of",
)


def _draft_form(request: HttpRequest, person: Person, **kwargs: object) -> DraftForm:
    signers = person.unit.people.filter(is_active=True).order_by("full_name")
    form = DraftForm(request.POST or None, request.FILES or None, signers=signers, **kwargs)
    form.set_groups(RecipientGroup.objects.filter(owner=person.unit).order_by("name"))
    return form


def _draft_values(form: DraftForm) -> dict[str, object]:
    """The form's values as the drafting actions take them."""
    data = dict(form.cleaned_data)
    data["recipient_spec"] = form.recipient_spec()
    for name in RECIPIENT_FIELDS:
        data.pop(name)
    data["recipients"] = data.pop("recipients").splitlines()
    return data


def _document(request: HttpRequest, document_id: str) -> Document:
    try:
        return queries.get_visible_document(person_of(request), document_id, request=request)
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc


@login_required
def document_list(request: HttpRequest) -> HttpResponse:
    documents = queries.documents_visible_to(person_of(request))[:200]
    return render(request, "documents/list.html", {"documents": documents})


@login_required
def document_new(request: HttpRequest) -> HttpResponse:
    person = person_of(request)
    form = _draft_form(request, person)
    if request.method == "POST" and form.is_valid():
        data = _draft_values(form)
        upload = data.pop("uploaded_pdf")
        try:
            document = actions.do_create_draft(
                person,
                uploaded_pdf=upload.read() if upload else None,  # type: ignore[attr-defined]
                request=request,
                **data,  # type: ignore[arg-type]
            )
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The draft was saved."))
            return redirect("document_detail", document_id=document.pk)
    return render(request, "documents/new.html", {"form": form})


@login_required
def document_edit(request: HttpRequest, document_id: str) -> HttpResponse:
    """Change a draft (the drafter only): every save is a new version."""
    document = _document(request, document_id)
    person = person_of(request)
    initial = {
        "doc_type": document.doc_type,
        "drafting_office": document.drafting_office,
        "subject": document.subject,
        "body": document.body,
        "urgency": document.urgency,
        "secrecy": document.secrecy,
        "signer": document.signer_id,
        "signing_mode": document.signing_mode,
        "head_title": document.head_title,
        "signer_title": document.signer_title,
        "recipients": document.recipients_text,
        **DraftForm.initial_from(document.recipient_spec),
    }
    form = _draft_form(request, person, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = _draft_values(form)
        upload = data.pop("uploaded_pdf")
        if upload:
            data["uploaded_pdf"] = upload.read()  # type: ignore[attr-defined]
        try:
            actions.do_edit_draft(document, person, request=request, **data)
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        except TiendonError as exc:
            messages.error(request, shown(exc))
            return redirect("document_detail", document_id=document.pk)
        else:
            messages.success(request, _("The draft was saved."))
            return redirect("document_detail", document_id=document.pk)
    return render(request, "documents/edit.html", {"form": form, "document": document})


@login_required
@require_POST
def document_return(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document(request, document_id)
    comment = request.POST.get("comment", "")
    run_action(
        request,
        lambda: actions.do_return_to_draft(
            document, person_of(request), comment=comment, request=request
        ),
        lambda d: (
            _("Returned to %(name)s with your comment; they are told.")
            % {"name": d.drafter.full_name}
        ),
    )
    return redirect("document_detail", document_id=document.pk)


@login_required
def document_detail(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document(request, document_id)
    person = person_of(request)
    return render(
        request,
        "documents/detail.html",
        {
            "document": document,
            "versions": document.versions.order_by("number"),
            "can_submit": document.state == Document.State.DRAFT
            and person.pk == document.drafter_id,
            "can_sign": document.state == Document.State.IN_REVIEW
            and person.pk == document.signer_id
            and reviews.current_step(document) is None,
            "can_issue": document.state == Document.State.SIGNED
            and person.role in ("clerk", "admin"),
            "sign_form": SignForm(),
            "recipient_lines": labels(document.issuing_unit, document.recipient_spec),
            "reader_pages": range(1, pages.page_count(bytes(document.pdf)) + 1)
            if document.pdf is not None
            else range(1, 2),
        },
    )


def pdf_of(document: Document) -> bytes:
    """The signed or issued PDF, or the draft as it would print."""
    if document.pdf is not None:
        return bytes(document.pdf)
    return layout.render(actions.layout_of(document)).pdf


@login_required
def document_page(request: HttpRequest, document_id: str, number: int) -> HttpResponse:
    return page_response(pdf_of(_document(request, document_id)), "application/pdf", number)


@login_required
def document_pdf(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document(request, document_id)
    data = pdf_of(document)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.pk}.pdf"'
    return response


def submitted(document: Document) -> str:
    step = reviews.current_step(document)
    who = step.reviewer if step is not None else document.signer
    return _("Submitted: it now waits on %(name)s, who is told.") % {"name": who.full_name}


@login_required
@require_POST
def document_submit(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document(request, document_id)
    run_action(
        request,
        lambda: actions.do_submit_for_review(document, person_of(request), request=request),
        submitted,
    )
    return redirect("document_detail", document_id=document.pk)


@login_required
@require_POST
def document_sign(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document(request, document_id)
    form = SignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Type the 6-digit code from your authenticator app."))
    else:
        code = form.cleaned_data["code"]
        run_action(
            request,
            lambda: actions.do_sign(document, person_of(request), totp_code=code, request=request),
            lambda d: _("Signed. The unit's clerks are told to issue it."),
        )
    return redirect("document_detail", document_id=document.pk)


@login_required
@require_POST
def document_issue(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document(request, document_id)
    run_action(
        request,
        lambda: actions.do_issue(document, person_of(request), request=request),
        lambda d: (
            _("Issued as %(symbol)s and sent to its recipients; their statuses follow.")
            % {"symbol": d.number_and_symbol}
        ),
    )
    return redirect("document_detail", document_id=document.pk)
