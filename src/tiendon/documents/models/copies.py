"""Certified copies (bản sao y, trích sao, sao lục) made and received."""

from __future__ import annotations

import uuid

from django.db import models


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
