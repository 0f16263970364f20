"""Certified copies (bản sao, Decree 30 Article 25) and forwarding down the chain.

A unit that registered a received document (or issued one) makes a sao y (the whole
document), a trích sao (chosen pages) or a sao lục (a copy made from a copy). The copy
is the original as it looks (its pages flattened by poppler, so the filled number and the
signature images show), numbered in the copying unit's own series per form and year
(`03/SY-BCHQS`), signed by the copying unit top right of page 1 (unit, the copy's number,
ISO 8601 time in Vietnam's zone; `stamps.py`), and sent to the unit's recipients through
the exchange exactly like an issued document. The container also carries the original's
PDF byte for byte, so a recipient verifies both; statuses come back to the copying unit.
"""

from __future__ import annotations

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
    clean_note,
    send_recall,
    unit_signer_for,
)
from tiendon.documents.drafting import recipients
from tiendon.documents.errors import DocumentError
from tiendon.documents.issuing.numbering import format_number, take_next_number
from tiendon.documents.models import (
    CertifiedCopy,
    CopyForm,
    Document,
    IncomingCopy,
    IncomingDocument,
    Secrecy,
    Urgency,
)
from tiendon.documents.pdf import container, pades, stamps
from tiendon.errors import InvalidInput, OutOfScope
from tiendon.exchange.actions import do_send_envelope
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.queries import open_payload
from tiendon.units.models import Person, Role, Unit

# The words printed on the stamp, per form (legal content of the page: not translated).
FORM_WORDS = {CopyForm.SAO_Y: "SAO Y", CopyForm.TRICH_SAO: "TRÍCH SAO", CopyForm.SAO_LUC: "SAO LỤC"}
COPYABLE_STATES = (
    IncomingDocument.State.REGISTERED,
    IncomingDocument.State.ASSIGNED,
    IncomingDocument.State.IN_PROGRESS,
    IncomingDocument.State.DONE,
)
MAX_PAGES_FIELD = "pages"


def series_for_copy(form: str, secrecy: int) -> str:
    """Each copy form is a series of the copying unit; secret copies are numbered apart."""
    return f"copy_{form}" + ("_secret" if secrecy > 0 else "")


def symbol_for_copy(form: str, unit: Unit) -> str:
    if not unit.abbreviation:
        raise DocumentError(
            _("The issuing unit has no abbreviation for document symbols."),
            code="issuer_without_abbreviation",
        )
    return f"{form}-{unit.abbreviation}"


def parse_pages(text: str) -> list[int]:
    """ "1, 3-4" → [1, 3, 4]; InvalidInput (field pages) for anything else."""
    pages: list[int] = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                first, last = (int(v) for v in part.split("-", 1))
                pages.extend(range(first, last + 1))
            else:
                pages.append(int(part))
        except ValueError as exc:
            raise InvalidInput(
                _("Pages are numbers or ranges, such as 1, 3-4."),
                code="bad_pages",
                field=MAX_PAGES_FIELD,
            ) from exc
    return pages


def _check_pages(form: str, pages: list[int], count: int) -> list[int]:
    if form != CopyForm.TRICH_SAO:
        if pages:
            raise InvalidInput(
                _("Only an extract (trích sao) chooses pages."),
                code="pages_not_allowed",
                field=MAX_PAGES_FIELD,
            )
        return list(range(1, count + 1))
    if not pages:
        raise InvalidInput(
            _("Choose the pages of the extract."), code="pages_required", field=MAX_PAGES_FIELD
        )
    if len(set(pages)) != len(pages) or any(p < 1 or p > count for p in pages):
        raise InvalidInput(
            _("Choose each page once, between 1 and %(count)s.") % {"count": count},
            code="bad_pages",
            field=MAX_PAGES_FIELD,
        )
    return pages


PAPER = "paper"  # the original's "medium" when a scanned paper document was copied


def _original_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    keep = ("identifier", "type", "type_name", "number", "notation", "issue_date", "issuer")
    data = {k: meta.get(k) for k in (*keep, "issuer_name", "subject", "signer")}
    return data


