"""Forms of the receiving side and of recipients: shapes and sizes only."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tiendon.documents.models import SUBJECT_MAX_LENGTH, DocumentType, Secrecy, Urgency
from tiendon.documents.recipients import SET_ALL_COMMUNES, SET_CHILDREN, SET_COMMUNES_OF


class SizeLimit:
    """Refuses an upload over the limit by its declared size alone, before anything reads
    it: Django spools a large upload to a temporary file, and the view reads it into
    memory only after the form is valid. `limit` is read at each check (tests lower it)."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self.limit = limit

    def __call__(self, upload: Any) -> None:
        limit = self.limit()
        if upload is not None and upload.size > limit:
            raise ValidationError(
                gettext("The file is larger than %(mb)s MB; nothing was saved.")
                % {"mb": max(1, limit // (1024 * 1024))},
                code="upload_too_large",
            )


def _scan_limit() -> int:
    from tiendon.documents import actions_flow

    return actions_flow.MAX_SCAN_BYTES


def split_codes(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,;]+", text or "") if c]


class RecipientsMixin(forms.Form):
    """The exchange recipients of a draft: unit codes, saved groups, whole sets."""

    recipient_units = forms.CharField(
        label=_("Recipient units (codes, separated by spaces)"), required=False, max_length=4000
    )
    recipient_groups = forms.MultipleChoiceField(
        label=_("Saved groups"), required=False, widget=forms.CheckboxSelectMultiple
    )
    send_to_children = forms.BooleanField(label=_("All units directly below us"), required=False)
    send_to_all_communes = forms.BooleanField(
        label=_("All commune boards of the country"), required=False
    )
    communes_of = forms.CharField(
        label=_("All commune boards of the provinces (codes)"), required=False, max_length=400
    )

    def set_groups(self, groups: Any) -> None:
        self.fields["recipient_groups"].choices = [(g.pk, g.name) for g in groups]  # type: ignore[attr-defined]

    def recipient_spec(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        spec: list[dict[str, Any]] = [{"unit": c} for c in split_codes(data["recipient_units"])]
        spec += [{"group": int(g)} for g in data["recipient_groups"]]
        if data["send_to_children"]:
            spec.append({"set": SET_CHILDREN})
        if data["send_to_all_communes"]:
            spec.append({"set": SET_ALL_COMMUNES})
        spec += [{"set": SET_COMMUNES_OF, "province": c} for c in split_codes(data["communes_of"])]
        return spec

    @staticmethod
    def initial_from(spec: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "recipient_units": " ".join(e["unit"] for e in spec if "unit" in e),
            "recipient_groups": [str(e["group"]) for e in spec if "group" in e],
            "send_to_children": {"set": SET_CHILDREN} in spec,
            "send_to_all_communes": {"set": SET_ALL_COMMUNES} in spec,
            "communes_of": " ".join(e["province"] for e in spec if "province" in e),
        }


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
    units = forms.CharField(
        label=_("Unit codes, separated by spaces"),
        max_length=40000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
