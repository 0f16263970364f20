"""A batch of envelopes in one request body: each one prefixed by its length (u32, big-endian)."""

from __future__ import annotations

import struct
from collections.abc import Iterable

from tiendon.exchange.envelope import MAX_ENVELOPE_BYTES, EnvelopeError


def frame(envelopes: Iterable[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(data)) + data for data in envelopes)


def unframe(body: bytes, *, limit: int = 1000) -> list[bytes]:
    items, offset = [], 0
    while offset < len(body):
        if offset + 4 > len(body):
            raise EnvelopeError("the batch is cut inside a length prefix", code="malformed")
        (size,) = struct.unpack(">I", body[offset : offset + 4])
        if size > MAX_ENVELOPE_BYTES or offset + 4 + size > len(body):
            raise EnvelopeError("an envelope in the batch is cut short", code="malformed")
        items.append(body[offset + 4 : offset + 4 + size])
        offset += 4 + size
        if len(items) > limit:
            raise EnvelopeError(f"more than {limit} envelopes in one batch", code="oversized")
    return items
