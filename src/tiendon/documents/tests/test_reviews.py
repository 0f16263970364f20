"""Reviewers between drafter and signer: the draft goes to each in turn, any of them can
return it with a comment, the signer acts only after the last approval; all audited."""

from __future__ import annotations

import pytest
from django.utils import translation

from tiendon.audit.models import AuditRecord
from tiendon.documents.drafting.actions import (
    do_edit_draft,
    do_return_to_draft,
    do_sign,
    do_submit_for_review,
)
from tiendon.documents.drafting.reviews import (
    current_step,
    do_approve,
    do_return_for_changes,
    do_set_reviewers,
    review_trail,
)
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import Document, ReviewStep
from tiendon.documents.tests.conftest import draft
from tiendon.errors import InvalidInput
from tiendon.units.actions import do_create_person
from tiendon.units.models import Role

pytestmark = pytest.mark.django_db


def person(tree, username, name, **extra):
    return do_create_person(
        username=username,
        full_name=name,
        unit=tree.commune_a,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
        **extra,
    )


@pytest.fixture
def reviewers(tree):
    return [
        person(tree, "tm.dongtien", "Phạm Văn Tham"),
        person(tree, "ct.dongtien", "Lê Thị Chính"),
    ]


def test_the_draft_goes_to_each_reviewer_in_order_then_to_the_signer(board, reviewers):
    first, second = reviewers
    document = draft(board)
    do_set_reviewers(document, board.clerk, reviewers=[first, second])
    document = do_submit_for_review(document, board.clerk)
    assert current_step(document).reviewer == first
    # Not the second reviewer's turn yet, and not the signer's.
    with pytest.raises(DocumentError) as refused:
        do_approve(document, second)
    assert refused.value.code == "not_the_reviewer"
    with pytest.raises(DocumentError) as refused:
        do_sign(document, board.commander, totp_code=board.code())
    assert refused.value.code == "review_pending"
    with pytest.raises(DocumentError) as refused:
        do_return_to_draft(document, board.commander, comment="Sửa lại.")
    assert refused.value.code == "review_pending"

    do_approve(document, first, comment="Đồng ý.")
    assert current_step(document).reviewer == second
    with pytest.raises(DocumentError):
        do_approve(document, first)
    do_approve(document, second)
    assert current_step(document) is None
    signed = do_sign(document, board.commander, totp_code=board.code())
    assert signed.state == Document.State.SIGNED
    trail = review_trail(document)
    assert [(s.reviewer.username, s.decision, s.comment) for s in trail] == [
        ("tm.dongtien", "approved", "Đồng ý."),
        ("ct.dongtien", "approved", ""),
    ]
    actions = list(
        AuditRecord.objects.filter(action__startswith="documents.review_").values_list(
            "action", "actor__username"
        )
    )
    assert actions == [
        ("documents.review_approved", "tm.dongtien"),
        ("documents.review_approved", "ct.dongtien"),
    ]


def test_a_reviewer_returns_the_draft_with_a_comment_and_the_next_round_starts_over(
    board, reviewers
):
    first, second = reviewers
    document = draft(board)
    do_set_reviewers(document, board.clerk, reviewers=[first, second])
    document = do_submit_for_review(document, board.clerk)
    do_approve(document, first)
    with translation.override("en"), pytest.raises(InvalidInput) as refused:
        do_return_for_changes(document, second, comment="  ")
    assert refused.value.code == "comment_required"
    do_return_for_changes(document, second, comment="Bổ sung căn cứ pháp lý.")
    document.refresh_from_db()
    assert document.state == Document.State.DRAFT
    record = AuditRecord.objects.get(action="documents.review_returned")
    assert record.new["comment"] == "Bổ sung căn cứ pháp lý."
    # The drafter edits (a new version) and submits again: the first reviewer again.
    document = do_edit_draft(document, board.clerk, body="Căn cứ Luật Dân quân tự vệ 2019.")
    document = do_submit_for_review(document, board.clerk)
    step = current_step(document)
    assert (step.round, step.reviewer, step.version) == (2, first, 2)
    trail = [(s.round, s.reviewer.username, s.decision) for s in review_trail(document)]
    assert trail == [
        (1, "tm.dongtien", "approved"),
        (1, "ct.dongtien", "returned"),
        (2, "tm.dongtien", "pending"),
        (2, "ct.dongtien", "pending"),
    ]


