"""Every change to received documents (văn bản đến) and to recalls: opening what the
exchange delivered, registering with an arrival number (số đến) or refusing, assigning,
working and completing, paper documents from scans, and recall on both sides.

Each runs in one transaction with its audit record; each status (02, 03, 04, 05, 06, 15,
16) goes back to the sender through `exchange.actions.do_send_status` in that same
transaction, so a status is sent exactly when the change is stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from tiendon.audit.actions import do_record
from tiendon.documents import queries
from tiendon.documents import statuses as status
from tiendon.documents.deadlines import reminders as deadlines
from tiendon.documents.delivery.sending import NOTE_MAX, clean_note, send_recall
from tiendon.documents.drafting.state import document_saved
from tiendon.documents.errors import DocumentError
from tiendon.documents.incoming import receiving
from tiendon.documents.issuing.numbering import take_next_number
from tiendon.documents.models import (
    SUBJECT_MAX_LENGTH,
    Assignment,
    Document,
    DocumentType,
    IncomingDocument,
    Reminder,
    Secrecy,
    Series,
    Urgency,
)
from tiendon.documents.pdf import container, pages
from tiendon.documents.pdf.layout import nfc
from tiendon.documents.search import fts
from tiendon.documents.search import index as search_index
from tiendon.errors import InvalidInput, OutOfScope
from tiendon.exchange.actions import do_send_status
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.queries import open_payload, openable_delivery
from tiendon.units.models import Person, Role, Unit

MAX_SCAN_BYTES = 50 * 1024 * 1024
SCAN_TYPES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"II*\x00": "image/tiff",
    b"MM\x00*": "image/tiff",
}
CLERK_ROLES = (Role.CLERK, Role.ADMIN)
DOCUMENT_KINDS = frozenset({container.DOCUMENT_KIND})
COMMANDER_ROLES = (Role.COMMANDER, Role.ADMIN)


def _require(person: Person, incoming: IncomingDocument, roles: tuple[str, ...], what: str) -> None:
    if person.unit_id != incoming.unit_id:
        raise OutOfScope("incoming", str(incoming.pk))
    if person.role not in roles:
        raise DocumentError(what, code="not_allowed")
    if person.clearance < incoming.secrecy:
        raise DocumentError(
            _("Your clearance does not cover this document."), code="clearance_required"
        )


def _locked(incoming: IncomingDocument) -> IncomingDocument:
    return IncomingDocument.objects.select_for_update(of=("self",)).get(pk=incoming.pk)


def _require_state(incoming: IncomingDocument, *states: str) -> None:
    if incoming.state not in states:
        raise DocumentError(
            _("This document is %(state)s; that cannot be done now.")
            % {"state": incoming.get_state_display()},
            code="wrong_state",
        )


def _report(
    incoming: IncomingDocument,
    code: str,
    actor: Person,
    *,
    note: str = "",
    request: HttpRequest | None = None,
) -> None:
    """The status back to the sender (documents that came on paper have none to tell)."""
    if incoming.envelope_id is None:
        return
    try:
        do_send_status(
            incoming.envelope_id,
            incoming.unit,
            code,
            note=note,
            actor=actor,
            request=request,
        )
    except EnvelopeError as exc:
        raise DocumentError(
            _("The status could not be sent to the sender (%(code)s).") % {"code": exc.code},
            code=exc.code,
        ) from exc


def _audit(action: str, incoming: IncomingDocument, actor: Person, **new: Any) -> None:
    # Secret documents' subjects stay out of the audit chain.
    data: dict[str, Any] = {"state": incoming.state, **new}
    if incoming.secrecy == Secrecy.NONE:
        data["subject"] = incoming.subject
    do_record(action, actor=actor, obj=incoming, unit=incoming.unit, new=data)


@transaction.atomic
def do_open_incoming(
    person: Person, envelope_id: str, *, request: HttpRequest | None = None
) -> IncomingDocument:
    """Open a document delivered to the person's unit, which the dispatcher took in at
    arrival: a secret one, recorded from its label, gets its content now that a cleared
    person opens it (the exchange audits the decryption). Opening again returns the row."""
    delivery = openable_delivery(person, envelope_id, kinds=DOCUMENT_KINDS)  # scope, clearance
    incoming = IncomingDocument.objects.filter(
        unit=person.unit, envelope_id=delivery.envelope_id
    ).first()
    if incoming is None:
        raise DocumentError(
            _("This document is still being taken in; try again in a moment."),
            code="not_taken_in_yet",
        )
    if incoming.content_recorded:
        return incoming
    payload = _unpack(open_payload(person, envelope_id, request=request))
    incoming = receiving.fill_in(
        _locked(incoming), payload, security=delivery.security, person=person
    )
    _audit(
        "documents.incoming_opened",
        incoming,
        person,
        envelope=str(delivery.envelope_id),
        verified=all(v.get("bottom_line") for v in incoming.verification),
    )
    return incoming


def _unpack(data: bytes) -> container.DocumentPayload:
    try:
        return container.unpack_document(data)
    except ValueError as exc:
        raise DocumentError(f"unreadable payload: {exc}"[:200], code="bad_payload") from exc


@transaction.atomic
def do_refuse_delivery(
    clerk: Person, envelope_id: str, *, reason: str, request: HttpRequest | None = None
) -> IncomingDocument:
    """Refuse a delivery that cannot be taken in (its payload unreadable): status 02 with
    the reason goes back, and a refused row records it in the unit's documents."""
    delivery = openable_delivery(clerk, envelope_id, kinds=DOCUMENT_KINDS)
    if clerk.role not in CLERK_ROLES:
        raise DocumentError(_("Only a clerk of the unit refuses a document."), code="not_allowed")
    reason = clean_note(reason, required=True, field="reason")
    if IncomingDocument.objects.filter(unit=clerk.unit, envelope_id=delivery.envelope_id).exists():
        raise DocumentError(
            _("This document was opened; refuse it from its page."), code="wrong_state"
        )
    incoming = IncomingDocument.objects.create(
        unit=clerk.unit,
        source=IncomingDocument.Source.EXCHANGE,
        envelope_id=delivery.envelope_id,
        issuer_code=delivery.sender_code,
        issuer_name=delivery.sender_name,
        doc_type=DocumentType.CONG_VAN,
        subject="",
        secrecy=receiving.SECRECY_OF_LABEL[delivery.security],
        state=IncomingDocument.State.REFUSED,
        refused_reason=reason,
        arrived_at=timezone.now(),
        opened_by=clerk,
        content_recorded=False,
    )
    fts.index_incoming([incoming])
    _report(incoming, status.REFUSED, clerk, note=reason, request=request)
    _audit("documents.delivery_refused", incoming, clerk, reason=reason)
    return incoming


