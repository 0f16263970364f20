"""URLs of search, deadlines, the outgoing register and case files (included before the
documents' own, whose `documents/<id>/` would otherwise take these paths)."""

from django.urls import path

from tiendon.documents import docsearch_views as views

urlpatterns = [
    path("documents/search/", views.document_search, name="document_search"),
    path("documents/registers/outgoing/", views.outgoing_register, name="outgoing_register"),
    path("documents/case-files/", views.case_file_list, name="case_file_list"),
    path(
        "documents/case-files/<str:case_file_id>/",
        views.case_file_detail,
        name="case_file_detail",
    ),
    path("documents/deadlines/", views.deadlines_dashboard, name="deadlines_dashboard"),
    path("documents/reminders/<str:reminder_id>/read", views.reminder_read, name="reminder_read"),
    path("documents/<str:document_id>/due-date", views.document_due_date, name="document_due_date"),
]
