"""A neighbour pushes a batch of envelopes; each is accepted or refused on its own."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tiendon.audit.models import AuditRecord
from tiendon.exchange.actions import seal_for_units
from tiendon.exchange.framing import batch, frame
from tiendon.exchange.models import Envelope, EnvelopeRecipient
from tiendon.exchange.models_transport import ChannelSeen, Node, OutboxItem
from tiendon.exchange.nodeauth import sign_request
from tiendon.exchange.nodes import do_add_neighbour, do_init_node, this_node
from tiendon.pki.actions import do_issue_node_certificate, do_issue_unit_keys
from tiendon.pki.keystore import keystore_for

pytestmark = pytest.mark.django_db
HERE = "tinh-38"


@pytest.fixture
def province_node(tree, pki, settings):
    """This node serves the Thanh Hóa command; the ministry's node is its parent."""
    settings.TIENDON_NODE_NAME = HERE
    for unit in (tree.ministry, tree.commune_a, tree.commune_b):
        do_issue_unit_keys(unit)
    do_init_node(HERE, serves=[tree.province.code])
    do_add_neighbour("bqp", relation="parent", base_url="http://127.0.0.1:9")
    return tree


def _node_key(name, unit):
    cert = do_issue_node_certificate(name, home_unit=unit)
    return bytes(cert.certificate_der), lambda data: keystore_for(cert.key).sign(cert.key, data)


def _push(client, body, *, as_node="bqp", unit=None, tree=None):
    certificate, sign = _node_key(as_node, unit or tree.ministry)
    path = reverse("exchange_push")
    headers = sign_request(
        "POST",
        path,
        body,
        node_name=as_node,
        target_node=HERE,
        certificate_der=certificate,
        sign=sign,
    )
    return client.post(
        path,
        body,
        content_type="application/octet-stream",
        headers=headers,
    )


def _envelope(tree, recipients):
    return seal_for_units(
        kind="test.ping", payload=b"chi thi", sender=tree.ministry, recipients=recipients
    ).data


def test_a_pushed_batch_is_accepted_envelope_by_envelope(client, province_node):
    tree = province_node
    good = _envelope(tree, [tree.commune_a, tree.commune_b])
    tampered = bytearray(_envelope(tree, [tree.commune_a]))
    tampered[-3] ^= 1
    response = _push(client, batch([1, 2], [good, bytes(tampered)]), tree=tree)
    assert response.status_code == 200
    first, second = response.json()["results"]
    assert first["ok"] is True
    assert second == {"ok": False, "code": "ciphertext_mismatch"}
    # Both numbers of the parent's channel came in (one refused is still not a hole).
    assert sorted(ChannelSeen.objects.values_list("seq", flat=True)) == [1, 2]
    stored = Envelope.objects.get(pk=first["id"])
    # Commune A is this node's; commune B is left to the parent it came from, never sent back.
    assert dict(stored.deliveries.values_list("unit__code", "state")) == {
        tree.commune_a.code: EnvelopeRecipient.State.ARRIVED
    }
    assert not OutboxItem.objects.filter(envelope=stored).exists()
    # Commune A's signed receipt (01) waits for the parent, on the way back to the ministry.
    receipt = OutboxItem.objects.get()
    assert (receipt.envelope.kind, receipt.destination.name) == ("exchange.receipt", "bqp")
    assert Node.objects.get(name="bqp").last_seen_at is not None


def test_a_node_that_is_not_a_neighbour_is_refused_and_audited(client, province_node):
    tree = province_node
    response = _push(
        client, batch([1], [_envelope(tree, [tree.commune_a])]), as_node="stranger", tree=tree
    )
    assert (response.status_code, response.json()) == (403, {"error": "unknown_node"})
    assert AuditRecord.objects.filter(action="exchange.request_refused", object_id="stranger")
    assert not Envelope.objects.exists()


def test_an_unsigned_push_is_refused(client, province_node):
    response = client.post(reverse("exchange_push"), b"", content_type="application/octet-stream")
    assert response.status_code == 401
    assert response.json() == {"error": "missing_header"}


def test_a_batch_cut_short_is_refused_whole(client, province_node):
    tree = province_node
    body = batch([1], [_envelope(tree, [tree.commune_a])])[:-10]
    response = _push(client, body, tree=tree)
    assert (response.status_code, response.json()) == (400, {"error": "malformed"})
    assert not Envelope.objects.exists()


def test_this_node_knows_its_identity(province_node):
    identity = this_node()
    assert identity.name == HERE
    assert b"node:" + HERE.encode() in identity.certificate_der


def test_the_node_commands_set_up_a_node_and_refuse_bad_input(tree, pki, settings):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("node", "init", "--name", "bqp", "--serves", "BQP", stdout=out)
    assert "this node is bqp" in out.getvalue()
    with pytest.raises(CommandError, match=r"\[already_initialised\]"):
        call_command("node", "init", "--name", "again", "--serves", "BQP")
    with pytest.raises(CommandError, match=r"\[url_missing\]"):
        call_command("node", "add", "--name", "p38", "--relation", "child", "--serves", "38")
    call_command(
        "node",
        "add",
        "--name",
        "p38",
        "--relation",
        "child",
        "--pulls",
        "--serves",
        "38",
        stdout=out,
    )
    with pytest.raises(CommandError, match=r"\[unknown_unit\]"):
        call_command(
            "node",
            "add",
            "--name",
            "x",
            "--relation",
            "peer",
            "--url",
            "http://127.0.0.1:9",
            "--serves",
            "99999",
        )
    assert Node.objects.get(name="p38").pulls


def test_a_batch_whose_channel_numbers_do_not_match_it_is_refused_whole(client, province_node):
    tree = province_node
    envelope = _envelope(tree, [tree.commune_a])
    for body in (
        frame([envelope]),  # no header
        batch([1, 2], [envelope]),  # more numbers than envelopes
        frame([b'{"seqs": [0]}', envelope]),  # numbers start at 1
        frame([b'{"seqs": ["1"]}', envelope]),
    ):
        response = _push(client, body, tree=tree)
        assert (response.status_code, response.json()) == (400, {"error": "malformed"})
    assert not Envelope.objects.exists()
