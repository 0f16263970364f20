"""URLs of drafts: list, new, a document's page and PDF, edit, submit, sign, issue."""

from django.urls import path

from tiendon.documents.drafting import views

urlpatterns = [
    path("documents/", views.document_list, name="document_list"),
    path("documents/new/", views.document_new, name="document_new"),
    path("documents/<str:document_id>/", views.document_detail, name="document_detail"),
    path("documents/<str:document_id>/pdf", views.document_pdf, name="document_pdf"),
    path("documents/<str:document_id>/edit", views.document_edit, name="document_edit"),
    path("documents/<str:document_id>/return", views.document_return, name="document_return"),
    path("documents/<str:document_id>/submit", views.document_submit, name="document_submit"),
    path("documents/<str:document_id>/sign", views.document_sign, name="document_sign"),
    path("documents/<str:document_id>/issue", views.document_issue, name="document_issue"),
]
