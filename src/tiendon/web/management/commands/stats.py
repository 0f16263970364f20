"""`tiendon stats [--json]`: counts of units, commune boards, people, audit records and
certificates.

Each section is one function in SECTIONS; a later feature adds its figures by appending
a `Section` there (name, title, function returning a dict of counts or a single count).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tiendon.audit.models import AuditRecord
from tiendon.documents.queries import documents_by_state, documents_stats_labels
from tiendon.documents.search.index import stats as search_index_stats
from tiendon.exchange.queries import envelopes_by_state, handoff_totals, outbox_by_destination
from tiendon.pki.queries import certificates_by_state
from tiendon.readiness.queries import STATS_LABELS as READINESS_LABELS
from tiendon.readiness.queries import STATS_TITLE as READINESS_TITLE
from tiendon.readiness.queries import counts_by_state as readiness_by_state
from tiendon.units.models import CommuneType, Person, Role, Unit, UnitKind

Figures = dict[str, int] | dict[str, int | None] | int


def _count_by(queryset: Any, field_name: str, keys: list[str]) -> dict[str, int]:
    """Counts per value of `field_name`, every key present (zero included)."""
    counts = dict(
        queryset.order_by()
        .values_list(field_name)
        .annotate(n=Count("pk"))
        .values_list(field_name, "n")
    )
    return {key: counts.get(key, 0) for key in keys}


def units_by_kind() -> dict[str, int]:
    return _count_by(Unit.objects.all(), "kind", list(UnitKind.values))


def commune_boards() -> dict[str, int]:
    boards = Unit.objects.filter(kind=UnitKind.COMMUNE_BOARD)
    counts = _count_by(boards, "commune_type", list(CommuneType.values))
    return {**counts, "total": sum(counts.values())}


def people_by_role() -> dict[str, int]:
    counts = _count_by(Person.objects.all(), "role", list(Role.values))
    return {**counts, "total": sum(counts.values())}


def audit_records() -> int:
    return AuditRecord.objects.count()


@dataclass(frozen=True)
class Section:
    name: str  # the key in the JSON output
    title: str | Promise  # heading of the table
    figures: Callable[[], Figures]
    labels: dict[str, Any] | None = None  # row labels for the table, by key


SECTIONS: list[Section] = [
    Section("units", gettext_lazy("Units by kind"), units_by_kind, dict(UnitKind.choices)),
    Section(
        "commune_boards",
        gettext_lazy("Commune boards"),
        commune_boards,
        {**dict(CommuneType.choices), "total": gettext_lazy("Total")},
    ),
    Section(
        "people",
        gettext_lazy("People by role"),
        people_by_role,
        {**dict(Role.choices), "total": gettext_lazy("Total")},
    ),
    Section("audit_records", gettext_lazy("Audit records"), audit_records),
    Section(
        "certificates",
        gettext_lazy("Certificates by state"),
        certificates_by_state,
        {
            "current": gettext_lazy("Current"),
            "superseded": gettext_lazy("Superseded (rotated)"),
            "expired": gettext_lazy("Expired"),
            "revoked": gettext_lazy("Revoked"),
            "total": gettext_lazy("Total"),
        },
    ),
    Section(
        "envelopes",
        gettext_lazy("Envelopes"),
        envelopes_by_state,
        {
            "envelopes": gettext_lazy("Envelopes held"),
            "deliveries_pending": gettext_lazy("Deliveries waiting"),
            "deliveries_arrived": gettext_lazy("Deliveries arrived"),
            "deliveries_undelivered": gettext_lazy("Deliveries expired undelivered"),
        },
    ),
    Section(
        "outbox",
        gettext_lazy("Outbox by next node (waiting; oldest undelivered, seconds)"),
        outbox_by_destination,
        {"expired": gettext_lazy("Expired before delivery")},
    ),
    Section(
        "handoffs",
        gettext_lazy("Deliveries handed to the apps"),
        handoff_totals,
        {
            "waiting": gettext_lazy("Waiting for their app"),
            "failing": gettext_lazy("Failing, to be tried again"),
            "done": gettext_lazy("Handled"),
            "oldest_waiting_s": gettext_lazy("Oldest waiting, seconds"),
        },
    ),
    Section("readiness", READINESS_TITLE, readiness_by_state, READINESS_LABELS),
    Section(
        "documents",
        gettext_lazy("Documents: sent by state, received by status"),
        documents_by_state,
        documents_stats_labels(),
    ),
    Section(
        "search_index",
        gettext_lazy("Search index (documents in it; changes queued; oldest, seconds)"),
        search_index_stats,
        {
            "documents": gettext_lazy("Documents in the index"),
            "queued": gettext_lazy("Changes queued"),
            "oldest_queued_s": gettext_lazy("Oldest queued, seconds"),
        },
    ),
]


def collect() -> dict[str, Figures]:
    return {section.name: section.figures() for section in SECTIONS}


class Command(BaseCommand):
    help = "Print counts of units, commune boards, people and audit records."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(collect(), ensure_ascii=False, indent=2))
            return
        for section in SECTIONS:
            figures = section.figures()
            if isinstance(figures, int):
                self.stdout.write(f"{section.title}: {figures}")
                continue
            self.stdout.write(str(section.title))
            labels = section.labels or {}
            rows = [(str(labels.get(key, key)), value) for key, value in figures.items()]
            width = max(len(label) for label, _value in rows)
            for label, value in rows:
                shown = "-" if value is None else value  # None: not yet measured
                self.stdout.write(f"  {label.ljust(width)}  {shown:>7}")
        self.stdout.write(_("(machine-readable: tiendon stats --json)"))
