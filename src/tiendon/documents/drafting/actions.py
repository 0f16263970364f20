"""Every change to outgoing documents: drafting (each edit a new version), review, signing
and issuing. Each runs in one transaction with its audit record; the slow crypto of
signing runs before the transaction that stores its result, and issuing takes its number
inside the transaction that stores the issued PDF, so a failure consumes no number."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from tiendon.audit.actions import do_record
from tiendon.documents.delivery.sending import (
    LABEL_FOR_SECRECY,
    PRECEDENCE_FOR_URGENCY,
    SEND_REFUSALS,
    unit_signer_for,
)
from tiendon.documents.drafting import attachments, recipients, reviews
from tiendon.documents.drafting.state import check_pdf, document_saved, lock_document, require_state
from tiendon.documents.errors import DocumentError
from tiendon.documents.issuing.numbering import (
    format_number,
    series_for,
    symbol_for,
    take_next_number,
)
from tiendon.documents.models import (
    SUBJECT_MAX_LENGTH,
    Document,
    DocumentType,
    DocumentVersion,
    Secrecy,
    SigningMode,
    Urgency,
)
from tiendon.documents.pdf import container, layout, pades
from tiendon.errors import InvalidInput
from tiendon.exchange.actions import do_send_envelope
from tiendon.exchange.envelope import EnvelopeError
from tiendon.pki.errors import PkiError
from tiendon.pki.signing import current_personal_certificate, sign_as_person
from tiendon.units.models import Person, Role

# Printed as the content when the content is an uploaded PDF (its pages follow).
UPLOADED_CONTENT_NOTE = "(Nội dung văn bản tại các trang kèm theo.)"
# A công văn to at most this many recipient entries names them under "Kính gửi:", and its
# "Nơi nhận" says "Như trên" for them (Decree 30, Appendix I).
MAX_ADDRESSEES = 3
AS_ABOVE = "Như trên;"
# Fields a drafter sets; every edit of any of them makes a new version.
DRAFT_FIELDS = (
    "doc_type",
    "subject",
    "body",
    "uploaded_pdf",
    "urgency",
    "secrecy",
    "place",
    "recipients_text",
    "signer",
    "signing_mode",
    "head_title",
    "signer_title",
    "signer_rank",
    "drafting_office",
    "recipient_spec",
)


def _clean(values: dict[str, Any], drafter: Person) -> dict[str, Any]:
    """Check a draft's fields as a whole; the first problem is raised with its field."""
    doc_type = values.get("doc_type", "")
    if doc_type not in DocumentType.values:
        raise InvalidInput(
            _("Unknown document type: %(type)s.") % {"type": doc_type},
            code="unknown_type",
            field="doc_type",
        )
    subject = layout.nfc(str(values.get("subject", ""))).strip()
    if not subject:
        raise InvalidInput(
            _("The subject (trích yếu) is required."), code="subject_required", field="subject"
        )
    if len(subject) > SUBJECT_MAX_LENGTH:
        raise InvalidInput(
            _("The subject has at most %(max)s characters.") % {"max": SUBJECT_MAX_LENGTH},
            code="subject_too_long",
            field="subject",
        )
    values["subject"] = subject
    values["body"] = layout.nfc(str(values.get("body", ""))).strip()
    pdf_data = values.get("uploaded_pdf")
    if pdf_data is not None:
        check_pdf(bytes(pdf_data))
    if not values["body"] and pdf_data is None:
        raise InvalidInput(
            _("Write the content or upload a PDF."), code="content_required", field="body"
        )
    if values.get("urgency") not in Urgency.values:
        raise InvalidInput(_("Unknown urgency."), code="unknown_urgency", field="urgency")
    if values.get("secrecy") not in Secrecy.values:
        raise InvalidInput(_("Unknown secrecy level."), code="unknown_secrecy", field="secrecy")
    if values.get("signing_mode") not in SigningMode.values:
        raise InvalidInput(
            _("Unknown signing mode."), code="unknown_signing_mode", field="signing_mode"
        )
    signer = values.get("signer")
    if not isinstance(signer, Person) or signer.unit_id != drafter.unit_id or not signer.is_active:
        raise InvalidInput(
            _("The signer must be an active person of the issuing unit."),
            code="signer_outside_unit",
            field="signer",
        )
    if signer.clearance < values["secrecy"] or drafter.clearance < values["secrecy"]:
        raise InvalidInput(
            _("The drafter and the signer need a clearance at least as high as the secrecy."),
            code="clearance_required",
            field="secrecy",
        )
    if values["signing_mode"] != SigningMode.DIRECT and not values.get("head_title", "").strip():
        raise InvalidInput(
            _("Signing on behalf needs the title of the head (e.g. CHỈ HUY TRƯỞNG)."),
            code="head_title_required",
            field="head_title",
        )
    values["signer_title"] = (
        values.get("signer_title") or signer.acting_position or signer.position
    ).strip()
    if not values["signer_title"]:
        raise InvalidInput(
            _("The signer's position is required."), code="signer_title_required", field="signer"
        )
    values["signer_rank"] = values.get("signer_rank") or signer.rank
    values["place"] = (values.get("place") or drafter.unit.place_name or drafter.unit.name).strip()
    values["recipient_spec"] = recipients.clean_spec(
        drafter.unit, values.get("recipient_spec") or []
    )
    try:
        symbol_for(doc_type, drafter.unit.abbreviation, values.get("drafting_office", ""))
    except DocumentError as exc:
        raise InvalidInput(exc.message, code=exc.code, field="drafting_office") from exc
    return values