class _Source:
    """What is copied: the PDF shown, the original (metadata, bytes) and whether the
    source is itself a copy (only a sao lục copies a copy)."""

    def __init__(
        self,
        *,
        pdf: bytes,
        original_pdf: bytes,
        original: dict[str, Any],
        is_copy: bool,
        depth: int,
        subject: str,
        doc_type: str,
        urgency: str,
        secrecy: int,
    ) -> None:
        self.pdf = pdf
        self.original_pdf = original_pdf
        self.original = original
        self.is_copy = is_copy
        self.depth = depth  # how many copiers' stamps the page shows already
        self.subject = subject
        self.doc_type = doc_type
        self.urgency = urgency
        self.secrecy = secrecy


def _require_copier(person: Person, secrecy: int) -> None:
    if person.role not in (Role.CLERK, Role.ADMIN):
        raise DocumentError(_("Only a clerk of the unit makes copies."), code="not_a_clerk")
    if person.clearance < secrecy:
        raise DocumentError(
            _("Your clearance does not cover this document."), code="clearance_required"
        )


def _source_from_incoming(
    person: Person, incoming: IncomingDocument, request: HttpRequest | None
) -> _Source:
    if incoming.unit_id != person.unit_id or incoming.state == IncomingDocument.State.RECALLED:
        raise OutOfScope("incoming", str(incoming.pk))
    _require_copier(person, incoming.secrecy)
    if incoming.state not in COPYABLE_STATES:
        raise DocumentError(_("Register the document before copying it."), code="wrong_state")
    if incoming.envelope_id is None:
        return _source_from_scan(incoming)
    payload = container.unpack_document(
        open_payload(person, str(incoming.envelope_id), request=request)
    )
    meta = payload.metadata
    copy_of = IncomingCopy.objects.filter(incoming=incoming).first()
    copy_info = meta.get("copy") if isinstance(meta.get("copy"), dict) else {}
    if copy_of is not None:
        if payload.original is None:
            raise DocumentError("the copy received carries no original", code="bad_payload")
        original = dict(copy_of.original)
        original_pdf = payload.original
    else:
        original = _original_metadata(meta)
        original_pdf = payload.pdf
    return _Source(
        pdf=payload.pdf,
        original_pdf=original_pdf,
        original=original,
        is_copy=copy_of is not None,
        depth=int(str((copy_info or {}).get("depth", 1))) if copy_of is not None else 0,
        subject=incoming.subject,
        doc_type=incoming.doc_type,
        urgency=incoming.urgency,
        secrecy=incoming.secrecy,
    )


def _source_from_scan(incoming: IncomingDocument) -> _Source:
    """A document that came on paper, copied from its scan into an electronic copy (Decree
    30: sao từ văn bản giấy sang văn bản điện tử). The scan has no signature of its own:
    the copying unit's signature certifies it, and the original's metadata says so."""
    if incoming.scan is None:
        raise DocumentError(_("The paper document has no scan."), code="wrong_state")
    scan = stamps.scan_as_pdf(bytes(incoming.scan), incoming.scan_type)
    original = {
        "identifier": "",
        "type": incoming.doc_type,
        "type_name": incoming.get_doc_type_display(),
        "number": incoming.number,
        "notation": incoming.notation,
        "issue_date": incoming.issue_date.isoformat() if incoming.issue_date else None,
        "issuer": incoming.issuer_code,
        "issuer_name": incoming.issuer_name,
        "subject": incoming.subject,
        "signer": {"full_name": incoming.signer_name} if incoming.signer_name else None,
        "medium": PAPER,
    }
    return _Source(
        pdf=scan,
        original_pdf=scan,
        original=original,
        is_copy=False,
        depth=0,
        subject=incoming.subject,
        doc_type=incoming.doc_type,
        urgency=incoming.urgency,
        secrecy=incoming.secrecy,
    )


