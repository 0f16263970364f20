"""Forms of the login, second-factor, password and people-management pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tiendon.units.models import Person, Unit
from tiendon.units.queries import units_visible_to
from tiendon.units.widgets import UnitCodesInput


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=16,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if len(code) != 6 or not code.isdigit():
            raise forms.ValidationError(_("Enter the 6 digits shown in the app."))
        return code


class NewPasswordMixin(forms.Form):
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not only digits, not a common password."),
    )
    new_password_again = forms.CharField(
        label=_("New password, again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("new_password"), data.get("new_password_again")
        if first and second and first != second:
            self.add_error("new_password_again", _("The two passwords differ."))
        return data


class ChangeOwnPasswordForm(NewPasswordMixin):
    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        required=False,
    )
    field_order = ["old_password", "new_password", "new_password_again"]

    def __init__(self, *args: Any, one_time: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A one-time password was just typed at login; asking for it again adds nothing.
        if one_time:
            del self.fields["old_password"]
        else:
            self.fields["old_password"].required = True


class AdminSetPasswordForm(NewPasswordMixin):
    pass


class MovePersonForm(forms.Form):
    unit_code = forms.CharField(
        label=_("New unit"), max_length=32, widget=UnitCodesInput(scope="mine", single=True)
    )
    note = forms.CharField(label=_("Note (order number, reason)"), max_length=500, required=False)

    def __init__(self, *args: Any, admin: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.admin = admin
        self.unit: Unit | None = None

    def clean_unit_code(self) -> str:
        code = str(self.cleaned_data["unit_code"]).strip()
        # One answer for "no such unit" and "not yours": scope does not leak.
        self.unit = units_visible_to(self.admin).filter(code=code).first()
        if self.unit is None:
            raise forms.ValidationError(_("No unit with this code in your scope."))
        return code


class ActingPositionForm(forms.Form):
    acting_position = forms.CharField(
        label=_("Acting position (quyền / phụ trách)"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to end the acting position."),
    )


class PeopleImportForm(forms.Form):
    file = forms.FileField(
        label=_("People list (XLSX or CSV)"),
        help_text=_(
            "Columns: unit_code, username, full_name, rank, position, role, clearance, "
            "and optionally password."
        ),
    )