def find_duplicates(incoming: IncomingDocument) -> list[IncomingDocument]:
    """Other documents this unit holds with the same identifier, or the same number and
    symbol from the same issuer (Appendix VI: duplicate warning)."""
    same = Q(pk__in=[])
    if incoming.identifier:
        same |= Q(identifier=incoming.identifier)
    if incoming.number is not None and incoming.notation:
        # The same issuer by its code, or by its name (a paper copy has no code).
        issuer = Q(issuer_name=incoming.issuer_name)
        if incoming.issuer_code:
            issuer |= Q(issuer_code=incoming.issuer_code)
        by_number = Q(number=incoming.number, notation=incoming.notation) & issuer
        if incoming.issue_date is not None:  # numbers restart each year
            by_number &= Q(issue_date__year=incoming.issue_date.year) | Q(issue_date=None)
        same |= by_number
    return list(
        IncomingDocument.objects.filter(same, unit=incoming.unit)
        .exclude(pk=incoming.pk)
        .exclude(state__in=[IncomingDocument.State.REFUSED, IncomingDocument.State.RECALLED])
        .order_by("arrived_at")
    )


@transaction.atomic
def do_register_incoming(
    incoming: IncomingDocument,
    clerk: Person,
    *,
    accept_duplicate: bool = False,
    request: HttpRequest | None = None,
) -> IncomingDocument:
    """The clerk registers it: the next arrival number (số đến) of the unit this year,
    gapless (the counter row stays locked until this transaction ends); status 03."""
    _require(clerk, incoming, CLERK_ROLES, _("Only a clerk of the unit registers."))
    incoming = _locked(incoming)
    _require_state(incoming, IncomingDocument.State.ARRIVED)
    duplicates = find_duplicates(incoming)
    if duplicates and not accept_duplicate:
        raise DocumentError(
            _("This unit already holds the same document (arrival no. %(numbers)s).")
            % {"numbers": ", ".join(d.arrival_text or "—" for d in duplicates)},
            code="duplicate",
        )
    now = timezone.now()
    year = timezone.localtime(now).year
    incoming.year = year
    incoming.arrival_number = take_next_number(incoming.unit, year, Series.INCOMING)
    incoming.state = IncomingDocument.State.REGISTERED
    incoming.registered_at = now
    incoming.registered_by = clerk
    incoming.save()
    fts.index_incoming([incoming])  # found by its số đến from now on
    _report(incoming, status.REGISTERED, clerk, request=request)
    deadlines.hand_over(
        incoming,
        deadlines.unit_people(incoming.unit_id, deadlines.COMMANDERS, incoming.secrecy),
        Reminder.Step.ASSIGN,
        actor=clerk,
        request=request,
    )
    _audit(
        "documents.incoming_registered",
        incoming,
        clerk,
        arrival_number=incoming.arrival_number,
        duplicate_of=[d.pk for d in duplicates],
    )
    return incoming


