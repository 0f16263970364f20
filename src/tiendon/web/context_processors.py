"""`shell`: the side navigation of every page, with its counts, worked out only when a
template reads it (a page for the anonymous never does)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tiendon import shell as registry
from tiendon.units.models import Person


def _shell(request: HttpRequest) -> dict[str, Any]:
    person = getattr(request, "user", None)
    if not isinstance(person, Person):
        return {"links": [], "queue": [], "waiting": 0}
    counts = registry.work_counts(person)
    links = registry.navigation(person, counts)
    # The section a page belongs to: the link whose address begins the page's the longest.
    within = [link for link in links if link.url != "/" and request.path.startswith(link.url)]
    return {
        "links": links,
        "section": max(within, key=lambda link: len(link.url), default=None),
        # The list itself only where a template reads it (the home page).
        "queue": SimpleLazyObject(lambda: registry.work_queue(person)),
        "waiting": sum(counts.values()),
    }


def shell(request: HttpRequest) -> dict[str, Any]:
    return {"shell": SimpleLazyObject(lambda: _shell(request))}