def _version_fields(document: Document) -> dict[str, Any]:
    return {
        "doc_type": document.doc_type,
        "urgency": document.urgency,
        "secrecy": document.secrecy,
        "place": document.place,
        "recipients_text": document.recipients_text,
        "signer": document.signer.username,
        "signing_mode": document.signing_mode,
        "head_title": document.head_title,
        "signer_title": document.signer_title,
        "signer_rank": document.signer_rank,
        "drafting_office": document.drafting_office,
        "recipient_spec": document.recipient_spec,
    }


def _save_version(document: Document, editor: Person) -> DocumentVersion:
    return DocumentVersion.objects.create(
        document=document,
        number=document.version,
        subject=document.subject,
        body=document.body,
        uploaded_pdf=document.uploaded_pdf,
        fields=_version_fields(document),
        edited_by=editor,
    )


def _snapshot(document: Document) -> dict[str, Any]:
    # Secret documents' subjects stay out of the audit chain, which more people read.
    data = _version_fields(document)
    data.update(state=document.state, version=document.version)
    if document.secrecy == Secrecy.NONE:
        data["subject"] = document.subject
    if document.number is not None:
        data["number"] = document.number_and_symbol
    return data


@transaction.atomic
def do_create_draft(
    drafter: Person,
    *,
    doc_type: str,
    subject: str,
    signer: Person,
    body: str = "",
    uploaded_pdf: bytes | None = None,
    urgency: str = Urgency.NORMAL,
    secrecy: int = Secrecy.NONE,
    place: str = "",
    recipients: list[str] | None = None,
    recipient_spec: list[Any] | None = None,
    signing_mode: str = SigningMode.DIRECT,
    head_title: str = "",
    signer_title: str = "",
    signer_rank: str = "",
    drafting_office: str = "",
    request: HttpRequest | None = None,
) -> Document:
    """A new draft of the drafter's unit, saved as version 1."""
    values = _clean(
        {
            "doc_type": doc_type,
            "subject": subject,
            "body": body,
            "uploaded_pdf": uploaded_pdf,
            "urgency": urgency,
            "secrecy": secrecy,
            "place": place,
            "recipients_text": "\n".join(r.strip() for r in recipients or [] if r.strip()),
            "recipient_spec": recipient_spec or [],
            "signer": signer,
            "signing_mode": signing_mode,
            "head_title": layout.nfc(head_title).strip(),
            "signer_title": layout.nfc(signer_title).strip(),
            "signer_rank": layout.nfc(signer_rank).strip(),
            "drafting_office": drafting_office.strip(),
        },
        drafter,
    )
    document = Document.objects.create(issuing_unit=drafter.unit, drafter=drafter, **values)
    document_saved(document)
    _save_version(document, drafter)
    do_record(
        "documents.draft_created",
        actor=drafter,
        obj=document,
        unit=document.issuing_unit,
        new=_snapshot(document),
        request=request,
    )
    return document


