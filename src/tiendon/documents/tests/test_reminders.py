"""In-app reminders beyond outgoing documents: an officer is reminded at once of what the
commander assigned, then when it is due soon or overdue; a Hỏa tốc or Thượng khẩn delivery
is announced to the unit's clerks and commander before anyone opens it, in a banner on every
page until each dismisses it; nobody of another unit sees or dismisses any of it."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tiendon.audit.models import AuditRecord
from tiendon.documents.deadlines import reminders as deadlines
from tiendon.documents.deadlines.reminders import add_working_days
from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.incoming.actions import (
    do_receive_paper,
)
from tiendon.documents.models import DocumentType, IncomingDocument, Reminder, Urgency
from tiendon.documents.tests.conftest import PNG_SCAN, in_review, paper_assigned
from tiendon.errors import OutOfScope
from tiendon.exchange import dispatch
from tiendon.units.actions import do_create_person
from tiendon.units.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_a(tree: Any) -> Any:
    return do_create_person(
        username="cb.dongtien",
        full_name="Ngô Văn Cường",
        unit=tree.commune_a,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )


def _assigned(tree: Any, staff: Any, subject: str, deadline: Any, **extra: Any) -> Any:
    (assignment,) = paper_assigned(tree, subject, [staff], deadline, **extra)
    return assignment


def test_an_officer_is_reminded_at_once_of_an_assignment_then_when_it_is_late(
    tree: Any, staff_a: Any
) -> None:
    today = deadlines.today_in_vietnam()
    deadline = add_working_days(today, 5)
    assignment = _assigned(tree, staff_a, "Công văn về rà soát quân nhân dự bị", deadline)
    (reminder,) = deadlines.unread_reminders(staff_a)
    assert reminder.kind == Reminder.Kind.ASSIGNED
    assert reminder.incoming_id == assignment.incoming_id
    assert reminder.due_date == deadline
    assert reminder.url == reverse("incoming_detail", args=[assignment.incoming_id])
    # Audited with the commander as the actor, one record for the officer reminded.
    record = AuditRecord.objects.filter(action="documents.reminders_created").last()
    assert record is not None
    assert record.actor_id == tree.commander_a.pk
    assert record.new["for"] == staff_a.username
    # Nobody else of the unit is reminded of the officer's work.
    assert deadlines.unread_reminders(tree.commander_a) == []

    # Due soon, then overdue: one reminder each, made once.
    soon = deadlines.do_refresh_reminders(staff_a, today=add_working_days(deadline, -1))
    assert [(r.kind, r.incoming_id) for r in soon] == [
        (Reminder.Kind.DUE_SOON, assignment.incoming_id)
    ]
    late = add_working_days(deadline, 2)
    overdue = deadlines.do_refresh_reminders(staff_a, today=late)
    assert [r.kind for r in overdue] == [Reminder.Kind.OVERDUE]
    assert deadlines.do_refresh_reminders(staff_a, today=late) == []
    # The commander's unit-wide list has the officer's item, but his reminders do not.
    assert deadlines.do_refresh_reminders(tree.commander_a, today=late) == []

    # Only the officer dismisses them; another person's attempt is out of scope.
    with pytest.raises(OutOfScope):
        deadlines.do_mark_reminder_read(reminder.pk, tree.clerk_b)
    with pytest.raises(OutOfScope):
        deadlines.do_mark_reminder_read(reminder.pk, tree.commander_a)
    deadlines.do_mark_reminder_read(reminder.pk, staff_a)
    assert reminder.pk not in [r.pk for r in deadlines.unread_reminders(staff_a)]


def test_the_officer_sees_the_assignment_on_every_page_in_both_languages(
    tree: Any, staff_a: Any, client: Any
) -> None:
    deadline = add_working_days(deadlines.today_in_vietnam(), 3)
    assignment = _assigned(
        tree, staff_a, "Công văn hỏa tốc về phòng chống lũ", deadline, urgency=Urgency.HOA_TOC
    )
    client.force_login(staff_a)
    home = client.get(reverse("home")).content.decode()
    assert 'id="reminder-banner"' in home
    assert "Nhắc việc" in home
    assert "Hỏa tốc" in home
    assert "Công văn hỏa tốc về phòng chống lũ" in home
    assert reverse("incoming_detail", args=[assignment.incoming_id]) in home
    page = client.get(reverse("deadlines_dashboard")).content.decode()
    assert "Được giao cho đồng chí" in page
    assert deadline.strftime("%d/%m/%Y") in page
    client.cookies["django_language"] = "en"
    english_page = client.get(reverse("deadlines_dashboard")).content.decode()
    assert "Assigned to you" in english_page
    assert "Reminders" in english_page

    # Dismissed from the banner, the officer stays on the page and the banner is gone.
    (reminder,) = deadlines.unread_reminders(staff_a)
    back = client.post(
        reverse("reminder_read", args=[reminder.pk]), {"next": reverse("incoming_list")}
    )
    assert back.status_code == 302
    assert back["Location"] == reverse("incoming_list")
    assert 'id="reminder-banner"' not in client.get(reverse("home")).content.decode()
    # An outside address is not followed.
    assert client.post(
        reverse("reminder_read", args=[reminder.pk]), {"next": "https://example.org/"}
    )["Location"] == reverse("deadlines_dashboard")


def test_another_unit_sees_nothing_and_cannot_dismiss(tree: Any, staff_a: Any, client: Any) -> None:
    _assigned(
        tree,
        staff_a,
        "Công văn thượng khẩn về diễn tập",
        add_working_days(deadlines.today_in_vietnam(), 1),
        urgency=Urgency.THUONG_KHAN,
    )
    (reminder,) = deadlines.unread_reminders(staff_a)
    client.force_login(tree.clerk_b)
    for url in (reverse("home"), reverse("deadlines_dashboard")):
        html = client.get(url).content.decode()
        assert "Công văn thượng khẩn về diễn tập" not in html
        assert 'id="reminder-banner"' not in html
    assert client.post(reverse("reminder_read", args=[reminder.pk])).status_code == 404
    assert deadlines.unread_reminders(staff_a) == [reminder]


def test_an_urgent_delivery_is_announced_to_clerks_and_commander_before_it_is_opened(
    tree: Any, board: Any, province_board: Any, client: Any
) -> None:
    document = do_issue(
        do_sign(
            in_review(
                province_board,
                recipient_spec=[{"unit": tree.commune_a.code}],
                urgency=Urgency.HOA_TOC,
                subject="Công điện hỏa tốc về ứng phó bão số 9",
            ),
            province_board.commander,
            totp_code=province_board.code(),
        ),
        province_board.clerk,
    )
    routine = do_issue(
        do_sign(
            in_review(province_board, recipient_spec=[{"unit": tree.commune_a.code}]),
            province_board.commander,
            totp_code=province_board.code(),
        ),
        province_board.clerk,
    )
    # The node's dispatcher takes both in as they arrive, nobody logged in: the commune's
    # clerk and commander are told of the Hỏa tốc one at once.
    assert dispatch.run_until_idle() == 2
    client.force_login(tree.clerk_a)
    home = client.get(reverse("home")).content.decode()
    assert 'id="reminder-banner"' in home
    assert "Hỏa tốc" in home
    assert "Công điện hỏa tốc về ứng phó bão số 9" in home
    urgent = IncomingDocument.objects.get(unit=tree.commune_a, envelope_id=document.envelope_id)
    plain = IncomingDocument.objects.get(unit=tree.commune_a, envelope_id=routine.envelope_id)
    # The clerk registers both, the Hỏa tốc one on top; the commander hears of that one only.
    told = {p: deadlines.unread_reminders(p) for p in (tree.clerk_a, tree.commander_a)}
    assert [(r.incoming, r.kind, r.step) for r in told[tree.clerk_a]] == [
        (urgent, Reminder.Kind.URGENT, Reminder.Step.REGISTER),
        (plain, Reminder.Kind.TURN, Reminder.Step.REGISTER),
    ]
    assert [(r.incoming, r.kind) for r in told[tree.commander_a]] == [
        (urgent, Reminder.Kind.URGENT)
    ]
    assert reverse("incoming_detail", args=[urgent.pk]) in home
    # Once: loading pages again announces nothing more.
    client.get(reverse("incoming_list"))
    assert Reminder.objects.filter(incoming=urgent).count() == 2
    home = client.get(reverse("home")).content.decode()  # the clerk's page
    assert "Công điện hỏa tốc về ứng phó bão số 9" in home
    client.cookies["django_language"] = "en"
    assert "Reminders" in client.get(reverse("home")).content.decode()
    # The other commune was not a recipient: nothing is announced there.
    client.force_login(tree.clerk_b)
    client.cookies["django_language"] = "vi"
    html = client.get(reverse("home")).content.decode()
    assert 'id="reminder-banner"' not in html
    assert deadlines.unread_reminders(tree.clerk_b) == []


def test_an_urgent_paper_document_is_announced_to_the_others_of_the_unit(tree: Any) -> None:
    paper = do_receive_paper(
        tree.clerk_a,
        scan=PNG_SCAN,
        issuer_name="Ủy ban nhân dân phường Đông Tiến",
        subject="Công văn thượng khẩn về cháy rừng",
        doc_type=DocumentType.CONG_VAN,
        urgency=Urgency.THUONG_KHAN,
    )
    (announced,) = deadlines.unread_reminders(tree.commander_a)
    assert announced.incoming_id == paper.pk
    assert announced.title == "Công văn thượng khẩn về cháy rừng"
    # The clerk who typed it in is not told of her own entry.
    assert deadlines.unread_reminders(tree.clerk_a) == []
    (record,) = AuditRecord.objects.filter(action="documents.reminders_created")
    assert record.actor_id == tree.clerk_a.pk
    assert record.new == {
        "count": 1,
        "kinds": ["urgent"],
        "steps": ["register"],
        "for": tree.commander_a.username,
    }
