"""Attachments of outgoing documents (tệp đính kèm): added to a draft (PDF only, checked
like the content upload), signed by the organisation top right of page 1 when the document
is issued (inside the issuing transaction: a failure issues nothing), carried in the
document's container, and recorded with their verification result where received."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils.translation import gettext as _

from tiendon.audit.actions import do_record
from tiendon.documents.drafting import state
from tiendon.documents.drafting.state import lock_document, require_state
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import (
    ATTACHMENT_NAME_MAX,
    Attachment,
    Document,
    IncomingAttachment,
    IncomingDocument,
)
from tiendon.documents.pdf import container, stamps
from tiendon.errors import InvalidInput
from tiendon.pki.models import Certificate
from tiendon.units.models import Person

MAX_ATTACHMENTS = 20  # well inside the container's 64 files
FIELD = "attachment"


def clean_name(name: str, position: int) -> str:
    """A plain file name ending in .pdf: no folders, no control characters."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", base).strip(" .")
    if not base:
        base = f"dinh-kem-{position}"
    if not base.lower().endswith(".pdf"):
        base += ".pdf"
    if len(base) > ATTACHMENT_NAME_MAX:
        base = base[: ATTACHMENT_NAME_MAX - 4] + ".pdf"
    return base


def check_size(size: int) -> None:
    """Before reading an upload: one over the limit is refused without loading it."""
    limit = state.MAX_UPLOAD_BYTES
    if size > limit:
        raise InvalidInput(
            _("The PDF is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)},
            code="upload_too_large",
            field=FIELD,
        )


def check_pdf(data: bytes) -> None:
    """The same checks as the content upload (size, PDF, readable), under this field."""
    try:
        state.check_pdf(data)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, code=exc.code, field=FIELD) from exc


@transaction.atomic
def do_add_attachment(
    document: Document,
    person: Person,
    *,
    name: str,
    content: bytes,
    request: HttpRequest | None = None,
) -> Attachment:
    """Attach a PDF to a draft (the drafter, in the draft state)."""

    document = lock_document(document)
    require_state(document, Document.State.DRAFT)
    if person.pk != document.drafter_id:
        raise DocumentError(_("Only the drafter edits a draft."), code="not_the_drafter")
    check_pdf(content)
    if document.attachments.count() >= MAX_ATTACHMENTS:
        raise InvalidInput(
            _("A document has at most %(max)s attachments.") % {"max": MAX_ATTACHMENTS},
            code="too_many_attachments",
            field=FIELD,
        )
    position = (document.attachments.aggregate(m=Max("position"))["m"] or 0) + 1
    clean = clean_name(name, position)
    if document.attachments.filter(name=clean).exists():
        raise InvalidInput(
            _("An attachment named %(name)s is there already.") % {"name": clean},
            code="duplicate_attachment",
            field=FIELD,
        )
    attachment = Attachment.objects.create(
        document=document,
        position=position,
        name=clean,
        content=content,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        added_by=person,
    )
    do_record(
        "documents.attachment_added",
        actor=person,
        obj=document,
        unit=document.issuing_unit,
        new={"name": clean, "size": len(content), "sha256": attachment.sha256},
        request=request,
    )
    return attachment


@transaction.atomic
def do_remove_attachment(
    attachment: Attachment, person: Person, *, request: HttpRequest | None = None
) -> None:

    document = lock_document(attachment.document)
    require_state(document, Document.State.DRAFT)
    if person.pk != document.drafter_id:
        raise DocumentError(_("Only the drafter edits a draft."), code="not_the_drafter")
    do_record(
        "documents.attachment_removed",
        actor=person,
        obj=document,
        unit=document.issuing_unit,
        old={"name": attachment.name, "sha256": attachment.sha256},
        request=request,
    )
    attachment.delete()


def sign_for_issuing(
    document: Document,
    *,
    number_text: str,
    certificate: Certificate,
    sign: Callable[[bytes], bytes],
) -> dict[str, bytes]:
    """Sign every attachment as the unit, top right of page 1 (unit, number, time), and
    store the signed bytes; runs inside the issuing transaction, so any failure (a
    signature that does not verify included) rolls the whole issuing back."""
    from tiendon.documents.pdf import pades
    from tiendon.pki.validation import validation_context

    signed: dict[str, bytes] = {}
    moment = stamps.signing_time_now()
    context = validation_context()  # one for the whole issuing: the same roots and CRLs
    for attachment in document.attachments.order_by("position"):
        data = stamps.sign_top_right(
            bytes(attachment.content),
            certificate=certificate,
            sign=sign,
            unit_name=document.issuing_unit.name,
            reference=f"Số: {number_text}",  # legal content of the page: not translated
            signing_time=moment,
            context=context,
        )
        reports = pades.verify(data, context, skip_diff=True)  # ours, just made
        if not reports or not reports[-1].bottom_line:
            raise DocumentError(
                _("An attachment's signature does not verify; nothing was issued."),
                code="issue_unverified",
            )
        attachment.signed = data
        attachment.save(update_fields=["signed"])
        signed[attachment.name] = data
    return signed


def record_received(
    incoming: IncomingDocument,
    payload: container.DocumentPayload,
    verify: Callable[[bytes], list[dict[str, Any]]],
) -> list[IncomingAttachment]:
    """Keep each received attachment's name, hash and verification result (the bytes stay
    in the envelope)."""
    return [
        IncomingAttachment.objects.create(
            incoming=incoming,
            position=position,
            name=name[:ATTACHMENT_NAME_MAX],
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            verification=verify(data),
        )
        for position, (name, data) in enumerate(payload.attachments.items(), start=1)
    ]
