"""Deadlines in working days (Vietnam's weekends and public holidays, Tết included, from the
`holidays` package), overdue and due-soon lists per unit and per person with Hỏa tốc and
Thượng khẩn items pinned on top, and the in-app reminders built from them.

The lists are generic: each source yields `DeadlineItem`s. Two sources are built in: the
due date (hạn xử lý) of outgoing documents not yet issued, and the deadlines of the
assignments of received documents; other sources register with `register_source`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import holidays
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tiendon.audit.actions import AuditEntry, client_address, do_record, do_record_batch
from tiendon.documents import queries
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import (
    Assignment,
    Document,
    DueDate,
    IncomingDocument,
    Reminder,
    ReviewStep,
    Urgency,
)
from tiendon.errors import InvalidInput, OutOfScope
from tiendon.units.models import Person, Role

# Due within this many working days counts as "due soon".
DUE_SOON_WORKING_DAYS = 2
MAX_WORKING_DAYS = 3650
MAX_DUE_DAYS = 5 * 366
# Handled at once, before anything else (Decree 30): always listed first.
PINNED_URGENCIES = (Urgency.HOA_TOC, Urgency.THUONG_KHAN)
_URGENCY_ORDER: dict[str, int] = {
    Urgency.HOA_TOC: 0,
    Urgency.THUONG_KHAN: 1,
    Urgency.KHAN: 2,
    Urgency.NORMAL: 3,
}


@functools.lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("VN", years=year).keys())


def holiday_name(day: dt.date) -> str:
    """The public holiday on that day ('' if none), in the package's English name."""
    return str(holidays.country_holidays("VN", years=day.year).get(day) or "")


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday and not a public holiday (Tết, 30/4, 1/5, 2/9 and the rest)."""
    return day.weekday() < 5 and day not in _holidays_of(day.year)


def _check_count(days: int) -> None:
    if abs(days) > MAX_WORKING_DAYS:
        raise InvalidInput(
            _("At most %(max)s working days.") % {"max": MAX_WORKING_DAYS},
            code="too_many_days",
            field="days",
        )


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The day `days` working days after `start` (before it when negative); `start` itself
    is not counted, so 1 working day after a Wednesday before Tết is the first working day
    after Tết. With 0, `start` is returned as it is."""
    _check_count(days)
    step = 1 if days >= 0 else -1
    day, left = start, abs(days)
    while left:
        day += dt.timedelta(days=step)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` (negative when `end` is earlier):
    `working_days_between(d, add_working_days(d, n)) == n`."""
    if end < start:
        return -working_days_between(end, start)
    if (end - start).days > MAX_WORKING_DAYS * 2:
        _check_count(MAX_WORKING_DAYS + 1)
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


@dataclass
class DeadlineItem:
    """One thing due: a document (an outgoing one, or a received one for an assignment),
    its due date, who must act, and how urgent it is."""

    document: Document | IncomingDocument
    due_date: dt.date
    person: Person | None
    kind: str  # "outgoing" for a due date; "assignment" for a received document's
    working_days_left: int = 0
    assignment: Assignment | None = None

    @property
    def pinned(self) -> bool:
        return self.document.urgency in PINNED_URGENCIES

    @property
    def overdue(self) -> bool:
        return self.working_days_left < 0

    @property
    def url(self) -> str:
        if isinstance(self.document, IncomingDocument):
            return reverse("incoming_detail", args=[self.document.pk])
        return reverse("document_detail", args=[self.document.pk])

    @property
    def masked(self) -> bool:
        """A received secret document whose subject the viewer may not read."""
        return bool(getattr(self.document, "masked", False))


def pin_key(urgency: str, due: dt.date | None = None) -> tuple[int, int, dt.date]:
    """Sort key: Hỏa tốc, then Thượng khẩn, on top; then the earliest due date."""
    pinned = 0 if urgency in PINNED_URGENCIES else 1
    return (pinned, _URGENCY_ORDER.get(urgency, 9), due or dt.date.max)


Source = Callable[[Person, str], Iterable[DeadlineItem]]
_SOURCES: list[Source] = []


def register_source(source: Source) -> Source:
    """Add a source of deadline items: `source(viewer, scope)` with scope "person" or
    "unit"; it must read through `queries` (scope and clearance)."""
    if source not in _SOURCES:
        _SOURCES.append(source)
    return source


@register_source
def outgoing_due_dates(viewer: Person, scope: str) -> Iterable[DeadlineItem]:
    """Drafts and signed documents of the viewer's unit with a due date, not yet issued. In
    the person scope, those the viewer answers for (named with the due date, or the
    drafter) and those waiting on the viewer now (`acting_on`: the reviewer whose turn it
    is, or the signer after the last approval), each shown with who must act now."""
    documents = list(
        queries.documents_visible_to(viewer)
        .filter(due__isnull=False)
        .exclude(state=Document.State.ISSUED)
        .select_related("due", "due__person")
        .defer("pdf", "uploaded_pdf")
    )
    acting = acting_on(documents)
    for document in documents:
        due: DueDate = document.due
        answerable = due.person or document.drafter
        actor = acting.get(document.pk, answerable)
        if scope == "person" and viewer not in (answerable, actor):
            continue
        yield DeadlineItem(document=document, due_date=due.due_date, person=actor, kind="outgoing")


def acting_on(documents: list[Document]) -> dict[Any, Person]:
    """For documents in review: who must act now, by document id. The reviewer of the first
    pending step of the latest round, or the signer once every reviewer has approved."""
    in_review = [d for d in documents if d.state == Document.State.IN_REVIEW]
    if not in_review:
        return {}
    acting: dict[Any, Person] = {}
    steps = (
        ReviewStep.objects.filter(
            document__in=[d.pk for d in in_review], decision=ReviewStep.Decision.PENDING
        )
        .select_related("reviewer")
        .order_by("document", "-round", "position")
    )
    for step in steps:
        acting.setdefault(step.document_id, step.reviewer)
    for document in in_review:
        acting.setdefault(document.pk, document.signer)
    return acting


@register_source
def assignment_deadlines(viewer: Person, scope: str) -> Iterable[DeadlineItem]:
    """Assignments of received documents not done yet, with the deadline the commander
    gave: the viewer's own (person scope), or every officer's of the unit (unit scope)."""
    for assignment in queries.open_assignments(viewer, scope):
        yield DeadlineItem(
            document=assignment.incoming,
            due_date=assignment.deadline,
            person=assignment.assignee,
            kind="assignment",
            assignment=assignment,
        )


@dataclass
class DeadlineLists:
    overdue: list[DeadlineItem]
    due_soon: list[DeadlineItem]
    today: dt.date


def today_in_vietnam() -> dt.date:
    return timezone.localtime(timezone.now()).date()


def deadline_lists(
    viewer: Person, *, scope: str = "person", today: dt.date | None = None
) -> DeadlineLists:
    """Overdue and due-soon items for the viewer (scope "person") or the viewer's unit
    (scope "unit"); pinned urgencies first, then the earliest due date."""
    if scope not in ("person", "unit"):
        raise InvalidInput(_("Unknown list: %(s)s.") % {"s": scope[:20]}, code="unknown_scope")
    today = today or today_in_vietnam()
    overdue, due_soon = [], []
    for source in _SOURCES:
        for item in source(viewer, scope):
            item.working_days_left = working_days_between(today, item.due_date)
            if item.overdue:
                overdue.append(item)
            elif item.working_days_left <= DUE_SOON_WORKING_DAYS:
                due_soon.append(item)

    def key(item: DeadlineItem) -> tuple[Any, ...]:
        return pin_key(item.document.urgency, item.due_date)

    return DeadlineLists(sorted(overdue, key=key), sorted(due_soon, key=key), today)


def _parse_day(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
    raise InvalidInput(
        _("Write the date as dd/mm/yyyy: %(value)s.") % {"value": str(value)[:20]},
        code="bad_date",
        field="due_date",
    )


@transaction.atomic
def do_set_due_date(
    document: Document,
    actor: Person,
    due_date: dt.date | str | None,
    *,
    person: Person | None = None,
    today: dt.date | None = None,
    request: HttpRequest | None = None,
) -> DueDate | None:
    """Set (or, with None, clear) a document's due date: the drafter, a clerk or the
    commander of the issuing unit; the person named must be of that unit."""
    document = queries.get_visible_document(actor, document.pk, request=request)
    if actor.pk != document.drafter_id and actor.role not in (
        Role.CLERK,
        Role.COMMANDER,
        Role.ADMIN,
    ):
        raise DocumentError(
            _("Only the drafter, a clerk or the commander sets the due date."),
            code="not_allowed",
        )
    if document.state == Document.State.ISSUED:
        raise DocumentError(_("The document is issued already."), code="wrong_state")
    old = DueDate.objects.filter(document=document).first()
    old_value = old.due_date.isoformat() if old else None
    if due_date is None:
        if old is not None:
            old.delete()
        do_record(
            "documents.due_date_cleared",
            actor=actor,
            obj=document,
            unit=document.issuing_unit,
            old={"due_date": old_value},
            request=request,
        )
        return None
    day = _parse_day(due_date)
    today = today or today_in_vietnam()
    if day < today:
        raise InvalidInput(
            _("The due date is in the past."), code="due_date_past", field="due_date"
        )
    if (day - today).days > MAX_DUE_DAYS:
        raise InvalidInput(
            _("The due date is more than five years away."),
            code="due_date_too_far",
            field="due_date",
        )
    if person is not None and (person.unit_id != document.issuing_unit_id or not person.is_active):
        raise InvalidInput(
            _("The person responsible must be an active person of the issuing unit."),
            code="person_outside_unit",
            field="person",
        )
    due, _created = DueDate.objects.update_or_create(
        document=document, defaults={"due_date": day, "person": person, "set_by": actor}
    )
    do_record(
        "documents.due_date_set",
        actor=actor,
        obj=document,
        unit=document.issuing_unit,
        old={"due_date": old_value},
        new={"due_date": day.isoformat(), "person": person.username if person else None},
        request=request,
    )
    return due


def _make_reminders(
    wanted: Iterable[Reminder], *, actor: Person | None, request: HttpRequest | None = None
) -> list[Reminder]:
    """Create the reminders not made yet (the constraints of `Reminder` say what "the same"
    is; one made meanwhile by another request is skipped) and audit them in one batch, one
    record per person reminded."""
    created: list[Reminder] = []
    for reminder in wanted:
        try:
            with transaction.atomic():
                reminder.save(force_insert=True)
        except IntegrityError:
            continue
        created.append(reminder)
    by_person: dict[int, list[Reminder]] = {}
    for reminder in created:
        by_person.setdefault(reminder.person_id, []).append(reminder)
    do_record_batch(
        AuditEntry(
            action="documents.reminders_created",
            actor=actor,
            unit=made[0].person.unit,
            object_type="units.person",
            object_id=str(made[0].person_id),
            new={
                "count": len(made),
                "kinds": sorted({r.kind for r in made}),
                "steps": sorted({r.step for r in made if r.step}),
                "for": made[0].person.username,
            },
            client_address=client_address(request),
        )
        for made in by_person.values()
    )
    return created


def do_refresh_reminders(
    viewer: Person, *, today: dt.date | None = None, request: HttpRequest | None = None
) -> list[Reminder]:
    """Create the viewer's reminders for what is overdue or due soon (outgoing documents, and
    the viewer's assignments of received documents); each (thing, kind, due date) reminds
    once. Returns the viewer's new ones."""
    lists = deadline_lists(viewer, scope="person", today=today)
    wanted: list[Reminder] = []
    for kind, items in (
        (Reminder.Kind.OVERDUE, lists.overdue),
        (Reminder.Kind.DUE_SOON, lists.due_soon),
    ):
        for item in items:
            if isinstance(item.document, Document):
                wanted.append(
                    Reminder(
                        person=viewer, kind=kind, due_date=item.due_date, document=item.document
                    )
                )
            elif item.person is not None and item.person.pk == viewer.pk:
                wanted.append(
                    Reminder(
                        person=viewer, kind=kind, due_date=item.due_date, incoming=item.document
                    )
                )
    return _make_reminders(wanted, actor=viewer, request=request)


def do_remind_due(*, today: dt.date | None = None) -> int:
    """The node's pass (`tiendon documents remind --follow`, hourly under `node start`):
    whoever has something overdue or due soon gets its reminder, once per item and due
    date. Pages only read them. Returns how many were made."""
    open_due = DueDate.objects.exclude(document__state=Document.State.ISSUED)
    pending = ReviewStep.objects.filter(decision="pending", document__due__isnull=False)
    assigned = Assignment.objects.filter(deadline__isnull=False)
    assigned = assigned.exclude(state=Assignment.State.DONE)
    people = (
        Person.objects.filter(is_active=True)
        .filter(
            Q(pk__in=open_due.values("person"))
            | Q(pk__in=open_due.values("document__drafter"))
            | Q(pk__in=open_due.values("document__signer"))
            | Q(pk__in=pending.values("reviewer"))
            | Q(pk__in=assigned.values("assignee"))
        )
        .select_related("unit")
    )
    return sum(len(do_refresh_reminders(person, today=today)) for person in people)


def hand_over(
    subject: Document | IncomingDocument,
    people: Iterable[Person],
    step: str,
    *,
    actor: Person | None = None,
    request: HttpRequest | None = None,
) -> list[Reminder]:
    """At once, when `subject` becomes someone's to act on: each person (but the one who
    acted) is reminded of the step, Hỏa tocs and Thượng khẩns as urgent; the unread
    reminders of the earlier step on it are closed, since the turn moved on."""
    target = "document" if isinstance(subject, Document) else "incoming"
    Reminder.objects.filter(**{target: subject}, read_at__isnull=True).exclude(
        step__in=(Reminder.Step.NONE, Reminder.Step.ASSIGNED)
    ).update(read_at=timezone.now())
    kind = Reminder.Kind.URGENT if subject.urgency in PINNED_URGENCIES else Reminder.Kind.TURN
    return _make_reminders(
        (
            Reminder(person=person, kind=kind, step=step, **{target: subject})
            for person in people
            if actor is None or person.pk != actor.pk
        ),
        actor=actor,
        request=request,
    )


def unit_people(unit_id: int, roles: Iterable[str], secrecy: int) -> list[Person]:
    """The active people of a unit in these roles, cleared for the secrecy level."""
    return list(
        Person.objects.filter(
            unit=unit_id, role__in=tuple(roles), is_active=True, clearance__gte=secrecy
        ).select_related("unit")
    )


CLERKS = (Role.CLERK, Role.ADMIN)
COMMANDERS = (Role.COMMANDER, Role.ADMIN)


def announce_turn(
    document: Document, *, actor: Person | None = None, request: HttpRequest | None = None
) -> list[Reminder]:
    """A document's state moved (called by the actions, `state.document_saved`): the
    reviewer whose turn it is or the signer once every reviewer approved; the unit's cleared
    clerks once it is signed; the drafter when it comes back as a draft."""
    step = Reminder.Step.NONE
    people: list[Person] = []
    if document.state == Document.State.IN_REVIEW:
        current = queries.current_step(document)
        people = [current.reviewer if current is not None else document.signer]
        step = Reminder.Step.REVIEW if current is not None else Reminder.Step.SIGN
    elif document.state == Document.State.SIGNED:
        people, step = (
            unit_people(document.issuing_unit_id, CLERKS, document.secrecy),
            Reminder.Step.ISSUE,
        )
    elif document.state == Document.State.DRAFT:
        people, step = [document.drafter], Reminder.Step.RETURNED
    return hand_over(document, people, step, actor=actor, request=request)


def announce_assigned(
    assignments: Sequence[Assignment], actor: Person, *, request: HttpRequest | None = None
) -> list[Reminder]:
    """At once, when the commander assigns a received document: each officer is reminded
    of it, with the deadline (run by `do_assign_incoming`, in its transaction)."""
    if assignments:
        hand_over(assignments[0].incoming, [], Reminder.Step.NONE, actor=actor)
    return _make_reminders(
        (
            Reminder(
                person=a.assignee,
                kind=Reminder.Kind.ASSIGNED,
                step=Reminder.Step.ASSIGNED,
                due_date=a.deadline,
                incoming=a.incoming,
            )
            for a in assignments
        ),
        actor=actor,
        request=request,
    )


def close_assignment(assignment: Assignment) -> None:
    """The officer's work is done: the reminder of it is too."""
    Reminder.objects.filter(
        person=assignment.assignee_id, incoming=assignment.incoming_id, step=Reminder.Step.ASSIGNED
    ).filter(read_at__isnull=True).update(read_at=timezone.now())


def receivers(incoming: IncomingDocument) -> list[Person]:
    """Who is told of an arrival: the unit's cleared clerks, and its commander too for Hỏa
    tốc and Thượng khẩn."""
    urgent = incoming.urgency in PINNED_URGENCIES
    return unit_people(
        incoming.unit_id, (*CLERKS, *(COMMANDERS if urgent else ())), incoming.secrecy
    )


def announce_paper(
    incoming: IncomingDocument, actor: Person, *, request: HttpRequest | None = None
) -> list[Reminder]:
    """A document received on paper: announced to the others as a delivery is."""
    return hand_over(
        incoming, receivers(incoming), Reminder.Step.REGISTER, actor=actor, request=request
    )


def announce_recall(incoming: IncomingDocument) -> list[Reminder]:
    """The sender asks a received document back: its clerks and commander answer."""
    people = unit_people(incoming.unit_id, (*CLERKS, *COMMANDERS), incoming.secrecy)
    return hand_over(incoming, people, Reminder.Step.RECALL)


def announce_refused(envelope_ids: Iterable[Any]) -> None:
    """Documents a recipient refused (status 02) go back to their drafter and the unit's
    clerks, as a reminder."""
    for document in Document.objects.filter(envelope_id__in=list(envelope_ids)).defer(
        "pdf", "uploaded_pdf"
    ):
        clerks = unit_people(document.issuing_unit_id, CLERKS, document.secrecy)
        hand_over(document, [document.drafter, *clerks], Reminder.Step.REFUSED)


def announce_arrived(rows: Sequence[IncomingDocument]) -> list[Reminder]:
    """Documents just taken in (by the dispatcher, at arrival, before anyone looks): every
    cleared clerk of the receiving unit is reminded to register them, and for Hỏa tốc and
    Thượng khẩn the commander too. The rows are new, so nothing is looked up first: one
    query for the people of all the units (a broadcast names thousands), one insert, one
    audit batch."""
    if not rows:
        return []
    people: dict[int, list[Person]] = {}
    for person in Person.objects.filter(
        unit_id__in={row.unit_id for row in rows},
        role__in=(Role.CLERK, Role.ADMIN, Role.COMMANDER),
        is_active=True,
    ).select_related("unit"):
        people.setdefault(person.unit_id, []).append(person)
    made = Reminder.objects.bulk_create(
        [
            Reminder(
                person=person,
                kind=Reminder.Kind.URGENT if urgent else Reminder.Kind.TURN,
                step=Reminder.Step.REGISTER,
                incoming=row,
            )
            for row in rows
            for urgent in [row.urgency in PINNED_URGENCIES]
            for person in people.get(row.unit_id, [])
            if person.clearance >= row.secrecy and (urgent or person.role in CLERKS)
        ],
        ignore_conflicts=True,
    )
    do_record_batch(
        AuditEntry(
            action="documents.reminders_created",
            unit=reminder.person.unit,
            object_type="units.person",
            object_id=str(reminder.person.pk),
            new={
                "count": 1,
                "kinds": [reminder.kind],
                "steps": [reminder.step],
                "for": reminder.person.username,
            },
        )
        for reminder in made
    )
    return made


def unread_reminders(viewer: Person) -> list[Reminder]:
    """The viewer's unread reminders of things the viewer may still see (outgoing documents
    of the unit, received documents not recalled), urgent first; a secret received
    document's subject is masked for the uncleared."""
    visible = queries.documents_visible_to(viewer).values("pk")
    received = queries.incoming_visible_to(viewer).values("pk")
    reminders = list(
        Reminder.objects.filter(person=viewer, read_at__isnull=True)
        .filter(Q(document__in=visible) | Q(incoming__in=received))
        .select_related("document", "incoming")
        .defer("document__pdf", "document__uploaded_pdf", "incoming__scan")
        .order_by("created_at")
    )
    for reminder in reminders:
        if reminder.incoming is not None:
            queries.mask_secret(viewer, reminder.incoming)
    return sorted(reminders, key=lambda r: pin_key(r.urgency, r.due_date))


@transaction.atomic
def do_mark_reminders_read(
    reminder_ids: Iterable[str], viewer: Person, *, request: HttpRequest | None = None
) -> int:
    """The viewer dismisses several of their own unread reminders at once (others' ids, or
    ones read meanwhile, change nothing); one audit record. Returns how many."""
    wanted = [int(i) for i in reminder_ids if str(i).isascii() and str(i).isdigit()][:500]
    mine = Reminder.objects.filter(pk__in=wanted, person=viewer, read_at__isnull=True)
    ids = list(mine.values_list("pk", flat=True))
    done = Reminder.objects.filter(pk__in=ids).update(read_at=timezone.now())
    if done:
        do_record(
            "documents.reminders_read",
            actor=viewer,
            obj=viewer,
            unit=viewer.unit,
            new={"count": done, "ids": ids[:50]},
            request=request,
        )
    return done


@transaction.atomic
def do_mark_reminder_read(
    reminder_id: int | str, viewer: Person, *, request: HttpRequest | None = None
) -> Reminder:
    """The viewer dismisses one of their own reminders (anyone else's is out of scope)."""
    try:
        reminder = Reminder.objects.select_for_update().get(pk=int(reminder_id), person=viewer)
    except (Reminder.DoesNotExist, ValueError) as exc:
        raise OutOfScope("reminder", str(reminder_id)) from exc
    if reminder.read_at is None:
        reminder.read_at = timezone.now()
        reminder.save(update_fields=["read_at"])
        do_record(
            "documents.reminder_read",
            actor=viewer,
            obj=reminder,
            unit=viewer.unit,
            new={"kind": reminder.kind},
            request=request,
        )
    return reminder
