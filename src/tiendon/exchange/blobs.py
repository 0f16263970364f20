"""Envelope bytes: small ones in the database (EnvelopeBytes, in the storing transaction),
larger ones on disk under the data folder, written whole or not at all."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from tiendon.exchange.envelope import EnvelopeError


def blob_path(envelope_id: str) -> Path:
    return Path(settings.DATA_DIR) / "envelopes" / envelope_id[:2] / f"{envelope_id}.tde"


def write_blob(envelope_id: str, data: bytes) -> None:
    """Write to a temporary name, flush to disk, then link it in place: a crash leaves no
    half file, and a file already there is never overwritten."""
    path = blob_path(envelope_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)
    except FileExistsError:
        # Another delivery of this id got here first (or left its bytes before failing):
        # the same bytes are fine; other bytes under the same id are a replay.
        if hashlib.sha256(path.read_bytes()).digest() != hashlib.sha256(data).digest():
            raise EnvelopeError(
                f"envelope {envelope_id} is already held with other content", code="replay"
            ) from None
    finally:
        temporary.unlink(missing_ok=True)


# Up to this size an envelope lives in the database row; above it, in a file.
INLINE_MAX = 256 * 1024


def is_inline(size: int) -> bool:
    return size <= INLINE_MAX


def read_envelopes(ids: Iterable[str | uuid.UUID]) -> dict[str, bytes]:
    """The stored bytes of envelopes, by id: the small ones in one query, the rest from
    their files."""
    from tiendon.exchange.models import EnvelopeBytes

    wanted = [str(i) for i in ids]
    found = {
        str(envelope_id): bytes(data)
        for envelope_id, data in EnvelopeBytes.objects.filter(envelope_id__in=wanted).values_list(
            "envelope_id", "data"
        )
    }
    for envelope_id in wanted:
        if envelope_id not in found:
            found[envelope_id] = blob_path(envelope_id).read_bytes()
    return found


def read_blob(envelope_id: str) -> bytes:
    """One envelope's stored bytes, wherever they are kept."""
    return read_envelopes([envelope_id])[str(envelope_id)]