def _source_from_document(person: Person, document: Document) -> _Source:
    if document.issuing_unit_id != person.unit_id:
        raise OutOfScope("document", str(document.pk))
    _require_copier(person, document.secrecy)
    if document.state != Document.State.ISSUED or document.pdf is None:
        raise DocumentError(_("Only an issued document is copied."), code="wrong_state")
    return _Source(
        pdf=bytes(document.pdf),
        original_pdf=bytes(document.pdf),
        original=_original_metadata(document.metadata()),
        is_copy=False,
        depth=0,
        subject=document.subject,
        doc_type=document.doc_type,
        urgency=document.urgency,
        secrecy=document.secrecy,
    )


def _source_from_copy(person: Person, copy: CertifiedCopy) -> _Source:
    """One of the unit's own copies, as sent (its stamp on the page): only a sao lục."""
    if copy.copying_unit_id != person.unit_id:
        raise OutOfScope("copy", str(copy.pk))
    copy.refresh_from_db(fields=["recalled_at"])  # as stored now, not as the caller read it
    _require_copier(person, copy.secrecy)
    if copy.recalled_at is not None:
        raise DocumentError(_("A recalled copy is not copied."), code="wrong_state")
    return _Source(
        pdf=bytes(copy.pdf),
        original_pdf=bytes(copy.original_pdf),
        original=dict(copy.original),
        is_copy=True,
        depth=copy.depth,
        subject=copy.subject,
        doc_type=copy.doc_type,
        urgency=copy.urgency,
        secrecy=copy.secrecy,
    )


def copy_metadata(
    copy: CertifiedCopy, person: Person, labels: list[str], depth: int
) -> dict[str, Any]:
    """The copy's own metadata (it is a document of the copying unit), with the form and
    the original's issuer, number and symbol, date."""
    unit = copy.copying_unit
    return {
        "identifier": str(copy.id),
        "type": copy.doc_type,
        "type_name": (copy.original or {}).get("type_name") or copy.doc_type,
        "number": copy.number,
        "notation": copy.symbol,
        "issue_date": timezone.localtime(copy.made_at).date().isoformat(),
        "issuer": unit.code,
        "issuer_name": unit.name,
        "subject": copy.subject,
        "language": "vi",
        "signer": {
            "full_name": person.full_name,
            "position": person.position,
            "rank": person.rank,
            "mode": "direct",
        },
        "urgency": copy.urgency,
        "secrecy": copy.secrecy,
        "series": copy.series,
        "state": "issued",
        "version": 1,
        "recipients": labels,
        "copy": {
            "form": copy.form,
            "form_name": CopyForm(copy.form).label,
            "pages": copy.pages,
            "depth": depth,  # 1 for a copy of an original, 2 for a sao lục of it, …
        },
        "original": copy.original,
    }


