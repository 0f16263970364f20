"""The worker's HTTP transport: signed batches out, the next node's answers back in."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory

from tiendon.exchange.actions import do_send_envelope
from tiendon.exchange.framing import read_batch
from tiendon.exchange.models_transport import OutboxItem, ServedUnit
from tiendon.exchange.nodeauth import verify_request
from tiendon.exchange.nodes import do_add_neighbour, do_init_node
from tiendon.exchange.transport import PUSH_PATH, http_transport
from tiendon.exchange.worker import run_once
from tiendon.pki.actions import do_issue_unit_keys

pytestmark = pytest.mark.django_db


@pytest.fixture
def ministry_node(tree, pki, settings):
    settings.TIENDON_NODE_NAME = "bqp"
    for unit in (tree.ministry, tree.commune_a):
        do_issue_unit_keys(unit)
    do_init_node("bqp", serves=["BQP"])
    child = do_add_neighbour(
        "tinh-38", relation="child", base_url="http://127.0.0.1:9", serves=[tree.province.code]
    )
    assert ServedUnit.objects.filter(node=child).exists()
    return tree


class FakeProvince:
    """Answers like the province's push endpoint; checks each request as that node would."""

    def __init__(self, status: int = 200, refuse: str = "") -> None:
        self.status, self.refuse, self.seen, self.seqs = status, refuse, [], []

    def __call__(self, url, body, headers):
        request = RequestFactory().post(
            PUSH_PATH,
            body,
            content_type="application/octet-stream",
            headers=headers,
        )
        node = verify_request(request, this_node="tinh-38")  # a real signature check
        seqs, envelopes = read_batch(body)
        self.seqs.extend(seqs)
        self.seen.append((url, node.name, len(envelopes)))
        if self.status != 200:
            return self.status, b'{"error": "unknown_node"}'
        results = [
            {"ok": False, "code": self.refuse} if self.refuse else {"ok": True, "id": "x"}
            for _ in envelopes
        ]
        return 200, json.dumps({"results": results}).encode()


def _send_three(tree):
    for _ in range(3):
        do_send_envelope(
            kind="test.ping", payload=b"x", sender=tree.ministry, recipients=[tree.commune_a]
        )


def test_queued_envelopes_go_in_one_signed_batch_and_are_marked_delivered(ministry_node):
    _send_three(ministry_node)
    province = FakeProvince()
    assert run_once(http_transport(province)) == 3
    assert province.seen == [("http://127.0.0.1:9/exchange/push", "bqp", 3)]
    assert set(OutboxItem.objects.values_list("state", flat=True)) == {"delivered"}


def test_a_batch_refused_as_a_whole_is_retried_later(ministry_node):
    _send_three(ministry_node)
    run_once(http_transport(FakeProvince(status=403)))
    items = list(OutboxItem.objects.all())
    assert {i.state for i in items} == {"queued"}
    assert all(i.last_error.startswith("HTTP 403") for i in items)


def test_envelopes_refused_one_by_one_are_final(ministry_node):
    _send_three(ministry_node)
    run_once(http_transport(FakeProvince(refuse="sender_revoked")))
    assert set(OutboxItem.objects.values_list("state", "last_error")) == {
        ("refused", "sender_revoked")
    }


def test_a_network_failure_is_retried(ministry_node):
    _send_three(ministry_node)

    def down(url, body, headers):
        raise OSError("connection refused")

    run_once(http_transport(down))
    assert set(OutboxItem.objects.values_list("state", flat=True)) == {"queued"}


def test_the_worker_command_retries_when_the_next_node_is_down(ministry_node):
    from django.core.management import call_command

    _send_three(ministry_node)
    call_command("exchange", "worker", "--once")  # nothing listens on 127.0.0.1:9
    items = list(OutboxItem.objects.all())
    assert {i.state for i in items} == {"queued"}
    assert all(i.attempts == 1 for i in items)
    assert all(i.last_error for i in items)


def test_sync_imports_a_neighbours_cas_and_reports_one_that_is_down(ministry_node, pki):
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.utils import timezone

    from tiendon.exchange.transport import sync_neighbours
    from tiendon.pki import x509build
    from tiendon.pki.issuer import Issuer
    from tiendon.pki.models import CertificateAuthority

    root = Issuer(pki.root)
    key = ec.generate_private_key(ec.SECP256R1())
    issuing = x509build.build_issuing(
        "Province Issuing CA",
        key.public_key(),
        root.certificate,
        root.private_key,
        "http://127.0.0.1:9/x.crl",
        timezone.now(),
    )
    crl = x509build.build_crl(
        issuer_cert=issuing, issuer_key=key, number=1, revoked=[], now=timezone.now()
    )
    do_add_neighbour("peer-down", relation="peer", base_url="http://127.0.0.1:8")
    der = serialization.Encoding.DER
    published = json.dumps(
        {
            "authorities": [
                {
                    "certificate": base64.b64encode(issuing.public_bytes(der)).decode(),
                    "crl": base64.b64encode(crl.public_bytes(der)).decode(),
                }
            ]
        }
    ).encode()

    def fetch(url):
        if url == "http://127.0.0.1:9/pki/authorities":
            return 200, published
        if url == "http://127.0.0.1:9/pki/directory":
            return 200, b'{"entries": []}'
        raise OSError("connection refused")

    outcomes = sync_neighbours(fetch)
    assert outcomes["tinh-38"] == "1 CAs added, 1 newer CRLs, 0 unit certificates added"
    assert outcomes["peer-down"].startswith("unreachable")
    assert CertificateAuthority.objects.filter(kind="peer").count() == 1
