"""Deadlines: working days around Tết 2027, 30/4–1/5 and 2/9; overdue and due-soon lists per
person and per unit with Hỏa tốc/Thượng khẩn on top; reminders; who may set a due date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from tiendon.audit.models import AuditRecord
from tiendon.documents.deadlines import reminders as deadlines
from tiendon.documents.deadlines.reminders import add_working_days, working_days_between
from tiendon.documents.drafting.actions import do_create_draft, do_submit_for_review
from tiendon.documents.models import DocumentType, Reminder, Urgency
from tiendon.documents.tests.conftest import paper_assigned
from tiendon.errors import InvalidInput, OutOfScope

D = dt.date


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Tết Đinh Mùi 2027: 29 Tết (Thu 4/2) to mùng 5 (Wed 10/2) are holidays.
        (D(2027, 2, 3), 1, D(2027, 2, 11)),
        (D(2027, 2, 3), 2, D(2027, 2, 12)),
        (D(2027, 2, 1), 5, D(2027, 2, 15)),
        (D(2027, 2, 11), -1, D(2027, 2, 3)),
        # 30/4 (Fri), 1/5 (Sat, observed Mon 3/5) 2027.
        (D(2027, 4, 29), 1, D(2027, 5, 4)),
        # Giỗ Tổ Hùng Vương, Fri 16/4/2027.
        (D(2027, 4, 15), 1, D(2027, 4, 19)),
        # Quốc khánh 2/9 and 3/9 2027 (Thu, Fri).
        (D(2027, 9, 1), 1, D(2027, 9, 6)),
        # 2026: Mon 31/8 given as a day off (swapped with Sat 22/8), then 1/9 and 2/9.
        (D(2026, 8, 28), 1, D(2026, 9, 3)),
        # An ordinary week: weekends only.
        (D(2027, 3, 5), 1, D(2027, 3, 8)),
        (D(2027, 3, 3), 0, D(2027, 3, 3)),
    ],
)
def test_working_days_skip_weekends_and_vietnamese_holidays(
    start: dt.date, days: int, expected: dt.date
) -> None:
    assert add_working_days(start, days) == expected
    if days:
        assert working_days_between(start, expected) == days


def test_the_holiday_calendar_knows_the_lunar_new_year() -> None:
    assert not deadlines.is_working_day(D(2027, 2, 8))  # mùng 3 Tết, a Monday
    assert "Lunar New Year" in deadlines.holiday_name(D(2027, 2, 6))
    assert deadlines.is_working_day(D(2027, 2, 11))
    assert working_days_between(D(2027, 1, 29), D(2027, 2, 12)) == 5


def test_absurd_spans_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        add_working_days(D(2027, 1, 1), 100_000)
    assert caught.value.code == "too_many_days"


def _draft(tree: Any, subject: str, **extra: Any) -> Any:
    return do_create_draft(
        tree.clerk_a,
        doc_type=DocumentType.KE_HOACH,
        subject=subject,
        body="Nội dung.",
        signer=tree.commander_a,
        **extra,
    )


TODAY = D(2027, 2, 3)  # the Wednesday before Tết


def test_overdue_and_due_soon_lists_pin_urgent_documents(tree: Any) -> None:
    normal_late = _draft(tree, "Báo cáo tổng kết năm")
    urgent_late = _draft(tree, "Báo cáo khẩn về bão", urgency=Urgency.THUONG_KHAN)
    soon = _draft(tree, "Kế hoạch trực Tết")
    soon_fire = _draft(tree, "Phương án chữa cháy rừng", urgency=Urgency.HOA_TOC)
    later = _draft(tree, "Kế hoạch huấn luyện quý II")
    set_at = D(2027, 1, 25)
    deadlines.do_set_due_date(normal_late, tree.clerk_a, D(2027, 1, 29), today=set_at)
    deadlines.do_set_due_date(urgent_late, tree.clerk_a, D(2027, 2, 2), today=set_at)
    # One working day away across all of Tết.
    deadlines.do_set_due_date(soon, tree.clerk_a, D(2027, 2, 11), today=set_at)
    deadlines.do_set_due_date(soon_fire, tree.clerk_a, D(2027, 2, 12), today=set_at)
    deadlines.do_set_due_date(later, tree.clerk_a, D(2027, 3, 1), today=set_at)

    lists = deadlines.deadline_lists(tree.clerk_a, scope="person", today=TODAY)
    assert [i.document.pk for i in lists.overdue] == [urgent_late.pk, normal_late.pk]
    assert [i.document.pk for i in lists.due_soon] == [soon_fire.pk, soon.pk]
    assert [i.working_days_left for i in lists.due_soon] == [2, 1]
    assert lists.overdue[1].working_days_left == -3

    # The commander drafted none of them: nothing of his own, all of them for the unit.
    mine = deadlines.deadline_lists(tree.commander_a, scope="person", today=TODAY)
    assert mine.overdue == []
    assert mine.due_soon == []
    unit = deadlines.deadline_lists(tree.commander_a, scope="unit", today=TODAY)
    assert len(unit.overdue) == 2
    assert len(unit.due_soon) == 2
    # Another commune sees none of them.
    other = deadlines.deadline_lists(tree.clerk_b, scope="unit", today=TODAY)
    assert other.overdue == []
    assert other.due_soon == []


def test_a_named_person_gets_the_deadline(tree: Any) -> None:
    document = _draft(tree, "Báo cáo quân số")
    deadlines.do_set_due_date(
        document, tree.clerk_a, D(2027, 2, 11), person=tree.commander_a, today=TODAY
    )
    commander = deadlines.deadline_lists(tree.commander_a, today=TODAY)
    assert [i.document.pk for i in commander.due_soon] == [document.pk]
    assert deadlines.deadline_lists(tree.clerk_a, today=TODAY).due_soon == []
    with pytest.raises(InvalidInput) as caught:
        deadlines.do_set_due_date(
            document, tree.clerk_a, D(2027, 2, 11), person=tree.clerk_b, today=TODAY
        )
    assert caught.value.code == "person_outside_unit"


def test_due_date_input_is_checked_and_audited(tree: Any) -> None:
    document = _draft(tree, "Báo cáo quân số")
    for bad, code in (("31/02/2027", "bad_date"), ("2027/02/11", "bad_date")):
        with pytest.raises(InvalidInput) as caught:
            deadlines.do_set_due_date(document, tree.clerk_a, bad, today=TODAY)
        assert caught.value.code == code
    with pytest.raises(InvalidInput) as past:
        deadlines.do_set_due_date(document, tree.clerk_a, "01/02/2027", today=TODAY)
    assert past.value.code == "due_date_past"
    with pytest.raises(InvalidInput) as far:
        deadlines.do_set_due_date(document, tree.clerk_a, "01/01/2040", today=TODAY)
    assert far.value.code == "due_date_too_far"
    deadlines.do_set_due_date(document, tree.clerk_a, "11/02/2027", today=TODAY)
    record = AuditRecord.objects.filter(action="documents.due_date_set").latest("seq")
    assert record.new["due_date"] == "2027-02-11"
    with pytest.raises(OutOfScope):
        deadlines.do_set_due_date(document, tree.clerk_b, "11/02/2027", today=TODAY)
    deadlines.do_set_due_date(document, tree.clerk_a, None)
    assert AuditRecord.objects.filter(action="documents.due_date_cleared").exists()


def test_reminders_are_made_once_and_dismissed_by_their_owner(tree: Any) -> None:
    late = _draft(tree, "Báo cáo tổng kết năm")
    deadlines.do_set_due_date(late, tree.clerk_a, D(2027, 1, 29), today=D(2027, 1, 25))
    urgent = do_submit_for_review(
        _draft(tree, "Công điện Hỏa tốc", urgency=Urgency.HOA_TOC), tree.clerk_a
    )
    made = deadlines.do_refresh_reminders(tree.clerk_a, today=TODAY)
    assert [(r.document_id, r.kind) for r in made] == [(late.pk, Reminder.Kind.OVERDUE)]
    assert deadlines.do_refresh_reminders(tree.clerk_a, today=TODAY) == []
    # The signer was reminded at once, on submission, of the Hỏa tốc draft waiting for his
    # signature; refreshing adds nothing more.
    announced = deadlines.unread_reminders(tree.commander_a)
    assert [(r.document_id, r.kind) for r in announced] == [(urgent.pk, Reminder.Kind.URGENT)]
    assert deadlines.do_refresh_reminders(tree.commander_a, today=TODAY) == []
    reminder = made[0]
    with pytest.raises(OutOfScope):
        deadlines.do_mark_reminder_read(reminder.pk, tree.commander_a)
    deadlines.do_mark_reminder_read(reminder.pk, tree.clerk_a)
    assert deadlines.unread_reminders(tree.clerk_a) == []


def test_the_nodes_pass_reminds_whoever_is_late_once_and_the_page_only_reads(
    tree: Any, staff_a: Any, client: Any
) -> None:
    late = _draft(tree, "Báo cáo tổng kết năm")
    deadlines.do_set_due_date(late, tree.clerk_a, D(2027, 1, 29), today=D(2027, 1, 25))
    paper_assigned(tree, "Kế hoạch diễn tập", [staff_a], D(2027, 1, 28))
    assert deadlines.do_remind_due(today=TODAY) == 2  # the drafter's, and the officer's
    assert deadlines.do_remind_due(today=TODAY) == 0
    assert sorted(r.kind for r in deadlines.unread_reminders(staff_a)) == [
        Reminder.Kind.ASSIGNED,
        Reminder.Kind.OVERDUE,
    ]
    client.force_login(tree.clerk_a)
    before = Reminder.objects.count()
    assert client.get(reverse("deadlines_dashboard")).status_code == 200
    assert Reminder.objects.count() == before


def test_deadline_pages(tree: Any, client: Any) -> None:
    document = _draft(tree, "Báo cáo khẩn về lũ", urgency=Urgency.HOA_TOC)
    client.force_login(tree.clerk_a)
    url = reverse("document_due_date", args=[document.pk])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"due_date": "mai"})
    assert bad.status_code == 400
    assert "bad_date" in bad.content.decode()
    tomorrow = deadlines.add_working_days(deadlines.today_in_vietnam(), 1)
    ok = client.post(url, {"due_date": tomorrow.strftime("%d/%m/%Y")})
    assert ok.status_code == 302
    detail = client.get(reverse("document_detail", args=[document.pk])).content.decode()
    assert tomorrow.strftime("%d/%m/%Y") in detail
    assert "set-due-date" in detail
    assert "search-link" in client.get(reverse("document_list")).content.decode()
    page = client.get(reverse("deadlines_dashboard"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Báo cáo khẩn về lũ" in html
    assert 'class="pinned"' in html
    assert "Sắp đến hạn" in html
    assert client.get(reverse("deadlines_dashboard"), {"scope": "world"}).status_code == 400
    client.force_login(tree.clerk_b)
    assert client.get(url).status_code == 404
    assert "Báo cáo khẩn về lũ" not in client.get(reverse("deadlines_dashboard")).content.decode()


def test_urgent_documents_are_announced_at_once_to_whoever_must_act(
    board: Any, client: Any
) -> None:
    from tiendon.documents.drafting.actions import do_sign
    from tiendon.documents.tests.conftest import in_review

    document = in_review(board, urgency=Urgency.THUONG_KHAN)
    assert [r.kind for r in deadlines.unread_reminders(board.commander)] == ["urgent"]
    assert deadlines.unread_reminders(board.clerk) == []
    do_sign(document, board.commander, totp_code=board.code())
    # Signed: now the clerk must issue it, at once.
    assert [r.document_id for r in deadlines.unread_reminders(board.clerk)] == [document.pk]
    client.force_login(board.clerk)
    listing = client.get(reverse("document_list")).content.decode()
    assert '<strong class="badge">1</strong>' in listing
    # A normal document announces nothing.
    in_review(board)
    assert len(deadlines.unread_reminders(board.commander)) == 1


# Assignments of received documents: the commander's deadline in the same lists.


@pytest.fixture
def staff_a(tree: Any) -> Any:
    from tiendon.units.actions import do_create_person
    from tiendon.units.models import Role

    return do_create_person(
        username="cb.dongtien",
        full_name="Ngô Văn Cường",
        unit=tree.commune_a,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )


def test_assignment_deadlines_are_listed_per_person_and_per_unit(tree: Any, staff_a: Any) -> None:
    from tiendon.documents.incoming.actions import do_complete_assignment, do_start_assignment

    today = deadlines.today_in_vietnam()
    soon = add_working_days(today, 1)
    later = add_working_days(today, 10)
    (mine,) = paper_assigned(tree, "Công văn về trực sẵn sàng chiến đấu", [staff_a], soon)
    shared = paper_assigned(
        tree,
        "Công văn hỏa tốc về phòng chống lũ",
        [staff_a, tree.clerk_a],
        soon,
        urgency=Urgency.HOA_TOC,
    )
    (far,) = paper_assigned(tree, "Công văn về kế hoạch quý sau", [staff_a], later)
    do_start_assignment(mine, staff_a)

    lists = deadlines.deadline_lists(staff_a, scope="person", today=today)
    assert lists.overdue == []
    # The Hỏa tốc one on top; the one due in ten working days is not listed yet.
    assert [(i.kind, i.document.subject) for i in lists.due_soon] == [
        ("assignment", "Công văn hỏa tốc về phòng chống lũ"),
        ("assignment", "Công văn về trực sẵn sàng chiến đấu"),
    ]
    assert {i.person for i in lists.due_soon} == {staff_a}
    assert lists.due_soon[0].url == reverse("incoming_detail", args=[shared[0].incoming_id])

    # The unit's list holds every officer's; the clerk's own holds only hers.
    unit = deadlines.deadline_lists(tree.commander_a, scope="unit", today=today)
    assert sorted(i.person.username for i in unit.due_soon) == sorted(
        [staff_a.username, staff_a.username, tree.clerk_a.username]
    )
    assert [i.person for i in deadlines.deadline_lists(tree.clerk_a, today=today).due_soon] == [
        tree.clerk_a
    ]
    # Eight working days after the deadline they are overdue; the far one is due soon.
    late = add_working_days(soon, 8)
    overdue = deadlines.deadline_lists(staff_a, scope="person", today=late)
    assert [i.working_days_left for i in overdue.overdue] == [-8, -8]
    assert overdue.overdue[0].document.urgency == Urgency.HOA_TOC
    assert [i.assignment for i in overdue.due_soon] == [far]

    # Completed work leaves the lists; another commune never sees any of it.
    do_complete_assignment(mine, staff_a, result_note="Đã trực đủ quân số.")
    done = deadlines.deadline_lists(staff_a, scope="person", today=late)
    assert [i.document.subject for i in done.overdue] == ["Công văn hỏa tốc về phòng chống lũ"]
    other = deadlines.deadline_lists(tree.clerk_b, scope="unit", today=late)
    assert other.overdue == []
    assert other.due_soon == []


def test_a_secret_assignment_keeps_its_subject_from_the_uncleared(tree: Any, staff_a: Any) -> None:
    from tiendon.documents.models import Secrecy
    from tiendon.units.models import Clearance, Person

    Person.objects.filter(pk__in=[tree.clerk_a.pk, tree.commander_a.pk, staff_a.pk]).update(
        clearance=Clearance.MAT
    )
    for person in (tree.clerk_a, tree.commander_a, staff_a):
        person.refresh_from_db()
    today = deadlines.today_in_vietnam()
    paper_assigned(tree, "Công văn mật về diễn tập", [staff_a], today, secrecy=Secrecy.MAT)
    Person.objects.filter(pk=tree.commander_a.pk).update(clearance=Clearance.NONE)
    tree.commander_a.refresh_from_db()
    (item,) = deadlines.deadline_lists(tree.commander_a, scope="unit", today=today).due_soon
    assert item.masked
    assert item.document.subject == ""
    (own,) = deadlines.deadline_lists(staff_a, scope="person", today=today).due_soon
    assert own.document.subject == "Công văn mật về diễn tập"


def test_the_deadlines_page_lists_an_assignment_with_a_link_to_the_received_document(
    tree: Any, staff_a: Any, client: Any
) -> None:
    today = deadlines.today_in_vietnam()
    (assignment,) = paper_assigned(
        tree, "Công văn về rà soát quân nhân dự bị", [staff_a], add_working_days(today, 1)
    )
    client.force_login(staff_a)
    html = client.get(reverse("deadlines_dashboard")).content.decode()
    assert "Công văn về rà soát quân nhân dự bị" in html
    assert reverse("incoming_detail", args=[assignment.incoming_id]) in html
    assert 'data-kind="assignment"' in html
    client.force_login(tree.clerk_b)
    html = client.get(reverse("deadlines_dashboard") + "?scope=unit").content.decode()
    assert "Công văn về rà soát quân nhân dự bị" not in html
