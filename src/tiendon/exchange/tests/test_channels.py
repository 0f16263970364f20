"""Channel numbers: a hole in what a neighbour sent us is asked for again after the grace
period; the sender sends it again or says it will never come."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from tiendon.audit.models import AuditRecord
from tiendon.exchange.channels import missing, record_seen
from tiendon.exchange.models_transport import Node, OutboxItem
from tiendon.exchange.nodeauth import sign_request, verify_request
from tiendon.exchange.tests.test_push import _node_key
from tiendon.exchange.tests.test_transport import FakeProvince, _send_three, ministry_node  # noqa: F401
from tiendon.exchange.transport import http_transport, request_missing
from tiendon.exchange.worker import run_once

pytestmark = pytest.mark.django_db


def test_a_hole_is_asked_for_only_after_the_grace_period(ministry_node, settings):  # noqa: F811
    settings.TIENDON_EXCHANGE_GAP_GRACE = 600
    province = Node.objects.get(name="tinh-38")
    start = timezone.now()
    record_seen(province, [1, 2, 4, 5, 9], now=start)
    # A moment later the holes may still fill (a Hỏa tốc overtook, a retry is coming) …
    assert missing(province, now=start + dt.timedelta(minutes=1)) == []
    # … past the grace period they are asked for.
    assert missing(province, now=start + dt.timedelta(minutes=11)) == [3, 6, 7, 8]
    record_seen(province, [3, 6, 7, 8], now=start + dt.timedelta(minutes=12))
    assert missing(province, now=start + dt.timedelta(hours=1)) == []
    province.refresh_from_db()
    assert province.in_complete == 9  # everything up to 9 came; the rows below are dropped


def _resend(client, seqs, tree):
    certificate, sign = _node_key("tinh-38", tree.province)
    path = reverse("exchange_resend")
    body = json.dumps({"seqs": seqs}).encode()
    headers = sign_request(
        "POST",
        path,
        body,
        node_name="tinh-38",
        target_node="bqp",
        certificate_der=certificate,
        sign=sign,
    )
    return client.post(path, body, content_type="application/json", headers=headers)


def test_a_neighbour_asking_again_gets_delivered_items_sent_again(client, ministry_node):  # noqa: F811
    tree = ministry_node
    _send_three(tree)
    assert run_once(http_transport(FakeProvince())) == 3
    expired = OutboxItem.objects.get(seq=3)
    OutboxItem.objects.filter(pk=expired.pk).update(state="expired")

    response = _resend(client, [1, 3, 99], tree)
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"seq": 1, "state": "resent"},
        {"seq": 3, "state": "expired"},
        {"seq": 99, "state": "unknown"},
    ]
    assert OutboxItem.objects.get(seq=1).state == "queued"
    again = FakeProvince()
    assert run_once(http_transport(again)) == 1
    assert again.seqs == [1]
    assert AuditRecord.objects.filter(action="exchange.resend_requested").count() == 1


def test_malformed_or_foreign_resend_requests_are_refused(client, ministry_node):  # noqa: F811
    tree = ministry_node
    for seqs in (["1"], [0], "1", [True]):
        assert _resend(client, seqs, tree).status_code == 400
    Node.objects.filter(name="tinh-38").delete()
    assert _resend(client, [1], tree).status_code == 403


def test_this_node_asks_and_closes_what_will_never_come(ministry_node, settings):  # noqa: F811
    settings.TIENDON_EXCHANGE_GAP_GRACE = 0
    province = Node.objects.get(name="tinh-38")
    record_seen(province, [1, 4])
    asked = []

    def province_answers(url, body, headers):
        request = RequestFactory().post(
            "/exchange/resend", body, content_type="application/json", headers=headers
        )
        assert verify_request(request, this_node="tinh-38").name == "bqp"
        asked.append(json.loads(body)["seqs"])
        results = [{"seq": 2, "state": "resent"}, {"seq": 3, "state": "expired"}]
        return 200, json.dumps({"results": results}).encode()

    outcome = request_missing(province_answers)
    assert asked == [[2, 3]]
    assert outcome == {"tinh-38": "2 missing asked again, 1 closed for good"}
    assert missing(province) == [2]  # 3 is closed; 2 is on its way again
    assert AuditRecord.objects.filter(action="exchange.channel_gap_closed").count() == 1