def test_reviewers_are_people_of_the_drafting_unit_chosen_by_the_drafter(tree, board, reviewers):
    document = draft(board)
    for chosen, code in [
        ([tree.clerk_b], "reviewer_outside_unit"),
        ([board.commander], "reviewer_is_drafter_or_signer"),
        ([reviewers[0], reviewers[0]], "reviewer_twice"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            do_set_reviewers(document, board.clerk, reviewers=chosen)
        assert (refused.value.code, refused.value.field) == (code, "reviewers")
    with pytest.raises(DocumentError) as refused:
        do_set_reviewers(document, board.commander, reviewers=reviewers)
    assert refused.value.code == "not_the_drafter"
    assert not ReviewStep.objects.exists()
    # Without reviewers the draft goes straight to the signer, as before.
    document = do_submit_for_review(document, board.clerk)
    assert current_step(document) is None
    assert do_sign(document, board.commander, totp_code=board.code()).state == "signed"


def test_a_reviewer_without_clearance_cannot_be_chosen_for_a_secret_draft(tree, province_board):
    from tiendon.units.models import Clearance

    uncleared = do_create_person(
        username="tm.thanhhoa",
        full_name="Đỗ Văn Minh",
        unit=tree.province,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )
    cleared = do_create_person(
        username="tm2.thanhhoa",
        full_name="Đỗ Thị Lan",
        unit=tree.province,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
        clearance=Clearance.MAT,
    )
    document = draft(province_board, secrecy=1)
    with pytest.raises(InvalidInput) as refused:
        do_set_reviewers(document, province_board.clerk, reviewers=[uncleared])
    assert refused.value.code == "clearance_required"
    do_set_reviewers(document, province_board.clerk, reviewers=[cleared])
    assert AuditRecord.objects.filter(action="documents.reviewers_set").count() == 1


def test_an_urgent_draft_reminds_the_reviewer_whose_turn_it_is_then_the_signer(board, reviewers):
    from tiendon.documents.deadlines import reminders as deadlines
    from tiendon.documents.models import Urgency

    first, second = reviewers
    document = draft(board, urgency=Urgency.HOA_TOC)
    do_set_reviewers(document, board.clerk, reviewers=[first, second])
    document = do_submit_for_review(document, board.clerk)
    for person in (first, second, board.commander):
        deadlines.do_refresh_reminders(person)
    assert [r.kind for r in deadlines.unread_reminders(first)] == ["urgent"]
    assert deadlines.unread_reminders(second) == []
    assert deadlines.unread_reminders(board.commander) == []
    do_approve(document, first)
    deadlines.do_refresh_reminders(board.commander)
    assert [r.document_id for r in deadlines.unread_reminders(second)] == [document.pk]
    assert deadlines.unread_reminders(board.commander) == []
    do_approve(document, second)
    assert [r.document_id for r in deadlines.unread_reminders(board.commander)] == [document.pk]


def test_the_due_date_follows_the_draft_to_whoever_must_act(board, reviewers):
    """A draft with a due date waits on its reviewers in turn, then on the signer: each
    finds it on their own deadline list while it is their turn; the drafter all along."""
    import datetime as dt

    from tiendon.documents.deadlines import reminders as deadlines

    first, second = reviewers
    today = dt.date(2027, 3, 1)
    document = draft(board)
    deadlines.do_set_due_date(document, board.clerk, dt.date(2027, 3, 3), today=today)
    do_set_reviewers(document, board.clerk, reviewers=[first, second])
    document = do_submit_for_review(document, board.clerk)

    def waiting_on(person):
        lists = deadlines.deadline_lists(person, scope="person", today=today)
        return [(item.document.pk, item.person) for item in lists.due_soon]

    assert waiting_on(first) == [(document.pk, first)]
    assert waiting_on(second) == []
    assert waiting_on(board.commander) == []
    assert waiting_on(board.clerk) == [(document.pk, first)]  # the drafter answers for it
    do_approve(document, first)
    assert waiting_on(first) == []
    assert waiting_on(second) == [(document.pk, second)]
    do_approve(document, second)
    assert waiting_on(second) == []
    assert waiting_on(board.commander) == [(document.pk, board.commander)]
    unit = deadlines.deadline_lists(board.clerk, scope="unit", today=today)
    assert [(item.document.pk, item.person) for item in unit.due_soon] == [
        (document.pk, board.commander)
    ]
