"""The arrival seam across nodes: an app known only to the test suite (the note app, with
its own payload kind and statuses, installed through a settings module of its own) sends
between two `tiendon` nodes; the province node's dispatcher is killed with SIGKILL half-way
through a batch, and every delivery is still taken in exactly once; the commune's statuses
come back to the ministry and reach the app's history there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tiendon.exchange.harness import COMMUNE, TIENDON, NodeProcess, federation, free_port

pytestmark = pytest.mark.cli

NOTES = 30
SETTINGS = {"DJANGO_SETTINGS_MODULE": "tiendon.exchange.tests.noteapp.settings"}

SEND = f"""
from tiendon.exchange.actions import do_send_envelope
from tiendon.units.models import Unit
bqp, commune = Unit.objects.get(code="BQP"), Unit.objects.get(code="{COMMUNE}")
for n in range({NOTES}):
    sent = do_send_envelope(kind="noteapp.note", payload=f"Ghi chú số {{n}}".encode(),
        sender=bqp, recipients=[commune])
    print(sent.pk)
"""

TAKEN = """
import json
from django.db.models import Count
from tiendon.audit.models import AuditRecord
rows = AuditRecord.objects.filter(action="noteapp.taken").values("object_id")
print(json.dumps({r["object_id"]: r["n"] for r in rows.annotate(n=Count("id"))}))
"""

REPORT = f"""
from tiendon.exchange.actions import do_send_status
from tiendon.units.models import Unit
commune = Unit.objects.get(code="{COMMUNE}")
for envelope_id in {{ids!r}}:
    do_send_status(envelope_id, commune, "21", note="Đã đọc")
"""

HISTORY = """
from tiendon.audit.models import AuditRecord
print(AuditRecord.objects.filter(action="noteapp.status", new__code="21").count())
"""


def _taken(node: NodeProcess) -> dict[str, int]:
    return dict(json.loads(node.shell(TAKEN).strip().splitlines()[-1]))


def test_a_test_apps_kind_travels_is_taken_in_once_despite_sigkill_and_reports_back(tmp_path):
    ministry = NodeProcess(tmp_path, "bqp", port=free_port(), extra_env=SETTINGS)
    province = NodeProcess(tmp_path, "tinh-38", port=free_port(), extra_env=SETTINGS)
    assert federation(tmp_path, ministry, province) == ""
    dispatcher: subprocess.Popen[bytes] | None = None
    try:
        ministry.start(worker=False)
        province.start(worker=False)
        ministry.run("exchange", "sync")
        province.run("exchange", "sync")

        sent = ministry.shell(SEND).split()
        assert len(sent) == NOTES
        assert f"delivered {NOTES} envelopes" in ministry.run("exchange", "worker", "--once")

        # The province's dispatcher takes them in, four envelopes a transaction, slowly
        # (0.1 s each), and dies with SIGKILL in the middle of a batch.
        with (province.data / "dispatch.log").open("ab") as log:
            dispatcher = subprocess.Popen(
                [TIENDON, "exchange", "dispatch", "--batch", "4"],
                env={**province.env, "NOTEAPP_SLOW_S": "0.1"},
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_taken(province)) < NOTES // 3:
            time.sleep(0.3)
        os.killpg(dispatcher.pid, signal.SIGKILL)
        dispatcher.wait(timeout=30)
        before = _taken(province)
        assert 0 < len(before) < NOTES, "killed half-way through"

        # Started again, it finishes: every delivery was taken in exactly once.
        province.run("exchange", "dispatch", "--once")
        after = _taken(province)
        assert sorted(after) == sorted(sent)
        assert set(after.values()) == {1}

        # The commune reports 21 (read, in the note app's words) on each; the statuses go
        # back to the ministry, which applies them and hands them to the app's history.
        province.shell(REPORT.format(ids=sent))
        assert "delivered" in province.run("exchange", "worker", "--once")
        ministry.run("exchange", "dispatch", "--once")
        status = ministry.run("exchange", "status", "--envelope", sent[0])
        assert f"{COMMUNE} pending status 21 (Đã đọc)" in status
        assert ministry.shell(HISTORY).strip().splitlines()[-1] == str(NOTES)
    finally:
        if dispatcher is not None and dispatcher.poll() is None:
            os.killpg(dispatcher.pid, signal.SIGKILL)
        ministry.stop()
        province.stop()
