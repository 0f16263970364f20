"""Forms of the receiving side and of recipients: shapes and sizes only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tiendon.documents.drafting.forms import SizeLimit
from tiendon.documents.models import SUBJECT_MAX_LENGTH, DocumentType, Secrecy, Urgency
from tiendon.units.widgets import UnitCodesInput


def _scan_limit() -> int:
    from tiendon.documents.incoming import actions as actions_flow

    return actions_flow.MAX_SCAN_BYTES


class RefuseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AssignForm(forms.Form):
    assignees = forms.MultipleChoiceField(label=_("Officers"), widget=forms.CheckboxSelectMultiple)
    deadline = forms.DateField(label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignees"].choices = [(p.pk, p.full_name) for p in people]  # type: ignore[attr-defined]


class CompleteForm(forms.Form):
    result_note = forms.CharField(
        label=_("Result"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )
    result_file = forms.FileField(
        label=_("Or a file with the result"), required=False, validators=[SizeLimit(_scan_limit)]
    )


class PaperForm(forms.Form):
    scan = forms.FileField(label=_("Scan (PDF or image)"), validators=[SizeLimit(_scan_limit)])
    issuer_name = forms.CharField(label=_("Issuer (tác giả)"), max_length=200)
    doc_type = forms.ChoiceField(label=_("Document type"), choices=DocumentType.choices)
    number = forms.IntegerField(label=_("Number"), required=False, min_value=1)
    notation = forms.CharField(label=_("Symbol (ký hiệu)"), max_length=64, required=False)
    issue_date = forms.DateField(
        label=_("Date of the document"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    subject = forms.CharField(
        label=_("Subject (trích yếu)"),
        max_length=SUBJECT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    signer_name = forms.CharField(label=_("Signer"), max_length=200, required=False)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices)
    secrecy = forms.TypedChoiceField(label=_("Secrecy"), choices=Secrecy.choices, coerce=int)


class RegisterRangeForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))


class GroupForm(forms.Form):
    name = forms.CharField(label=_("Group name"), max_length=200)
    units = forms.CharField(label=_("Units"), max_length=40000, widget=UnitCodesInput())