def do_register_many(
    clerk: Person, incoming_ids: list[str], *, request: HttpRequest | None = None
) -> tuple[list[IncomingDocument], list[tuple[IncomingDocument, str]]]:
    """Register several arrivals, each in its own transaction (`do_register_incoming`):
    returns those registered and, for the others, why not (registered meanwhile by another
    clerk, a possible duplicate to look at first). Ids of other units are out of scope."""
    done, refused = [], []
    rows = queries.incoming_visible_to(clerk).filter(pk__in=incoming_ids).order_by("arrived_at")
    for row in rows:
        try:
            done.append(do_register_incoming(row, clerk, request=request))
        except DocumentError as exc:
            refused.append((row, f"{exc.message} ({exc.code})"))
    return done, refused


@transaction.atomic
def do_refuse_incoming(
    incoming: IncomingDocument, clerk: Person, *, reason: str, request: HttpRequest | None = None
) -> IncomingDocument:
    """The clerk sends a wrong or invalid document back, with the reason (status 02)."""
    _require(clerk, incoming, CLERK_ROLES, _("Only a clerk of the unit refuses a document."))
    reason = clean_note(reason, required=True, field="reason")
    incoming = _locked(incoming)
    _require_state(incoming, IncomingDocument.State.ARRIVED)
    incoming.state = IncomingDocument.State.REFUSED
    incoming.refused_reason = reason
    incoming.save(update_fields=["state", "refused_reason"])
    search_index.on_incoming_changed([incoming.pk])  # the state is a filter of the index
    _report(incoming, status.REFUSED, clerk, note=reason, request=request)
    deadlines.hand_over(incoming, [], Reminder.Step.NONE, actor=clerk)  # nothing left to do
    _audit("documents.incoming_refused", incoming, clerk, reason=reason)
    return incoming


@transaction.atomic
def do_assign_incoming(
    incoming: IncomingDocument,
    commander: Person,
    *,
    assignees: list[Person],
    deadline: dt.date | None,
    request: HttpRequest | None = None,
) -> list[Assignment]:
    """The commander hands the registered document to staff officers with a deadline
    (status 04). More officers can be added while it is assigned."""
    _require(commander, incoming, COMMANDER_ROLES, _("Only the commander assigns."))
    incoming = _locked(incoming)
    _require_state(
        incoming,
        IncomingDocument.State.REGISTERED,
        IncomingDocument.State.ASSIGNED,
        IncomingDocument.State.IN_PROGRESS,
    )
    if not assignees:
        raise InvalidInput(_("Choose at least one officer."), code="assignee_required")
    if deadline is None:
        raise InvalidInput(_("Set a deadline."), code="deadline_required", field="deadline")
    if deadline < timezone.localdate():
        raise InvalidInput(
            _("The deadline is in the past."), code="deadline_past", field="deadline"
        )
    for person in assignees:
        if person.unit_id != incoming.unit_id or not person.is_active:
            raise InvalidInput(
                _("%(name)s is not an active person of this unit.") % {"name": person.full_name},
                code="assignee_outside_unit",
                field="assignees",
            )
        if person.clearance < incoming.secrecy:
            raise InvalidInput(
                _("%(name)s has no clearance for this document.") % {"name": person.full_name},
                code="clearance_required",
                field="assignees",
            )
    already = set(incoming.assignments.values_list("assignee_id", flat=True))
    created = [
        Assignment.objects.create(
            incoming=incoming, assignee=p, assigned_by=commander, deadline=deadline
        )
        for p in assignees
        if p.pk not in already
    ]
    if not created:
        raise DocumentError(_("These officers are assigned already."), code="already_assigned")
    first = incoming.state == IncomingDocument.State.REGISTERED
    if first:
        incoming.state = IncomingDocument.State.ASSIGNED
        incoming.save(update_fields=["state"])
        search_index.on_incoming_changed([incoming.pk])
        _report(
            incoming,
            status.ASSIGNED,
            commander,
            note=", ".join(a.assignee.full_name for a in created),
            request=request,
        )
    _audit(
        "documents.incoming_assigned",
        incoming,
        commander,
        assignees=[a.assignee.username for a in created],
        deadline=deadline.isoformat(),
    )
    deadlines.announce_assigned(created, commander, request=request)
    return created


