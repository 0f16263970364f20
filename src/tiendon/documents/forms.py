"""The drafting form: shapes and sizes only; the rules live in `actions`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tiendon.documents.forms_flow import RecipientsMixin, SizeLimit
from tiendon.documents.models import (
    SUBJECT_MAX_LENGTH,
    DocumentType,
    Secrecy,
    SigningMode,
    Urgency,
)
from tiendon.units.models import Person


def _pdf_limit() -> int:
    from tiendon.documents import actions

    return actions.MAX_UPLOAD_BYTES


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
