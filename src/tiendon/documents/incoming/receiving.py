"""Taking a delivered document in: from the envelope's payload to each unit's incoming row.

The exchange's dispatcher hands every arrival of the documents' kinds here as soon as it is
stored, whoever is logged in (declared in `apps.DocumentsConfig.ready`). What is the same for
every recipient unit — decrypting, verifying the signatures of the document and of its
attachments — is done once per envelope; each unit served here then gets its row, ready to
register and to find in a search (the PDF's text extracted once per envelope). A secret
document (Mật and above) is recorded from its signed label alone: its content waits for a
cleared person (`actions.do_open_incoming`, which calls `fill_in`), and its text is never
indexed.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from tiendon.audit.actions import AuditEntry, do_record_batch
from tiendon.documents import statuses as status_codes
from tiendon.documents.copies import actions as copies
from tiendon.documents.deadlines import reminders as deadlines
from tiendon.documents.delivery import history
from tiendon.documents.drafting import attachments
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import (
    SUBJECT_MAX_LENGTH,
    DocumentType,
    IncomingDocument,
    Secrecy,
    Urgency,
)
from tiendon.documents.pdf import container, pades, pages
from tiendon.documents.pdf.layout import nfc
from tiendon.documents.search import fts
from tiendon.exchange.registry import Arrival, StatusReport
from tiendon.units.models import Person

SECRECY_OF_LABEL = {"none": 0, "mat": 1, "toi_mat": 2, "tuyet_mat": 3}
# The exchange's precedence of an envelope as the document's urgency.
URGENCY_OF_PRECEDENCE = {
    "thuong": Urgency.NORMAL,
    "khan": Urgency.KHAN,
    "thuong_khan": Urgency.THUONG_KHAN,
    "hoa_toc": Urgency.HOA_TOC,
}
Verify = Callable[[bytes], list[dict[str, Any]]]


def parse_date(value: object) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def verification_of(pdf: bytes) -> list[dict[str, Any]]:
    """pades.verify's reports as the incoming row keeps them (one dict per signature)."""
    try:
        reports = pades.verify(pdf)
    except DocumentError as exc:
        return [{"error": exc.code, "bottom_line": False}]
    if not reports:
        return [{"error": "unsigned", "bottom_line": False}]
    return [
        {
            "field": r.field_name,
            "signer": r.signer_subject,
            "signer_name": r.signer_name,
            "signer_unit": r.signer_unit,
            "signer_title": r.signer_title,
            "signed_at": r.signed_at,
            "intact": r.intact,
            "valid": r.valid,
            "trusted": r.trusted,
            "revoked": r.revoked,
            "modification_level": r.modification_level,
            "docmdp_ok": r.docmdp_ok,
            "bottom_line": r.bottom_line,
            "timestamp_trusted": r.timestamp_trusted,
        }
        for r in reports
    ]


def label_fields(*, sender_name: str, security: str, precedence: str) -> dict[str, Any]:
    """What the signed manifest alone tells of a document."""
    return {
        "issuer_name": sender_name[:200],
        "doc_type": DocumentType.CONG_VAN,
        "subject": "",
        "urgency": URGENCY_OF_PRECEDENCE.get(precedence, Urgency.NORMAL),
        "secrecy": SECRECY_OF_LABEL[security],
        "verification": [],
        "content_recorded": False,
    }


def content_fields(
    payload: container.DocumentPayload, *, sender_name: str, security: str, verify: Verify
) -> dict[str, Any]:
    """The metadata (Appendix VI) the sender put in the payload, checked for shape, and the
    verification of the signed PDF. Raises DocumentError for metadata of the wrong shapes."""
    meta = payload.metadata
    try:
        doc_type = str(meta.get("type", ""))
        urgency = str(meta.get("urgency", Urgency.NORMAL))
        secrecy = int(str(meta.get("secrecy", 0)))
        signer = meta.get("signer") if isinstance(meta.get("signer"), dict) else {}
        return {
            "identifier": str(meta.get("identifier", ""))[:64],
            "issuer_name": str(meta.get("issuer_name") or sender_name)[:200],
            "number": int(str(meta["number"])) if meta.get("number") is not None else None,
            "notation": str(meta.get("notation", ""))[:64],
            "issue_date": parse_date(meta.get("issue_date")),
            "doc_type": doc_type if doc_type in DocumentType.values else DocumentType.CONG_VAN,
            "subject": nfc(str(meta.get("subject", "")))[:SUBJECT_MAX_LENGTH],
            "signer_name": str((signer or {}).get("full_name", ""))[:200],
            "urgency": urgency if urgency in Urgency.values else Urgency.NORMAL,
            # Never below what the envelope was labelled: the label is signed by the sender.
            "secrecy": max(secrecy if secrecy in Secrecy.values else 0, SECRECY_OF_LABEL[security]),
            "verification": verify(payload.pdf),
            "page_count": pages.page_count(payload.pdf),
            "content_recorded": True,
        }
    except (ValueError, TypeError, KeyError) as exc:
        raise DocumentError(
            f"the document payload is not valid: {str(exc)[:100]}", code="bad_payload"
        ) from exc


