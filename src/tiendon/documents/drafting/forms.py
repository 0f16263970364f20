"""The drafting form: shapes and sizes only; the rules live in `actions`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tiendon.documents.drafting import state
from tiendon.documents.drafting.recipients import SET_ALL_COMMUNES, SET_CHILDREN, SET_COMMUNES_OF
from tiendon.documents.models import (
    SUBJECT_MAX_LENGTH,
    DocumentType,
    Secrecy,
    SigningMode,
    Urgency,
)
from tiendon.units.models import Person
from tiendon.units.widgets import UnitCodesInput


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


def split_codes(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,;]+", text or "") if c]


class RecipientsMixin(forms.Form):
    """The exchange recipients of a draft: unit codes, saved groups, whole sets."""

    recipient_units = forms.CharField(
        label=_("Recipient units"),
        required=False,
        max_length=4000,
        widget=UnitCodesInput(sets_field="communes_of"),
    )
    recipient_groups = forms.MultipleChoiceField(
        label=_("Saved groups"), required=False, widget=forms.CheckboxSelectMultiple
    )
    send_to_children = forms.BooleanField(label=_("All units directly below us"), required=False)
    send_to_all_communes = forms.BooleanField(
        label=_("All commune boards of the country"), required=False
    )
    communes_of = forms.CharField(
        label=_("All commune boards of these provinces"),
        required=False,
        max_length=400,
        widget=UnitCodesInput(kind="set", picker=False),
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


def _pdf_limit() -> int:
    return state.MAX_UPLOAD_BYTES


class DraftForm(RecipientsMixin, forms.Form):
    doc_type = forms.ChoiceField(label=_("Document type"), choices=DocumentType.choices)
    drafting_office = forms.CharField(
        label=_("Drafting office (abbreviation, for a công văn)"), max_length=16, required=False
    )
    subject = forms.CharField(
        label=_("Subject (trích yếu)"),
        max_length=SUBJECT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    body = forms.CharField(
        label=_("Content"), required=False, widget=forms.Textarea(attrs={"rows": 10})
    )
    uploaded_pdf = forms.FileField(
        label=_("Or the content as a PDF"), required=False, validators=[SizeLimit(_pdf_limit)]
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices)
    secrecy = forms.TypedChoiceField(label=_("Secrecy"), choices=Secrecy.choices, coerce=int)
    signer = forms.ModelChoiceField(label=_("Signer"), queryset=Person.objects.none())
    signing_mode = forms.ChoiceField(label=_("Signing mode"), choices=SigningMode.choices)
    head_title = forms.CharField(
        label=_("Title of the head (for KT., TL., TUQ., Q.)"), max_length=200, required=False
    )
    signer_title = forms.CharField(label=_("Signer's title"), max_length=200, required=False)
    recipients = forms.CharField(
        label=_("Recipients (Nơi nhận), one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, signers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["signer"].queryset = signers  # type: ignore[attr-defined]


class SignForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