def _locked_assignment(assignment: Assignment, person: Person) -> Assignment:
    locked = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("incoming", "incoming__unit")
        .get(pk=assignment.pk)
    )
    if locked.assignee_id != person.pk:
        raise DocumentError(_("This is another officer's assignment."), code="not_the_assignee")
    return locked


@transaction.atomic
def do_start_assignment(
    assignment: Assignment, person: Person, *, request: HttpRequest | None = None
) -> Assignment:
    """The officer starts working on it (status 05, sent once per document)."""
    assignment = _locked_assignment(assignment, person)
    if assignment.state != Assignment.State.ASSIGNED:
        raise DocumentError(_("This assignment is already under way."), code="wrong_state")
    incoming = _locked(assignment.incoming)
    _require_state(incoming, IncomingDocument.State.ASSIGNED, IncomingDocument.State.IN_PROGRESS)
    assignment.state = Assignment.State.IN_PROGRESS
    assignment.started_at = timezone.now()
    assignment.save(update_fields=["state", "started_at"])
    if incoming.state == IncomingDocument.State.ASSIGNED:
        incoming.state = IncomingDocument.State.IN_PROGRESS
        incoming.save(update_fields=["state"])
        search_index.on_incoming_changed([incoming.pk])
        _report(incoming, status.IN_PROGRESS, person, request=request)
    _audit("documents.assignment_started", incoming, person, assignment=assignment.pk)
    return assignment


@transaction.atomic
def do_complete_assignment(
    assignment: Assignment,
    person: Person,
    *,
    result_note: str = "",
    result_file: bytes | None = None,
    result_file_name: str = "",
    request: HttpRequest | None = None,
) -> Assignment:
    """The officer completes the work with a note or a file; when every officer is done,
    the document is done (status 06, with the notes)."""
    assignment = _locked_assignment(assignment, person)
    if assignment.state not in (Assignment.State.ASSIGNED, Assignment.State.IN_PROGRESS):
        raise DocumentError(_("This assignment is done already."), code="wrong_state")
    note = clean_note(result_note, required=result_file is None, field="result_note")
    if result_file is not None and len(result_file) > MAX_SCAN_BYTES:
        raise InvalidInput(_("The file is too large."), code="upload_too_large", field="file")
    incoming = _locked(assignment.incoming)
    _require_state(incoming, IncomingDocument.State.ASSIGNED, IncomingDocument.State.IN_PROGRESS)
    now = timezone.now()
    assignment.state = Assignment.State.DONE
    assignment.done_at = now
    assignment.result_note = note
    assignment.result_file = result_file
    assignment.result_file_name = result_file_name[:200]
    assignment.save()
    open_left = incoming.assignments.exclude(state=Assignment.State.DONE).exists()
    if not open_left:
        notes = [n for n in incoming.assignments.values_list("result_note", flat=True) if n]
        incoming.state = IncomingDocument.State.DONE
        incoming.done_at = now
        incoming.result_note = "\n".join(notes)[:NOTE_MAX]
        incoming.save(update_fields=["state", "done_at", "result_note"])
        search_index.on_incoming_changed([incoming.pk])
        _report(incoming, status.DONE, person, note=incoming.result_note, request=request)
    deadlines.close_assignment(assignment)
    _audit("documents.assignment_done", incoming, person, assignment=assignment.pk)
    return assignment


