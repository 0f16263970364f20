"""Reads for the readiness pages, reports and commands; unit scope is checked here, once.

Every page starts from `scope_unit(viewer, code)`: a person sees readiness for their own
unit and the units below it; anything else is OutOfScope (an audited 404). Roll-ups are
GROUP BY queries over the commune units, whatever their number.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Max, Q, QuerySet, Value, When
from django.db.models.expressions import Expression
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tiendon.errors import OutOfScope
from tiendon.exchange import queries as exchange_queries
from tiendon.pki import queries as pki_queries
from tiendon.readiness.models import BlockingReason, CommuneReadiness, ReadinessSnapshot
from tiendon.readiness.rules import (
    BLOCKED,
    IN_PROGRESS,
    READY,
    active_conditions,
    condition_flags,
    state_expression,
    working_condition,
    working_digitally_measurable,
)
from tiendon.units.collation import vi_collate
from tiendon.units.models import Person, Unit, UnitKind
from tiendon.units.queries import get_visible_unit

ABOVE_PROVINCE = (UnitKind.MINISTRY, UnitKind.MILITARY_REGION)


@dataclass
class Counts:
    """Commune boards by readiness state; `working` is None while it cannot be measured."""

    total: int = 0
    ready: int = 0
    in_progress: int = 0
    blocked: int = 0
    working: int | None = None
    conditions: dict[str, int] = field(default_factory=dict)

    def add(self, state: str, n: int) -> None:
        self.total += n
        if state == READY:
            self.ready += n
        elif state == BLOCKED:
            self.blocked += n
        else:
            self.in_progress += n

    def percent(self, n: int) -> float:
        return round(100 * n / self.total, 1) if self.total else 0.0

    @property
    def ready_percent(self) -> float:
        return self.percent(self.ready)

    def as_dict(self) -> dict[str, int | None]:
        return {
            "total": self.total,
            READY: self.ready,
            IN_PROGRESS: self.in_progress,
            BLOCKED: self.blocked,
            "working_digitally": self.working,
        }


@dataclass
class GroupRow:
    unit: Unit
    counts: Counts


@dataclass
class Signals:
    """Live signals of one commune board; None means nothing seen yet."""

    last_login: dt.datetime | None
    last_sent: dt.datetime | None
    last_received: dt.datetime | None
    node_heartbeat: dt.datetime | None
    node_name: str | None  # None: no edge node serves this unit
    documents_measured: bool
    last_registered: dt.datetime | None = None  # an incoming document registered
    last_status_sent: dt.datetime | None = None  # a processing status sent back
    working: bool | None = None  # None: not measured


# ---------------------------------------------------------------- scope


def scope_unit(viewer: Person, code: str | None = None) -> Unit:
    """The unit whose readiness the viewer asks for (their own by default), if in scope."""
    if not code:
        return viewer.unit
    return get_visible_unit(viewer, code)


def visible_commune(viewer: Person, code: str) -> Unit:
    unit = scope_unit(viewer, code)
    if unit.kind != UnitKind.COMMUNE_BOARD:
        raise OutOfScope("commune", code)
    return unit


def communes_under(unit: Unit) -> QuerySet[Unit]:
    return Unit.objects.filter(
        kind=UnitKind.COMMUNE_BOARD, is_active=True, path__startswith=unit.path
    )


def provinces_under(unit: Unit) -> QuerySet[Unit]:
    provinces = Unit.objects.filter(kind=UnitKind.PROVINCIAL_COMMAND, path__startswith=unit.path)
    return provinces.order_by(vi_collate("short_name", connection.vendor), "code")


# ---------------------------------------------------------------- roll-ups


def _working() -> Any:
    """How many of a group's communes work digitally; a constant 0 while that cannot be
    measured (`_group` then leaves the figure None)."""
    condition = working_condition()
    if condition is None:
        return Value(0, output_field=IntegerField())
    return Count("pk", filter=condition)


def _group(rows: Iterable[tuple[Any, str, int, int]]) -> dict[Any, Counts]:
    """Counts per group key from rows of (key, state, communes, working)."""
    grouped: dict[Any, Counts] = defaultdict(Counts)
    measured = working_digitally_measurable()
    for key, state, n, working in rows:
        counts = grouped[key]
        counts.add(state, n)
        if measured:
            counts.working = (counts.working or 0) + working
    return grouped


def _by_state(communes: QuerySet[Unit]) -> Counts:
    rows = (
        communes.order_by()
        .annotate(state=state_expression())
        .values("state")
        .annotate(n=Count("pk"), working=_working())
        .values_list("state", "n", "working")
    )
    counts, working = Counts(), 0
    for state, n, working_here in rows:
        counts.add(state, n)
        working += working_here
    counts.working = working if working_digitally_measurable() else None
    return counts


def summary(unit: Unit) -> Counts:
    """Totals for the unit's subtree, with how many communes meet each condition."""
    communes = communes_under(unit).order_by()
    counts = _by_state(communes)
    conditions = communes.aggregate(
        **{c.code: Count("pk", filter=c.holds()) for c in active_conditions()}
    )
    counts.conditions = {code: int(n or 0) for code, n in conditions.items()}
    return counts


def _rows_by(unit: Unit, key: str | Expression) -> list[GroupRow]:
    rows = (
        communes_under(unit)
        .order_by()
        .annotate(state=state_expression(), group=F(key) if isinstance(key, str) else key)
        .values("group", "state")
        .annotate(n=Count("pk"), working=_working())
        .values_list("group", "state", "n", "working")
    )
    grouped = _group(rows)
    units = Unit.objects.filter(pk__in=[k for k in grouped if k is not None]).order_by(
        vi_collate("short_name", connection.vendor), vi_collate("name", connection.vendor), "code"
    )
    result = []
    for group_unit in units:
        result.append(GroupRow(group_unit, grouped[group_unit.pk]))
    return result


