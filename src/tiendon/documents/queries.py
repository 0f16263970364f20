"""Reads of documents, with unit scope and clearance checked here and only here.

A unit sees the documents it issues and the documents it received. A person
whose clearance is below a document's secrecy never gets it: lists leave it out, and
opening it is refused. Every opening of a secret document is audited, refusals included.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import Case, When
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from tiendon.audit.actions import do_record
from tiendon.documents import statuses as status_codes
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import (
    Assignment,
    Document,
    DocumentVersion,
    IncomingDocument,
    ReviewStep,
    SearchEntry,
    Secrecy,
)
from tiendon.documents.pdf import container
from tiendon.errors import OutOfScope
from tiendon.exchange import queries as exchange_queries
from tiendon.exchange.queries import open_payload
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


def is_visible_to(viewer: Person, document: Document) -> bool:
    """The rule of `documents_visible_to` for a document already loaded."""
    return document.issuing_unit_id == viewer.unit_id and document.secrecy <= viewer.clearance


@dataclass(frozen=True)
class SearchScope:
    """What a person's search may match: documents of one unit, up to one secrecy level.
    The search entries (`search_entries_visible_to`) and the node's Tantivy index
    (`search_index`) both apply it as given here."""

    unit_id: int
    max_secrecy: int


def search_scope(viewer: Person) -> SearchScope:
    """The rule of `documents_visible_to`, as the values a search index filters on."""
    return SearchScope(unit_id=viewer.unit_id, max_secrecy=viewer.clearance)


def search_entries_visible_to(viewer: Person) -> QuerySet[SearchEntry]:
    """The search entries of exactly the documents `documents_visible_to` and
    `incoming_found_by` give, decided on the entries' copies of their document's unit and
    secrecy (kept in step by `search.index_document`, on PostgreSQL by a trigger too, and
    by `search.index_incoming`, which also removes a recalled copy's entry), so a search
    ranks in one table. The search checks its page of results with `is_visible_to` and
    `incoming_found_by` as well.

    The unit is compared as a bigint, the column's own type: PostgreSQL's GIN index over
    (unit, words) (btree_gin) cannot use a plain integer literal, and then scanned every
    match of the words for a commune's search (ADR 0009)."""
    scope = search_scope(viewer)
    unit = Cast(Value(scope.unit_id), output_field=BigIntegerField())
    return SearchEntry.objects.filter(issuing_unit_id=unit, secrecy__lte=scope.max_secrecy)


def _check_clearance(viewer: Person, obj: Any, kind: str, request: HttpRequest | None) -> None:
    """The one clearance rule for opening anything with a secrecy level (a document, a
    received copy, a certified copy): every opening of a secret one is audited, allowed or
    refused, and a viewer below its level gets ClearanceRequired."""
    if obj.secrecy <= Secrecy.NONE:
        return
    allowed = viewer.clearance >= obj.secrecy
    do_record(
        "documents.secret_opened" if allowed else "documents.secret_refused",
        actor=viewer,
        obj=obj,
        unit=viewer.unit,
        new={"secrecy": obj.secrecy, "clearance": viewer.clearance},
        request=request,
    )
    if not allowed:
        raise ClearanceRequired(
            f"{kind} {obj.pk} needs clearance {obj.secrecy}", code="clearance_required"
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
    _check_clearance(viewer, document, "document", request)
    return document


def versions_of(viewer: Person, document_id: uuid.UUID | str) -> list[DocumentVersion]:
    """Every saved version of a draft, oldest first (through the same checks)."""
    document = get_visible_document(viewer, document_id)
    return list(document.versions.order_by("number"))


# Received documents (văn bản đến) and the sender's view of its recipients.


def mask_secret(viewer: Person, incoming: IncomingDocument) -> IncomingDocument:
    """Without the clearance, a secret document's subject is never shown (the row stays, so
    the clerk knows something arrived)."""
    incoming.masked = viewer.clearance < incoming.secrecy  # type: ignore[attr-defined]
    if incoming.masked:  # type: ignore[attr-defined]
        incoming.subject = ""
    return incoming


def incoming_visible_to(viewer: Person) -> QuerySet[IncomingDocument]:
    """The viewer's unit's received documents, recalled copies left out (unmasked: use
    `incoming_list` for anything shown)."""
    return (
        IncomingDocument.objects.filter(unit=viewer.unit_id)
        .exclude(state=IncomingDocument.State.RECALLED)
        .select_related("unit")
    )


def incoming_found_by(viewer: Person) -> QuerySet[IncomingDocument]:
    """The received documents a search may show the viewer: `incoming_visible_to` within
    the viewer's clearance. Lists show a secret row masked; a search leaves it out, since
    matching it would tell something of it."""
    return incoming_visible_to(viewer).filter(secrecy__lte=viewer.clearance)


URGENCY_RANK = Case(
    When(urgency="hoa_toc", then=Value(3)),
    When(urgency="thuong_khan", then=Value(2)),
    When(urgency="khan", then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)


URGENCY_RANK_OF_INCOMING = Case(
    When(incoming__urgency="hoa_toc", then=Value(3)),
    When(incoming__urgency="thuong_khan", then=Value(2)),
    When(incoming__urgency="khan", then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)


PRECEDENCE_RANK = Case(
    When(envelope__precedence="hoa_toc", then=Value(3)),
    When(envelope__precedence="thuong_khan", then=Value(2)),
    When(envelope__precedence="khan", then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)


def incoming_list(viewer: Person, *, limit: int = 200, offset: int = 0) -> list[IncomingDocument]:
    """Received documents, the most urgent first, then the newest; subjects masked."""
    rows = (
        incoming_visible_to(viewer)
        .select_related("copy_of")  # a certified copy shows what it copies
        .defer("scan", "verification")
        .annotate(rank=URGENCY_RANK)
        .order_by("-rank", "-arrived_at")[offset : offset + limit]
    )
    return [mask_secret(viewer, r) for r in rows]


def waiting_envelopes(viewer: Person) -> QuerySet[Any]:
    """Documents delivered to the viewer's unit that were not taken in (the dispatcher has
    not reached them yet, or their payload is unreadable: the clerk may refuse them), Hỏa
    tốc first, then Thượng khẩn, Khẩn, then the newest."""
    taken_in = IncomingDocument.objects.filter(unit=viewer.unit_id, envelope__isnull=False)
    return (
        exchange_queries.inbox(viewer, kinds=[container.DOCUMENT_KIND])
        .exclude(envelope_id__in=taken_in.values("envelope"))
        .annotate(rank=PRECEDENCE_RANK)
        .order_by("-rank", "-arrived_at")
    )


def get_visible_incoming(
    viewer: Person, incoming_id: int | str, *, request: HttpRequest | None = None
) -> IncomingDocument:
    """A received document of the viewer's unit (not recalled). Opening a secret one is
    audited, allowed or refused; without the clearance, ClearanceRequired."""
    try:
        key = int(incoming_id)
    except (TypeError, ValueError) as exc:
        raise OutOfScope("incoming", str(incoming_id)) from exc
    incoming = incoming_visible_to(viewer).filter(pk=key).first()
    if incoming is None:
        raise OutOfScope("incoming", str(incoming_id))
    _check_clearance(viewer, incoming, "incoming", request)
    return incoming


def incoming_file(
    viewer: Person, incoming_id: int | str, *, request: HttpRequest | None = None
) -> tuple[bytes, str]:
    """The received PDF (decrypted from its envelope for this opening) or the paper scan,
    with its content type."""
    incoming = get_visible_incoming(viewer, incoming_id, request=request)
    if incoming.envelope_id is not None:
        payload = open_payload(viewer, str(incoming.envelope_id), request=request)
        return container.unpack_document(payload).pdf, "application/pdf"
    if incoming.scan is None:
        raise OutOfScope("incoming", str(incoming_id))
    return bytes(incoming.scan), incoming.scan_type


def recalled_records(viewer: Person) -> QuerySet[IncomingDocument]:
    """What was recalled from this unit: the record stays, the copy does not."""
    return IncomingDocument.objects.filter(
        unit=viewer.unit_id, state=IncomingDocument.State.RECALLED
    ).order_by("-recall_answered_at")


def assignments_of(viewer: Person) -> list[Assignment]:
    """The viewer's own open assignments, earliest deadline first (subjects masked)."""
    rows = list(
        Assignment.objects.filter(assignee=viewer, incoming__unit=viewer.unit_id)
        .exclude(state=Assignment.State.DONE)
        .exclude(incoming__state=IncomingDocument.State.RECALLED)
        .select_related("incoming")
        .order_by("deadline")
    )
    for row in rows:
        mask_secret(viewer, row.incoming)
    return rows


def open_assignments(viewer: Person, scope: str) -> list[Assignment]:
    """Assignments not done yet of received documents still held (subjects masked): the
    viewer's own (scope "person") or everyone's in the viewer's unit (scope "unit")."""
    rows = (
        Assignment.objects.filter(incoming__unit=viewer.unit_id)
        .exclude(state=Assignment.State.DONE)
        .exclude(incoming__state__in=[IncomingDocument.State.RECALLED])
        .select_related("incoming", "assignee")
        .defer("incoming__scan", "result_file")
        .order_by("deadline", "pk")
    )
    if scope == "person":
        rows = rows.filter(assignee=viewer)
    found = list(rows)
    for row in found:
        mask_secret(viewer, row.incoming)
    return found


def assignable_people(viewer: Person) -> QuerySet[Person]:
    return Person.objects.filter(unit=viewer.unit_id, is_active=True).order_by("full_name")


@dataclass(frozen=True)
class RecipientStatuses:
    document: Document
    total: int
    by_code: dict[str, int]  # "" for not arrived yet
    rows: list[dict[str, object]]


def recipient_statuses(
    viewer: Person,
    document_id: uuid.UUID | str,
    *,
    offset: int = 0,
    limit: int = 200,
    status: str | None = None,
    request: HttpRequest | None = None,
) -> RecipientStatuses:
    """The sender's table: each recipient unit's processing status with its time and note,
    counted in the database (a broadcast has 3,321 rows) and read one page at a time; with
    `status`, only the recipients at that status ("" for not arrived yet), `total` then
    counting those."""
    document = get_visible_document(viewer, document_id, request=request)
    if document.envelope_id is None:
        return RecipientStatuses(document, 0, {}, [])
    total, by_code, rows = status_table(document.envelope_id, offset, limit, status)
    return RecipientStatuses(document, total, by_code, rows)


def status_table(
    envelope_id: Any, offset: int, limit: int, status: str | None = None
) -> tuple[int, dict[str, int], list[dict[str, object]]]:
    """How many recipients, how many at each status, and one page of rows (those at
    `status` only, if given: "" for not arrived yet)."""
    deliveries = exchange_queries.deliveries_of(envelope_id)
    by_code = dict(deliveries.values_list("code").annotate(n=Count("id")).order_by("code"))
    total = sum(by_code.values())
    if status is not None:
        deliveries = deliveries.filter(code=status)
        total = by_code.get(status, 0)
    rows = list(
        deliveries.order_by("unit__code").values(
            "unit_id", "unit__code", "unit__name", "code", "at", "status_note", "state"
        )[offset : offset + limit]
    )
    return total, by_code, rows


def incoming_register(
    viewer: Person, *, date_from: dt.date, date_to: dt.date
) -> list[IncomingDocument]:
    """Sổ văn bản đến: registered documents of the viewer's unit whose registration day
    (Vietnam time) falls in the range, in arrival-number order; subjects masked."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    rows = (
        IncomingDocument.objects.filter(
            unit=viewer.unit_id,
            arrival_number__isnull=False,
            registered_at__gte=start,
            registered_at__lt=end,
        )
        .prefetch_related("assignments__assignee")
        .order_by("year", "arrival_number")
    )
    return [mask_secret(viewer, r) for r in rows]


def assignment_result_file(
    viewer: Person, assignment_id: int | str, *, request: HttpRequest | None = None
) -> tuple[bytes, str]:
    """The file an officer completed an assignment with, for people of the receiving unit
    who may open the document."""
    try:
        key = int(assignment_id)
    except (TypeError, ValueError) as exc:
        raise OutOfScope("assignment", str(assignment_id)) from exc
    assignment = Assignment.objects.filter(pk=key, incoming__unit=viewer.unit_id).first()
    if assignment is None or assignment.result_file is None:
        raise OutOfScope("assignment", str(assignment_id))
    get_visible_incoming(viewer, assignment.incoming_id, request=request)
    return bytes(assignment.result_file), assignment.result_file_name


def working_digitally(since: dt.datetime) -> Q:
    """A condition on units.Unit rows: the unit registered an incoming document and sent a
    processing status back (02–06, 15, 16: anything past the node's own 01) since `since`.
    Rollout readiness counts communes "working digitally" with it (readiness/rules.py)."""
    registered = IncomingDocument.objects.filter(unit=OuterRef("pk"), registered_at__gte=since)
    status_sent = exchange_queries.statuses_reported(since).filter(unit=OuterRef("pk"))
    return Q(Exists(registered)) & Q(Exists(status_sent))


def registration_signals(unit_id: int) -> tuple[dt.datetime | None, dt.datetime | None]:
    """When the unit last registered an incoming document, and last sent a processing
    status back (for rollout readiness's live signals)."""
    last_registered = IncomingDocument.objects.filter(unit_id=unit_id).aggregate(
        t=Max("registered_at")
    )["t"]
    last_status = (
        exchange_queries.statuses_reported()
        .filter(unit_id=unit_id)
        .aggregate(t=Max("status_at"))["t"]
    )
    return last_registered, last_status


# The processing status (QCVN 102) each state of a received copy stands for.
INCOMING_STATUS_OF_STATE = {
    IncomingDocument.State.ARRIVED: status_codes.ARRIVED,
    IncomingDocument.State.REFUSED: status_codes.REFUSED,
    IncomingDocument.State.REGISTERED: status_codes.REGISTERED,
    IncomingDocument.State.ASSIGNED: status_codes.ASSIGNED,
    IncomingDocument.State.IN_PROGRESS: status_codes.IN_PROGRESS,
    IncomingDocument.State.DONE: status_codes.DONE,
}
INCOMING_STATUS_OF_RECALL = {
    IncomingDocument.RecallAnswer.PENDING: status_codes.RECALL_REQUESTED,
    IncomingDocument.RecallAnswer.ACCEPTED: status_codes.RECALL_ACCEPTED,
    IncomingDocument.RecallAnswer.REFUSED: status_codes.RECALL_REFUSED,
}
STATS_INCOMING_CODES = [*INCOMING_STATUS_OF_STATE.values(), *INCOMING_STATUS_OF_RECALL.values()]


def documents_by_state() -> dict[str, int]:
    """For `tiendon stats` (the whole node, for its operator): outgoing documents by state
    (drafts, in review, signed, issued, recalled), and received copies by processing status
    (01–06 from their state; 13, 15, 16 from their answer to a recall)."""
    outgoing = dict(
        Document.objects.order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    figures = {state: outgoing.get(state, 0) for state in Document.State.values}
    by_state = dict(
        IncomingDocument.objects.order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    by_answer = dict(
        IncomingDocument.objects.order_by()
        .exclude(recall_answer="")
        .values_list("recall_answer")
        .annotate(n=Count("pk"))
        .values_list("recall_answer", "n")
    )
    for state, code in INCOMING_STATUS_OF_STATE.items():
        figures[f"incoming_{code}"] = by_state.get(state, 0)
    for answer, code in INCOMING_STATUS_OF_RECALL.items():
        figures[f"incoming_{code}"] = by_answer.get(answer, 0)
    return figures


def documents_stats_labels() -> dict[str, object]:
    """Row labels of `documents_by_state` for the stats table."""
    labels: dict[str, object] = {
        "draft": Document.State.DRAFT.label,
        "in_review": Document.State.IN_REVIEW.label,
        "signed": Document.State.SIGNED.label,
        "issued": Document.State.ISSUED.label,
        "recalled": Document.State.RECALLED.label,
    }
    for code in STATS_INCOMING_CODES:
        labels[f"incoming_{code}"] = format_lazy(
            "{} {} {}", gettext_lazy("Received:"), code, status_codes.LABELS[code]
        )
    return labels


# Attachments and certified copies (copies.py, attachments.py): the same scope and clearance.


def document_attachment(
    viewer: Person,
    document_id: uuid.UUID | str,
    position: int | str,
    *,
    request: HttpRequest | None = None,
) -> tuple[bytes, str]:
    """An attachment of one of the viewer's unit's documents: signed once issued, as
    uploaded before."""
    from tiendon.documents.models import Attachment

    document = get_visible_document(viewer, document_id, request=request)
    try:
        key = int(position)
    except (TypeError, ValueError) as exc:
        raise OutOfScope("attachment", str(position)) from exc
    attachment = Attachment.objects.filter(document=document, position=key).first()
    if attachment is None:
        raise OutOfScope("attachment", str(position))
    data = attachment.signed if attachment.signed is not None else attachment.content
    return bytes(data), attachment.name


def incoming_attachment(
    viewer: Person,
    incoming_id: int | str,
    position: int | str,
    *,
    request: HttpRequest | None = None,
) -> tuple[bytes, str]:
    """An attachment of a received document, decrypted from its envelope for this opening."""
    incoming = get_visible_incoming(viewer, incoming_id, request=request)
    try:
        key = int(position)
    except (TypeError, ValueError) as exc:
        raise OutOfScope("attachment", str(position)) from exc
    row = incoming.attachments.filter(position=key).first()
    if row is None or incoming.envelope_id is None:
        raise OutOfScope("attachment", str(position))
    payload = container.unpack_document(
        open_payload(viewer, str(incoming.envelope_id), request=request)
    )
    data = payload.attachments.get(row.name)
    if data is None:
        raise OutOfScope("attachment", str(position))
    return data, row.name


def incoming_original_file(
    viewer: Person, incoming_id: int | str, *, request: HttpRequest | None = None
) -> bytes:
    """The original a received certified copy carries, byte for byte."""
    incoming = get_visible_incoming(viewer, incoming_id, request=request)
    if incoming.envelope_id is None:
        raise OutOfScope("incoming", str(incoming_id))
    payload = container.unpack_document(
        open_payload(viewer, str(incoming.envelope_id), request=request)
    )
    if payload.original is None:
        raise OutOfScope("incoming", str(incoming_id))
    return payload.original


def copies_visible_to(viewer: Person) -> QuerySet[Any]:
    """Certified copies made by the viewer's unit that the viewer's clearance opens."""
    from tiendon.documents.models import CertifiedCopy

    return (
        CertifiedCopy.objects.filter(copying_unit=viewer.unit_id, secrecy__lte=viewer.clearance)
        .defer("pdf", "original_pdf")
        .order_by("-made_at")
    )


def get_visible_copy(
    viewer: Person, copy_id: uuid.UUID | str, *, request: HttpRequest | None = None
) -> Any:
    """A copy made by the viewer's unit; OutOfScope otherwise; secret ones audited."""
    from tiendon.documents.models import CertifiedCopy

    try:
        key = uuid.UUID(str(copy_id))
    except ValueError as exc:
        raise OutOfScope("copy", str(copy_id)) from exc
    copy = CertifiedCopy.objects.select_related("copying_unit").filter(pk=key).first()
    if copy is None or copy.copying_unit_id != viewer.unit_id:
        raise OutOfScope("copy", str(copy_id))
    _check_clearance(viewer, copy, "copy", request)
    return copy


def copies_of_document(viewer: Person, document_id: uuid.UUID | str) -> QuerySet[Any]:
    """The copies the viewer's unit made of one of its own documents."""
    document = get_visible_document(viewer, document_id)
    return copies_visible_to(viewer).filter(source_document=document)


def copy_statuses(
    viewer: Person,
    copy_id: uuid.UUID | str,
    *,
    offset: int = 0,
    limit: int = 200,
    request: HttpRequest | None = None,
) -> tuple[Any, int, dict[str, int], list[dict[str, object]]]:
    """The copying unit's table: each recipient's status of the copy, as for documents."""
    copy = get_visible_copy(viewer, copy_id, request=request)
    if copy.envelope_id is None:
        return copy, 0, {}, []
    total, by_code, rows = status_table(copy.envelope_id, offset, limit)
    return copy, total, by_code, rows


def current_step(document: Document) -> ReviewStep | None:
    """The step waiting now: the first pending one of the latest round (None when every
    reviewer approved, or there are none)."""
    return (
        ReviewStep.objects.filter(document=document, decision=ReviewStep.Decision.PENDING)
        .select_related("reviewer")
        .order_by("-round", "position")
        .first()
    )
