"""Envelope bytes on disk, under the data folder: written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def _path(envelope_id: str) -> Path:
    return Path(settings.DATA_DIR) / "envelopes" / envelope_id[:2] / f"{envelope_id}.tde"


def write_blob(envelope_id: str, data: bytes) -> None:
    """Write to a temporary name, flush to disk, then rename: a crash leaves no half file."""
    path = _path(envelope_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".tmp-{os.getpid()}")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def read_blob(envelope_id: str) -> bytes:
    return _path(envelope_id).read_bytes()
