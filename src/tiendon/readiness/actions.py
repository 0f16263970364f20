"""Every change to readiness data, each in one transaction with its audit record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from tiendon.audit.actions import AuditEntry, client_address, do_record, do_record_batch
from tiendon.errors import InvalidInput
from tiendon.readiness.models import (
    BlockingReason,
    CommuneReadiness,
    LinkKind,
    ReadinessSnapshot,
)
from tiendon.units.models import Person, Unit, UnitKind

MAX_TEXT = 2000
MAX_PROVIDER = 100
MAX_COUNT = 10_000
MAX_BANDWIDTH = 100_000_000  # kbit/s: 100 Gbit/s, far above any commune link


@dataclass
class SurveyValues:
    """What a survey says about one commune board, already parsed into types."""

    link_kind: str = LinkKind.NONE
    bandwidth_kbps: int | None = None
    provider: str = ""
    computers: int = 0
    computer_serials: list[str] = field(default_factory=list)
    trained_operators: int = 0
    operator_names: list[str] = field(default_factory=list)
    planned_go_live: dt.date | None = None
    actual_go_live: dt.date | None = None
    blocking_reasons: list[str] = field(default_factory=list)
    notes: str = ""


def survey_problems(values: SurveyValues) -> list[tuple[str, str, str]]:
    """(field, reason, code) for everything wrong; empty when the values may be stored."""
    found: list[tuple[str, str, str]] = []
    if values.link_kind not in LinkKind.values:
        found.append(("link_kind", _("unknown link kind"), "bad_link_kind"))
    for name in ("computers", "trained_operators", "bandwidth_kbps"):
        number = getattr(values, name)
        if number is None:
            continue
        if number < 0:
            found.append((name, _("must not be negative"), "negative"))
        elif number > (MAX_BANDWIDTH if name == "bandwidth_kbps" else MAX_COUNT):
            found.append((name, _("implausibly large"), "too_large"))
    if values.link_kind == LinkKind.NONE and values.bandwidth_kbps:
        found.append(
            ("bandwidth_kbps", _("a bandwidth is given but there is no link"), "no_link_bandwidth")
        )
    if len(values.computer_serials) > max(values.computers, 0):
        found.append(
            (
                "computer_serials",
                _("more serial numbers than computers"),
                "serials_exceed_count",
            )
        )
    if len(values.operator_names) > max(values.trained_operators, 0):
        found.append(
            ("operator_names", _("more names than trained operators"), "names_exceed_count")
        )
    for reason in values.blocking_reasons:
        if reason not in BlockingReason.values:
            found.append(("blocking_reasons", _("unknown reason %s") % reason, "bad_reason"))
    if len(values.provider) > MAX_PROVIDER:
        found.append(("provider", _("longer than %s characters") % MAX_PROVIDER, "too_long"))
    if len(values.notes) > MAX_TEXT:
        found.append(("notes", _("longer than %s characters") % MAX_TEXT, "too_long"))
    if values.actual_go_live and values.actual_go_live > timezone.localdate():
        found.append(("actual_go_live", _("the actual go-live is in the future"), "future_date"))
    return found


def _snapshot(survey: CommuneReadiness | None) -> dict[str, Any] | None:
    if survey is None:
        return None
    return {
        "link_kind": survey.link_kind,
        "bandwidth_kbps": survey.bandwidth_kbps,
        "provider": survey.provider,
        "computers": survey.computers,
        "computer_serials": survey.serial_list(),
        "trained_operators": survey.trained_operators,
        "operator_names": survey.operator_list(),
        "planned_go_live": survey.planned_go_live,
        "actual_go_live": survey.actual_go_live,
        "blocking_reasons": survey.reasons,
        "notes": survey.notes,
    }


def _fill(survey: CommuneReadiness, values: SurveyValues, actor: Person | None) -> None:
    order = {code: i for i, code in enumerate(BlockingReason.values)}
    survey.link_kind = values.link_kind
    survey.bandwidth_kbps = values.bandwidth_kbps
    survey.provider = values.provider
    survey.computers = values.computers
    survey.computer_serials = "\n".join(values.computer_serials)
    survey.trained_operators = values.trained_operators
    survey.operator_names = "\n".join(values.operator_names)
    survey.planned_go_live = values.planned_go_live
    survey.actual_go_live = values.actual_go_live
    survey.blocking_reasons = ",".join(sorted(set(values.blocking_reasons), key=order.__getitem__))
    survey.notes = values.notes
    survey.updated_by = actor if actor is not None and actor.pk else None
    survey.updated_at = timezone.now()


def _require_commune(unit: Unit) -> None:
    if unit.kind != UnitKind.COMMUNE_BOARD:
        raise InvalidInput(
            _("%s is not a commune board.") % unit.code, code="not_commune", field="unit"
        )


def _check(values: SurveyValues) -> None:
    problems = survey_problems(values)
    if problems:
        name, reason, code = problems[0]
        raise InvalidInput(f"{name}: {reason}", code=code, field=name)


@transaction.atomic
def do_update_survey(
    unit: Unit,
    values: SurveyValues,
    *,
    actor: Person | None,
    request: HttpRequest | None = None,
) -> CommuneReadiness:
    """Record a commune board's survey (creating it the first time)."""
    _require_commune(unit)
    _check(values)
    survey = CommuneReadiness.objects.select_for_update().filter(unit=unit).first()
    old = _snapshot(survey)
    if survey is None:
        survey = CommuneReadiness(unit=unit)
    _fill(survey, values, actor)
    survey.save()
    do_record(
        "readiness.survey_updated",
        actor=actor,
        unit=unit,
        obj=survey,
        old=old,
        new=_snapshot(survey),
        request=request,
    )
    return survey