def record_parts(
    incoming: IncomingDocument, payload: container.DocumentPayload, verify: Verify
) -> None:
    """Attachments and, for a certified copy, its original: names, hashes, verification."""
    attachments.record_received(incoming, payload, verify)
    copies.record_received(incoming, payload, verify)


def take_in_documents(arrival: Arrival) -> None:
    """Kind "document": an incoming row for each unit served here that has none yet (a
    person may have opened it first), urgent ones announced at once. Audited per unit,
    with the node as actor."""
    have = set(
        IncomingDocument.objects.filter(
            envelope_id=arrival.envelope_id, unit_id__in=[d.unit_id for d in arrival.deliveries]
        ).values_list("unit_id", flat=True)
    )
    todo = [d for d in arrival.deliveries if d.unit_id not in have]
    if not todo:
        return
    verify = functools.cache(verification_of)  # the same bytes for every unit
    payload = None
    if arrival.secret:
        fields = label_fields(
            sender_name=arrival.sender_name,
            security=arrival.security,
            precedence=arrival.precedence,
        )
    else:
        try:
            payload = container.unpack_document(arrival.open())
        except ValueError as exc:
            raise DocumentError(f"unreadable payload: {exc}"[:200], code="bad_payload") from exc
        fields = content_fields(
            payload, sender_name=arrival.sender_name, security=arrival.security, verify=verify
        )
    rows = IncomingDocument.objects.bulk_create(
        IncomingDocument(
            unit_id=delivery.unit_id,
            source=IncomingDocument.Source.EXCHANGE,
            envelope_id=arrival.envelope_id,
            issuer_code=arrival.sender_code,
            arrived_at=delivery.arrived_at,
            **fields,
        )
        for delivery in todo
    )
    if payload is not None:
        for row in rows:
            record_parts(row, payload, verify)
    fts.index_incoming(rows, pdf=payload.pdf if payload is not None else None)
    deadlines.announce_arrived(rows)
    do_record_batch(
        AuditEntry(
            action="documents.incoming_received",
            unit=row.unit,
            obj=row,
            new={
                "envelope": str(arrival.envelope_id),
                "state": row.state,
                "content": row.content_recorded,
                **({"subject": row.subject} if row.secrecy == Secrecy.NONE else {}),
            },
        )
        for row in rows
    )


def record_statuses(reports: Sequence[StatusReport]) -> None:
    """Statuses the recipients reported (the exchange's dispatcher calls this): each kept in
    the history; a refusal tells the drafter and the clerks at once."""
    history.record_reported(reports)
    deadlines.announce_refused(
        e for r in reports if r.code == status_codes.REFUSED for e in r.envelope_ids
    )


def fill_in(
    incoming: IncomingDocument,
    payload: container.DocumentPayload,
    *,
    security: str,
    person: Person,
) -> IncomingDocument:
    """A row recorded from the label alone gets its content, opened by a cleared person."""
    verify = functools.cache(verification_of)
    fields = content_fields(
        payload, sender_name=incoming.issuer_name, security=security, verify=verify
    )
    for name, value in fields.items():
        setattr(incoming, name, value)
    incoming.opened_by = person
    incoming.save(update_fields=[*fields, "opened_by"])
    record_parts(incoming, payload, verify)
    fts.index_incoming([incoming], pdf=payload.pdf)  # the text only below Mật
    return incoming


def take_in_recall(arrival: Arrival) -> None:
    """Kind "document.recall": the sender asks its document (or certified copy) back. Each
    unit's copy is marked as asked back, for its clerk to answer (15 or 16). A recall that
    comes before its document was taken in waits for it (the dispatcher retries)."""
    recall = container.unpack_recall(arrival.open())
    original = uuid.UUID(recall["original_envelope"])
    units = [d.unit_id for d in arrival.deliveries]
    rows = {
        row.unit_id: row
        for row in IncomingDocument.objects.select_for_update().filter(
            unit_id__in=units, envelope_id=original, issuer_code=arrival.sender_code
        )
    }
    missing = [u for u in units if u not in rows]
    if missing:
        raise DocumentError(
            f"the recalled document is not here yet for {len(missing)} unit(s)",
            code="unknown_original",
        )
    asked = [row for row in rows.values() if row.recall_envelope_id is None]
    for row in asked:
        row.recall_envelope_id = arrival.envelope_id
        row.recall_reason = str(recall["reason"])
        row.recall_answer = IncomingDocument.RecallAnswer.PENDING
    IncomingDocument.objects.bulk_update(
        asked, ["recall_envelope_id", "recall_reason", "recall_answer"]
    )
    for row in asked:
        deadlines.announce_recall(row)
    do_record_batch(
        AuditEntry(
            action="documents.recall_received",
            unit=row.unit,
            obj=row,
            new={"state": row.state, "envelope": str(arrival.envelope_id)},
        )
        for row in asked
    )
