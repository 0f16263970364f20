from django.urls import path

from tiendon.documents import views, views_flow

# The receiving side first: "documents/<id>/" would take "incoming" for a document id.
urlpatterns = [
    path("documents/incoming/", views_flow.incoming_list, name="incoming_list"),
    path("documents/incoming/paper/", views_flow.paper_new, name="paper_new"),
    path(
        "documents/incoming/register/",
        views_flow.incoming_register_page,
        name="incoming_register",
    ),
    path(
        "documents/incoming/open/<str:envelope_id>",
        views_flow.incoming_open,
        name="incoming_open",
    ),
    path(
        "documents/incoming/refuse/<str:envelope_id>",
        views_flow.incoming_refuse_delivery,
        name="incoming_refuse_delivery",
    ),
    path(
        "documents/incoming/<str:incoming_id>/", views_flow.incoming_detail, name="incoming_detail"
    ),
    path(
        "documents/incoming/<str:incoming_id>/file", views_flow.incoming_file, name="incoming_file"
    ),
    path(
        "documents/incoming/<str:incoming_id>/register",
        views_flow.incoming_register_action,
        name="incoming_register_action",
    ),
    path(
        "documents/incoming/<str:incoming_id>/refuse",
        views_flow.incoming_refuse,
        name="incoming_refuse",
    ),
    path(
        "documents/incoming/<str:incoming_id>/assign",
        views_flow.incoming_assign,
        name="incoming_assign",
    ),
    path(
        "documents/incoming/<str:incoming_id>/recall",
        views_flow.incoming_recall_answer,
        name="incoming_recall_answer",
    ),
    path(
        "documents/assignments/<str:assignment_id>/start",
        views_flow.assignment_start,
        name="assignment_start",
    ),
    path(
        "documents/assignments/<str:assignment_id>/complete",
        views_flow.assignment_complete,
        name="assignment_complete",
    ),
    path(
        "documents/assignments/<str:assignment_id>/file",
        views_flow.assignment_file,
        name="assignment_file",
    ),
    path("documents/groups/", views_flow.recipient_groups, name="recipient_groups"),
    path(
        "documents/<str:document_id>/statuses",
        views_flow.document_statuses,
        name="document_statuses",
    ),
    path("documents/<str:document_id>/recall", views_flow.document_recall, name="document_recall"),
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
