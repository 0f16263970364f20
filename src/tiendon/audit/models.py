"""The append-only, hash-chained audit log: one chain per node.

Each record stores the SHA-256 of the record before it and of its own canonical
content, so editing, deleting or inserting a record breaks the chain at that point.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChainHead(models.Model):
    """The single row that serialises appends: holds the last sequence number and hash."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"head at #{self.last_seq}"


class AuditRecord(models.Model):
    seq = models.BigIntegerField(unique=True, verbose_name=_("sequence"))
    at = models.DateTimeField(verbose_name=_("time"))
    # Lazy references: audit sits below the units app and never imports it.
    actor = models.ForeignKey(
        "units.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(max_length=200, blank=True, verbose_name=_("actor name"))
    unit = models.ForeignKey(
        "units.Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        verbose_name=_("unit"),
    )
    action = models.CharField(max_length=64, db_index=True, verbose_name=_("action"))
    object_type = models.CharField(max_length=64, blank=True, verbose_name=_("object type"))
    object_id = models.CharField(max_length=64, blank=True, verbose_name=_("object id"))
    old = models.JSONField(null=True, blank=True, verbose_name=_("old values"))
    new = models.JSONField(null=True, blank=True, verbose_name=_("new values"))
    client_address = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"