def _scan_type(data: bytes) -> str:
    for magic, content_type in SCAN_TYPES.items():
        if data.startswith(magic):
            return content_type
    raise InvalidInput(
        _("The scan must be a PDF or an image (PNG, JPEG, TIFF)."),
        code="not_a_scan",
        field="scan",
    )


@transaction.atomic
def do_receive_paper(
    clerk: Person,
    *,
    scan: bytes,
    issuer_name: str,
    subject: str,
    doc_type: str,
    number: int | None = None,
    notation: str = "",
    issue_date: dt.date | None = None,
    signer_name: str = "",
    urgency: str = Urgency.NORMAL,
    secrecy: int = Secrecy.NONE,
    request: HttpRequest | None = None,
) -> IncomingDocument:
    """A document that came on paper: its scan and the metadata the clerk types in. It then
    follows the incoming flow (register or refuse, assign, done) without statuses back."""
    if clerk.role not in CLERK_ROLES:
        raise DocumentError(_("Only a clerk registers paper documents."), code="not_allowed")
    if len(scan) > MAX_SCAN_BYTES:
        raise InvalidInput(_("The scan is too large."), code="upload_too_large", field="scan")
    scan_type = _scan_type(scan)
    subject = nfc(subject).strip()
    if not subject:
        raise InvalidInput(_("The subject is required."), code="subject_required", field="subject")
    if len(subject) > SUBJECT_MAX_LENGTH:
        raise InvalidInput(
            _("The subject has at most %(max)s characters.") % {"max": SUBJECT_MAX_LENGTH},
            code="subject_too_long",
            field="subject",
        )
    if not nfc(issuer_name).strip():
        raise InvalidInput(_("Name the issuer."), code="issuer_required", field="issuer_name")
    if doc_type not in DocumentType.values:
        raise InvalidInput(_("Unknown document type."), code="unknown_type", field="doc_type")
    if urgency not in Urgency.values:
        raise InvalidInput(_("Unknown urgency."), code="unknown_urgency", field="urgency")
    if secrecy not in Secrecy.values:
        raise InvalidInput(_("Unknown secrecy level."), code="unknown_secrecy", field="secrecy")
    if clerk.clearance < secrecy:
        raise InvalidInput(
            _("Your clearance does not cover this document."),
            code="clearance_required",
            field="secrecy",
        )
    incoming = IncomingDocument.objects.create(
        unit=clerk.unit,
        source=IncomingDocument.Source.PAPER,
        identifier="",
        issuer_name=nfc(issuer_name).strip()[:200],
        number=number,
        notation=notation.strip()[:64],
        issue_date=issue_date,
        doc_type=doc_type,
        subject=subject,
        signer_name=nfc(signer_name).strip()[:200],
        urgency=urgency,
        secrecy=secrecy,
        scan=scan,
        scan_type=scan_type,
        verification=receiving.verification_of(scan) if scan_type == "application/pdf" else [],
        page_count=pages.page_count(scan) if scan_type == "application/pdf" else 1,
        arrived_at=timezone.now(),
        opened_by=clerk,
    )
    fts.index_incoming([incoming])  # the scan has no text until it is read by OCR
    _audit("documents.paper_received", incoming, clerk, scan_type=scan_type, size=len(scan))
    deadlines.announce_paper(incoming, clerk, request=request)
    return incoming


# Recall (thu hồi): 13 asked by the sender; 15 accepted, 16 refused by each recipient.


