"""One commune board: its survey form (through the audited action) and its live signals."""

from __future__ import annotations

import datetime as dt

from conftest import log_in_with_totp
from django.urls import reverse
from django.utils import timezone

from tiendon.audit.models import AuditRecord
from tiendon.exchange.models import Envelope, EnvelopeRecipient
from tiendon.readiness import queries
from tiendon.readiness.models import CommuneReadiness
from tiendon.readiness.tests.helpers import stored_state


def _log_in(client, person) -> None:
    log_in_with_totp(client, person)


FORM = {
    "link_kind": "private_5g",
    "bandwidth_kbps": "102400",
    "provider": "Viettel",
    "computers": "1",
    "computer_serials": "MT-9",
    "trained_operators": "2",
    "operator_names": "Lê Văn A\nTrần Thị B",
    "planned_go_live": "15/12/2026",
    "actual_go_live": "",
    "notes": "Đã lắp đặt xong",
}


def test_commander_edits_a_commune_survey_and_the_change_is_audited(client, surveyed):
    tree = surveyed.tree
    _log_in(client, tree.province_commander)
    url = reverse("readiness_edit", args=[surveyed.hac_thanh.code])
    assert client.get(url).status_code == 200
    response = client.post(url, FORM)
    assert response.status_code == 302
    survey = CommuneReadiness.objects.get(unit=surveyed.hac_thanh)
    assert survey.link_kind == "private_5g"
    assert survey.operator_list() == ["Lê Văn A", "Trần Thị B"]
    assert survey.planned_go_live == dt.date(2026, 12, 15)
    assert survey.updated_by == tree.province_commander
    record = AuditRecord.objects.filter(action="readiness.survey_updated").order_by("-seq")[0]
    assert record.old["link_kind"] == "civil_line"
    assert record.new["link_kind"] == "private_5g"


def test_a_negative_count_in_the_form_is_refused_and_nothing_changes(client, surveyed):
    _log_in(client, surveyed.tree.province_commander)
    before = stored_state()
    url = reverse("readiness_edit", args=[surveyed.hac_thanh.code])
    response = client.post(url, {**FORM, "computers": "-1"})
    assert response.status_code == 400
    assert 'id="id_computers"' in response.content.decode()
    response = client.post(url, {**FORM, "computer_serials": "A\nB"})  # 2 serials, 1 computer
    assert response.status_code == 400
    assert "số sê-ri nhiều hơn số máy tính" in response.content.decode()
    assert stored_state() == before


def test_commune_of_another_province_cannot_be_edited_or_seen(client, surveyed):
    _log_in(client, surveyed.tree.province_commander)
    before = stored_state()
    url = reverse("readiness_edit", args=[surveyed.cua_lo.code])
    assert client.get(url).status_code == 404
    assert client.post(url, FORM).status_code == 404
    assert stored_state() == before


def test_a_clerk_cannot_edit_a_survey(client, surveyed):
    _log_in(client, surveyed.tree.clerk_a)
    url = reverse("readiness_edit", args=[surveyed.tree.commune_a.code])
    assert client.post(url, FORM).status_code == 403


def test_live_signals_come_from_logins_and_envelopes(client, surveyed):
    tree = surveyed.tree
    assert queries.live_signals(tree.commune_a).last_login is None
    _log_in(client, tree.clerk_a)
    now = timezone.now()
    envelope = Envelope.objects.create(
        kind="test",
        sender=tree.commune_a,
        precedence="thuong",
        security="none",
        created_at=now - dt.timedelta(hours=2),
        expires_at=now + dt.timedelta(days=1),
        origin="local",
        size=10,
        sha256="0" * 64,
        recipient_count=1,
    )
    EnvelopeRecipient.objects.create(
        envelope=envelope, unit=tree.commune_b, state="arrived", arrived_at=now
    )
    sender = queries.live_signals(tree.commune_a)
    assert sender.last_login is not None
    assert sender.last_sent == envelope.created_at
    assert sender.last_received is None
    assert sender.node_name is None  # no edge node serves it
    assert sender.documents_measured
    assert (sender.last_registered, sender.last_status_sent, sender.working) == (None, None, False)
    assert queries.live_signals(tree.commune_b).last_received == now
    page = client.get(reverse("readiness_unit", args=[tree.commune_a.code])).content.decode()
    assert 'id="working">không<' in page  # measured from documents: not working yet


def test_a_commune_that_registers_and_answers_counts_as_working_digitally(client, surveyed):
    """Working digitally: an incoming document registered and a status sent back, both in
    the window (7 days); older activity does not count."""
    from tiendon.documents.models import IncomingDocument
    from tiendon.readiness.queries import by_province, summary

    tree = surveyed.tree
    now = timezone.now()
    envelope = Envelope.objects.create(
        kind="document",
        sender=tree.ministry,
        precedence="thuong",
        security="none",
        created_at=now,
        expires_at=now + dt.timedelta(days=14),
        origin="received",
        size=10,
        sha256="0" * 64,
        recipient_count=1,
    )
    delivery = EnvelopeRecipient.objects.create(
        envelope=envelope, unit=tree.commune_a, state="arrived", arrived_at=now, status="01"
    )
    incoming = IncomingDocument.objects.create(
        unit=tree.commune_a,
        source="exchange",
        envelope=envelope,
        issuer_name="Bộ Quốc phòng",
        doc_type="cong_van",
        subject="Về việc kiểm tra sẵn sàng chiến đấu",
        arrived_at=now,
        registered_at=now - dt.timedelta(days=8),  # registered, but before the window
    )
    EnvelopeRecipient.objects.filter(pk=delivery.pk).update(status="03", status_at=now)
    assert summary(tree.ministry).working == 0
    IncomingDocument.objects.filter(pk=incoming.pk).update(registered_at=now)
    assert summary(tree.ministry).working == 1
    working = {row.unit.code: row.counts.working for row in by_province(tree.ministry)}
    assert working == {"38": 1, "40": 0}
    signals = queries.live_signals(tree.commune_a)
    assert (signals.last_registered, signals.last_status_sent, signals.working) == (
        now,
        now,
        True,
    )
    _log_in(client, tree.province_commander)
    page = client.get(reverse("readiness_unit", args=[tree.commune_a.code])).content.decode()
    assert 'id="working">có<' in page
