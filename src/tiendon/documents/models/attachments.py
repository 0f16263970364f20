"""Attachments (tệp đính kèm) of outgoing and received documents."""

from __future__ import annotations

from django.db import models

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