def do_make_copy(
    person: Person,
    *,
    form: str,
    incoming: IncomingDocument | None = None,
    document: Document | None = None,
    copy: CertifiedCopy | None = None,
    pages: list[int] | None = None,
    recipient_spec: list[Any] | None = None,
    request: HttpRequest | None = None,
) -> CertifiedCopy:
    """Make a certified copy and send it. The slow parts (decrypting, flattening) run
    first; the number, the signature, the row and the envelope then share one transaction,
    so a failure (the exchange refusing included) consumes no number."""
    if form not in CopyForm.values:
        raise InvalidInput(_("Unknown copy form."), code="unknown_copy_form", field="form")
    if [incoming, document, copy].count(None) != 2:
        raise InvalidInput(_("Copy one document."), code="source_required")
    if incoming is not None:
        source = _source_from_incoming(person, incoming, request)
    elif document is not None:
        source = _source_from_document(person, document)
    else:
        assert copy is not None
        source = _source_from_copy(person, copy)
        # The copies of a received (or issued) document stay found from it.
        incoming, document = copy.source_incoming, copy.source_document
    if source.is_copy != (form == CopyForm.SAO_LUC):
        raise InvalidInput(
            _("A copy of a copy is a sao lục; a sao lục is made from a copy only."),
            code="wrong_copy_form",
            field="form",
        )
    if not recipient_spec:
        raise InvalidInput(
            _("Choose who receives the copy."), code="no_recipients", field="recipient_spec"
        )
    unit = person.unit
    spec = recipients.clean_spec(unit, recipient_spec)
    targets = recipients.resolve(unit, spec)
    flat = stamps.flatten(source.pdf)
    chosen = _check_pages(form, list(pages or []), stamps.page_count(flat))
    # Only an extract needs its pages picked out (pyHanko's page import is the slow part).
    body = stamps.select_pages(flat, chosen) if form == CopyForm.TRICH_SAO else flat
    signer = unit_signer_for(unit, purpose="documents.copy", actor=person, request=request)
    certificate = signer.certificate
    try:
        with transaction.atomic():
            now = timezone.now()
            year = timezone.localtime(now).year
            series = series_for_copy(form, source.secrecy)
            number = take_next_number(unit, year, series)
            symbol = symbol_for_copy(form, unit)
            signed = stamps.sign_top_right(
                body,
                certificate=certificate,
                sign=signer.sign,
                unit_name=unit.name,
                reference=f"{FORM_WORDS[CopyForm(form)]} - Số: {format_number(number, symbol)}",
                signing_time=stamps.signing_time_now(),
                slot=source.depth,
            )
            reports = pades.verify(signed, skip_diff=True)  # ours, just made
            if not reports or not all(r.bottom_line for r in reports):
                raise DocumentError(
                    _("The copy's signature does not verify; nothing was sent."),
                    code="issue_unverified",
                )
            made = CertifiedCopy.objects.create(
                copying_unit=unit,
                form=form,
                source_incoming=incoming,
                source_document=document,
                source_copy=copy,
                depth=source.depth + 1,
                pages=chosen if form == CopyForm.TRICH_SAO else [],
                original=source.original,
                subject=source.subject,
                doc_type=source.doc_type,
                urgency=source.urgency,
                secrecy=source.secrecy,
                series=series,
                year=year,
                number=number,
                symbol=symbol,
                pdf=signed,
                original_pdf=source.original_pdf,
                recipient_spec=spec,
                made_by=person,
                made_at=now,
            )
            sent = do_send_envelope(
                kind=container.DOCUMENT_KIND,
                payload=container.pack_document(
                    copy_metadata(made, person, recipients.labels(unit, spec), source.depth + 1),
                    signed,
                    original=source.original_pdf,
                ),
                sender=unit,
                recipients=targets,
                precedence=PRECEDENCE_FOR_URGENCY[Urgency(made.urgency)],
                security=LABEL_FOR_SECRECY[Secrecy(made.secrecy)],
                actor=person,
                request=request,
            )
            made.envelope_id = sent.pk
            made.save(update_fields=["envelope_id"])
            audit: dict[str, Any] = {
                "form": form,
                "number": made.number_and_symbol,
                "original": f"{source.original.get('number') or ''}/"
                f"{source.original.get('notation') or ''}",
                "original_issuer": source.original.get("issuer"),
                "pages": made.pages,
                "sha256": hashlib.sha256(signed).hexdigest(),
                "envelope": str(sent.pk),
                "recipients": len(targets),
            }
            if made.secrecy == Secrecy.NONE:
                audit["subject"] = made.subject
            do_record(
                "documents.copy_made",
                actor=person,
                obj=made,
                unit=unit,
                new=audit,
                request=request,
            )
    except EnvelopeError as exc:
        do_record(
            "documents.send_refused",
            actor=person,
            obj=copy or incoming or document,
            unit=unit,
            new={"code": exc.code, "reason": str(exc)[:300], "copy_form": form},
        )
        message = SEND_REFUSALS.get(exc.code) or _("The exchange refused to send: %(reason)s") % {
            "reason": exc.code
        }
        raise DocumentError(str(message), code=exc.code) from exc
    return made


def record_received(
    incoming: IncomingDocument,
    payload: container.DocumentPayload,
    verify: Any,
) -> IncomingCopy | None:
    """When the received document is a certified copy: its form, the original's metadata
    and the original's own signature results (from the original's bytes it carries)."""
    meta = payload.metadata
    copy_info = meta.get("copy")
    if not isinstance(copy_info, dict):
        return None
    form = str(copy_info.get("form", ""))
    found = meta.get("original")
    original: dict[str, Any] = found if isinstance(found, dict) else {}
    if original.get("medium") == PAPER:
        # A scan of paper: nothing of its own to verify; the copy's signature certifies it.
        checked: list[dict[str, Any]] = []
    elif payload.original:
        checked = verify(payload.original)
    else:
        checked = [{"error": "missing", "bottom_line": False}]
    return IncomingCopy.objects.create(
        incoming=incoming,
        form=form if form in CopyForm.values else CopyForm.SAO_Y,
        original=original,
        original_verification=checked,
    )


