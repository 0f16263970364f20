"""Forms of attachments, reviewers and certified copies: shapes only; rules in actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tiendon.documents.drafting.forms import RecipientsMixin
from tiendon.documents.models import CopyForm


class AttachmentForm(forms.Form):
    attachment = forms.FileField(label=_("Attachment (PDF)"))


class ReviewersForm(forms.Form):
    """Up to five reviewers, in order; empty choices are skipped."""

    SLOTS = 5

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *((str(p.pk), p.full_name) for p in people)]
        for index in range(1, self.SLOTS + 1):
            self.fields[f"reviewer_{index}"] = forms.ChoiceField(
                label=_("Reviewer %(n)s") % {"n": index}, choices=choices, required=False
            )

    def chosen_ids(self) -> list[int]:
        return [
            int(self.cleaned_data[f"reviewer_{i}"])
            for i in range(1, self.SLOTS + 1)
            if self.cleaned_data.get(f"reviewer_{i}")
        ]


class CopyNewForm(RecipientsMixin, forms.Form):
    form = forms.ChoiceField(label=_("Copy form"), choices=CopyForm.choices)
    pages = forms.CharField(
        label=_("Pages (extract only, e.g. 1, 3-4)"), required=False, max_length=200
    )
