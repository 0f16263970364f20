"""URLs of attachments, reviewers and certified copies (included before the documents'
own, whose `documents/<id>/` would otherwise take `documents/copies/`)."""

from django.urls import path

from tiendon.documents.copies import views

urlpatterns = [
    path("documents/copies/", views.copy_list, name="copy_list"),
    path("documents/copies/<str:copy_id>/", views.copy_detail, name="copy_detail"),
    path("documents/copies/<str:copy_id>/pdf", views.copy_pdf, name="copy_pdf"),
    path("documents/copies/<str:copy_id>/copy", views.copy_copy_new, name="copy_copy"),
    path("documents/copies/<str:copy_id>/recall", views.copy_recall, name="copy_recall"),
    path(
        "documents/incoming/<str:incoming_id>/copy", views.incoming_copy_new, name="incoming_copy"
    ),
    path(
        "documents/incoming/<str:incoming_id>/attachments/<str:position>",
        views.incoming_attachment,
        name="incoming_attachment",
    ),
    path(
        "documents/incoming/<str:incoming_id>/original",
        views.incoming_original,
        name="incoming_original",
    ),
    path("documents/<str:document_id>/copy", views.document_copy_new, name="document_copy"),
    path(
        "documents/<str:document_id>/attachments/add",
        views.attachment_add,
        name="attachment_add",
    ),
    path(
        "documents/<str:document_id>/attachments/<str:position>",
        views.document_attachment,
        name="document_attachment",
    ),
    path(
        "documents/<str:document_id>/attachments/<str:position>/remove",
        views.attachment_remove,
        name="attachment_remove",
    ),
    path("documents/<str:document_id>/reviewers", views.reviewers_set, name="reviewers_set"),
    path("documents/<str:document_id>/review", views.review_decide, name="review_decide"),
]
