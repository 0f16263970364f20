"""A batch of envelopes in one request body: each one prefixed by its length (u32, big-endian)."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Sequence

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


def batch(seqs: Sequence[int], envelopes: Sequence[bytes]) -> bytes:
    """A push or pull body: first a JSON frame {"seqs": [...]} (each envelope's number on
    the sender's channel to the receiver, in order), then the envelopes."""
    header = json.dumps({"seqs": list(seqs)}).encode()
    return frame([header, *envelopes])


def read_batch(body: bytes, *, limit: int = 1000) -> tuple[list[int], list[bytes]]:
    header, *envelopes = unframe(body, limit=limit + 1) or [b""]
    try:
        seqs = json.loads(header)["seqs"]
    except (ValueError, KeyError, TypeError) as exc:
        raise EnvelopeError("the batch has no channel-number header", code="malformed") from exc
    if (
        not isinstance(seqs, list)
        or len(seqs) != len(envelopes)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in seqs)
    ):
        raise EnvelopeError("the batch's channel numbers do not match it", code="malformed")
    return seqs, envelopes
