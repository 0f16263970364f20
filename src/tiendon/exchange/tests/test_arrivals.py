"""The arrival seam: an app declares a payload kind and its statuses (the test-only note
app, `noteapp/`), the dispatcher hands each arrived delivery to its handler once, a failing
handler is retried alone, and receipts are checked against the owner's vocabulary."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from tiendon.audit.models import AuditRecord
from tiendon.exchange import dispatch, envelope, queries
from tiendon.exchange.actions import do_accept_envelope, do_send_envelope, seal_for_units
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.models import Envelope, EnvelopeRecipient, Handoff, ParkedStatus
from tiendon.exchange.models_transport import Node, OutboxItem, ServedUnit
from tiendon.exchange.status import RECEIPT_KIND
from tiendon.exchange.tests.noteapp import apps as noteapp
from tiendon.pki.actions import do_issue_unit_keys

TEXT = "Thông báo lịch trực chỉ huy tuần 50"


@pytest.fixture
def keyed(tree, pki):
    for unit in (tree.ministry, tree.province, tree.commune_a, tree.commune_b):
        do_issue_unit_keys(unit)
    return tree


def _note(tree, recipients, **extra):
    return do_send_envelope(
        kind=noteapp.KIND,
        payload=TEXT.encode(),
        sender=tree.ministry,
        recipients=recipients,
        **extra,
    )


def _taken(envelope_id=None):
    records = AuditRecord.objects.filter(action="noteapp.taken")
    if envelope_id is not None:
        records = records.filter(object_id=str(envelope_id))
    return records


def _receipt(tree, signer, envelope_ids, code, note=""):
    return seal_for_units(
        kind=RECEIPT_KIND,
        payload=envelope.canonical_json(
            {
                "envelopes": [str(i) for i in envelope_ids],
                "unit": signer.code,
                "status": code,
                "at": "x",
                **({"note": note} if note else {}),
            }
        ),
        sender=signer,
        recipients=[tree.ministry],
    ).data


def test_an_apps_kind_is_handed_to_its_handler_once_per_delivery(keyed, note_app):
    sent = _note(keyed, [keyed.commune_a, keyed.commune_b])
    assert Handoff.objects.filter(envelope=sent, state="waiting").count() == 2
    assert dispatch.run_until_idle() == 2
    taken = _taken(sent.pk)
    assert sorted(r.unit_id for r in taken) == sorted([keyed.commune_a.pk, keyed.commune_b.pk])
    assert {r.new["text"] for r in taken} == {TEXT}
    # Handed over once: a second pass finds nothing, and nothing is taken in again.
    assert dispatch.run_until_idle() == 0
    assert _taken(sent.pk).count() == 2
    # The payload was opened once for both units, each opening audited with the node as actor.
    opened = AuditRecord.objects.filter(action="exchange.payload_opened", object_id=str(sent.pk))
    assert sorted(r.unit_id for r in opened) == sorted([keyed.commune_a.pk, keyed.commune_b.pk])
    assert all(r.actor_id is None and r.new["by"] == "node" for r in opened)


def test_a_broadcast_is_decrypted_once_for_all_its_units(keyed, note_app, monkeypatch):
    opened = []
    real = dispatch.decrypt_for_unit

    def counting(stored, unit):
        opened.append(unit.code)
        return real(stored, unit)

    monkeypatch.setattr(dispatch, "decrypt_for_unit", counting)
    _note(keyed, [keyed.ministry, keyed.province, keyed.commune_a, keyed.commune_b])
    assert dispatch.run_until_idle() == 4
    assert len(opened) == 1


def test_hoa_toc_is_handed_over_first(keyed, note_app):
    routine = _note(keyed, [keyed.commune_a])
    flash = _note(keyed, [keyed.commune_a], precedence="hoa_toc")
    assert dispatch.run_once(limit=1).handled == 1
    assert list(_taken().values_list("object_id", flat=True)) == [str(flash.pk)]
    assert dispatch.run_until_idle() == 1
    assert _taken(routine.pk).count() == 1


def test_a_secret_payload_is_not_opened_by_the_node(keyed, note_app, settings):
    settings.TIENDON_SECRET_FIT = True
    sent = _note(keyed, [keyed.commune_a], security="mat")
    assert dispatch.run_until_idle() == 1
    (taken,) = _taken(sent.pk)
    assert taken.new == {"text": "", "secret": True}
    assert not AuditRecord.objects.filter(action="exchange.payload_opened").exists()


def test_a_kind_no_app_registered_is_refused_for_a_unit_served_here(keyed):
    data = seal_for_units(
        kind="records.changeset",
        payload=b"{}",
        sender=keyed.ministry,
        recipients=[keyed.commune_a],
    ).data
    with pytest.raises(EnvelopeError) as refused:
        do_accept_envelope(data, via="test")
    assert refused.value.code == "unknown_kind"
    record = AuditRecord.objects.filter(action="exchange.envelope_refused").last()
    assert record is not None
    assert record.new["code"] == "unknown_kind"
    assert not Envelope.objects.exists()
    assert not Handoff.objects.exists()


def test_a_relay_forwards_a_kind_it_does_not_know(keyed):
    here = Node.objects.create(name="bqp", relation=Node.Relation.SELF)
    province = Node.objects.create(
        name="p38", relation=Node.Relation.CHILD, base_url="http://127.0.0.1:9"
    )
    ServedUnit.objects.create(node=here, unit=keyed.ministry)
    ServedUnit.objects.create(node=province, unit=keyed.province)
    data = seal_for_units(
        kind="records.changeset",
        payload=b"{}",
        sender=keyed.ministry,
        recipients=[keyed.commune_a],
    ).data
    stored = do_accept_envelope(data, via="test")
    assert OutboxItem.objects.filter(envelope=stored, destination=province).exists()
    assert not Handoff.objects.exists()


def test_a_failing_handler_is_retried_alone_and_shows(keyed, note_app, monkeypatch):
    monkeypatch.setenv("NOTEAPP_FAIL_FOR", keyed.commune_a.code)
    failing = _note(keyed, [keyed.commune_a])
    fine = _note(keyed, [keyed.commune_b])
    done = dispatch.run_once()
    assert (done.handled, done.failed) == (1, 1)
    assert _taken(fine.pk).count() == 1
    assert not _taken(failing.pk).exists()
    waiting = Handoff.objects.get(envelope=failing)
    assert (waiting.state, waiting.attempts, waiting.error_code) == ("waiting", 1, "RuntimeError")
    assert waiting.due_at > timezone.now()
    record = AuditRecord.objects.get(action="exchange.handler_failed")
    assert record.new["kind"] == noteapp.KIND
    assert queries.handoffs_by_kind()[noteapp.KIND] == {"waiting": 1, "failing": 1, "done": 1}
    # Not due yet: a pass leaves it; once due and the app mended, it is taken in once.
    assert dispatch.run_once().handled == 0
    monkeypatch.delenv("NOTEAPP_FAIL_FOR")
    later = timezone.now() + dt.timedelta(hours=1)
    assert dispatch.run_once(now=later).handled == 1
    assert _taken(failing.pk).count() == 1
    assert Handoff.objects.get(envelope=failing).error_code == ""


def test_statuses_are_checked_against_the_owners_vocabulary(keyed, note_app):
    first, second = _note(keyed, [keyed.commune_a]), _note(keyed, [keyed.commune_a])
    ids = [first.pk, second.pk]
    rows = EnvelopeRecipient.objects.filter(unit=keyed.commune_a)

    def statuses():
        return {str(r.envelope_id): r.status for r in rows.all()}

    # 22 (acted) before 21 (read): parked, not applied.
    do_accept_envelope(_receipt(keyed, keyed.commune_a, ids, noteapp.ACTED))
    assert set(statuses().values()) == {"01"}
    assert ParkedStatus.objects.count() == 2
    # 21 comes: applied, then the parked 22 follows it.
    do_accept_envelope(_receipt(keyed, keyed.commune_a, ids, noteapp.READ))
    assert set(statuses().values()) == {noteapp.ACTED}
    assert not ParkedStatus.objects.exists()
    # A code outside the vocabulary, and one that is stale, are refused and change nothing.
    do_accept_envelope(_receipt(keyed, keyed.commune_a, ids, "06"))
    do_accept_envelope(_receipt(keyed, keyed.commune_a, ids, noteapp.READ))
    assert set(statuses().values()) == {noteapp.ACTED}
    refused = AuditRecord.objects.filter(action="exchange.receipt_refused").order_by("pk")
    assert [r.new["refused"] for r in refused] == [{"status_unknown": 2}, {"status_stale": 2}]
    # 23 ends it; nothing follows a final status.
    do_accept_envelope(_receipt(keyed, keyed.commune_a, [first.pk], noteapp.CLOSED))
    do_accept_envelope(_receipt(keyed, keyed.commune_a, [first.pk], noteapp.ACTED))
    assert statuses()[str(first.pk)] == noteapp.CLOSED
    assert refused.last().new["refused"] == {"status_after_final": 1}
    # The statuses applied reach the app's own history once, through the dispatcher.
    dispatch.run_until_idle()
    recorded = AuditRecord.objects.filter(action="noteapp.status")
    assert sorted((r.object_id == str(first.pk), r.new["code"]) for r in recorded) == [
        (False, "21"),
        (False, "22"),
        (True, "21"),
        (True, "22"),
        (True, "23"),
    ]
    assert dispatch.run_until_idle() == 0


def test_a_receipt_for_a_delivery_never_sent_from_here_changes_nothing(keyed, note_app):
    sent = _note(keyed, [keyed.commune_a])
    do_accept_envelope(_receipt(keyed, keyed.commune_a, [uuid.uuid4()], "21"))
    assert EnvelopeRecipient.objects.get(envelope=sent).status == "01"
    record = AuditRecord.objects.filter(action="exchange.receipt_refused").last()
    assert record.new["refused"] == {"not_sent_here": 1}
    assert not Handoff.objects.filter(kind=RECEIPT_KIND).exists()


def test_the_node_page_shows_administrators_what_fails_and_why(
    keyed, note_app, client, monkeypatch
):
    from conftest import log_in_with_totp
    from django.urls import reverse

    monkeypatch.setenv("NOTEAPP_FAIL_FOR", keyed.commune_a.code)
    _note(keyed, [keyed.commune_a])
    _note(keyed, [keyed.commune_b])
    dispatch.run_once()
    client.force_login(keyed.clerk_a)
    assert client.get(reverse("node_status")).status_code == 403
    log_in_with_totp(client, keyed.ministry_admin)
    page = client.get(reverse("node_status")).content.decode()
    assert "Trạng thái nút" in page
    assert noteapp.KIND in page
    assert "RuntimeError" in page
    assert keyed.commune_a.code in page


def test_an_envelope_is_verified_once_on_the_node_then_only_opened(keyed, note_app, monkeypatch):
    calls = {"parse": 0, "parse_stored": 0}
    for name in calls:
        real = getattr(envelope, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(envelope, name, counted)
    sent = _note(keyed, [keyed.commune_a, keyed.commune_b])
    assert calls == {"parse": 1, "parse_stored": 0}  # stored as any node would: verified
    dispatch.run_until_idle()  # the handler opens it once for both units
    assert queries.open_payload(keyed.clerk_a, str(sent.pk)) == TEXT.encode()
    assert calls == {"parse": 1, "parse_stored": 2}
    # Bytes changed on disk or in the database since they were verified: refused.
    from tiendon.exchange.models import EnvelopeBytes

    EnvelopeBytes.objects.filter(envelope=sent).update(data=b"TDE1" + b"\0" * 40)
    with pytest.raises(EnvelopeError) as refused:
        queries.open_payload(keyed.clerk_a, str(sent.pk))
    assert refused.value.code == "stored_altered"
