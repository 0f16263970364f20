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
    """An in-app reminder of one person: an outgoing document overdue, due soon or urgent and
    waiting on them; a received document assigned to them (then overdue or due soon); or a
    Hỏa tốc/Thượng khẩn delivery announced to the unit's clerks and commander as soon as it
    is in the inbox (the envelope, before anyone opens it; the received document after).
    Exactly one of `document`, `incoming`, `envelope` is set (`incoming` and `envelope` may
    both be, once the announced delivery is opened). The rules are in deadlines.py."""

    class Kind(models.TextChoices):
        OVERDUE = "overdue", _("Overdue")
        DUE_SOON = "due_soon", _("Due soon")
        URGENT = "urgent", _("Urgent document")
        ASSIGNED = "assigned", _("Assigned to you")

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
    envelope = models.ForeignKey(
        "exchange.Envelope", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
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
            models.UniqueConstraint(
                fields=["person", "envelope", "kind"],
                condition=models.Q(envelope__isnull=False),
                name="reminder_envelope_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(document__isnull=False)
                | models.Q(incoming__isnull=False)
                | models.Q(envelope__isnull=False),
                name="reminder_has_subject",
            ),
        ]
        indexes = [models.Index(fields=["person", "read_at"])]

    def __str__(self) -> str:
        target = self.document_id or self.incoming_id or self.envelope_id
        return f"{self.kind} {target} for {self.person_id}"

    # For the pages (deadlines.unread_reminders selects the related rows and masks).
    @property
    def urgency(self) -> str:
        if self.document is not None:
            return str(self.document.urgency)
        if self.incoming is not None:
            return str(self.incoming.urgency)
        assert self.envelope is not None
        return _URGENCY_OF_PRECEDENCE.get(self.envelope.precedence, "normal")

    @property
    def pinned(self) -> bool:
        """Hỏa tốc and Thượng khẩn: on top everywhere (deadlines.PINNED_URGENCIES)."""
        return self.urgency in ("hoa_toc", "thuong_khan")

    @property
    def url(self) -> str:
        from django.urls import reverse

        if self.document is not None:
            return reverse("document_detail", args=[self.document.pk])
        if self.incoming is not None:
            return reverse("incoming_detail", args=[self.incoming.pk])
        return reverse("incoming_list")

    @property
    def title(self) -> str:
        from django.utils.translation import gettext

        if self.document is not None:
            return f"{self.document.get_doc_type_display()}: {self.document.subject}"
        if self.incoming is not None:
            subject = self.incoming.subject or gettext("(secret document)")
            number = self.incoming.number_and_symbol
            return f"{number} {subject}" if number else subject
        assert self.envelope is not None
        return gettext("A document from %(sender)s, not opened yet") % {
            "sender": self.envelope.sender.name
        }

    @property
    def urgency_label(self) -> str:
        from tiendon.documents.models import Urgency

        return "" if self.urgency == "normal" else str(Urgency(self.urgency).label)


# The exchange's precedence of an envelope as the document's urgency (actions.py maps back).
_URGENCY_OF_PRECEDENCE = {
    "thuong": "normal",
    "khan": "khan",
    "thuong_khan": "thuong_khan",
    "hoa_toc": "hoa_toc",
}
