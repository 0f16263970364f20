"""Readiness pages: thin views over `queries` (scope checked there) and `spreadsheets`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from tiendon.readiness import charts, queries
from tiendon.readiness.actions import do_update_survey
from tiendon.readiness.forms import SurveyForm, initial_from
from tiendon.readiness.models import BlockingReason
from tiendon.readiness.rules import STATE_LABELS, active_conditions, working_window_days
from tiendon.readiness.spreadsheets import (
    SurveyFileError,
    SurveyImportRejected,
    import_surveys,
    workbook_bytes,
)
from tiendon.units.models import Person, Role, Unit, UnitKind

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BLOCKED_PAGE = 50


def _me(request: HttpRequest) -> Person:
    user = request.user
    assert isinstance(user, Person)
    return user


def _label(unit: Unit) -> str:
    return unit.short_name or unit.name


def _may_edit(person: Person) -> bool:
    """Surveys are entered by administrators, commanders and staff officers, not clerks."""
    return person.role in (Role.ADMIN, Role.COMMANDER, Role.STAFF)


def _bars(rows: list[queries.GroupRow]) -> list[charts.Bar]:
    return [
        charts.Bar(_label(r.unit), reverse("readiness_unit", args=[r.unit.code]), r.counts)
        for r in rows
    ]


@login_required
@require_GET
def dashboard(request: HttpRequest, code: str | None = None) -> HttpResponse:
    me = _me(request)
    unit = queries.scope_unit(me, code)
    if unit.kind == UnitKind.COMMUNE_BOARD:
        return commune(request, unit)
    counts = queries.summary(unit)
    conditions = [
        {"label": c.label, "count": counts.conditions.get(c.code, 0)} for c in active_conditions()
    ]
    context: dict[str, Any] = {
        "unit": unit,
        "chain": [u for u in unit.chain_of_command() if u.path.startswith(me.unit.path)],
        "counts": counts,
        "conditions": conditions,
        "states": STATE_LABELS,
        "window": working_window_days(),
        "reasons": _reason_rows(queries.reason_counts(unit)),
        "trend_svg": charts.trend_chart(queries.trend(unit)),
        "may_edit": _may_edit(me),
    }
    if unit.kind in queries.ABOVE_PROVINCE:
        provinces = queries.by_province(unit)
        context["provinces"] = provinces
        context["province_svg"] = charts.stacked_bars(
            _bars(provinces), title=_("Communes by readiness, per province")
        )
        if unit.kind == UnitKind.MINISTRY:
            context["regions"] = queries.by_region(unit)
            context["tokens"] = queries.token_inventory()
    else:
        codes = [c.code for c in active_conditions()]
        context["communes"] = [
            {
                "unit": c,
                "state": getattr(c, "state", ""),
                "flags": [getattr(c, f"cond_{code}") for code in codes],
            }
            for c in queries.commune_rows(unit)
        ]
    return render(request, "readiness/dashboard.html", context)


def _reason_rows(counts: dict[str, int]) -> list[dict[str, Any]]:
    labels = dict(BlockingReason.choices)
    return [{"code": code, "label": labels[code], "count": n} for code, n in counts.items()]


def commune(request: HttpRequest, unit: Unit) -> HttpResponse:
    row, survey = queries.commune_detail(unit)
    conditions = [
        {"label": c.label, "holds": bool(getattr(row, f"cond_{c.code}", False))}
        for c in active_conditions()
    ]
    context = {
        "unit": unit,
        "row": row,
        "survey": survey,
        "state_label": STATE_LABELS.get(getattr(row, "state", ""), ""),
        "conditions": conditions,
        "signals": queries.live_signals(unit),
        "tokens_issued": queries.tokens_issued_to(unit),
        "window": working_window_days(),
        "province": unit.parent,
        "may_edit": _may_edit(_me(request)),
    }
    return render(request, "readiness/commune.html", context)


@login_required
def survey_edit(request: HttpRequest, code: str) -> HttpResponse:
    me = _me(request)
    unit = queries.visible_commune(me, code)
    if not _may_edit(me):
        raise PermissionDenied("readiness survey edit")
    _row, survey = queries.commune_detail(unit)
    form = SurveyForm(request.POST or None, initial=initial_from(survey))
    if request.method == "POST" and form.is_valid():
        do_update_survey(unit, form.values(), actor=me, request=request)
        return redirect("readiness_unit", code=unit.code)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "readiness/survey_edit.html", {"unit": unit, "form": form}, status=status
    )


SORT_LABELS = {
    "province": gettext_lazy("Province"),
    "commune": gettext_lazy("Commune"),
    "planned": gettext_lazy("Planned go-live"),
    "updated": gettext_lazy("Last updated"),
}


@login_required
@require_GET
def blocked(request: HttpRequest, code: str | None = None) -> HttpResponse:
    me = _me(request)
    unit = queries.scope_unit(me, code)
    province_code = request.GET.get("province", "")
    province = queries.scope_unit(me, province_code) if province_code else None
    if province is not None and not province.path.startswith(unit.path):
        province = None
    reason = request.GET.get("reason", "")
    sort = request.GET.get("sort", "province")
    rows = queries.blocked_communes(unit, province=province, reason=reason, sort=sort)
    page = Paginator(rows, BLOCKED_PAGE).get_page(request.GET.get("page"))
    query = {"province": province.code if province else "", "reason": reason, "sort": sort}
    context = {
        "unit": unit,
        "page": page,
        "provinces": queries.provinces_under(unit),
        "province": province,
        "reason": reason,
        "reasons": BlockingReason.choices,
        "sort": sort if sort in queries.BLOCKED_SORTS else "province",
        "sorts": SORT_LABELS,
        "query": urlencode({k: v for k, v in query.items() if v}),
    }
    return render(request, "readiness/blocked.html", context)


class SurveyUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Survey (XLSX or CSV)"))
    apply_valid_only = forms.BooleanField(
        required=False, label=gettext_lazy("Apply the valid rows only (skip the rows with errors)")
    )


@login_required
def survey_import(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    if not _may_edit(me):
        raise PermissionDenied("readiness survey import")
    form = SurveyUploadForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "unit": me.unit}
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = import_surveys(
                    upload,
                    actor=me,
                    source=upload.name,
                    size=upload.size,
                    apply_valid_only=form.cleaned_data["apply_valid_only"],
                    request=request,
                )
            except SurveyFileError as exc:
                form.add_error("file", exc.message)
            except SurveyImportRejected as exc:
                context["problems"] = exc.problems
            else:
                context["result"] = result
                context["problems"] = result.problems
                status = 200
    return render(request, "readiness/import.html", context, status=status)


def _xlsx(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def survey_template(request: HttpRequest, code: str | None = None) -> HttpResponse:
    unit = queries.scope_unit(_me(request), code)
    return _xlsx(workbook_bytes(unit, filled=False), f"khao-sat-ha-tang-{unit.code}.xlsx")


@login_required
@require_GET
def survey_export(request: HttpRequest, code: str | None = None) -> HttpResponse:
    unit = queries.scope_unit(_me(request), code)
    day = timezone.localdate().strftime("%Y%m%d")
    return _xlsx(workbook_bytes(unit, filled=True), f"ha-tang-{unit.code}-{day}.xlsx")


@login_required
@require_GET
def report(request: HttpRequest, code: str | None = None) -> HttpResponse:
    from tiendon.readiness.report import report_pdf

    unit = queries.scope_unit(_me(request), code)
    response = HttpResponse(report_pdf(unit), content_type="application/pdf")
    day = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="bao-cao-{unit.code}-{day}.pdf"'
    return response
