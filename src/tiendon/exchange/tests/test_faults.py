"""Nothing lost, nothing twice: 2,000 envelopes from the ministry to a commune edge node
through the province, while the sender, the relay and the receiver are each killed with
SIGKILL at random moments and started again (`tiendon node start`, three processes per
node, each node its own database). Loopback only; bounded in time; the schedule is seeded
and printed so a failure can be replayed."""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import time
from collections.abc import Callable

import pytest

from tiendon.exchange.harness import (
    COMMUNE,
    NodeProcess,
    ThrottlingProxy,
    federation,
    first_contact,
    free_port,
)

pytestmark = pytest.mark.cli

COUNT = 2000
SEED = 20261122
DEADLINE_SECONDS = 420
# Short timeouts and retries, so a node that comes back is tried again within seconds.
FAST_RETRIES = {
    "TIENDON_EXCHANGE_TIMEOUT": "5",
    "TIENDON_EXCHANGE_BACKOFF_BASE": "0.5",
    "TIENDON_EXCHANGE_BACKOFF_MAX": "3",
}

SEAL = f"""
import hashlib, json
from tiendon.exchange.actions import do_enqueue_many, seal_for_units
from tiendon.units.models import Unit
sender, commune = Unit.objects.get(code="BQP"), Unit.objects.get(code="{COMMUNE}")
sent, batch = {{}}, []
for i in range({COUNT}):
    payload = f"Báo cáo số {{i:05d}} ".encode() * 20
    sealed = seal_for_units(kind="test.ping", payload=payload, sender=sender, recipients=[commune])
    sent[sealed.envelope_id] = hashlib.sha256(payload).hexdigest()
    batch.append(sealed)
    if len(batch) == 200:
        do_enqueue_many(batch)
        batch = []
if batch:
    do_enqueue_many(batch)
print(json.dumps(sent))
"""

INBOX = f"""
import hashlib, json
from tiendon.exchange.models import EnvelopeRecipient
from tiendon.exchange.queries import decrypt_for_unit
from tiendon.units.models import Unit
unit = Unit.objects.get(code="{COMMUNE}")
rows = EnvelopeRecipient.objects.filter(
    unit=unit, state="arrived", envelope__kind="test.ping").select_related("envelope")
print(json.dumps([
    [str(r.envelope_id), hashlib.sha256(decrypt_for_unit(r.envelope, unit)).hexdigest()]
    for r in rows
]))
"""

STATUSES = """
import json
from django.db.models import Count
from tiendon.exchange.models import EnvelopeRecipient
print(json.dumps(dict(EnvelopeRecipient.objects.filter(envelope__kind="test.ping")
    .values_list("status").annotate(n=Count("id")).values_list("status", "n"))))
"""


def _count(node: NodeProcess, sql: str) -> int:
    """Progress read straight from the node's SQLite file (read-only), many times a second."""
    uri = f"file:{node.data / 'tiendon.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=20)) as db:
        return int(db.execute(sql).fetchone()[0])


def _arrived(edge: NodeProcess) -> int:
    return _count(
        edge,
        "SELECT count(*) FROM exchange_enveloperecipient r "
        "JOIN exchange_envelope e ON e.id = r.envelope_id "
        "WHERE r.state = 'arrived' AND e.kind = 'test.ping'",
    )


def _pushed(ministry: NodeProcess) -> int:
    return _count(ministry, "SELECT count(*) FROM exchange_outboxitem WHERE state = 'delivered'")


