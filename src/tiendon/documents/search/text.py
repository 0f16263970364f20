"""What both searches share, the database's and the Tantivy index's: the fields a search
entry is made from, diacritics folding, the start of a day, the key of a result, and the
order of ties."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from typing import Any

from django.utils import timezone

INDEXED_FIELDS = frozenset(
    {
        "subject",
        "body",
        "uploaded_pdf",
        "secrecy",
        "number",
        "symbol",
        "doc_type",
        "issuing_unit",
        "created_at",
    }
)


# A result: an outgoing document's id (UUID), or a received document's (IncomingDocument).
Key = uuid.UUID | int


def key_of(document_id: uuid.UUID | None, incoming_id: int | None) -> Key:
    """The key of a search entry's row, from its two columns (exactly one is set)."""
    if document_id is not None:
        return document_id
    assert incoming_id is not None
    return incoming_id


def fold(text: str) -> str:
    """Lower case without diacritics: 'Đào tạo' → 'dao tao'. Đ/đ is a letter of its own to
    Unicode (no decomposition), so it is mapped to d explicitly."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare).lower()


def start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def newest_first_on_ties(rows: list[Any]) -> list[Key]:
    """Rows (id, distance, date) already by distance: equal distances, newest first."""
    by_date = sorted(rows, key=lambda row: row[2], reverse=True)
    return [row[0] for row in sorted(by_date, key=lambda row: row[1])]