@transaction.atomic
def do_apply_surveys(
    rows: Sequence[tuple[Unit, SurveyValues]],
    *,
    actor: Person | None,
    source: str,
    request: HttpRequest | None = None,
) -> int:
    """Store many surveys at once (an import or the demo seed): one audit record per commune.

    Every row must already be valid; one invalid row stops the whole batch unchanged.
    """
    for unit, values in rows:
        _require_commune(unit)
        _check(values)
    units = [unit for unit, _values in rows]
    existing = {
        s.unit_id: s for s in CommuneReadiness.objects.select_for_update().filter(unit__in=units)
    }
    to_create: list[CommuneReadiness] = []
    to_update: list[CommuneReadiness] = []
    olds: list[dict[str, Any] | None] = []
    surveys: list[CommuneReadiness] = []
    for unit, values in rows:
        survey = existing.get(unit.pk)
        olds.append(_snapshot(survey))
        if survey is None:
            survey = CommuneReadiness(unit=unit)
            to_create.append(survey)
        else:
            to_update.append(survey)
        _fill(survey, values, actor)
        surveys.append(survey)
    CommuneReadiness.objects.bulk_create(to_create, batch_size=500)
    fields = [
        f.name for f in CommuneReadiness._meta.concrete_fields if f.name not in ("id", "unit")
    ]
    CommuneReadiness.objects.bulk_update(to_update, fields, batch_size=500)
    address = client_address(request)
    entries = [
        AuditEntry(
            action="readiness.survey_updated",
            actor=actor,
            unit=unit,
            object_type="readiness.communereadiness",
            object_id=unit.code,
            old=old,
            new={**(_snapshot(survey) or {}), "source": source},
            client_address=address,
        )
        for (unit, _values), survey, old in zip(rows, surveys, olds, strict=True)
    ]
    do_record_batch(entries)
    return len(rows)


@transaction.atomic
def do_take_snapshot(day: dt.date | None = None, *, actor: Person | None = None) -> int:
    """Store today's counts for the ministry, every region and every province (replacing
    an earlier snapshot of the same day)."""
    from tiendon.readiness.queries import by_province, by_region, snapshot_units, summary

    day = day or timezone.localdate()
    counts = {}
    roots = list(snapshot_units().filter(kind=UnitKind.MINISTRY))
    for root in roots:
        counts[root.pk] = (root, summary(root))
        for row in [*by_region(root), *by_province(root)]:
            counts[row.unit.pk] = (row.unit, row.counts)
    ReadinessSnapshot.objects.filter(day=day).delete()
    ReadinessSnapshot.objects.bulk_create(
        [
            ReadinessSnapshot(
                day=day,
                unit=unit,
                total=c.total,
                ready=c.ready,
                in_progress=c.in_progress,
                blocked=c.blocked,
                working=c.working,
            )
            for unit, c in counts.values()
        ]
    )
    national = [c.as_dict() for unit, c in counts.values() if unit.kind == UnitKind.MINISTRY]
    do_record(
        "readiness.snapshot_taken",
        actor=actor,
        object_type="readiness.snapshot",
        object_id=day.isoformat(),
        new={"units": len(counts), "national": national},
    )
    return len(counts)


def values_of(survey: CommuneReadiness) -> SurveyValues:
    """The stored survey as values (to edit and store again)."""
    return SurveyValues(
        **{
            **asdict(SurveyValues()),
            "link_kind": survey.link_kind,
            "bandwidth_kbps": survey.bandwidth_kbps,
            "provider": survey.provider,
            "computers": survey.computers,
            "computer_serials": survey.serial_list(),
            "trained_operators": survey.trained_operators,
            "operator_names": survey.operator_list(),
            "planned_go_live": survey.planned_go_live,
            "actual_go_live": survey.actual_go_live,
            "blocking_reasons": survey.reasons,
            "notes": survey.notes,
        }
    )
