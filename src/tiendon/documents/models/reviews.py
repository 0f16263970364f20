"""The ordered reviewers of a draft and each step of their review."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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