def by_province(unit: Unit) -> list[GroupRow]:
    """One row per province with communes under `unit` (communes sit right below provinces)."""
    return _rows_by(unit, "parent_id")


def by_region(unit: Unit) -> list[GroupRow]:
    """One row per military region (the level above the provinces).

    A provincial-level command placed directly under the ministry (the Capital Command,
    Bộ Tư lệnh Thủ đô Hà Nội) stands at region level itself, so it is its own row.
    """
    region = Case(
        When(parent__parent__kind=UnitKind.MINISTRY, then=F("parent_id")),
        default=F("parent__parent_id"),
    )
    return _rows_by(unit, region)


STATS_TITLE = gettext_lazy("Commune boards by readiness")
STATS_LABELS = {
    "total": gettext_lazy("Total"),
    READY: gettext_lazy("Ready"),
    IN_PROGRESS: gettext_lazy("In progress"),
    BLOCKED: gettext_lazy("Blocked"),
    "working_digitally": gettext_lazy("Working digitally (-: not yet measured)"),
}


def counts_by_state() -> dict[str, int | None]:
    """Every commune board of this node by state (for `tiendon stats`)."""
    return _by_state(Unit.objects.filter(kind=UnitKind.COMMUNE_BOARD, is_active=True)).as_dict()


# ---------------------------------------------------------------- lists of communes


def commune_rows(unit: Unit) -> QuerySet[Unit]:
    """The communes under `unit` with their state, condition flags and survey."""
    return (
        communes_under(unit)
        .select_related("readiness", "parent")
        .annotate(state=state_expression(), **condition_flags())
        .order_by(vi_collate("name", connection.vendor), "code")
    )


BLOCKED_SORTS = ("province", "commune", "planned", "updated")


def _blocked_order(sort: str) -> list[Any]:
    """Names in Vietnamese order (Đ after D, tones after the bare letter)."""
    vendor = connection.vendor
    commune = vi_collate("short_name", vendor)
    if sort == "commune":
        return [commune]
    if sort == "planned":
        return [F("readiness__planned_go_live").asc(nulls_last=True), commune]
    if sort == "updated":
        return [F("readiness__updated_at").desc(), commune]
    return [vi_collate("parent__short_name", vendor), commune]


def blocked_communes(
    unit: Unit, *, province: Unit | None = None, reason: str = "", sort: str = "province"
) -> QuerySet[Unit]:
    """Blocked communes under `unit` (the province, if given, must already be in scope)."""
    rows = (
        communes_under(province or unit)
        .select_related("readiness", "parent")
        .alias(state=state_expression())
        .filter(state=BLOCKED)
    )
    if reason and reason in BlockingReason.values:
        rows = rows.filter(readiness__blocking_reasons__contains=reason)
    return rows.order_by(*_blocked_order(sort), "code")


def reason_counts(unit: Unit) -> dict[str, int]:
    """How many blocked communes under `unit` name each reason."""
    blocked = communes_under(unit).alias(state=state_expression()).filter(state=BLOCKED)
    totals = blocked.aggregate(
        **{
            code: Count("pk", filter=Q(readiness__blocking_reasons__contains=code))
            for code in BlockingReason.values
        }
    )
    return {code: int(n or 0) for code, n in totals.items()}


# ---------------------------------------------------------------- one commune


def commune_detail(unit: Unit) -> tuple[Unit, CommuneReadiness | None]:
    row = commune_rows(unit.parent or unit).filter(pk=unit.pk).first() or unit
    survey = CommuneReadiness.objects.filter(unit=unit).select_related("updated_by").first()
    return row, survey


def live_signals(unit: Unit) -> Signals:
    last_login = Person.objects.filter(unit=unit).aggregate(t=Max("last_login"))["t"]
    node = exchange_queries.serving_node(unit)
    signals = Signals(
        last_login=last_login,
        last_sent=exchange_queries.last_sent_at(unit),
        last_received=exchange_queries.last_received_at(unit),
        node_heartbeat=node.last_seen_at if node else None,
        node_name=node.name if node else None,
        documents_measured=working_digitally_measurable(),
    )
    condition = working_condition()
    if condition is not None:
        # Imported here, not at the top: readiness loads without the documents app
        # (working_digitally_measurable), and importing its queries needs its models.
        from tiendon.documents import queries as documents_queries

        registered, status_sent = documents_queries.registration_signals(unit.pk)
        signals.last_registered, signals.last_status_sent = registered, status_sent
        signals.working = Unit.objects.filter(condition, pk=unit.pk).exists()
    return signals


def tokens_issued_to(unit: Unit) -> int:
    """Crypto tokens issued to the unit (or its people) and not lost or retired."""
    return pki_queries.tokens_issued_to(unit)


def token_inventory() -> dict[str, int]:
    """The node's whole token inventory by state (shown to the node's top unit only)."""
    return pki_queries.tokens_by_state()


# ---------------------------------------------------------------- trends


def trend(unit: Unit, days: int = 90) -> list[ReadinessSnapshot]:
    since = timezone.localdate() - dt.timedelta(days=days)
    return list(ReadinessSnapshot.objects.filter(unit=unit, day__gte=since).order_by("day"))


def snapshot_units() -> QuerySet[Unit]:
    """The units a daily snapshot covers: the ministry, the regions and the provinces."""
    return Unit.objects.filter(
        kind__in=[UnitKind.MINISTRY, UnitKind.MILITARY_REGION, UnitKind.PROVINCIAL_COMMAND]
    )
