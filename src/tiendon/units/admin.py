"""Django admin for master data, reachable only by administrators who passed TOTP.

The admin's own login, logout and password pages are replaced by the project's, so
throttling, the second factor and the audit log cannot be bypassed through /admin/.
Lists show only the administrator's subtree, and saves go through the actions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tiendon.units import auth, queries
from tiendon.units.actions import do_create_unit, do_move_unit, do_update_person, do_update_unit
from tiendon.units.models import Person, Unit


def _actor(request: HttpRequest) -> Person:
    user = request.user
    if not isinstance(user, Person):
        raise PermissionDenied("not logged in")
    return user


class TiendonAdminSite(admin.AdminSite):
    site_header = _("Tiền Đồn administration")
    site_title = _("Tiền Đồn")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and getattr(user, "is_admin", False)
            and request.session.get(auth.SESSION_OTP_VERIFIED, False)
        )

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Anonymous people go to the project's login; logged-in non-administrators get 403."""
        if request.user.is_authenticated:
            # An administrator still owing the second factor is held by the middleware.
            raise PermissionDenied("the admin site is for administrators")
        next_url = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return redirect_to_login(next_url, reverse("login"))

    def logout(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from tiendon.units.views import logout_view

        return logout_view(request)

    def password_change(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The project's page, which also handles one-time passwords and is audited."""
        return redirect("password_change")


admin_site = TiendonAdminSite(name="admin")


@admin.register(Unit, site=admin_site)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "commune_type", "abbreviation", "place_name", "parent")
    list_filter = ("kind", "commune_type")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)
    readonly_fields = ("path", "depth")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Unit]:
        return queries.units_visible_to(_actor(request))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # units are deactivated, never deleted (documents refer to them)

    def save_model(self, request: HttpRequest, obj: Unit, form: ModelForm, change: bool) -> None:
        actor = _actor(request)
        if obj.parent is not None and not queries.can_see_unit(actor, obj.parent):
            raise PermissionDenied("parent unit outside your scope")
        if not change:
            created = do_create_unit(
                code=obj.code,
                name=obj.name,
                kind=obj.kind,
                parent=obj.parent,
                abbreviation=obj.abbreviation,
                commune_type=obj.commune_type,
                short_name=obj.short_name,
                org_id=obj.org_id,
                place_name=obj.place_name,
                latitude=obj.latitude,
                longitude=obj.longitude,
                actor=actor,
                request=request,
            )
            obj.pk = created.pk
            return
        stored = Unit.objects.get(pk=obj.pk)
        if obj.parent_id != stored.parent_id and obj.parent is not None:
            do_move_unit(stored, obj.parent, actor=actor, request=request)
            stored.refresh_from_db()
        fields = (
            "name",
            "short_name",
            "abbreviation",
            "org_id",
            "place_name",
            "is_active",
            "latitude",
            "longitude",
        )
        changes = {f: getattr(obj, f) for f in fields if getattr(obj, f) != getattr(stored, f)}
        if changes:
            do_update_unit(stored, actor=actor, request=request, **changes)


@admin.register(Person, site=admin_site)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("username", "full_name", "unit", "role", "clearance", "is_active")
    list_filter = ("role", "clearance", "is_active")
    search_fields = ("username", "full_name")
    fields = (
        "username",
        "full_name",
        "unit",
        "role",
        "clearance",
        "rank",
        "position",
        "acting_position",
        "is_active",
    )
    readonly_fields = ("username", "unit")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        return queries.people_visible_to(_actor(request)).select_related("unit")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people are created on the people pages or by import, with a password

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # people are deactivated, never deleted (the audit log names them)

    def save_model(self, request: HttpRequest, obj: Person, form: ModelForm, change: bool) -> None:
        stored = Person.objects.select_related("unit").get(pk=obj.pk)
        fields = (
            "full_name",
            "role",
            "clearance",
            "rank",
            "position",
            "acting_position",
            "is_active",
        )
        changes = {f: getattr(obj, f) for f in fields if getattr(obj, f) != getattr(stored, f)}
        if changes:
            do_update_person(stored, actor=_actor(request), request=request, **changes)
