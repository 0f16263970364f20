"""The demo documents (`tiendon seed-demo`): issued and signed, flowing ministry → Thanh
Hóa → commune boards, left in several states, visible to the demo accounts; seeding
again makes nothing new, and the demo accounts keep logging in without a second factor."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from tiendon.documents import queries
from tiendon.documents.deadlines import reminders as deadlines
from tiendon.documents.demo import DEMO_DOCUMENTS, seed_demo_documents
from tiendon.documents.models import Document, IncomingDocument
from tiendon.documents.pdf import pades
from tiendon.exchange import dispatch
from tiendon.pki.actions import do_init_pki, do_issue_person_key, do_issue_unit_keys
from tiendon.units.models import Person, Role, Unit
from tiendon.units.seed import seed_units
from tiendon.web.management.commands.seed_demo import Command as SeedDemo

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_node() -> Any:
    """The real hierarchy and the demo accounts; keys only for the units the demo uses
    (the full seed gives every unit keys, which takes longer than a test should)."""
    seed_units()
    SeedDemo()._create_accounts()
    do_init_pki()
    codes = {"BQP", "38", "40", "14845"}
    codes |= set(
        Unit.objects.filter(parent__code="38", kind="commune_board")
        .exclude(code="14845")
        .order_by("code")
        .values_list("code", flat=True)[:2]
    )
    for unit in Unit.objects.filter(code__in=codes):
        do_issue_unit_keys(unit)
    for person in Person.objects.filter(role=Role.COMMANDER):
        do_issue_person_key(person)
    return {p.username: p for p in Person.objects.select_related("unit")}


def test_demo_documents_flow_down_the_chain_in_several_states(demo_node: Any) -> None:
    people = demo_node
    lines: list[str] = []
    with translation.override("en"):
        assert seed_demo_documents(lines.append) == len(DEMO_DOCUMENTS)
    assert "demo documents issued: 6" in lines[-1]

    issued = Document.objects.exclude(state__in=["draft", "in_review"])
    assert issued.count() == 6
    for document in issued:
        assert all(r.bottom_line for r in pades.verify(bytes(document.pdf)))
    assert Document.objects.filter(state="recalled").count() == 1
    assert Document.objects.filter(state="in_review", signer=people["chihuy.bqp"]).count() == 1

    # The province registered and completed the ministry's directive.
    province = {i.subject: i.state for i in queries.incoming_list(people["vanthu.thanhhoa"])}
    assert sorted(province.values()) == ["done", "registered"]
    # The commune: one in progress, one refused, one recalled (the record stays, the copy
    # left the list), and a Hỏa tốc delivery nobody opened, waiting in the inbox.
    commune = queries.incoming_list(people["vanthu.muonglat"])
    assert sorted(i.state for i in commune) == ["in_progress", "refused", "registered"]
    (waiting,) = queries.waiting_envelopes(people["vanthu.muonglat"])
    assert waiting.envelope.precedence == "hoa_toc"
    assert queries.recalled_records(people["vanthu.muonglat"]).count() == 1
    # The node's dispatcher (`tiendon node start`, so `make demo`) takes it in, nobody
    # logged in: it is in the commune's list with its subject, ready to register.
    assert dispatch.run_until_idle() >= 1
    assert not queries.waiting_envelopes(people["vanthu.muonglat"]).exists()
    commune = queries.incoming_list(people["vanthu.muonglat"])
    (flash,) = [i for i in commune if i.state == "arrived"]
    assert flash.urgency == "hoa_toc"
    assert flash.subject
    assert flash.opened_by is None
    # The commune clerk's assignment is due soon on her deadline list.
    (due,) = deadlines.deadline_lists(people["vanthu.muonglat"]).due_soon
    assert due.kind == "assignment"
    # Her reminders: the assignment (at once), and the Hỏa tốc document, announced when the
    # dispatcher took it in, pinned on top.
    kinds = [(r.kind, r.urgency) for r in deadlines.unread_reminders(people["vanthu.muonglat"])]
    assert kinds == [("urgent", "hoa_toc"), ("assigned", "normal")]
    # The province forwarded the directive as a sao y; the commune registered it (03).
    (copy,) = queries.copies_visible_to(people["vanthu.thanhhoa"])
    assert copy.number_and_symbol.endswith("/SY-BCHQS")
    _copy, _total, by_code, _rows = queries.copy_statuses(people["vanthu.thanhhoa"], copy.pk)
    assert by_code == {"03": 1}
    # The ministry sees its recipients' statuses.
    directive = Document.objects.get(subject__startswith="Về việc tăng cường")
    table = queries.recipient_statuses(people["vanthu.bqp"], directive.pk)
    assert table.by_code == {"01": 1, "06": 1}
    # The province's recalled notice: the commune accepted (15), the others were asked (13).
    recalled = Document.objects.get(state="recalled")
    assert queries.recipient_statuses(people["vanthu.thanhhoa"], recalled.pk).by_code["15"] == 1

    # The signers are left as they were: no second factor, logging in as before.
    assert not any(person.has_totp for person in Person.objects.all())

    # Seeding again makes nothing new.
    assert seed_demo_documents(lines.append) == 0
    assert Document.objects.count() == 7
    assert IncomingDocument.objects.filter(unit__code="14845").count() == 5  # the Hỏa tốc too
