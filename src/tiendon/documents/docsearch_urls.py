"""URLs of search, deadlines, the outgoing register and case files (included before the
documents' own, whose `documents/<id>/` would otherwise take these paths)."""

from django.urls import path

from tiendon.documents import docsearch_views as views

urlpatterns = [
    path("documents/search/", views.document_search, name="document_search"),
]
