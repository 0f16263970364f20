"""Vietnamese sort order for lists: ICU on PostgreSQL, an equivalent key on SQLite.

Vietnamese treats ă, â, đ, ê, ô, ơ, ư as letters of their own (a < ă < â < b … d < đ),
and tones as a secondary difference in the order ngang, huyền, hỏi, ngã, sắc, nặng.
Unicode's default order does neither, so a plain ORDER BY puts "Đ" after "Z".
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import F
from django.db.models.expressions import Combinable, Expression
from django.db.models.functions import Collate
from django.dispatch import receiver

SQLITE_COLLATION = "vi"
POSTGRES_COLLATION = "vi-x-icu"

_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER_ORDER = {letter: index for index, letter in enumerate(_ALPHABET)}
# Combining tone marks, in Vietnamese dictionary order (ngang = 0).
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}

SortKey = tuple[tuple[tuple[int, int], ...], tuple[int, ...], tuple[int, ...]]


def vi_sort_key(text: str) -> SortKey:
    """A key that orders strings as a Vietnamese reader expects (letters, tones, case)."""
    primary: list[tuple[int, int]] = []
    secondary: list[int] = []
    tertiary: list[int] = []
    for char in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", char)
        tone = 0
        kept = []
        for mark in decomposed[1:]:
            if mark in _TONES:
                tone = _TONES[mark]
            else:
                kept.append(mark)
        letter = unicodedata.normalize("NFC", decomposed[0] + "".join(kept))
        lower = letter.lower()
        if lower in _LETTER_ORDER:
            primary.append((3, _LETTER_ORDER[lower]))
        elif lower.isdigit():
            primary.append((2, ord(lower)))
        elif lower.isspace() or not lower.isalnum():
            primary.append((1, ord(lower)))
        else:
            primary.append((4, ord(lower)))
        secondary.append(tone)
        tertiary.append(0 if letter == lower else 1)
    return tuple(primary), tuple(secondary), tuple(tertiary)


def _compare(left: str, right: str) -> int:
    a, b = vi_sort_key(left), vi_sort_key(right)
    return (a > b) - (a < b)


@receiver(connection_created)
def _register_sqlite_collation(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_collation(SQLITE_COLLATION, _compare)


def vi_collate(field: str | Expression, vendor: str) -> Combinable:
    """`field` (a name or an expression) under the Vietnamese collation of the given
    database vendor."""
    expression = F(field) if isinstance(field, str) else field
    if vendor == "postgresql":
        return Collate(expression, POSTGRES_COLLATION)
    if vendor == "sqlite":
        return Collate(expression, SQLITE_COLLATION)
    return expression
