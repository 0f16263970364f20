"""Nonces of node-to-node requests already accepted, kept only as long as a replay of
them could still pass the clock check (see `tiendon.exchange.nodeauth`)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SeenNonce(models.Model):
    """One accepted request's nonce; the unique constraint is what refuses a replay, so two
    concurrent uses of one nonce cannot both be accepted."""

    node = models.CharField(max_length=64)  # the sending node's name
    nonce = models.CharField(max_length=24)  # base64url of 16 random bytes, as sent
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("seen request nonce")
        verbose_name_plural = _("seen request nonces")
        constraints = [
            models.UniqueConstraint(fields=["node", "nonce"], name="seen_nonce_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.node} {self.nonce}"
