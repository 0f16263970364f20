"""The shell's registry: the entries of the side navigation (each with its count where one
makes sense) and the sources of "Việc cần làm", the work queue on the home page.

Apps add theirs in `AppConfig.ready()` (docs/architecture.md, "Adding an app"), so no app
edits the shell's templates, and the shell (`tiendon.web`) knows no app. A count or a queue
source reads through the app's `queries` (scope and clearance) and never writes; it runs
once per page, so it must cost a bounded number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.urls import reverse


class WorkItem(Protocol):
    """One thing waiting on a person: what to do, on what, where to do it."""

    @property
    def step(self) -> str: ...
    @property
    def step_label(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def urgency_label(self) -> str: ...
    @property
    def pinned(self) -> bool: ...
    @property
    def due(self) -> dt.date | None: ...

    def key(self) -> tuple[Any, ...]: ...


@dataclass(frozen=True)
class Entry:
    """A link of the side navigation, in `order` (10 the work queue … 90 administration)."""

    key: str
    label: Any  # a lazy translation
    url_name: str
    order: int
    roles: frozenset[str] | None = None  # None: everyone
    count: Callable[[Any], int] | None = None  # the person → how many wait there
    url_args: Callable[[Any], Sequence[Any]] | None = None  # the person → the URL's args
    # Counted from the work queue: every item, or those with these steps.
    counts_queue: bool = False
    queue_steps: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Link:
    key: str
    label: Any
    url: str
    count: int | None


_ENTRIES: dict[str, Entry] = {}
_QUEUES: dict[str, Callable[[Any], Sequence[WorkItem]]] = {}
_COUNTS: dict[str, Callable[[Any], dict[str, int]]] = {}


def add_entry(entry: Entry) -> None:
    _ENTRIES[entry.key] = entry


def add_queue(
    app: str,
    source: Callable[[Any], Sequence[WorkItem]],
    counts: Callable[[Any], dict[str, int]],
) -> None:
    """`source(person)`: the items waiting on the person in that app (a list may stop at a
    few hundred); `counts(person)`: how many wait at each step, counted whole."""
    _QUEUES[app] = source
    _COUNTS[app] = counts


def work_queue(person: Any) -> list[WorkItem]:
    """Everything waiting on the person, Hỏa tốc first, then by due date."""
    items = [item for source in _QUEUES.values() for item in source(person)]
    return sorted(items, key=lambda item: item.key())


def work_counts(person: Any) -> dict[str, int]:
    """How many items wait on the person at each step, across the apps."""
    counts: dict[str, int] = {}
    for source in _COUNTS.values():
        for step, n in source(person).items():
            counts[step] = counts.get(step, 0) + n
    return counts


def navigation(person: Any, counts: dict[str, int]) -> list[Link]:
    """The person's links, in order, with their counts (`counts`: `work_counts`)."""
    links = []
    for entry in sorted(_ENTRIES.values(), key=lambda e: (e.order, e.key)):
        if entry.roles is not None and person.role not in entry.roles:
            continue
        count = None
        if entry.queue_steps:
            count = sum(n for step, n in counts.items() if step in entry.queue_steps)
        elif entry.counts_queue:
            count = sum(counts.values())
        elif entry.count is not None:
            count = entry.count(person)
        args = entry.url_args(person) if entry.url_args else ()
        links.append(Link(entry.key, entry.label, reverse(entry.url_name, args=args), count))
    return links
