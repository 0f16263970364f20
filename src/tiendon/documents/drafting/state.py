"""The pieces every drafting action shares: the draft locked for the change, the states it
may be in, and the checks of an uploaded PDF."""

from __future__ import annotations

import io
from collections.abc import Iterable

from django.utils.translation import gettext as _
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from tiendon.documents.deadlines import reminders
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import Document
from tiendon.documents.search import fts, index
from tiendon.errors import InvalidInput

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def check_pdf(data: bytes) -> None:
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            _("The PDF is larger than %(mb)s MB.") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
            code="upload_too_large",
            field="uploaded_pdf",
        )
    if not data.startswith(b"%PDF-"):
        raise InvalidInput(_("The file is not a PDF."), code="not_a_pdf", field="uploaded_pdf")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if len(reader.root["/Pages"]["/Kids"]) == 0:
            raise ValueError("no pages")
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            _("The PDF is damaged and cannot be read."), code="corrupt_pdf", field="uploaded_pdf"
        ) from exc


def lock_document(document: Document) -> Document:
    return (
        Document.objects.select_for_update(of=("self",))
        .select_related("issuing_unit", "signer", "drafter")
        .get(pk=document.pk)
    )


def require_state(document: Document, *states: str) -> None:
    if document.state not in states:
        raise DocumentError(
            _("This document is %(state)s; that cannot be done now.")
            % {"state": document.get_state_display()},
            code="wrong_state",
        )


def document_saved(document: Document, fields: Iterable[str] | None = None) -> None:
    """What follows every change of a document, called by each action that saves one: its
    search entry and the indexer's queue (when an indexed field changed) and, when an action
    moved its state, the reminder of whoever must act next. `fields`: the saved fields,
    None for all (a draft created or edited: nobody else's turn)."""
    saved = None if fields is None else frozenset(fields)
    fts.on_document_saved(document, update_fields=saved)
    index.on_document_changed(document.pk, update_fields=saved)
    if saved is not None and "state" in saved:
        reminders.announce_turn(document)
