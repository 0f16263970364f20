"""Envelopes held by this node, and their state for each recipient unit.

The envelope bytes are stored as they travel (encrypted, signed) in the blob folder; the
row keeps what routing and the pages need, read from the verified manifest.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Precedence(models.TextChoices):
    """Urgency (độ khẩn), in increasing order; Hỏa tốc goes first and skips backoff."""

    THUONG = "thuong", _("Routine")
    KHAN = "khan", _("Urgent (Khẩn)")
    THUONG_KHAN = "thuong_khan", _("Very urgent (Thượng khẩn)")
    HOA_TOC = "hoa_toc", _("Flash (Hỏa tốc)")


class SecurityLabel(models.TextChoices):
    NONE = "none", _("Not secret")
    MAT = "mat", _("Secret (Mật)")
    TOI_MAT = "toi_mat", _("Top secret (Tối mật)")
    TUYET_MAT = "tuyet_mat", _("Absolutely secret (Tuyệt mật)")


# The clearance (units.Clearance) a person needs to open each label.
CLEARANCE_FOR_LABEL = {"none": 0, "mat": 1, "toi_mat": 2, "tuyet_mat": 3}


class Envelope(models.Model):
    class Origin(models.TextChoices):
        LOCAL = "local", _("Sent from this node")
        RECEIVED = "received", _("Received from another node")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64, db_index=True)
    sender = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    precedence = models.CharField(max_length=16, choices=Precedence.choices)
    security = models.CharField(max_length=16, choices=SecurityLabel.choices)
    created_at = models.DateTimeField()  # from the signed manifest
    expires_at = models.DateTimeField()
    stored_at = models.DateTimeField(auto_now_add=True)
    origin = models.CharField(max_length=16, choices=Origin.choices)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)  # of the whole envelope as stored
    recipient_count = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("envelope")
        verbose_name_plural = _("envelopes")

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class EnvelopeRecipient(models.Model):
    """One recipient unit of an envelope this node holds."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be forwarded")
        ARRIVED = "arrived", _("Arrived")
        UNDELIVERED = "undelivered", _("Not delivered before expiry")

    envelope = models.ForeignKey(Envelope, on_delete=models.CASCADE, related_name="deliveries")
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices)
    arrived_at = models.DateTimeField(null=True, blank=True)
    # The recipient unit's processing status as its signed receipts report it (status.py).
    status = models.CharField(max_length=2, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    status_note = models.TextField(blank=True)  # a refusal's reason, a result, …

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["envelope", "unit"], name="envelope_recipient_unique")
        ]
        indexes = [models.Index(fields=["unit", "state"])]

    def __str__(self) -> str:
        return f"{self.envelope_id} → {self.unit_id} ({self.state})"


class EnvelopeBytes(models.Model):
    """A small envelope's bytes, as they travel, kept in the database with its row: stored
    in the same transaction, so nothing half-stored survives a crash, and read for a whole
    batch in one query. Larger ones go to the blob folder (exchange/blobs.py)."""

    envelope = models.OneToOneField(
        Envelope, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"bytes of {self.envelope_id}"


from tiendon.exchange.models_dispatch import Handoff, ParkedStatus  # noqa: E402, F401
from tiendon.exchange.models_nodeauth import SeenNonce  # noqa: E402, F401
from tiendon.exchange.models_transport import Node, OutboxItem, ServedUnit  # noqa: E402, F401
