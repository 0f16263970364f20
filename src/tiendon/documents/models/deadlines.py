"""Processing deadlines (hạn xử lý) and in-app reminders."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DueDate(models.Model):
    """The processing deadline (hạn xử lý) a document carries in its metadata."""

    document = models.OneToOneField(
        "documents.Document", on_delete=models.CASCADE, related_name="due"
    )
    due_date = models.DateField()
    # The person who must act by then (the drafter unless someone else is named).
    person = models.ForeignKey(
        "units.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    set_by = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["due_date"])]

    def __str__(self) -> str:
        return f"{self.document_id} due {self.due_date}"


class Reminder(models.Model):
    """An in-app reminder of one person, made at the moment something becomes theirs to do
    (`deadlines.reminders`): a draft to review or sign, a signed document to issue, an
    arrival to register, a registered one to assign, an assignment, a draft returned, a
    recall to answer (kind "turn", or "urgent" for Hỏa tốc and Thượng khẩn); or an outgoing
    document or assignment overdue or due soon (made by the worker's daily pass).
    Exactly one of `document` and `incoming` is set."""

    class Kind(models.TextChoices):
        OVERDUE = "overdue", _("Overdue")
        DUE_SOON = "due_soon", _("Due soon")
        URGENT = "urgent", _("Urgent document")
        ASSIGNED = "assigned", _("Assigned to you")
        TURN = "turn", _("Your turn")

    class Step(models.TextChoices):
        """What is asked of the person (a hand-off's reminder)."""

        NONE = "", ""
        REVIEW = "review", _("Waiting for your review")
        SIGN = "sign", _("Waiting for your signature")
        ISSUE = "issue", _("Signed, waiting to be issued")
        RETURNED = "returned", _("Returned to you for changes")
        REGISTER = "register", _("Arrived, waiting to be registered")
        ASSIGN = "assign", _("Registered, waiting to be assigned")
        RECALL = "recall", _("Recall request waiting for an answer")
        ASSIGNED = "assigned", _("Assigned to you")
        REFUSED = "refused", _("Refused by a recipient")

    person = models.ForeignKey("units.Person", on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    incoming = models.ForeignKey(
        "documents.IncomingDocument",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    step = models.CharField(max_length=16, choices=Step.choices, blank=True, default="")
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "document", "kind", "due_date"], name="reminder_unique"
            ),
            models.UniqueConstraint(
                fields=["person", "incoming", "kind", "due_date"],
                condition=models.Q(incoming__isnull=False, due_date__isnull=False),
                name="reminder_incoming_unique",
            ),
            # A hand-off reminds once while unread: the same step again (a draft submitted
            # a second time) reminds anew once the first was read.
            *(
                models.UniqueConstraint(
                    fields=["person", target, "kind", "step"],
                    condition=models.Q(
                        read_at__isnull=True, due_date__isnull=True, **{f"{target}__isnull": False}
                    ),
                    name=f"reminder_unread_{target}_step_once",
                )
                for target in ("document", "incoming")
            ),
            models.CheckConstraint(
                condition=models.Q(document__isnull=False) | models.Q(incoming__isnull=False),
                name="reminder_has_subject",
            ),
        ]
        indexes = [models.Index(fields=["person", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.document_id or self.incoming_id} for {self.person_id}"

    # For the pages (deadlines.unread_reminders selects the related rows and masks).
    @property
    def subject(self) -> models.Model:
        return self.document if self.document is not None else self.incoming  # type: ignore[return-value]

    @property
    def urgency(self) -> str:
        return str(self.subject.urgency)  # type: ignore[attr-defined]

    @property
    def pinned(self) -> bool:
        """Hỏa tốc and Thượng khẩn: on top everywhere (deadlines.PINNED_URGENCIES)."""
        return self.urgency in ("hoa_toc", "thuong_khan")

    @property
    def url(self) -> str:
        from django.urls import reverse

        if self.document is not None:
            return reverse("document_detail", args=[self.document.pk])
        return reverse("incoming_detail", args=[self.subject.pk])

    @property
    def title(self) -> str:
        from django.utils.translation import gettext

        if self.document is not None:
            return f"{self.document.get_doc_type_display()}: {self.document.subject}"
        assert self.incoming is not None
        subject = self.incoming.subject or gettext("(secret document)")
        number = self.incoming.number_and_symbol
        return f"{number} {subject}" if number else subject

    @property
    def urgency_label(self) -> str:
        from tiendon.documents.models import Urgency

        return "" if self.urgency == "normal" else str(Urgency(self.urgency).label)
