"""URLs of deadlines and reminders (included before the documents' own, whose
`documents/<id>/` would otherwise take these paths)."""

from django.urls import path

from tiendon.documents.deadlines import views

urlpatterns = [
    path("documents/deadlines/", views.deadlines_dashboard, name="deadlines_dashboard"),
    path("documents/reminders/<str:reminder_id>/read", views.reminder_read, name="reminder_read"),
    path("documents/<str:document_id>/due-date", views.document_due_date, name="document_due_date"),
]
