"""URLs of search and case files (included before the
documents' own, whose `documents/<id>/` would otherwise take these paths)."""

from django.urls import path

from tiendon.documents.search import views

urlpatterns = [
    path("documents/search/", views.document_search, name="document_search"),
    path("documents/case-files/", views.case_file_list, name="case_file_list"),
    path(
        "documents/case-files/<str:case_file_id>/",
        views.case_file_detail,
        name="case_file_detail",
    ),
]
