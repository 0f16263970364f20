"""Reads of documents, with unit scope and clearance checked here and only here.

For now a unit sees the documents it issues (receiving comes with the exchange). A person
whose clearance is below a document's secrecy never gets it: lists leave it out, and
opening it is refused. Every opening of a secret document is audited, refusals included.
"""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import HttpRequest

from tiendon.audit.actions import do_record
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import Document, DocumentVersion, Secrecy
from tiendon.errors import OutOfScope
from tiendon.units.models import Person


class ClearanceRequired(DocumentError):
    code = "clearance_required"


def documents_visible_to(viewer: Person) -> QuerySet[Document]:
    """Documents of the viewer's unit that the viewer's clearance opens, newest first."""
    return (
        Document.objects.filter(issuing_unit=viewer.unit_id, secrecy__lte=viewer.clearance)
        .select_related("issuing_unit", "signer", "drafter")
        .order_by("-created_at")
    )


def get_visible_document(
    viewer: Person, document_id: uuid.UUID | str, *, request: HttpRequest | None = None
) -> Document:
    """The document, if it is the viewer's unit's and the viewer is cleared for it.

    OutOfScope for another unit's (or no such) document; ClearanceRequired (audited) when
    the clearance is too low. An allowed opening of a secret document is audited too.
    """
    try:
        key = uuid.UUID(str(document_id))
    except ValueError as exc:
        raise OutOfScope("document", str(document_id)) from exc
    document = (
        Document.objects.select_related("issuing_unit", "signer", "drafter").filter(pk=key).first()
    )
    if document is None or document.issuing_unit_id != viewer.unit_id:
        raise OutOfScope("document", str(document_id))
    if document.secrecy > Secrecy.NONE:
        allowed = viewer.clearance >= document.secrecy
        do_record(
            "documents.secret_opened" if allowed else "documents.secret_refused",
            actor=viewer,
            obj=document,
            unit=viewer.unit,
            new={"secrecy": document.secrecy, "clearance": viewer.clearance},
            request=request,
        )
        if not allowed:
            raise ClearanceRequired(
                f"document {document.pk} needs clearance {document.secrecy}",
                code="clearance_required",
            )
    return document


def versions_of(viewer: Person, document_id: uuid.UUID | str) -> list[DocumentVersion]:
    """Every saved version of a draft, oldest first (through the same checks)."""
    document = get_visible_document(viewer, document_id)
    return list(document.versions.order_by("number"))
