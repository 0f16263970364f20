"""Canonical form and hashing of audit records, shared by appending and verifying."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

GENESIS_HASH = "0" * 64
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RecordContent:
    seq: int
    at: datetime
    actor_id: int | None
    actor_label: str
    unit_id: int | None
    action: str
    object_type: str
    object_id: str
    old: Any
    new: Any
    client_address: str | None
    prev_hash: str

    def canonical(self) -> bytes:
        """Deterministic JSON: sorted keys, no spaces, time as integer microseconds (UTC)."""
        body = {
            "seq": self.seq,
            "at": (self.at - EPOCH) // timedelta(microseconds=1),
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "unit": self.unit_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "old": self.old,
            "new": self.new,
            "client_address": self.client_address,
            "prev": self.prev_hash,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()
