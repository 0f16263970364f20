"""Việc cần làm: what waits on a person now, read from the documents' states (not from the
reminders, which a person may dismiss): drafts to review or sign, signed documents to
issue, arrivals to register, registered documents to assign, their own assignments, and
recall requests to answer. One query per kind of work, each bounded; the counts the
navigation shows are the lengths of the same lists, so they never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tiendon.documents import queries
from tiendon.documents.models import (
    Assignment,
    Document,
    IncomingDocument,
    ReviewStep,
    Urgency,
)
from tiendon.units.models import Person, Role

LIMIT = 50  # items of one kind listed (the home page); the count says how many there are
CLERKS = (Role.CLERK, Role.ADMIN)
COMMANDERS = (Role.COMMANDER, Role.ADMIN)
RANK: dict[str, int] = {
    Urgency.HOA_TOC: 0,
    Urgency.THUONG_KHAN: 1,
    Urgency.KHAN: 2,
    Urgency.NORMAL: 3,
}
STEPS = {
    "review": _("Review the draft"),
    "sign": _("Sign"),
    "issue": _("Issue"),
    "register": _("Register"),
    "assign": _("Assign"),
    "process": _("Process and report"),
    "recall": _("Answer the recall"),
}


@dataclass(frozen=True)
class WorkItem:
    step: str  # a key of STEPS
    title: str
    url: str
    urgency: str
    due: dt.date | None
    since: dt.datetime | None

    @property
    def step_label(self) -> str:
        return str(STEPS[self.step])

    @property
    def urgency_label(self) -> str:
        return "" if self.urgency == Urgency.NORMAL else str(Urgency(self.urgency).label)

    @property
    def pinned(self) -> bool:
        return self.urgency in (Urgency.HOA_TOC, Urgency.THUONG_KHAN)

    def key(self) -> tuple[Any, ...]:
        """Hỏa tốc first, then Thượng khẩn, Khẩn; then the earliest due date, the oldest."""
        since = self.since.timestamp() if self.since else 0.0
        return (RANK.get(self.urgency, 9), self.due or dt.date.max, since)


def _outgoing(document: Document, step: str) -> WorkItem:
    due = getattr(getattr(document, "due", None), "due_date", None)
    return WorkItem(
        step=step,
        title=f"{document.get_doc_type_display()}: {document.subject}",
        url=reverse("document_detail", args=[document.pk]),
        urgency=document.urgency,
        due=due,
        since=document.updated_at,
    )


def _incoming(row: IncomingDocument, step: str, due: dt.date | None = None) -> WorkItem:
    subject = row.subject or str(_("(secret document)"))
    number = row.number_and_symbol
    return WorkItem(
        step=step,
        title=f"{number} {subject}" if number else subject,
        url=reverse("incoming_detail", args=[row.pk]),
        urgency=row.urgency,
        due=due,
        since=row.arrived_at,
    )


def _waiting(person: Person) -> dict[str, tuple[QuerySet[Any], Callable[[Any], WorkItem]]]:
    """Per step, the rows waiting on the person (most pressing first) and how each reads."""
    documents = (
        queries.documents_visible_to(person)
        .defer("pdf", "uploaded_pdf")
        .select_related("due")
        .annotate(rank=queries.URGENCY_RANK)
        .order_by("-rank", "updated_at")
    )
    pending = ReviewStep.objects.filter(document=OuterRef("pk"), decision="pending")
    earlier = ReviewStep.objects.filter(
        document=OuterRef("document"),
        round=OuterRef("round"),
        decision="pending",
        position__lt=OuterRef("position"),
    )
    in_review = documents.filter(state=Document.State.IN_REVIEW)
    my_turn = pending.filter(reviewer=person).exclude(Exists(earlier))
    received = (
        queries.incoming_visible_to(person)
        .defer("scan")
        .annotate(rank=queries.URGENCY_RANK)
        .order_by("-rank", "arrived_at")
    )

    def outgoing(step: str) -> Callable[[Any], WorkItem]:
        return lambda d: _outgoing(d, step)

    def incoming(step: str) -> Callable[[Any], WorkItem]:
        return lambda r: _incoming(queries.mask_secret(person, r), step)

    lists: dict[str, tuple[QuerySet[Any], Callable[[Any], WorkItem]]] = {
        "review": (in_review.filter(Exists(my_turn)), outgoing("review")),
        "sign": (in_review.filter(signer=person).exclude(Exists(pending)), outgoing("sign")),
    }
    if person.role in CLERKS:
        lists["issue"] = (documents.filter(state=Document.State.SIGNED), outgoing("issue"))
        arrived = received.filter(state=IncomingDocument.State.ARRIVED)
        lists["register"] = (arrived, incoming("register"))
    if person.role in COMMANDERS:
        registered = received.filter(state=IncomingDocument.State.REGISTERED)
        lists["assign"] = (registered, incoming("assign"))
    if person.role in (*CLERKS, *COMMANDERS):
        recalls = received.filter(recall_answer=IncomingDocument.RecallAnswer.PENDING)
        lists["recall"] = (recalls, incoming("recall"))
    mine = (
        Assignment.objects.filter(assignee=person, incoming__in=received.values("pk"))
        .exclude(state=Assignment.State.DONE)
        .select_related("incoming")
        .defer("incoming__scan", "result_file")
        .annotate(rank=queries.URGENCY_RANK_OF_INCOMING)
        .order_by("-rank", "deadline", "pk")
    )
    lists["process"] = (
        mine,
        lambda a: _incoming(queries.mask_secret(person, a.incoming), "process", a.deadline),
    )
    return lists


def work_of(person: Person) -> list[WorkItem]:
    """What waits on the person, the most pressing first (at most LIMIT of each step)."""
    items = [make(row) for rows, make in _waiting(person).values() for row in rows[:LIMIT]]
    return sorted(items, key=WorkItem.key)


def work_counts(person: Person) -> dict[str, int]:
    """How many wait at each step (counted in the database, whatever LIMIT shows)."""
    return {step: rows.count() for step, (rows, _make) in _waiting(person).items()}


def unread_count(person: Person) -> int:
    """The person's unread reminders (what the reminders page lists)."""
    from tiendon.documents.deadlines import reminders

    return len(reminders.unread_reminders(person))
