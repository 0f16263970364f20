"""Reviewers of a draft (người thẩm định/góp ý), between the drafter and the signer.

The drafter chooses an ordered list of people of the drafting unit. Each submission starts
a round: the draft goes to each reviewer in turn; each approves it or returns it to the
drafter with a comment (which ends the round). The signer sees it, signs or returns it
only after the last approval. Every step is audited and kept (`ReviewStep`): the trail.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from tiendon.audit.actions import do_record
from tiendon.documents.drafting.state import document_saved, lock_document, require_state
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import Document, Reviewer, ReviewStep
from tiendon.documents.pdf.layout import nfc
from tiendon.documents.queries import current_step
from tiendon.errors import InvalidInput
from tiendon.units.models import Person

MAX_REVIEWERS = 10
COMMENT_MAX = 2000


def reviewers_of(document: Document) -> list[Person]:
    return [r.person for r in Reviewer.objects.filter(document=document).select_related("person")]


@transaction.atomic
def do_set_reviewers(
    document: Document,
    drafter: Person,
    *,
    reviewers: list[Person],
    request: HttpRequest | None = None,
) -> list[Reviewer]:
    """Choose (or clear) the reviewers of a draft, in order: the drafter, in the draft
    state; people of the drafting unit, active, cleared for the draft, each once, neither
    the drafter nor the signer."""

    document = lock_document(document)
    require_state(document, Document.State.DRAFT)
    if drafter.pk != document.drafter_id:
        raise DocumentError(_("Only the drafter edits a draft."), code="not_the_drafter")
    if len(reviewers) > MAX_REVIEWERS:
        raise InvalidInput(
            _("At most %(max)s reviewers.") % {"max": MAX_REVIEWERS},
            code="too_many_reviewers",
            field="reviewers",
        )
    seen: set[int] = set()
    for person in reviewers:
        if person.unit_id != document.issuing_unit_id or not person.is_active:
            raise InvalidInput(
                _("%(name)s is not an active person of this unit.") % {"name": person.full_name},
                code="reviewer_outside_unit",
                field="reviewers",
            )
        if person.pk in (document.drafter_id, document.signer_id):
            raise InvalidInput(
                _("The drafter and the signer are not reviewers."),
                code="reviewer_is_drafter_or_signer",
                field="reviewers",
            )
        if person.pk in seen:
            raise InvalidInput(
                _("%(name)s is chosen twice.") % {"name": person.full_name},
                code="reviewer_twice",
                field="reviewers",
            )
        if person.clearance < document.secrecy:
            raise InvalidInput(
                _("%(name)s has no clearance for this document.") % {"name": person.full_name},
                code="clearance_required",
                field="reviewers",
            )
        seen.add(person.pk)
    old = [p.username for p in reviewers_of(document)]
    Reviewer.objects.filter(document=document).delete()
    rows = [
        Reviewer.objects.create(document=document, position=index, person=person)
        for index, person in enumerate(reviewers, start=1)
    ]
    do_record(
        "documents.reviewers_set",
        actor=drafter,
        obj=document,
        unit=document.issuing_unit,
        old={"reviewers": old},
        new={"reviewers": [p.username for p in reviewers]},
        request=request,
    )
    return rows


def start_round(document: Document) -> list[ReviewStep]:
    """At submission (inside its transaction): a new round, one pending step per reviewer."""
    chosen = list(Reviewer.objects.filter(document=document).order_by("position"))
    if not chosen:
        return []
    last = ReviewStep.objects.filter(document=document).aggregate(m=Max("round"))["m"] or 0
    return [
        ReviewStep.objects.create(
            document=document,
            round=last + 1,
            position=r.position,
            reviewer_id=r.person_id,
            version=document.version,
        )
        for r in chosen
    ]


def require_reviews_done(document: Document) -> None:
    """The signer's actions wait for the last approval."""
    if document.state == Document.State.IN_REVIEW and current_step(document) is not None:
        raise DocumentError(_("The draft is still with its reviewers."), code="review_pending")


def review_trail(document: Document) -> list[ReviewStep]:
    return list(
        ReviewStep.objects.filter(document=document)
        .select_related("reviewer")
        .order_by("round", "position")
    )


def _turn(document: Document, reviewer: Person) -> tuple[Document, ReviewStep]:

    document = lock_document(document)
    require_state(document, Document.State.IN_REVIEW)
    step = current_step(document)
    if step is None or step.reviewer_id != reviewer.pk:
        raise DocumentError(_("It is not your turn to review this draft."), code="not_the_reviewer")
    if reviewer.clearance < document.secrecy:
        raise DocumentError(
            _("Your clearance does not cover this document."), code="clearance_required"
        )
    return document, step


@transaction.atomic
def do_approve(
    document: Document, reviewer: Person, *, comment: str = "", request: HttpRequest | None = None
) -> ReviewStep:
    """The reviewer whose turn it is approves; after the last one, the signer's turn."""
    from tiendon.documents.deadlines import reminders as deadlines

    document, step = _turn(document, reviewer)
    step.decision = ReviewStep.Decision.APPROVED
    step.comment = _comment(comment, required=False)
    step.decided_at = timezone.now()
    step.save(update_fields=["decision", "comment", "decided_at"])
    last = current_step(document) is None
    do_record(
        "documents.review_approved",
        actor=reviewer,
        obj=document,
        unit=document.issuing_unit,
        new={
            "round": step.round,
            "position": step.position,
            "version": step.version,
            "comment": step.comment,
            "last": last,
        },
        request=request,
    )
    deadlines.announce_turn(document, actor=reviewer, request=request)  # the next one's turn
    return step


@transaction.atomic
def do_return_for_changes(
    document: Document, reviewer: Person, *, comment: str, request: HttpRequest | None = None
) -> ReviewStep:
    """The reviewer sends the draft back to the drafter, saying why; the round ends."""
    document, step = _turn(document, reviewer)
    step.comment = _comment(comment, required=True)
    step.decision = ReviewStep.Decision.RETURNED
    step.decided_at = step_time = timezone.now()
    step.save(update_fields=["decision", "comment", "decided_at"])
    ReviewStep.objects.filter(
        document=document, round=step.round, decision=ReviewStep.Decision.PENDING
    ).update(decision=ReviewStep.Decision.CANCELLED, decided_at=step_time)
    document.state = Document.State.DRAFT
    document.save(update_fields=["state", "updated_at"])
    document_saved(document, ["state", "updated_at"])
    do_record(
        "documents.review_returned",
        actor=reviewer,
        obj=document,
        unit=document.issuing_unit,
        new={
            "round": step.round,
            "position": step.position,
            "version": step.version,
            "comment": step.comment,
        },
        request=request,
    )
    return step


def _comment(text: str, *, required: bool) -> str:
    text = nfc(text or "").strip()
    if required and not text:
        raise InvalidInput(_("Say why the draft goes back."), code="comment_required")
    if len(text) > COMMENT_MAX:
        raise InvalidInput(
            _("At most %(max)s characters.") % {"max": COMMENT_MAX},
            code="comment_too_long",
            field="comment",
        )
    return text
