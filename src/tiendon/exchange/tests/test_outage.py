"""A neighbour down for a week, with the clock under the test's control: retries stay
bounded (the backoff is capped at an hour, Hỏa tốc is tried on every pass), what expires
meanwhile is reported to its sender, and the backlog goes in one pass when it returns."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tiendon.exchange.actions import do_enqueue, do_send_envelope, seal_for_units
from tiendon.exchange.models import EnvelopeRecipient
from tiendon.exchange.models_transport import OutboxItem
from tiendon.exchange.tests.test_transport import FakeProvince, ministry_node  # noqa: F401
from tiendon.exchange.transport import http_transport
from tiendon.exchange.worker import run_once

pytestmark = pytest.mark.django_db


def _down(node, items):
    raise OSError("connection refused")


def test_a_node_down_for_a_week_catches_up_when_it_returns(ministry_node):  # noqa: F811
    tree = ministry_node
    routine = [
        do_send_envelope(
            kind="test.ping", payload=b"bao cao", sender=tree.ministry, recipients=[tree.commune_a]
        )
        for _ in range(5)
    ]
    flash = do_send_envelope(
        kind="test.ping",
        payload=b"hoa toc",
        sender=tree.ministry,
        recipients=[tree.commune_a],
        precedence="hoa_toc",
    )
    short = do_enqueue(
        seal_for_units(
            kind="test.ping",
            payload=b"het han",
            sender=tree.ministry,
            recipients=[tree.commune_a],
            lifetime=dt.timedelta(days=3),
        )
    )
    start = timezone.now()
    now, passes = start, 0
    while now < start + dt.timedelta(days=7):  # a worker pass every ten minutes
        run_once(_down, now=now)
        now += dt.timedelta(minutes=10)
        passes += 1

    item = OutboxItem.objects.get(envelope=routine[0])
    # Backed off up to an hour (with jitter: 30 to 60 minutes apart), not every pass.
    assert 7 * 24 <= item.attempts <= 7 * 24 * 2 + 12
    assert item.state == "queued"
    assert item.last_error == "connection refused"
    assert OutboxItem.objects.get(envelope=flash).attempts == passes  # never backed off
    # The three-day envelope expired on the way; its sender sees the non-delivery.
    assert OutboxItem.objects.get(envelope=short).state == "expired"
    assert EnvelopeRecipient.objects.get(envelope=short).state == "undelivered"

    from tiendon.exchange.queries import outbox_by_destination

    figures = outbox_by_destination(now)
    assert figures["tinh-38.waiting"] == 6
    assert figures["tinh-38.oldest_undelivered_s"] >= 7 * 24 * 3600
    assert figures["expired"] == 1

    province = FakeProvince()
    now = max(i.next_attempt_at for i in OutboxItem.objects.filter(state="queued"))
    assert run_once(http_transport(province), now=now) == 6
    assert province.seen == [("http://127.0.0.1:9/exchange/push", "bqp", 6)]
    assert not OutboxItem.objects.filter(state="queued").exists()


def _non_delivery(tree, signer, envelope_id, units):
    from tiendon.exchange.envelope import canonical_json
    from tiendon.exchange.status import NON_DELIVERY_KIND

    payload = {"envelope": envelope_id, "units": units, "reason": "expired", "at": "x"}
    return seal_for_units(
        kind=NON_DELIVERY_KIND,
        payload=canonical_json(payload),
        sender=signer,
        recipients=[tree.ministry],
    ).data


def test_a_relay_reports_non_delivery_only_for_units_below_it(ministry_node):  # noqa: F811
    from tiendon.audit.models import AuditRecord
    from tiendon.exchange.actions import do_accept_envelope
    from tiendon.pki.actions import do_issue_unit_keys

    tree = ministry_node
    for unit in (tree.province, tree.commune_b):
        do_issue_unit_keys(unit)
    sent = do_send_envelope(
        kind="test.ping",
        payload=b"x",
        sender=tree.ministry,
        recipients=[tree.commune_a, tree.commune_b],
    )
    # Commune B cannot speak for commune A; the province speaks for its communes.
    do_accept_envelope(_non_delivery(tree, tree.commune_b, str(sent.pk), [tree.commune_a.code]))
    assert sent.deliveries.get(unit=tree.commune_a).state == "pending"
    do_accept_envelope(_non_delivery(tree, tree.province, str(sent.pk), [tree.commune_a.code]))
    states = dict(sent.deliveries.values_list("unit__code", "state"))
    # (Commune B, of another province, is served by the ministry's node itself.)
    assert states == {tree.commune_a.code: "undelivered", tree.commune_b.code: "arrived"}
    assert AuditRecord.objects.filter(action="exchange.non_delivery_received").count() == 1
    assert AuditRecord.objects.filter(action="exchange.receipt_refused").count() == 1
