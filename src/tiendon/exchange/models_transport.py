"""Nodes, the units they serve, and the outbox of envelopes waiting for their next hop."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tiendon.exchange.envelope import PRECEDENCES


class Node(models.Model):
    """This node and its neighbours (parent, children, peers) in the federation."""

    class Relation(models.TextChoices):
        SELF = "self", _("This node")
        PARENT = "parent", _("Parent node")
        CHILD = "child", _("Child node")
        PEER = "peer", _("Peer node")

    name = models.CharField(max_length=64, unique=True)
    relation = models.CharField(max_length=8, choices=Relation.choices)
    base_url = models.URLField(blank=True)  # empty for a child that pulls (behind NAT)
    pulls = models.BooleanField(default=False)  # it fetches from us; we never push to it
    secret_fit = models.BooleanField(default=False)  # declared fit for secret content
    out_seq = models.PositiveBigIntegerField(default=0)  # last channel number given to it
    # Every number up to this one has come in on its channel to us (exchange/channels.py).
    in_complete = models.PositiveBigIntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # This node's own certificate for signing requests (relation "self" only).
    certificate = models.ForeignKey(
        "pki.Certificate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["relation"], condition=models.Q(relation="self"), name="one_self_node"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.relation})"


class ServedUnit(models.Model):
    """A node serves this unit and every unit below it not served by another node."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="served")
    unit = models.OneToOneField("units.Unit", on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.unit_id} @ {self.node_id}"


# Higher goes first; the order is envelope.PRECEDENCES' (routine … Hỏa tốc).
PRECEDENCE_RANK = {name: rank for rank, name in enumerate(PRECEDENCES)}


class OutboxItem(models.Model):
    """One envelope waiting for (or given to) one next-hop node, with its retry state."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Being sent")
        DELIVERED = "delivered", _("Delivered to the next node")
        EXPIRED = "expired", _("Not delivered before expiry")
        REFUSED = "refused", _("Refused by the next node")

    envelope = models.ForeignKey(
        "exchange.Envelope", on_delete=models.CASCADE, related_name="outbox"
    )
    destination = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="outbox")
    seq = models.PositiveBigIntegerField()  # channel number: gaps show loss to the receiver
    rank = models.PositiveSmallIntegerField()  # precedence: higher goes first
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["envelope", "destination"], name="outbox_once"),
            models.UniqueConstraint(fields=["destination", "seq"], name="outbox_channel_seq"),
        ]
        indexes = [
            models.Index(fields=["destination", "state", "next_attempt_at"]),
            # What a worker claims (worker.claim), in its order, over the items still to
            # send only: delivered ones stay as history, and without this every claim
            # scanned all of them (1.4 ms at 8,000 rows, growing with every envelope).
            models.Index(
                fields=["-rank", "next_attempt_at", "seq"],
                condition=models.Q(state__in=["queued", "sending"]),
                name="outbox_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.envelope_id} → {self.destination_id} #{self.seq} ({self.state})"


class ChannelSeen(models.Model):
    """A number that came in on a neighbour's channel to us (its envelope accepted or
    refused), above that channel's complete prefix: the holes between them are loss."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveBigIntegerField()
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["node", "seq"], name="channel_seen_once"),
        ]

    def __str__(self) -> str:
        return f"{self.node_id} #{self.seq}"