@transaction.atomic
def do_request_recall(
    document: Document, actor: Person, *, reason: str, request: HttpRequest | None = None
) -> Document:
    """The sender freezes its copy and asks every recipient to give the document back, in
    an envelope of kind "document.recall" naming the original. The copies the unit made of
    its own document are recalled with it (`copies.recall_copies_made_of`)."""
    document = Document.objects.select_for_update(of=("self",)).get(pk=document.pk)
    if actor.unit_id != document.issuing_unit_id or actor.role not in (
        Role.CLERK,
        Role.COMMANDER,
        Role.ADMIN,
    ):
        raise DocumentError(_("Only the issuing unit recalls its document."), code="not_allowed")
    if document.state != Document.State.ISSUED or document.envelope_id is None:
        raise DocumentError(_("Only a sent document can be recalled."), code="wrong_state")
    reason = clean_note(reason, required=True, field="reason")
    sent = send_recall(
        document.issuing_unit,
        document.envelope_id,
        identifier=str(document.pk),
        reason=reason,
        actor=actor,
        request=request,
    )
    document.state = Document.State.RECALLED
    document.recall_envelope_id = sent.pk
    document.recall_reason = reason
    document.recalled_at = timezone.now()
    document.save(
        update_fields=["state", "recall_envelope_id", "recall_reason", "recalled_at", "updated_at"]
    )
    document_saved(
        document, ["state", "recall_envelope_id", "recall_reason", "recalled_at", "updated_at"]
    )
    do_record(
        "documents.recall_requested",
        actor=actor,
        obj=document,
        unit=document.issuing_unit,
        new={"status": status.RECALL_REQUESTED, "reason": reason, "envelope": str(sent.pk)},
        request=request,
    )
    from tiendon.documents.copies import actions as copies

    copies.recall_copies_made_of(actor, document=document, reason=reason, request=request)
    return document


@transaction.atomic
def do_answer_recall(
    incoming: IncomingDocument,
    clerk: Person,
    *,
    accept: bool,
    note: str = "",
    request: HttpRequest | None = None,
) -> IncomingDocument:
    """Accept (the copy leaves every view, the recall record stays; status 15) or refuse
    with a reason (status 16)."""
    _require(clerk, incoming, (*CLERK_ROLES, Role.COMMANDER), _("Only the unit answers."))
    note = clean_note(note, required=not accept, field="note")
    incoming = _locked(incoming)
    if incoming.recall_answer != IncomingDocument.RecallAnswer.PENDING:
        raise DocumentError(_("No recall is waiting for an answer."), code="wrong_state")
    incoming.recall_note = note
    incoming.recall_answered_at = timezone.now()
    if accept:
        incoming.recall_answer = IncomingDocument.RecallAnswer.ACCEPTED
        incoming.state = IncomingDocument.State.RECALLED
        incoming.scan = None
        code = status.RECALL_ACCEPTED
    else:
        incoming.recall_answer = IncomingDocument.RecallAnswer.REFUSED
        code = status.RECALL_REFUSED
    incoming.save()
    if accept:
        fts.index_incoming([incoming])  # the copy leaves the search with every other view
    _report(incoming, code, clerk, note=note, request=request)
    deadlines.hand_over(incoming, [], Reminder.Step.NONE, actor=clerk)  # answered
    _audit("documents.recall_answered", incoming, clerk, status=code, note=note)
    if accept:
        # The copies this unit made of it are recalled down the chain in turn (Decree 30:
        # a copy has the original's legal value, so it cannot outlive the original).
        from tiendon.documents.copies import actions as copies

        copies.recall_copies_made_of(
            clerk, incoming=incoming, reason=incoming.recall_reason, request=request
        )
    return incoming


@transaction.atomic
def do_save_recipient_group(
    actor: Person,
    *,
    name: str,
    unit_codes: list[str],
    request: HttpRequest | None = None,
) -> Any:
    """Save (or replace) a named list of recipient units of the actor's unit."""
    from tiendon.documents.models import RecipientGroup

    if actor.role not in (Role.CLERK, Role.COMMANDER, Role.ADMIN):
        raise DocumentError(_("Only a clerk or the commander keeps groups."), code="not_allowed")
    name = nfc(name).strip()
    if not name or len(name) > 200:
        raise InvalidInput(_("Name the group."), code="name_required", field="name")
    codes = sorted({c.strip() for c in unit_codes if c.strip()})
    units = list(Unit.objects.filter(code__in=codes, is_active=True))
    unknown = sorted(set(codes) - {u.code for u in units})
    if unknown:
        raise InvalidInput(
            _("Unknown recipient unit: %(codes)s.") % {"codes": ", ".join(unknown[:10])},
            code="unknown_recipient",
            field="units",
        )
    if not units:
        raise InvalidInput(_("A group needs at least one unit."), code="empty_group", field="units")
    group, _created = RecipientGroup.objects.get_or_create(owner=actor.unit, name=name)
    group.members.set(units)
    do_record(
        "documents.recipient_group_saved",
        actor=actor,
        obj=group,
        unit=actor.unit,
        new={"name": name, "units": codes},
        request=request,
    )
    return group
