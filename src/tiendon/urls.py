"""Top-level URL map: each app owns its own prefix."""

from django.urls import include, path

from tiendon.units.admin import admin_site

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin_site.urls),
    path("", include("tiendon.units.urls")),
    path("", include("tiendon.pki.urls")),
    path("", include("tiendon.exchange.urls")),
    path("", include("tiendon.readiness.urls")),
    path("", include("tiendon.documents.urls")),
    path("", include("tiendon.web.urls")),
]