@transaction.atomic
def do_edit_draft(
    document: Document, editor: Person, *, request: HttpRequest | None = None, **changes: Any
) -> Document:
    """Change a draft: the drafter only, in the draft state; a new version row each time."""
    document = lock_document(document)
    require_state(document, Document.State.DRAFT)
    if editor.pk != document.drafter_id:
        raise DocumentError(_("Only the drafter edits a draft."), code="not_the_drafter")
    unknown = set(changes) - set(DRAFT_FIELDS) - {"recipients"}
    if unknown:
        raise InvalidInput(
            _("Unknown field: %(field)s.") % {"field": sorted(unknown)[0]},
            code="unknown_field",
            field=sorted(unknown)[0],
        )
    if "recipients" in changes:
        changes["recipients_text"] = "\n".join(r.strip() for r in changes.pop("recipients"))
    old = _snapshot(document)
    values = {name: getattr(document, name) for name in DRAFT_FIELDS}
    values.update(changes)
    values = _clean(values, editor)
    for name, value in values.items():
        setattr(document, name, value)
    document.version += 1
    document.save()
    document_saved(document)
    _save_version(document, editor)
    do_record(
        "documents.draft_edited",
        actor=editor,
        obj=document,
        unit=document.issuing_unit,
        old=old,
        new=_snapshot(document),
        request=request,
    )
    return document


@transaction.atomic
def do_submit_for_review(
    document: Document, actor: Person, *, request: HttpRequest | None = None
) -> Document:
    """The drafter hands the draft on: to its reviewers in turn if it has any
    (`reviews.py`), then to the signer."""
    document = lock_document(document)
    require_state(document, Document.State.DRAFT)
    if actor.pk != document.drafter_id:
        raise DocumentError(_("Only the drafter submits a draft."), code="not_the_drafter")
    reviews.start_round(document)  # before the save: `document_saved` announces the first reviewer
    document.state = Document.State.IN_REVIEW
    document.save(update_fields=["state", "updated_at"])
    document_saved(document, ["state", "updated_at"])
    do_record(
        "documents.submitted",
        actor=actor,
        obj=document,
        unit=document.issuing_unit,
        new={"version": document.version},
        request=request,
    )
    return document


@transaction.atomic
def do_return_to_draft(
    document: Document, actor: Person, *, comment: str, request: HttpRequest | None = None
) -> Document:
    """The signer sends the draft back to the drafter, saying why."""
    document = lock_document(document)
    require_state(document, Document.State.IN_REVIEW)
    if actor.pk != document.signer_id:
        raise DocumentError(_("Only the signer returns this draft."), code="not_the_signer")
    reviews.require_reviews_done(document)
    if not comment.strip():
        raise InvalidInput(_("Say why the draft goes back."), code="comment_required")
    document.state = Document.State.DRAFT
    document.save(update_fields=["state", "updated_at"])
    document_saved(document, ["state", "updated_at"])
    do_record(
        "documents.returned",
        actor=actor,
        obj=document,
        unit=document.issuing_unit,
        new={"version": document.version, "comment": comment.strip()},
        request=request,
    )
    return document


def layout_of(document: Document) -> layout.Layout:
    """What the PDF shows, from the document's fields."""
    unit = document.issuing_unit
    parent = unit.parent
    mode = (
        ""
        if document.signing_mode == SigningMode.DIRECT
        else f"{document.signing_mode} {document.head_title}"
    )
    named = [
        line
        for line in recipients.labels(document.issuing_unit, document.recipient_spec)
        if line.strip("- ;")  # a group deleted since drafting has no name left
    ]
    typed = document.recipients_text.splitlines()
    addressees: list[str] = []
    if document.doc_type == DocumentType.CONG_VAN and 0 < len(named) <= MAX_ADDRESSEES:
        addressees, named = named, [AS_ABOVE]
        typed = [line for line in typed if not _is_as_above(line)]
    return layout.Layout(
        superior_unit=parent.name if parent is not None else "",
        issuing_unit=unit.name,
        symbol=symbol_for(document.doc_type, unit.abbreviation, document.drafting_office),
        place=document.place,
        type_name=""
        if document.doc_type == DocumentType.CONG_VAN
        else document.get_doc_type_display(),
        subject=document.subject,
        body=document.body or (UPLOADED_CONTENT_NOTE if document.uploaded_pdf is not None else ""),
        signing_mode_line=mode,
        # An acting head (Q.) signs under the head's title alone.
        signer_title="" if document.signing_mode == SigningMode.Q else document.signer_title,
        signer_name=f"{document.signer_rank} {document.signer.full_name}".strip(),
        recipients=[*named, *typed],
        addressees=addressees,
        urgency_mark="" if document.urgency == Urgency.NORMAL else document.get_urgency_display(),
        secrecy_mark="" if document.secrecy == Secrecy.NONE else document.get_secrecy_display(),
    )