def _when(measure: Callable[[], int], threshold: int, deadline: float) -> int:
    while (value := measure()) < threshold and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_kill_9_of_sender_relay_and_receiver_loses_nothing_and_duplicates_nothing(tmp_path):
    ministry = NodeProcess(tmp_path, "bqp", port=free_port(), extra_env=FAST_RETRIES)
    province = NodeProcess(tmp_path, "tinh-38", port=free_port(), extra_env=FAST_RETRIES)
    edge = NodeProcess(tmp_path, "xa-14845", extra_env=FAST_RETRIES)  # behind NAT: pulls
    federation(tmp_path, ministry, province, edge)
    nodes = {"sender": ministry, "relay": province, "receiver": edge}
    started_at = time.monotonic()
    try:
        ministry.start(worker=False)
        province.start()
        first_contact(ministry, province, edge)
        sent = json.loads(ministry.shell(SEAL))
        assert len(sent) == COUNT

        ministry.stop()
        ministry.start()
        edge.start(pull=True)
        # Each node is killed twice, at random points of the transfer: the sender while it
        # pushes (by how many the province has taken), the relay and the receiver while
        # the commune pulls (by how many have reached it).
        rng = random.Random(SEED)
        deadline = started_at + DEADLINE_SECONDS
        kills: list[tuple[str, int, int]] = []  # role, threshold, (pushed or arrived) then

        def kill_and_restart(role: str, measure: Callable[[], int], threshold: int) -> None:
            reached = _when(measure, threshold, deadline)
            nodes[role].kill()
            kills.append((role, threshold, reached))
            time.sleep(rng.uniform(0.2, 1.5))
            nodes[role].start(pull=role == "receiver")

        for threshold in sorted(rng.sample(range(100, COUNT // 2), 2)):
            kill_and_restart("sender", lambda: _pushed(ministry), threshold)
        others = ["relay", "receiver"] * 2
        rng.shuffle(others)
        low = _arrived(edge) + 50
        thresholds = sorted(rng.sample(range(low, max(low + 8, COUNT - 100)), len(others)))
        for role, threshold in zip(others, thresholds, strict=True):
            kill_and_restart(role, lambda: _arrived(edge), threshold)
        print(f"seed {SEED}: (role killed, at, pushed or arrived by then): {kills}")
        # The kills hit the transfer while it was under way, not after it.
        assert all(reached < COUNT for _role, _at, reached in kills), kills

        while _arrived(edge) < COUNT and time.monotonic() - started_at < DEADLINE_SECONDS:
            time.sleep(2)
        inbox = json.loads(edge.shell(INBOX))
        ids = [envelope_id for envelope_id, _hash in inbox]
        assert len(ids) == len(set(ids)), "an envelope is in the inbox twice"
        assert set(ids) == set(sent), f"{len(set(sent) - set(ids))} envelopes lost"
        assert dict(inbox) == sent, "content differs from what was sent"

        # The commune's signed receipts (01, arrived) come back to the ministry for all.
        statuses: dict[str, int] = {}
        while time.monotonic() - started_at < DEADLINE_SECONDS:
            statuses = json.loads(ministry.shell(STATUSES))
            if statuses.get("01") == COUNT:
                break
            time.sleep(2)
        assert statuses == {"01": COUNT}
    finally:
        for node in nodes.values():
            node.kill()


SEAL_FOR_SLOW_LINK = f"""
import hashlib, json, random
from tiendon.exchange.actions import do_enqueue_many, seal_for_units
from tiendon.units.models import Unit
sender, commune = Unit.objects.get(code="BQP"), Unit.objects.get(code="{COMMUNE}")
payloads = [f"Công văn số {{i:03d}}/BQP ".encode() * 15 for i in range(200)]
payloads.append(random.Random(1).randbytes(2 * 1024 * 1024))  # a 2 MiB scanned document
sealed = [seal_for_units(kind="test.ping", payload=p, sender=sender, recipients=[commune])
          for p in payloads]
do_enqueue_many(sealed)
print(json.dumps({{s.envelope_id: [hashlib.sha256(p).hexdigest(), len(p), len(s.data)]
                  for s, p in zip(sealed, payloads)}}))
"""


def test_a_256_kbit_link_cutting_5_percent_of_transfers_carries_everything_once(tmp_path):
    """The commune's link: 256 kbit/s each way, and one transfer in twenty cut mid-way (a
    throttling proxy on loopback: this kernel has no netem). 200 small envelopes and a
    2 MiB document go from the ministry to the commune edge, which pulls through it."""
    # Pull answers of at most 64 KiB (and the document alone): a cut costs little again.
    slow = {
        **FAST_RETRIES,
        "TIENDON_EXCHANGE_TIMEOUT": "180",
        "TIENDON_EXCHANGE_PULL_BYTES": "65536",
    }
    ministry = NodeProcess(tmp_path, "bqp", port=free_port(), extra_env=slow)
    province = NodeProcess(tmp_path, "tinh-38", port=free_port(), extra_env=slow)
    edge = NodeProcess(tmp_path, "xa-14845", extra_env=slow)
    assert province.port is not None
    link = ThrottlingProxy(province.port, bits_per_second=256_000, cut=0.05, seed=SEED)
    federation(tmp_path, ministry, province, edge, edge_parent_url=link.url)
    started_at = time.monotonic()
    try:
        ministry.start()
        province.start()
        first_contact(ministry, province, edge)
        sent = json.loads(ministry.shell(SEAL_FOR_SLOW_LINK))
        before = link.bytes_up + link.bytes_down
        edge.start(pull=True)
        while _arrived(edge) < len(sent) and time.monotonic() - started_at < DEADLINE_SECONDS:
            time.sleep(1)
        took = time.monotonic() - started_at
        inbox = json.loads(edge.shell(INBOX))
        ids = [envelope_id for envelope_id, _hash in inbox]
        assert len(ids) == len(set(ids)), "an envelope is in the inbox twice"
        assert set(ids) == set(sent), f"{len(set(sent) - set(ids))} envelopes lost"
        assert dict(inbox) == {k: v[0] for k, v in sent.items()}

        payload = sum(size for _hash, size, _sealed in sent.values())
        sealed = sum(length for _hash, _size, length in sent.values())
        wire = link.bytes_up + link.bytes_down - before
        print(
            f"slow link: {len(sent)} envelopes in {took:.0f} s; payload {payload} B, "
            f"sealed {sealed} B, on the wire {wire} B ({wire / payload:.2f}× the payload), "
            f"{link.connections} connections, {link.cuts} cut"
        )
        assert link.cuts >= 1, "the link never lost a transfer: the test proved nothing"
        # Everything crossed the link, and retries after cuts did not multiply it.
        assert payload < wire < 3 * payload
    finally:
        for node in (ministry, province, edge):
            node.kill()
        link.close()
