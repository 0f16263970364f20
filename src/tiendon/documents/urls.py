"""The documents app's URLs, by sub-package. Order matters: drafting's come last, since
its `documents/<id>/` would take the first word of every other path for an id."""

from django.urls import path

from tiendon.documents.copies import views as copies_views
from tiendon.documents.deadlines import views as deadlines_views
from tiendon.documents.drafting import views as drafting_views
from tiendon.documents.incoming import views as incoming_views
from tiendon.documents.registers import views as registers_views
from tiendon.documents.search import views as search_views

urlpatterns = [
    # search
    path("documents/search/", search_views.document_search, name="document_search"),
    path("documents/case-files/", search_views.case_file_list, name="case_file_list"),
    path(
        "documents/case-files/<str:case_file_id>/",
        search_views.case_file_detail,
        name="case_file_detail",
    ),
    # deadlines
    path("documents/deadlines/", deadlines_views.deadlines_dashboard, name="deadlines_dashboard"),
    path(
        "documents/reminders/<str:reminder_id>/read",
        deadlines_views.reminder_read,
        name="reminder_read",
    ),
    path(
        "documents/reminders/read",
        deadlines_views.reminders_read_many,
        name="reminders_read_many",
    ),
    path(
        "documents/<str:document_id>/due-date",
        deadlines_views.document_due_date,
        name="document_due_date",
    ),
    # registers
    path(
        "documents/registers/outgoing/", registers_views.outgoing_register, name="outgoing_register"
    ),
    # copies
    path("documents/copies/", copies_views.copy_list, name="copy_list"),
    path("documents/copies/<str:copy_id>/", copies_views.copy_detail, name="copy_detail"),
    path("documents/copies/<str:copy_id>/pdf", copies_views.copy_pdf, name="copy_pdf"),
    path("documents/copies/<str:copy_id>/copy", copies_views.copy_copy_new, name="copy_copy"),
    path("documents/copies/<str:copy_id>/recall", copies_views.copy_recall, name="copy_recall"),
    path(
        "documents/incoming/<str:incoming_id>/copy",
        copies_views.incoming_copy_new,
        name="incoming_copy",
    ),
    path(
        "documents/incoming/<str:incoming_id>/attachments/<str:position>",
        copies_views.incoming_attachment,
        name="incoming_attachment",
    ),
    path(
        "documents/incoming/<str:incoming_id>/original",
        copies_views.incoming_original,
        name="incoming_original",
    ),
    path("documents/<str:document_id>/copy", copies_views.document_copy_new, name="document_copy"),
    path(
        "documents/<str:document_id>/attachments/add",
        copies_views.attachment_add,
        name="attachment_add",
    ),
    path(
        "documents/<str:document_id>/attachments/<str:position>",
        copies_views.document_attachment,
        name="document_attachment",
    ),
    path(
        "documents/<str:document_id>/attachments/<str:position>/remove",
        copies_views.attachment_remove,
        name="attachment_remove",
    ),
    path("documents/<str:document_id>/reviewers", copies_views.reviewers_set, name="reviewers_set"),
    path("documents/<str:document_id>/review", copies_views.review_decide, name="review_decide"),
    # incoming
    path("documents/incoming/", incoming_views.incoming_list, name="incoming_list"),
    path("documents/incoming/paper/", incoming_views.paper_new, name="paper_new"),
    path(
        "documents/incoming/register/",
        incoming_views.incoming_register_page,
        name="incoming_register",
    ),
    path(
        "documents/incoming/open/<str:envelope_id>",
        incoming_views.incoming_open,
        name="incoming_open",
    ),
    path(
        "documents/incoming/refuse/<str:envelope_id>",
        incoming_views.incoming_refuse_delivery,
        name="incoming_refuse_delivery",
    ),
    path(
        "documents/incoming/<str:incoming_id>/",
        incoming_views.incoming_detail,
        name="incoming_detail",
    ),
    path(
        "documents/incoming/<str:incoming_id>/file",
        incoming_views.incoming_file,
        name="incoming_file",
    ),
    path(
        "documents/incoming/<str:incoming_id>/pages/<int:number>.jpg",
        incoming_views.incoming_page,
        name="incoming_page",
    ),
    path(
        "documents/incoming/register-many",
        incoming_views.incoming_register_many,
        name="incoming_register_many",
    ),
    path(
        "documents/incoming/<str:incoming_id>/register",
        incoming_views.incoming_register_action,
        name="incoming_register_action",
    ),
    path(
        "documents/incoming/<str:incoming_id>/refuse",
        incoming_views.incoming_refuse,
        name="incoming_refuse",
    ),
    path(
        "documents/incoming/<str:incoming_id>/assign",
        incoming_views.incoming_assign,
        name="incoming_assign",
    ),
    path(
        "documents/incoming/<str:incoming_id>/recall",
        incoming_views.incoming_recall_answer,
        name="incoming_recall_answer",
    ),
    path(
        "documents/assignments/<str:assignment_id>/start",
        incoming_views.assignment_start,
        name="assignment_start",
    ),
    path(
        "documents/assignments/<str:assignment_id>/complete",
        incoming_views.assignment_complete,
        name="assignment_complete",
    ),
    path(
        "documents/assignments/<str:assignment_id>/file",
        incoming_views.assignment_file,
        name="assignment_file",
    ),
    path("documents/groups/", incoming_views.recipient_groups, name="recipient_groups"),
    path(
        "documents/<str:document_id>/statuses",
        incoming_views.document_statuses,
        name="document_statuses",
    ),
    path(
        "documents/<str:document_id>/recall", incoming_views.document_recall, name="document_recall"
    ),
    # drafting
    path("documents/", drafting_views.document_list, name="document_list"),
    path("documents/new/", drafting_views.document_new, name="document_new"),
    path("documents/<str:document_id>/", drafting_views.document_detail, name="document_detail"),
    path("documents/<str:document_id>/pdf", drafting_views.document_pdf, name="document_pdf"),
    path(
        "documents/<str:document_id>/pages/<int:number>.jpg",
        drafting_views.document_page,
        name="document_page",
    ),
    path("documents/<str:document_id>/edit", drafting_views.document_edit, name="document_edit"),
    path(
        "documents/<str:document_id>/return", drafting_views.document_return, name="document_return"
    ),
    path(
        "documents/<str:document_id>/submit", drafting_views.document_submit, name="document_submit"
    ),
    path("documents/<str:document_id>/sign", drafting_views.document_sign, name="document_sign"),
    path("documents/<str:document_id>/issue", drafting_views.document_issue, name="document_issue"),
]
