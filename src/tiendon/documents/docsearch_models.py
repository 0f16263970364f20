"""Models of search, deadlines and case files (hồ sơ công việc) for documents.

Kept apart from `models.py` (imported from it) and referring to documents and people by
lazy references only, so this module never imports the core models.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class SearchEntry(models.Model):
    """The searchable text of one document, kept in step with it by `search.index_document`.

    `exact` is the text in NFC, lower case, diacritics kept; `folded` is the same text with
    every diacritic removed and đ folded to d. SQLite indexes both in an FTS5 table kept in
    sync by triggers; PostgreSQL indexes `tiendon_fold(exact)` with a GIN index that carries
    the issuing unit too (btree_gin), and both vectors with RUM indexes where the extension
    is installed (migration 0007, ADR 0009). A secret document's entry holds its number and symbol
    only (DESIGN.md: secret documents are indexed by number, issuer and date), never its
    subject or content.
    """

    document = models.OneToOneField(
        "documents.Document", on_delete=models.CASCADE, related_name="search_entry"
    )
    exact = models.TextField(blank=True)
    folded = models.TextField(blank=True)
    # Text of the uploaded PDF (pdftotext), kept so a re-index does not extract again.
    pdf_text = models.TextField(blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Copied from the document (by `index_document`, and by a database trigger whenever a
    # document's unit, secrecy or date changes) so that a search ranks inside this table
    # alone: the scope and clearance of `queries.search_entries_visible_to` and the
    # newest-first tie-break. docs/adr/0008-search-scope-in-the-index.md says why.
    issuing_unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    secrecy = models.PositiveSmallIntegerField(default=0)
    document_created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"search entry of {self.document_id}"


class SearchQueueItem(models.Model):
    """A document whose change has not reached the node's Tantivy index yet (written in the
    transaction of the change; the indexer deletes it once the index holds the change).
    Only written when the node has the index (`search_index`, ADR 0011)."""

    document_id = models.UUIDField()  # not a foreign key: a removed document is queued too
    queued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"search queue {self.pk}: {self.document_id}"


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


class CaseFile(models.Model):
    """A case file (hồ sơ công việc) of a unit: documents of one matter, under a file code."""

    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=64)  # mã hồ sơ, the file code of the metadata
    title = models.CharField(max_length=500)
    year = models.PositiveSmallIntegerField()
    keeper = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "code"], name="case_file_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class CaseFileEntry(models.Model):
    """A document in a case file, with its ordinal (số thứ tự) inside the file."""

    case_file = models.ForeignKey(CaseFile, on_delete=models.CASCADE, related_name="entries")
    document = models.ForeignKey("documents.Document", on_delete=models.PROTECT, related_name="+")
    ordinal = models.PositiveIntegerField()
    added_by = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case_file", "ordinal"]
        constraints = [
            models.UniqueConstraint(
                fields=["case_file", "document"], name="case_file_document_unique"
            ),
            models.UniqueConstraint(
                fields=["case_file", "ordinal"], name="case_file_ordinal_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_file_id} #{self.ordinal}"


def _reindex(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    # Imported here: the search module needs the core models, which import this module.
    from tiendon.documents.search import on_document_saved
    from tiendon.documents.search_index import on_document_changed

    on_document_saved(instance, update_fields=update_fields)
    on_document_changed(instance.pk, update_fields=update_fields)
    if update_fields is None or "state" in update_fields:
        from tiendon.documents.deadlines import announce_urgent

        announce_urgent(instance)


def _unindex(sender: Any, instance: Any, **kwargs: Any) -> None:
    from tiendon.documents.search_index import on_document_changed

    on_document_changed(instance.pk)


post_save.connect(_reindex, sender="documents.Document", dispatch_uid="documents_search_reindex")
post_delete.connect(_unindex, sender="documents.Document", dispatch_uid="documents_search_unindex")