def _is_as_above(line: str) -> bool:
    return line.strip(" -;.").casefold() == AS_ABOVE.strip(";").casefold()


def do_sign(
    document: Document, signer: Person, *, totp_code: str, request: HttpRequest | None = None
) -> Document:
    """The signer's personal signature, authorised by the code from their phone now.

    The PDF is rendered and signed first (the code is spent there, per ADR 0006), then
    stored in a transaction that checks the draft did not change meanwhile.
    """
    require_state(document, Document.State.IN_REVIEW)
    if signer.pk != document.signer_id:
        raise DocumentError(_("Only the chosen signer signs this document."), code="not_the_signer")
    reviews.require_reviews_done(document)
    if signer.clearance < document.secrecy:  # the clearance may have dropped since drafting
        raise DocumentError(
            _("Your clearance does not cover this document."), code="clearance_required"
        )
    try:
        certificate = current_personal_certificate(signer)
    except PkiError as exc:  # none issued, or revoked or expired since
        raise PkiError(
            _(
                "You have no valid personal signing certificate (never issued, revoked or "
                "expired): ask the administrator for a new one. Nothing was signed."
            ),
            code=exc.code,
        ) from exc
    rendered = layout.render(layout_of(document))
    if document.uploaded_pdf is not None:
        rendered = dataclasses.replace(
            rendered, pdf=pades.with_appended_pages(rendered.pdf, bytes(document.uploaded_pdf))
        )

    def authorised_sign(data: bytes) -> bytes:
        return sign_as_person(signer, data, totp_code=totp_code, request=request).signature

    signed = pades.sign_as_signer(
        rendered,
        certificate=certificate,
        signer_name=signer.full_name,
        sign=authorised_sign,
        seal_unit_name=document.issuing_unit.name,
    )
    with transaction.atomic():
        locked = lock_document(document)
        require_state(locked, Document.State.IN_REVIEW)
        if locked.version != document.version:
            raise DocumentError(
                _("The draft changed while it was being signed; sign it again."),
                code="changed_meanwhile",
            )
        locked.pdf = signed
        locked.state = Document.State.SIGNED
        locked.signed_at = timezone.now()
        locked.save(update_fields=["pdf", "state", "signed_at", "updated_at"])
        document_saved(locked, ["pdf", "state", "signed_at", "updated_at"])
        do_record(
            "documents.signed",
            actor=signer,
            obj=locked,
            unit=locked.issuing_unit,
            new={
                "version": locked.version,
                "certificate": certificate.serial,
                "sha256": hashlib.sha256(signed).hexdigest(),
            },
            request=request,
        )
    return locked


def _send_refused(document: Document, clerk: Person, exc: EnvelopeError) -> DocumentError:
    """Audit a refusal by the exchange (after the issuing transaction rolled back, so the
    record stays) and turn it into a message for the clerk."""
    do_record(
        "documents.send_refused",
        actor=clerk,
        obj=document,
        unit=document.issuing_unit,
        new={"code": exc.code, "reason": str(exc)[:300], "secrecy": document.secrecy},
    )
    message = SEND_REFUSALS.get(exc.code) or _("The exchange refused to send: %(reason)s") % {
        "reason": exc.code
    }
    return DocumentError(str(message), code=exc.code)


