"""Statuses that came back from recipients, and which receipts were read."""

from __future__ import annotations

from django.db import models


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
