"""Routing to the next node, the transactional outbox, and the delivery worker's queue."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tiendon.audit.models import AuditRecord
from tiendon.exchange.actions import do_send_envelope
from tiendon.exchange.channels import record_seen
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.models import Envelope, EnvelopeRecipient
from tiendon.exchange.models_transport import ChannelSeen, Node, OutboxItem, ServedUnit
from tiendon.exchange.worker import LEASE, Outcome, backoff, claim, run_once
from tiendon.pki.actions import do_issue_unit_keys

PAYLOAD = "Công văn hỏa tốc".encode()


def _federation(tree):
    """The ministry's node serves the ministry; the province's node is its child."""
    for unit in (tree.ministry, tree.province, tree.commune_a, tree.commune_b):
        do_issue_unit_keys(unit)
    here = Node.objects.create(name="bqp", relation=Node.Relation.SELF)
    province = Node.objects.create(
        name="p38", relation=Node.Relation.CHILD, base_url="http://127.0.0.1:9"
    )
    ServedUnit.objects.create(node=here, unit=tree.ministry)
    ServedUnit.objects.create(node=province, unit=tree.province)
    return here, province


def _send(tree, precedence="thuong", recipients=None):
    return do_send_envelope(
        kind="test.ping",
        payload=PAYLOAD,
        sender=tree.ministry,
        recipients=recipients or [tree.commune_a],
        precedence=precedence,
    )


class Recorder:
    """A transport that answers as told and remembers what it was given."""

    def __init__(self, outcome: Outcome | None = None) -> None:
        self.outcome = outcome or Outcome(accepted=True)
        self.sent: list[tuple[str, str]] = []

    def __call__(self, node, items):
        self.sent += [(node.name, str(item.envelope_id)) for item, _data in items]
        return {item.pk: self.outcome for item, _data in items}


@pytest.mark.django_db
def test_an_envelope_for_a_commune_below_a_child_node_waits_in_its_outbox(tree, pki):
    _here, province = _federation(tree)
    stored = _send(tree, recipients=[tree.commune_a, tree.commune_b])
    states = dict(EnvelopeRecipient.objects.filter(envelope=stored).values_list("unit_id", "state"))
    assert states == {tree.commune_a.pk: "pending", tree.commune_b.pk: "arrived"}
    item = OutboxItem.objects.get(envelope=stored)
    assert (item.destination, item.seq, item.state) == (province, 1, "queued")


@pytest.mark.django_db
def test_each_channel_numbers_its_envelopes(tree, pki):
    _federation(tree)
    seqs = [OutboxItem.objects.get(envelope=_send(tree)).seq for _ in range(3)]
    assert seqs == [1, 2, 3]


@pytest.mark.django_db
def test_secret_content_is_not_queued_on_a_link_not_declared_fit(tree, pki, settings):
    settings.TIENDON_SECRET_FIT = True
    _federation(tree)
    with pytest.raises(EnvelopeError) as refused:
        do_send_envelope(
            kind="test.ping",
            payload=PAYLOAD,
            sender=tree.ministry,
            recipients=[tree.commune_a],
            security="mat",
        )
    assert refused.value.code == "link_not_fit_for_secret"
    assert not Envelope.objects.exists()
    assert not OutboxItem.objects.exists()


@pytest.mark.django_db
def test_the_worker_delivers_and_audits_in_one_batch(tree, pki):
    _federation(tree)
    stored = [_send(tree) for _ in range(3)]
    transport = Recorder()
    assert run_once(transport) == 3
    assert {e for _n, e in transport.sent} == {str(s.pk) for s in stored}
    assert set(OutboxItem.objects.values_list("state", flat=True)) == {"delivered"}
    assert AuditRecord.objects.get(action="exchange.batch_sent").new == {
        "envelopes": 3,
        "delivered": 3,
    }
    assert run_once(transport) == 0  # nothing is sent twice


@pytest.mark.django_db
def test_flash_precedence_goes_first(tree, pki):
    _federation(tree)
    routine = _send(tree, "thuong")
    flash = _send(tree, "hoa_toc")
    assert [i.envelope_id for i in claim(limit=1)] == [flash.pk]
    assert [i.envelope_id for i in claim(limit=1)] == [routine.pk]


@pytest.mark.django_db
def test_a_failed_send_is_retried_later_with_backoff_but_flash_at_once(tree, pki):
    _federation(tree)
    routine = _send(tree, "thuong")
    flash = _send(tree, "hoa_toc")
    now = timezone.now()
    run_once(Recorder(Outcome(accepted=False, error="connection refused")), now=now)
    r = OutboxItem.objects.get(envelope=routine)
    f = OutboxItem.objects.get(envelope=flash)
    assert (r.state, r.attempts, r.last_error) == ("queued", 1, "connection refused")
    assert now + dt.timedelta(seconds=5) <= r.next_attempt_at <= now + dt.timedelta(seconds=10)
    assert f.next_attempt_at == now
    assert [i.envelope_id for i in claim(now=now)] == [flash.pk]


def test_backoff_grows_and_is_capped():
    assert backoff(1, 0).total_seconds() <= 10
    assert 40 <= backoff(4, 0).total_seconds() <= 80
    assert backoff(30, 0) <= dt.timedelta(hours=1)
    assert backoff(5, 3) == dt.timedelta(0)


@pytest.mark.django_db
def test_a_refusal_by_the_next_node_is_final_and_audited(tree, pki):
    _federation(tree)
    _send(tree)
    run_once(Recorder(Outcome(accepted=False, refused_code="sender_revoked")))
    item = OutboxItem.objects.get()
    assert (item.state, item.last_error) == ("refused", "sender_revoked")
    assert AuditRecord.objects.filter(action="exchange.refused_by_next_node").count() == 1


@pytest.mark.django_db
def test_an_envelope_past_its_expiry_is_not_sent_and_the_sender_is_told(tree, pki):
    _federation(tree)
    stored = _send(tree)
    transport = Recorder()
    run_once(transport, now=stored.expires_at + dt.timedelta(seconds=1))
    assert transport.sent == []
    assert OutboxItem.objects.get().state == "expired"
    assert AuditRecord.objects.get(action="exchange.not_delivered").object_id == str(stored.pk)


@pytest.mark.django_db
def test_a_worker_that_died_mid_send_gives_its_items_back_after_the_lease(tree, pki):
    _federation(tree)
    stored = _send(tree)
    now = timezone.now()
    assert [i.envelope_id for i in claim(now=now)] == [stored.pk]  # … then the worker dies
    assert claim(now=now + dt.timedelta(seconds=1)) == []
    later = now + LEASE + dt.timedelta(seconds=1)
    assert [i.envelope_id for i in claim(now=later)] == [stored.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_several_workers_never_claim_the_same_envelope(tree, pki):
    _federation(tree)
    for _ in range(60):
        _send(tree)
    claimed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        # Under SKIP LOCKED an empty batch only means "all due rows are locked right now":
        # stop once nothing is queued any more.
        try:
            while OutboxItem.objects.filter(state=OutboxItem.State.QUEUED).exists():
                batch = claim(limit=7)
                with lock:
                    claimed.extend(i.pk for i in batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 60
    assert len(set(claimed)) == 60


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_still_claims_while_more_is_being_queued_for_the_same_node(tree, pki):
    # Queueing locks the destination's channel counter (its node row) until it commits; a
    # worker must not take that as "every item for this node is taken" and send nothing.
    _here, province = _federation(tree)
    first = _send(tree)
    queueing, release = threading.Event(), threading.Event()

    def queue_more() -> None:
        try:
            with transaction.atomic():
                Node.objects.select_for_update().get(pk=province.pk)  # as `_queue_many` does
                queueing.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=queue_more)
    thread.start()
    try:
        assert queueing.wait(timeout=30)
        claimed = claim()
    finally:
        release.set()
        thread.join()
    assert [i.envelope_id for i in claimed] == [first.pk]
    assert claimed[0].destination == province  # with what sending needs, in one query


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_push_from_a_node_is_not_held_up_by_a_send_being_queued_to_it(tree, pki):
    # A clerk's send to the province holds that node's channel counter until it commits;
    # meanwhile a push from the province records its channel numbers (rows pointing at the
    # same node row) and must not wait for the clerk. Under SELECT … FOR UPDATE it did.
    _here, province = _federation(tree)
    queued, release = threading.Event(), threading.Event()
    sent: list[int] = []

    def send_and_hold() -> None:
        try:
            with transaction.atomic():
                sent.append(_send(tree).outbox.get().seq)
                queued.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    thread = threading.Thread(target=send_and_hold)
    thread.start()
    try:
        assert queued.wait(timeout=60)
        with transaction.atomic(), connection.cursor() as cursor:
            # Waiting for the clerk's lock would fail here rather than hang the test.
            cursor.execute("SET LOCAL lock_timeout = '10s'")
            record_seen(province, [7])
    finally:
        release.set()
        thread.join()
    assert ChannelSeen.objects.filter(node=province, seq=7).exists()
    assert sent == [1]
    assert OutboxItem.objects.get(destination=province).seq == 1


@pytest.mark.django_db
def test_a_worker_whose_lease_ran_out_does_not_overwrite_the_new_owner(tree, pki):
    _federation(tree)
    _send(tree)
    now = timezone.now()
    slow = Recorder()

    def overran(node, items):
        # While the slow worker sends, its lease runs out and another worker delivers it.
        later = now + LEASE + dt.timedelta(seconds=1)
        run_once(Recorder(), now=later)
        return slow(node, items) | {
            item.pk: Outcome(accepted=False, error="late") for item, _data in items
        }

    run_once(overran, now=now)
    item = OutboxItem.objects.get()
    assert (item.state, item.attempts) == ("delivered", 1)
