"""Attachments (tệp đính kèm), certified copies (bản sao y, trích sao, sao lục) and the
review trail of drafts. Lazy model references only, so this imports no other model module
(models.py imports it, as it does docsearch_models)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

ATTACHMENT_NAME_MAX = 120


class Attachment(models.Model):
    """A PDF attached to an outgoing document: as uploaded while drafting, and signed by
    the organisation (top right of page 1) once the document is issued."""

    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, related_name="attachments"
    )
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=ATTACHMENT_NAME_MAX)
    content = models.BinaryField()
    signed = models.BinaryField(null=True, blank=True)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    added_by = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "name"], name="attachment_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class IncomingAttachment(models.Model):
    """An attachment of a received document: its name, hash and verification result. The
    bytes stay inside the encrypted envelope, like the document's PDF."""

    incoming = models.ForeignKey(
        "documents.IncomingDocument", on_delete=models.CASCADE, related_name="attachments"
    )
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=ATTACHMENT_NAME_MAX)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    verification = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["incoming", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["incoming", "name"], name="incoming_attachment_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def verified(self) -> bool:
        return bool(self.verification) and all(v.get("bottom_line") for v in self.verification)


class CopyForm(models.TextChoices):
    """Hình thức bản sao (Decree 30, Article 25), with the Appendix III abbreviations."""

    SAO_Y = "SY", "Sao y"
    TRICH_SAO = "TrS", "Trích sao"
    SAO_LUC = "SL", "Sao lục"


class CertifiedCopy(models.Model):
    """A certified copy made by one unit of a document it received (or issued), with its own
    number per copying unit, year and form, signed by the copying unit and sent down."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    copying_unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    form = models.CharField(max_length=4, choices=CopyForm.choices)
    source_incoming = models.ForeignKey(
        "documents.IncomingDocument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="copies",
    )
    source_document = models.ForeignKey(
        "documents.Document", on_delete=models.PROTECT, null=True, blank=True, related_name="copies"
    )
    pages = models.JSONField(default=list, blank=True)  # trích sao: the pages copied, 1-based
    # The original's metadata (issuer, number and symbol, date, type, subject, signer).
    original = models.JSONField(default=dict)
    subject = models.CharField(max_length=500)
    doc_type = models.CharField(max_length=24)
    urgency = models.CharField(max_length=16)
    secrecy = models.PositiveSmallIntegerField()
    series = models.CharField(max_length=16)
    year = models.PositiveSmallIntegerField()
    number = models.PositiveIntegerField()
    symbol = models.CharField(max_length=64)  # "SY-BCHQS"
    pdf = models.BinaryField()  # the copy, signed by the copying unit
    original_pdf = models.BinaryField()  # the original's bytes, its signatures untouched
    recipient_spec = models.JSONField(default=list)
    envelope_id = models.UUIDField(null=True, blank=True, unique=True)
    made_by = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField()
    # A sao lục of one of the unit's own copies: that copy (the source_* above are then the
    # copied copy's, so the copies made of a received document are all found from it).
    source_copy = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="sao_luc"
    )
    depth = models.PositiveSmallIntegerField(default=1)  # copiers' stamps on the page
    # Recall (13), like a document's: the request's envelope, the reason and the time.
    recall_envelope_id = models.UUIDField(null=True, blank=True)
    recall_reason = models.TextField(blank=True)
    recalled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["copying_unit", "year", "series", "number"],
                name="certified_copy_number_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(source_incoming__isnull=False)
                | models.Q(source_document__isnull=False),
                name="certified_copy_has_source",
            ),
        ]

    def __str__(self) -> str:
        return self.number_and_symbol

    @property
    def number_and_symbol(self) -> str:
        return f"{self.number:02d}/{self.symbol}"


class IncomingCopy(models.Model):
    """What a received document says of itself when it is a certified copy: the form, the
    original's metadata and the original's own signature results."""

    incoming = models.OneToOneField(
        "documents.IncomingDocument", on_delete=models.CASCADE, related_name="copy_of"
    )
    form = models.CharField(max_length=4, choices=CopyForm.choices)
    original = models.JSONField(default=dict)
    original_verification = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.form} {self.incoming_id}"

    @property
    def original_verified(self) -> bool:
        return bool(self.original_verification) and all(
            v.get("bottom_line") for v in self.original_verification
        )

    @property
    def original_on_paper(self) -> bool:
        """A copy made from a scanned paper document: the original has no signature of its
        own, and the copying unit's signature on the copy certifies the scan."""
        return (self.original or {}).get("medium") == "paper"


class Reviewer(models.Model):
    """A reviewer chosen for a draft, in order (between the drafter and the signer)."""

    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, related_name="reviewers"
    )
    position = models.PositiveSmallIntegerField()
    person = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["document", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="reviewer_position"),
            models.UniqueConstraint(fields=["document", "person"], name="reviewer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} #{self.position}"


class ReviewStep(models.Model):
    """One reviewer's turn in one round of review (a round starts at each submission)."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("Waiting")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned to the drafter")
        CANCELLED = "cancelled", _("Not reached")

    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, related_name="review_steps"
    )
    round = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()
    reviewer = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField()  # the draft version reviewed
    decision = models.CharField(max_length=16, choices=Decision.choices, default=Decision.PENDING)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["document", "round", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "round", "position"], name="review_step_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} r{self.round} #{self.position}: {self.decision}"


class StatusEvent(models.Model):
    """One status a recipient unit reported on an envelope this node's unit sent (the
    sender's history, not only the latest): read once from the exchange's signed receipts
    (`history.py`), one row per receipt and envelope it names."""

    envelope_id = models.UUIDField()  # the document's (or copy's) envelope
    unit = models.ForeignKey("units.Unit", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=2)
    at = models.DateTimeField()
    note = models.TextField(blank=True)
    receipt_id = models.UUIDField()

    class Meta:
        ordering = ["envelope_id", "unit", "at", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["receipt_id", "envelope_id", "unit"], name="status_event_once"
            )
        ]
        indexes = [models.Index(fields=["envelope_id", "unit", "at"])]

    def __str__(self) -> str:
        return f"{self.envelope_id} {self.unit_id}: {self.code}"


class ReceiptRead(models.Model):
    """A receipt to a sending unit already read into `StatusEvent` rows (or unreadable:
    then `error` says why), so each is decrypted once."""

    receipt_id = models.UUIDField()
    unit = models.ForeignKey("units.Unit", on_delete=models.CASCADE, related_name="+")
    error = models.CharField(max_length=200, blank=True)
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["receipt_id", "unit"], name="receipt_read_once")
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id} for {self.unit_id}"
