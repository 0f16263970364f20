"""Django admin for master data, reachable only by administrators who passed TOTP."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tiendon.units.models import Person, Unit


class TiendonAdminSite(admin.AdminSite):
    site_header = _("Tiền Đồn administration")
    site_title = _("Tiền Đồn")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and getattr(user, "is_admin", False)
            and request.session.get("otp_verified", False)
        )


admin_site = TiendonAdminSite(name="admin")


@admin.register(Unit, site=admin_site)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "commune_type", "abbreviation", "parent")
    list_filter = ("kind", "commune_type")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)
    readonly_fields = ("path", "depth")


@admin.register(Person, site=admin_site)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("username", "full_name", "unit", "role", "clearance", "is_active")
    list_filter = ("role", "clearance", "is_active")
    search_fields = ("username", "full_name")
    raw_id_fields = ("unit",)
    exclude = ("password",)
