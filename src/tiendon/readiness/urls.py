"""Readiness dashboard, blocked list, survey spreadsheets and report."""

from django.urls import path

from tiendon.readiness import views

urlpatterns = [
    path("readiness/", views.dashboard, name="readiness"),
    path("readiness/import/", views.survey_import, name="readiness_import"),
    path("readiness/<str:code>/", views.dashboard, name="readiness_unit"),
    path("readiness/<str:code>/edit/", views.survey_edit, name="readiness_edit"),
    path("readiness/<str:code>/blocked/", views.blocked, name="readiness_blocked"),
    path("readiness/<str:code>/template.xlsx", views.survey_template, name="readiness_template"),
    path("readiness/<str:code>/export.xlsx", views.survey_export, name="readiness_export"),
    path("readiness/<str:code>/report.pdf", views.report, name="readiness_report"),
]
