"""URLs of the receiving side, assignments, recall, the sender's status table and recipient
groups (before drafting's `documents/<id>/`, which would take "incoming" for an id)."""

from django.urls import path

from tiendon.documents.incoming import views

urlpatterns = [
    path("documents/incoming/", views.incoming_list, name="incoming_list"),
    path("documents/incoming/paper/", views.paper_new, name="paper_new"),
    path(
        "documents/incoming/register/",
        views.incoming_register_page,
        name="incoming_register",
    ),
    path(
        "documents/incoming/open/<str:envelope_id>",
        views.incoming_open,
        name="incoming_open",
    ),
    path(
        "documents/incoming/refuse/<str:envelope_id>",
        views.incoming_refuse_delivery,
        name="incoming_refuse_delivery",
    ),
    path("documents/incoming/<str:incoming_id>/", views.incoming_detail, name="incoming_detail"),
    path("documents/incoming/<str:incoming_id>/file", views.incoming_file, name="incoming_file"),
    path(
        "documents/incoming/<str:incoming_id>/register",
        views.incoming_register_action,
        name="incoming_register_action",
    ),
    path(
        "documents/incoming/<str:incoming_id>/refuse",
        views.incoming_refuse,
        name="incoming_refuse",
    ),
    path(
        "documents/incoming/<str:incoming_id>/assign",
        views.incoming_assign,
        name="incoming_assign",
    ),
    path(
        "documents/incoming/<str:incoming_id>/recall",
        views.incoming_recall_answer,
        name="incoming_recall_answer",
    ),
    path(
        "documents/assignments/<str:assignment_id>/start",
        views.assignment_start,
        name="assignment_start",
    ),
    path(
        "documents/assignments/<str:assignment_id>/complete",
        views.assignment_complete,
        name="assignment_complete",
    ),
    path(
        "documents/assignments/<str:assignment_id>/file",
        views.assignment_file,
        name="assignment_file",
    ),
    path("documents/groups/", views.recipient_groups, name="recipient_groups"),
    path(
        "documents/<str:document_id>/statuses",
        views.document_statuses,
        name="document_statuses",
    ),
    path("documents/<str:document_id>/recall", views.document_recall, name="document_recall"),
]
