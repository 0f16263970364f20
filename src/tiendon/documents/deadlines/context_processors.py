"""The reminders' banner of the shell (web/base.html): on every page, a person's unread
reminders, Hỏa tốc and Thượng khẩn ones pinned on top, until dismissed. It only reads:
urgent deliveries are announced when the dispatcher takes them in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tiendon.units.models import Person

BANNER_ITEMS = 3  # pinned items shown in the banner; the rest are on the deadlines page


def _banner(request: HttpRequest) -> dict[str, Any]:
    from tiendon.documents.deadlines import reminders as deadlines

    viewer = getattr(request, "user", None)
    if not isinstance(viewer, Person):
        return {"count": 0, "pinned": []}
    reminders = deadlines.unread_reminders(viewer)
    pinned = [r for r in reminders if r.pinned]
    return {"count": len(reminders), "pinned": pinned[:BANNER_ITEMS]}


def reminders(request: HttpRequest) -> dict[str, Any]:
    """`shell_reminders` (count, pinned): worked out only when a template reads it."""
    return {"shell_reminders": SimpleLazyObject(lambda: _banner(request))}
