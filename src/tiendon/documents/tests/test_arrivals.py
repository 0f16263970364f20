"""Documents taken in at arrival by the exchange's dispatcher, nobody logged in: ready to
register in the commune's inbox with their subject, or with their label only when secret;
the node's opening audited; the inbox page decrypts nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tiendon.audit.models import AuditRecord
from tiendon.documents import queries
from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.incoming.actions import do_open_incoming, do_register_incoming
from tiendon.documents.models import IncomingDocument
from tiendon.documents.tests.conftest import in_review, taken_in
from tiendon.errors import OutOfScope
from tiendon.exchange import dispatch
from tiendon.exchange import queries as exchange_queries
from tiendon.pki.actions import do_issue_unit_keys
from tiendon.units.actions import do_create_person
from tiendon.units.models import Clearance, Role

SUBJECT = "Về việc kiểm tra công tác sẵn sàng chiến đấu tháng 12"


@pytest.fixture
def communes(tree: Any, board: Any) -> Any:
    """Both communes hold their keys on this node."""
    do_issue_unit_keys(tree.commune_b)
    return tree


def _issue(board: Any, units: list[str], **overrides: Any) -> Any:
    document = do_sign(
        in_review(board, recipient_spec=[{"unit": u} for u in units], subject=SUBJECT, **overrides),
        board.commander,
        totp_code=board.code(),
    )
    return do_issue(document, board.clerk)


def test_a_document_is_ready_to_register_before_anyone_logs_in(
    tree: Any, communes: Any, province_board: Any
) -> None:
    sent = _issue(province_board, [tree.commune_a.code, tree.commune_b.code])
    assert not IncomingDocument.objects.exists()
    assert dispatch.run_until_idle() == 2
    for clerk, unit in ((tree.clerk_a, tree.commune_a), (tree.clerk_b, tree.commune_b)):
        (row,) = queries.incoming_list(clerk)
        assert (row.subject, row.state, row.opened_by) == (SUBJECT, "arrived", None)
        assert row.content_recorded
        assert all(v["bottom_line"] for v in row.verification)  # both signatures verified
        assert row.unit == unit
        assert not queries.waiting_envelopes(clerk).exists()
    # The node opened the payload once for both, audited per unit with no person as actor.
    opened = AuditRecord.objects.filter(
        action="exchange.payload_opened", object_id=str(sent.envelope_id)
    )
    assert sorted(r.unit_id for r in opened) == sorted([tree.commune_a.pk, tree.commune_b.pk])
    assert {r.actor_id for r in opened} == {None}
    taken = AuditRecord.objects.filter(action="documents.incoming_received")
    assert {r.new["subject"] for r in taken} == {SUBJECT}
    # The clerk registers it straight away; a person's opening returns the same row.
    (row,) = queries.incoming_list(tree.clerk_a)
    assert taken_in(tree.clerk_a, sent.envelope_id).pk == row.pk
    registered = do_register_incoming(row, tree.clerk_a)
    assert registered.arrival_number == 1


def test_a_secret_document_is_recorded_from_its_label_until_a_cleared_person_opens_it(
    tree: Any, board: Any, province_board: Any, settings: Any
) -> None:
    settings.TIENDON_SECRET_FIT = True
    cleared = do_create_person(
        username="vt2.dongtien",
        full_name="Lý Thị Mai",
        unit=tree.commune_a,
        role=Role.CLERK,
        password="Mat-khau-thu-nghiem-2026",
        clearance=Clearance.MAT,
    )
    sent = _issue(province_board, [tree.commune_a.code], secrecy=1, urgency="hoa_toc")
    assert dispatch.run_until_idle() == 1
    row = IncomingDocument.objects.get(unit=tree.commune_a)
    assert (row.subject, row.secrecy, row.content_recorded) == ("", 1, False)
    assert row.urgency == "hoa_toc"  # from the signed precedence
    assert row.verification == []
    # The node did not open it; the cleared clerk and the commander are told it is there.
    assert not AuditRecord.objects.filter(action="exchange.payload_opened").exists()
    assert row.issuer_name == tree.province.name
    # The uncleared clerk cannot open it; the cleared one fills it in (audited opening).
    with pytest.raises(OutOfScope):
        do_open_incoming(tree.clerk_a, str(sent.envelope_id))
    opened = do_open_incoming(cleared, str(sent.envelope_id))
    assert opened.pk == row.pk
    assert (opened.subject, opened.content_recorded, opened.opened_by) == (SUBJECT, True, cleared)
    assert all(v["bottom_line"] for v in opened.verification)
    assert AuditRecord.objects.filter(
        action="exchange.payload_opened", actor_id=cleared.pk
    ).exists()


def test_the_inbox_page_decrypts_nothing(
    tree: Any, board: Any, province_board: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _issue(province_board, [tree.commune_a.code])
    dispatch.run_until_idle()
    opened: list[str] = []
    real = exchange_queries.decrypt_for_unit

    def counting(stored: Any, unit: Any) -> bytes:
        opened.append(unit.code)
        return real(stored, unit)

    monkeypatch.setattr(exchange_queries, "decrypt_for_unit", counting)
    client.force_login(tree.clerk_a)
    page = client.get(reverse("incoming_list")).content.decode()
    assert SUBJECT in page
    assert opened == []


def test_a_delivery_stored_before_the_upgrade_is_taken_in_after_it(
    tree: Any, board: Any, province_board: Any
) -> None:
    """A node upgraded from a version without the dispatcher: its deliveries have no
    hand-off. Migration exchange 0012 gives each one, and the dispatcher takes it in; a
    delivery someone had already opened the old way keeps its single row."""
    import importlib

    from django.apps import apps

    from tiendon.exchange.models_dispatch import Handoff

    step = importlib.import_module("tiendon.exchange.migrations.0012_handoffs_for_earlier_arrivals")
    before = _issue(province_board, [tree.commune_a.code])
    opened = _issue(province_board, [tree.commune_a.code])
    taken_in(tree.clerk_a, opened.envelope_id)  # handled already, as if opened by a person
    Handoff.objects.all().delete()  # what an older node holds
    step.hand_off_earlier_arrivals(apps, None)
    assert Handoff.objects.filter(state="waiting").count() == 2
    assert dispatch.run_until_idle() == 2
    rows = IncomingDocument.objects.filter(unit=tree.commune_a)
    assert sorted(str(r.envelope_id) for r in rows) == sorted(
        [str(before.envelope_id), str(opened.envelope_id)]
    )
    step.hand_off_earlier_arrivals(apps, None)  # run twice: nothing more
    assert Handoff.objects.count() == 2
