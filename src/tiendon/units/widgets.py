"""The unit picker as a form widget: a plain text field of unit codes (what the form posts,
and all there is without JavaScript) with chips naming the chosen units, a type-ahead by
name and a tree (region → province → communes) that write codes into that field.

A form keeps its `CharField` of codes and only swaps the widget:

    units = forms.CharField(widget=UnitCodesInput(sets_field="communes_of"))
    communes_of = forms.CharField(widget=UnitCodesInput(kind="set", picker=False))

The page renders `{{ form.media.css }}` in its head block and `{{ form.media.js }}` in its
scripts block: htmx from the django-htmx package's static files and `units/picker.js`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import Script
from django.urls import reverse

from tiendon.units import queries


class UnitCodesInput(forms.TextInput):
    template_name = "units/picker/widget.html"

    class Media:
        css = {"all": ("units/picker.css",)}
        js = (
            Script("django_htmx/htmx-2.min.js", defer=True),
            Script("units/picker.js", defer=True),
        )

    def __init__(
        self,
        *,
        kind: str = "unit",
        picker: bool = True,
        sets_field: str = "",
        scope: str = "all",
        single: bool = False,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        """`kind="set"`: the codes are provinces standing for all their communes.
        `sets_field`: the form's field that "all communes of this province" writes to.
        `scope="mine"`: only the person's own unit and those below it. `single`: one code."""
        super().__init__(attrs={"autocomplete": "off", "spellcheck": "false", **(attrs or {})})
        self.kind = kind
        self.picker = picker
        self.sets_field = sets_field
        self.scope = scope
        self.single = single

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        codes = queries.split_unit_codes(str(value or ""))
        query = f"sets={'1' if self.sets_field else '0'}&scope={self.scope}"
        context["picker"] = {
            "kind": self.kind,
            "show_search": self.picker,
            "sets_field": self.sets_field,
            "single": self.single,
            "chips": queries.units_for_codes(codes),
            "chips_url": reverse("unit_pick_chips"),
            "search_url": f"{reverse('unit_pick')}?{query}",
            "tree_url": f"{reverse('unit_pick_tree')}?{query}",
        }
        return context
