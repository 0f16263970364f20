"""What the dispatcher keeps: each arrived delivery's hand-off to the app that owns its
kind, and statuses that came before the one they follow."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Handoff(models.Model):
    """One arrived delivery (an envelope to one unit served here) to hand to its kind's
    handler; written in the transaction that stores the delivery, marked done in the one
    where the handler's work commits, so a handler's effects happen once whatever dies."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting for its handler")
        DONE = "done", _("Handled")

    envelope = models.ForeignKey("exchange.Envelope", on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=64)
    rank = models.PositiveSmallIntegerField()  # precedence: Hỏa tốc (3) first
    state = models.CharField(max_length=8, choices=State.choices, default=State.WAITING)
    due_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=300, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    # A receipt's statuses as the transport applied them (exchange.receipt only).
    report = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["envelope", "unit"], name="handoff_once_per_delivery")
        ]
        indexes = [
            models.Index(
                fields=["-rank", "due_at"],
                condition=models.Q(state="waiting"),
                name="exchange_handoff_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.envelope_id} → {self.unit_id} ({self.state})"


class ParkedStatus(models.Model):
    """A status that arrived before the one it follows (receipts may cross on the wire):
    kept, audited, and applied when its predecessor comes."""

    envelope = models.ForeignKey("exchange.Envelope", on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=2)
    at = models.DateTimeField()
    note = models.TextField(blank=True)
    receipt = models.ForeignKey("exchange.Envelope", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["receipt", "envelope", "unit"], name="parked_status_once"
            )
        ]
        indexes = [models.Index(fields=["envelope", "unit"])]

    def __str__(self) -> str:
        return f"{self.code} on {self.envelope_id} by {self.unit_id} (parked)"
