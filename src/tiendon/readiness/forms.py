"""The survey form of one commune board; its checks are the actions' (`survey_problems`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tiendon.readiness.actions import SurveyValues, survey_problems
from tiendon.readiness.models import BlockingReason, LinkKind

DATE_INPUTS = ["%d/%m/%Y", "%Y-%m-%d"]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class SurveyForm(forms.Form):
    link_kind = forms.ChoiceField(label=_("Link"), choices=LinkKind.choices)
    bandwidth_kbps = forms.IntegerField(label=_("Bandwidth (kbit/s)"), required=False, min_value=0)
    provider = forms.CharField(label=_("Provider"), required=False, max_length=100)
    computers = forms.IntegerField(label=_("Military computers"), min_value=0, initial=0)
    computer_serials = forms.CharField(
        label=_("Computer serial numbers (one per line)"), required=False, widget=forms.Textarea
    )
    trained_operators = forms.IntegerField(label=_("Trained operators"), min_value=0, initial=0)
    operator_names = forms.CharField(
        label=_("Trained operators' names (one per line)"), required=False, widget=forms.Textarea
    )
    planned_go_live = forms.DateField(
        label=_("Planned go-live (dd/mm/yyyy)"), required=False, input_formats=DATE_INPUTS
    )
    actual_go_live = forms.DateField(
        label=_("Actual go-live (dd/mm/yyyy)"), required=False, input_formats=DATE_INPUTS
    )
    blocking_reasons = forms.MultipleChoiceField(
        label=_("Blocking reasons"),
        choices=BlockingReason.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea
    )

    def values(self) -> SurveyValues:
        data: dict[str, Any] = self.cleaned_data
        return SurveyValues(
            link_kind=data["link_kind"],
            bandwidth_kbps=data["bandwidth_kbps"],
            provider=data["provider"].strip(),
            computers=data["computers"],
            computer_serials=_lines(data["computer_serials"]),
            trained_operators=data["trained_operators"],
            operator_names=_lines(data["operator_names"]),
            planned_go_live=data["planned_go_live"],
            actual_go_live=data["actual_go_live"],
            blocking_reasons=list(data["blocking_reasons"]),
            notes=data["notes"].strip(),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            for name, reason, _code in survey_problems(self.values()):
                self.add_error(name, reason)
        return cleaned


def initial_from(survey: Any) -> dict[str, Any]:
    if survey is None:
        return {}
    return {
        "link_kind": survey.link_kind,
        "bandwidth_kbps": survey.bandwidth_kbps,
        "provider": survey.provider,
        "computers": survey.computers,
        "computer_serials": survey.computer_serials,
        "trained_operators": survey.trained_operators,
        "operator_names": survey.operator_names,
        "planned_go_live": survey.planned_go_live.strftime("%d/%m/%Y")
        if survey.planned_go_live
        else "",
        "actual_go_live": survey.actual_go_live.strftime("%d/%m/%Y")
        if survey.actual_go_live
        else "",
        "blocking_reasons": survey.reasons,
        "notes": survey.notes,
    }
