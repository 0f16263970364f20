"""What the documents pages share: the person behind a request, and an action run with its
refusal shown to that person. `OutOfScope` is passed on untouched, so the middleware audits
the denial and answers 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from tiendon.errors import OutOfScope, TiendonError
from tiendon.units.models import Person


def person_of(request: HttpRequest) -> Person:
    person = request.user
    if not isinstance(person, Person):
        raise PermissionDenied("a person of a unit is needed")
    return person


def run_action(
    request: HttpRequest, work: Callable[[], Any], done: Callable[[Any], str] | None = None
) -> bool:
    """Runs `work`; a refusal becomes a message on the next page and False. `done(result)`
    says what happened and what comes next, shown on the next page."""
    try:
        result = work()
    except TiendonError as exc:
        messages.error(request, shown(exc))
        return False
    if done is not None:
        messages.success(request, done(result))
    return True


def shown(exc: TiendonError) -> str:
    """A refusal as the page shows it; `OutOfScope` is raised on, for the middleware."""
    if isinstance(exc, OutOfScope):
        raise exc
    return f"{exc.message} ({exc.code})"


def page_number(request: HttpRequest) -> int:
    """`?page=` as a page number from 1 (anything else, another script's digits or a
    number past a million, is page 1)."""
    asked = request.GET.get("page", "1")
    return max(int(asked), 1) if asked.isascii() and asked.isdigit() and len(asked) < 7 else 1
