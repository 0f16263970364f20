"""The documents app's URLs, one list per sub-package. Order matters: every other list comes
before drafting's, whose `documents/<id>/` would take their paths' first word for an id."""

from django.urls import include, path

urlpatterns = [
    path("", include("tiendon.documents.search.urls")),
    path("", include("tiendon.documents.deadlines.urls")),
    path("", include("tiendon.documents.registers.urls")),
    path("", include("tiendon.documents.copies.urls")),
    path("", include("tiendon.documents.incoming.urls")),
    path("", include("tiendon.documents.drafting.urls")),
]