# Recall (thu hồi) of a copy: the same request (13) and answers (15/16) as a document's.

# Sent to the copies' recipients when the original goes (content of the request: Vietnamese
# whatever the language of the page, like the stamp's words).
CASCADE_REASON = "Văn bản gốc đã bị thu hồi: {reason}"


def _recall_copy(
    copy: CertifiedCopy, actor: Person, *, reason: str, request: HttpRequest | None
) -> CertifiedCopy:

    copy.refresh_from_db(fields=["recalled_at"])
    if copy.recalled_at is not None:  # reached already, down another branch of the chain
        return copy
    sent = send_recall(
        copy.copying_unit,
        str(copy.envelope_id),
        identifier=str(copy.pk),
        reason=reason,
        actor=actor,
        request=request,
    )
    copy.recall_envelope_id = sent.pk
    copy.recall_reason = reason
    copy.recalled_at = timezone.now()
    copy.save(update_fields=["recall_envelope_id", "recall_reason", "recalled_at"])
    do_record(
        "documents.copy_recall_requested",
        actor=actor,
        obj=copy,
        unit=copy.copying_unit,
        new={
            "status": "13",
            "number": copy.number_and_symbol,
            "reason": reason,
            "envelope": str(sent.pk),
        },
        request=request,
    )
    # A sao lục the unit made of this copy goes with it.
    for own in CertifiedCopy.objects.filter(
        source_copy=copy, recalled_at__isnull=True, envelope_id__isnull=False
    ).order_by("pk"):
        _recall_copy(
            own, actor, reason=CASCADE_REASON.format(reason=reason)[:1000], request=request
        )
    return copy


@transaction.atomic
def do_request_copy_recall(
    copy: CertifiedCopy, actor: Person, *, reason: str, request: HttpRequest | None = None
) -> CertifiedCopy:
    """The copying unit recalls a copy it sent: the copy is frozen (no sao lục of it) and
    every recipient is asked to give it back; each accepts (15: its copy leaves every view,
    the record stays) or refuses with a reason (16), as for a document."""

    copy = CertifiedCopy.objects.select_for_update().get(pk=copy.pk)
    if actor.unit_id != copy.copying_unit_id:
        raise OutOfScope("copy", str(copy.pk))
    if actor.role not in (Role.CLERK, Role.COMMANDER, Role.ADMIN):
        raise DocumentError(_("Only the copying unit recalls its copy."), code="not_allowed")
    if copy.envelope_id is None or copy.recalled_at is not None:
        raise DocumentError(_("Only a sent copy can be recalled."), code="wrong_state")
    reason = clean_note(reason, required=True, field="reason")
    return _recall_copy(copy, actor, reason=reason, request=request)


def recall_copies_made_of(
    actor: Person,
    *,
    incoming: IncomingDocument | None = None,
    document: Document | None = None,
    reason: str,
    request: HttpRequest | None = None,
) -> list[CertifiedCopy]:
    """The original is gone from the unit (its recall accepted, or its own document
    recalled): every copy the unit sent of it, sao lục of its own copies included, is
    recalled in the same transaction; the recipients' answers then go down the chain."""
    made = CertifiedCopy.objects.select_for_update().filter(
        copying_unit=actor.unit_id, recalled_at__isnull=True, envelope_id__isnull=False
    )
    if incoming is not None:
        made = made.filter(source_incoming=incoming)
    elif document is not None:
        made = made.filter(source_document=document)
    else:
        return []
    text = CASCADE_REASON.format(reason=reason)[:1000]
    return [_recall_copy(c, actor, reason=text, request=request) for c in made.order_by("pk")]
