"""Việc cần làm and the hand-offs: each change that gives someone work reaches them at once,
as a reminder and in their queue; the navigation's counts are the queue's rows; the home
page, read as each person, writes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import log_in_with_totp
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tiendon import shell
from tiendon.documents import worklist
from tiendon.documents.deadlines import reminders
from tiendon.documents.drafting.actions import do_issue, do_return_to_draft, do_sign
from tiendon.documents.incoming.actions import (
    do_assign_incoming,
    do_complete_assignment,
    do_register_incoming,
)
from tiendon.documents.models import Reminder
from tiendon.documents.tests.conftest import draft, in_review, taken_in
from tiendon.units.actions import do_create_person
from tiendon.units.models import Role

pytestmark = pytest.mark.django_db


def told(person: Any) -> list[tuple[str, str]]:
    """The person's unread reminders as (step, title)."""
    return [(r.step, r.title) for r in reminders.unread_reminders(person)]


def steps(person: Any) -> list[str]:
    return [item.step for item in worklist.work_of(person)]


def test_each_hand_off_reaches_the_next_person_in_the_queue_and_as_a_reminder(
    tree: Any, board: Any, province_board: Any
) -> None:
    officer = do_create_person(
        username="cb.dongtien",
        full_name="Ngô Văn Cường",
        unit=tree.commune_a,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )
    province = province_board
    # Submitted: the signer's turn, told at once; nobody else has anything to do.
    document = in_review(province, recipient_spec=[{"unit": tree.commune_a.code}])
    assert [s for s, _title in told(province.commander)] == ["sign"]
    assert steps(province.commander) == ["sign"]
    assert steps(province.clerk) == []
    # Returned: the drafter is told; the signer's reminder is closed (the turn moved on).
    do_return_to_draft(document, province.commander, comment="Sửa trích yếu.")
    assert [s for s, _title in told(province.clerk)] == ["returned"]
    assert told(province.commander) == []
    # Submitted again, signed: the clerks who issue are told.
    document = in_review(province, recipient_spec=[{"unit": tree.commune_a.code}])
    signed = do_sign(document, province.commander, totp_code=province.code())
    assert steps(province.clerk) == ["issue"]
    assert "issue" in [s for s, _title in told(province.clerk)]
    issued = do_issue(signed, province.clerk)
    assert steps(province.clerk) == []
    assert "issue" not in [s for s, _title in told(province.clerk)]
    # Arrived (taken in by the node): the commune's clerk registers it.
    incoming = taken_in(tree.clerk_a, issued.envelope_id)
    assert steps(tree.clerk_a) == ["register"]
    assert [s for s, _title in told(tree.clerk_a)] == ["register"]
    assert steps(tree.commander_a) == []  # not urgent: the commander waits for the register
    # Registered: the commander assigns.
    do_register_incoming(incoming, tree.clerk_a)
    assert steps(tree.clerk_a) == []
    assert told(tree.clerk_a) == []
    assert steps(tree.commander_a) == ["assign"]
    assert [s for s, _title in told(tree.commander_a)] == ["assign"]
    # Assigned: the officer processes it by the deadline.
    (assignment,) = do_assign_incoming(
        incoming, tree.commander_a, assignees=[officer], deadline=dt.date(2027, 1, 15)
    )
    assert steps(tree.commander_a) == []
    assert told(tree.commander_a) == []
    assert steps(officer) == ["process"]
    assert [s for s, _title in told(officer)] == ["assigned"]
    do_complete_assignment(assignment, officer, result_note="Đã triển khai.")
    assert steps(officer) == []
    assert told(officer) == []


def test_a_hoa_toc_arrival_comes_first_and_reaches_the_commander_too(
    tree: Any, board: Any, province_board: Any
) -> None:
    from tiendon.documents.tests.test_flow import issue_to

    routine = issue_to(province_board, [{"unit": tree.commune_a.code}])
    flash = issue_to(province_board, [{"unit": tree.commune_a.code}], urgency="hoa_toc")
    taken_in(tree.clerk_a, routine.envelope_id)
    queue = worklist.work_of(tree.clerk_a)
    assert [(item.step, item.urgency) for item in queue] == [
        ("register", "hoa_toc"),
        ("register", "normal"),
    ]
    flash_row = taken_in(tree.clerk_a, flash.envelope_id)
    assert queue[0].url == reverse("incoming_detail", args=[flash_row.pk])
    assert [r.kind for r in reminders.unread_reminders(tree.commander_a)] == ["urgent"]


def test_the_navigation_counts_are_the_queues_rows_and_home_writes_nothing(
    tree: Any, board: Any, province_board: Any
) -> None:
    in_review(province_board, recipient_spec=[{"unit": tree.commune_a.code}])
    signed = do_sign(
        in_review(province_board, recipient_spec=[{"unit": tree.commune_a.code}]),
        province_board.commander,
        totp_code=province_board.code(),
    )
    issued = do_issue(signed, province_board.clerk)
    draft(province_board)  # a draft of one's own is not work waiting on anyone
    for person in (province_board.clerk, province_board.commander, tree.clerk_a):
        queue = shell.work_queue(person)
        links = {
            link.key: link.count for link in shell.navigation(person, shell.work_counts(person))
        }
        assert links["work"] == len(queue)
        assert links["incoming"] == sum(
            1 for i in queue if i.step in ("register", "assign", "recall", "process")
        )
        assert links["outgoing"] == sum(1 for i in queue if i.step in ("review", "sign", "issue"))
    taken_in(tree.clerk_a, issued.envelope_id)
    client = log_in_with_totp(Client(), tree.clerk_a)
    with CaptureQueriesContext(connection) as captured:
        home = client.get(reverse("home"))
    assert home.status_code == 200
    page = home.content.decode()
    assert "Việc cần làm" in page
    assert 'data-step="register"' in page
    assert reverse("incoming_list") in page  # the side navigation leads to the documents
    writes = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and "django_session" not in q["sql"]
    ]
    assert writes == []
    # Polled every 30 s: the queue alone, so a Hỏa tốc arrival shows without a reload.
    polled = client.get(reverse("home"), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="work"' in polled
    assert 'data-step="register"' in polled
    assert "<html" not in polled
    assert "htmx-2.min.js" in page
    # The commander of the province has the signing and nothing of the commune's.
    assert steps(province_board.commander) == ["sign"]
    assert Reminder.objects.filter(person=tree.clerk_b).count() == 0


def test_several_reminders_are_marked_read_at_once_by_their_owner_only(
    tree: Any, board: Any, province_board: Any
) -> None:
    from tiendon.documents.tests.test_flow import issue_to

    for _ in range(2):
        sent = issue_to(province_board, [{"unit": tree.commune_a.code}])
        taken_in(tree.clerk_a, sent.envelope_id)
    mine = [r.pk for r in reminders.unread_reminders(tree.clerk_a)]
    assert len(mine) == 2
    other = reminders.unread_reminders(province_board.clerk)
    client = log_in_with_totp(Client(), tree.clerk_a)
    page = client.get(reverse("deadlines_dashboard")).content.decode()
    assert "Văn bản đến, chờ vào sổ" in page  # what each asks, in words
    ids = [*mine, *(r.pk for r in other), "x"]
    client.post(reverse("reminders_read_many"), {"ids": ids})
    assert reminders.unread_reminders(tree.clerk_a) == []
    assert len(reminders.unread_reminders(province_board.clerk)) == len(other)
    assert steps(tree.clerk_a) == ["register", "register"]  # the work itself stays
