"""Panels of attachments, reviewers and certified copies on the document pages; tags, so
each page needs one line. The page has already checked that the viewer may see the
document; the copies listed go through `queries` again."""

from __future__ import annotations

from typing import Any

from django import template

from tiendon.documents import queries
from tiendon.documents.copies import actions as copies
from tiendon.documents.copies.forms import AttachmentForm, ReviewersForm
from tiendon.documents.drafting import reviews
from tiendon.documents.models import Document, IncomingCopy
from tiendon.units.models import Person, Role

register = template.Library()
CLERKS = (Role.CLERK, Role.ADMIN)


@register.inclusion_tag("documents/parts_document.html", takes_context=True)
def document_parts_panel(context: dict[str, Any], document: Document) -> dict[str, Any]:
    viewer = context["request"].user
    if not isinstance(viewer, Person):
        return {"document": None}
    editable = document.state == Document.State.DRAFT and viewer.pk == document.drafter_id
    chosen = reviews.reviewers_of(document)
    step = reviews.current_step(document) if document.state == Document.State.IN_REVIEW else None
    issued = document.state == Document.State.ISSUED
    return {
        "document": document,
        "csrf_token": context.get("csrf_token"),
        "attachments": document.attachments.order_by("position").defer("content", "signed"),
        "editable": editable,
        "attachment_form": AttachmentForm() if editable else None,
        "reviewers": chosen,
        "reviewers_form": ReviewersForm(
            people=queries.assignable_people(viewer),
            initial={f"reviewer_{i}": str(p.pk) for i, p in enumerate(chosen, start=1)},
        )
        if editable
        else None,
        "trail": reviews.review_trail(document),
        "step": step,
        "my_turn": step is not None and step.reviewer_id == viewer.pk,
        "can_copy": issued and viewer.role in CLERKS,
        "copies": queries.copies_visible_to(viewer).filter(source_document=document)
        if issued
        else [],
    }


@register.inclusion_tag("documents/parts_incoming.html", takes_context=True)
def incoming_parts_panel(context: dict[str, Any], incoming: Any) -> dict[str, Any]:
    viewer = context["request"].user
    if not isinstance(viewer, Person):
        return {"incoming": None}
    return {
        "incoming": incoming,
        "attachments": list(incoming.attachments.all()),
        "copy_of": IncomingCopy.objects.filter(incoming=incoming).first(),
        # A paper document too: its scan becomes an electronic copy.
        "can_copy": viewer.role in CLERKS and incoming.state in copies.COPYABLE_STATES,
        "copies": queries.copies_visible_to(viewer).filter(source_incoming=incoming),
    }