def do_issue(document: Document, clerk: Person, *, request: HttpRequest | None = None) -> Document:
    """Number the signed document, fill its number and date, sign it as the unit, and send
    it to its recipients through the exchange (local ones included), all in one transaction.

    The number comes from the issuer's counter locked in this transaction: if anything
    after it fails (the exchange refusing a secret document included), the transaction
    rolls back and the number is not consumed.
    """
    try:
        return _issue(document, clerk, request=request)
    except EnvelopeError as exc:
        raise _send_refused(document, clerk, exc) from exc


def _issue(document: Document, clerk: Person, *, request: HttpRequest | None) -> Document:
    require_state(document, Document.State.SIGNED)
    if clerk.unit_id != document.issuing_unit_id or clerk.role not in (Role.CLERK, Role.ADMIN):
        raise DocumentError(_("Only a clerk of the issuing unit issues."), code="not_a_clerk")
    if clerk.clearance < document.secrecy:
        raise DocumentError(
            _("Your clearance does not cover this document."), code="clearance_required"
        )
    signer = unit_signer_for(
        document.issuing_unit, purpose="documents.issue", actor=clerk, request=request
    )
    certificate = signer.certificate
    targets = (
        recipients.resolve(document.issuing_unit, document.recipient_spec)
        if document.recipient_spec
        else []
    )
    reports = pades.verify(bytes(document.pdf or b""))
    if len(reports) != 1 or not reports[0].bottom_line:
        raise DocumentError(
            _("The signer's signature does not verify; the document was changed after signing."),
            code="signature_broken",
        )
    with transaction.atomic():
        locked = lock_document(document)
        require_state(locked, Document.State.SIGNED)
        unit = locked.issuing_unit
        now = timezone.now()
        today = timezone.localtime(now).date()
        series = series_for(locked.secrecy)
        number = take_next_number(unit, today.year, series)
        symbol = symbol_for(locked.doc_type, unit.abbreviation, locked.drafting_office)
        issued = pades.issue_pdf(
            bytes(locked.pdf or b""),
            number_text=format_number(number, symbol),
            date_text=layout.vietnamese_date(today),
            certificate=certificate,
            sign=signer.sign,
            seal_unit_name=unit.name,
        )
        # Check what is about to be stored, as a recipient will: both signatures, the
        # signer's with nothing but form filling after it. Anything else rolls back.
        final = pades.verify(issued)
        if len(final) != 2 or not all(report.bottom_line for report in final):
            raise DocumentError(
                _("The issued PDF does not verify; nothing was issued."), code="issue_unverified"
            )
        signed_attachments = attachments.sign_for_issuing(
            locked,
            number_text=format_number(number, symbol),
            certificate=certificate,
            sign=signer.sign,
        )
        locked.number, locked.symbol, locked.year, locked.series = (
            number,
            symbol,
            today.year,
            series,
        )
        locked.pdf = issued
        locked.state = Document.State.ISSUED
        locked.issued_at = now
        if targets:
            sent = do_send_envelope(
                kind=container.DOCUMENT_KIND,
                payload=container.pack_document(locked.metadata(), issued, signed_attachments),
                sender=unit,
                recipients=targets,
                precedence=PRECEDENCE_FOR_URGENCY[Urgency(locked.urgency)],
                security=LABEL_FOR_SECRECY[Secrecy(locked.secrecy)],
                actor=clerk,
                request=request,
            )
            locked.envelope_id = sent.pk
        locked.save(
            update_fields=[
                "number",
                "symbol",
                "year",
                "series",
                "pdf",
                "state",
                "issued_at",
                "envelope_id",
                "updated_at",
            ]
        )
        document_saved(
            locked,
            [
                "number",
                "symbol",
                "year",
                "series",
                "pdf",
                "state",
                "issued_at",
                "envelope_id",
                "updated_at",
            ],
        )
        do_record(
            "documents.issued",
            actor=clerk,
            obj=locked,
            unit=unit,
            new={
                "number": locked.number_and_symbol,
                "series": series,
                "certificate": certificate.serial,
                "sha256": hashlib.sha256(issued).hexdigest(),
                "envelope": str(locked.envelope_id or ""),
                "recipients": len(targets),
            },
            request=request,
        )
    return locked
