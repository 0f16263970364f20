"""Nodes as separate processes on loopback, each with its own database: the ministry's node
seals a message for a commune of Thanh Hóa; it travels by push to the province's node and,
for a commune edge behind NAT, by pull from there."""

from __future__ import annotations

import pytest

from tiendon.exchange.harness import COMMUNE, NodeProcess, federation, free_port

pytestmark = pytest.mark.cli

TEXT = "Chỉ thị số 01/CT-BQP: kiểm tra sẵn sàng chiến đấu"


def _open_as_clerk(node: NodeProcess, envelope_id: str) -> str:
    return node.run(
        "shell",
        "-c",
        "from tiendon.units.actions import do_create_person;"
        "from tiendon.units.models import Unit;"
        "from tiendon.exchange.queries import open_payload;"
        f"p = do_create_person(username='vt.muonglat', full_name='Lò Thị Ánh', "
        f"unit=Unit.objects.get(code='{COMMUNE}'), role='clerk');"
        f"print(open_payload(p, '{envelope_id}').decode())",
    )


def test_a_message_from_the_ministry_reaches_a_commune_served_by_the_province_node(tmp_path):
    ministry = NodeProcess(tmp_path, "bqp", port=free_port())
    province = NodeProcess(tmp_path, "tinh-38", port=free_port())
    # The province's node holds the keys of the province and of the commune.
    assert federation(tmp_path, ministry, province) == ""
    try:
        ministry.start(worker=False)
        province.start(worker=False)
        # Each learns the other's issuing CA and CRL, and the units whose keys it holds.
        synced = ministry.run("exchange", "sync")
        assert "tinh-38: 1 CAs added, 1 newer CRLs, 4 unit certificates added" in synced
        assert "bqp: 1 CAs added, 1 newer CRLs, 2 unit certificates added" in province.run(
            "exchange", "sync"
        )

        sent = ministry.run("exchange", "send", "--from", "BQP", "--to", COMMUNE, "--text", TEXT)
        assert "sealed for 1 units" in sent
        assert "delivered 1 envelopes" in ministry.run("exchange", "worker", "--once")

        inbox = province.run("exchange", "inbox", "--unit", COMMUNE)
        assert "test.ping from BQP" in inbox
        assert "1 envelopes" in inbox
        assert TEXT in _open_as_clerk(province, inbox.split()[0])
    finally:
        ministry.stop()
        province.stop()


def test_three_nodes_the_commune_edge_behind_nat_pulls_through_the_province(tmp_path):
    ministry = NodeProcess(tmp_path, "bqp", port=free_port())
    province = NodeProcess(tmp_path, "tinh-38", port=free_port())
    edge = NodeProcess(tmp_path, "xa-14845")  # never listens: it pulls
    # Installing the edge, the province's operator takes its CAs by hand (first contact):
    assert "1 CAs added" in federation(tmp_path, ministry, province, edge)
    try:
        ministry.start(worker=False)
        province.start(worker=False)
        # The edge hands its certificates up (nothing waits for it yet) …
        assert "accepted 0 envelopes" in edge.run("exchange", "pull", "--once")
        # … the province and the ministry learn each other's and the edge's …
        province.run("exchange", "sync")
        assert "2 CAs added" in ministry.run("exchange", "sync")  # the province's and the edge's
        edge.run("exchange", "sync")  # and the edge learns the ministry's CA through its parent

        ministry.run("exchange", "send", "--from", "BQP", "--to", COMMUNE, "--text", TEXT)
        assert "delivered 1 envelopes" in ministry.run("exchange", "worker", "--once")
        assert "0 envelopes" in province.run("exchange", "inbox", "--unit", COMMUNE)
        assert "accepted 1 envelopes" in edge.run("exchange", "pull", "--once")
        assert "accepted 0 envelopes" in edge.run("exchange", "pull", "--once")  # acknowledged

        inbox = edge.run("exchange", "inbox", "--unit", COMMUNE)
        assert "test.ping from BQP" in inbox
        envelope_id = inbox.split()[0]
        assert TEXT in _open_as_clerk(edge, envelope_id)

        # The commune's signed receipt (01, arrived) goes back up: edge → province → ministry.
        assert "delivered 1 envelopes" in edge.run("exchange", "worker", "--once")
        assert "delivered 1 envelopes" in province.run("exchange", "worker", "--once")
        assert f"{COMMUNE} pending status 01" in ministry.run(
            "exchange", "status", "--envelope", envelope_id
        )
    finally:
        ministry.stop()
        province.stop()
