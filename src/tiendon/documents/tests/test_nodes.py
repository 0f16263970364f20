"""A document across real nodes: issued at the ministry's node, pushed to the province's
node, pulled by the commune's edge; the commune opens it (both signatures verified against
the CAs the nodes exchanged), registers it, and its status 03 travels back to the ministry."""

from __future__ import annotations

import json
import time

import pytest

from tiendon.exchange.harness import COMMUNE, NodeProcess, federation, first_contact, free_port

pytestmark = pytest.mark.cli

FAST_RETRIES = {
    "TIENDON_EXCHANGE_TIMEOUT": "5",
    "TIENDON_EXCHANGE_BACKOFF_BASE": "0.5",
    "TIENDON_EXCHANGE_BACKOFF_MAX": "3",
}
DEADLINE_SECONDS = 240

ISSUE = f"""
import json
from django.test import RequestFactory
from tiendon.documents.drafting.actions import (
    do_create_draft, do_issue, do_sign, do_submit_for_review)
from tiendon.pki.actions import do_issue_person_key
from tiendon.units import auth
from tiendon.units.actions import do_create_person
from tiendon.units.actions_auth import do_confirm_totp
from tiendon.units.models import Person, Unit
bqp = Unit.objects.get(code="BQP")
clerk = do_create_person(username="vt.bqp", full_name="Trần Thị Thư", unit=bqp, role="clerk")
chief = do_create_person(username="ct.bqp", full_name="Nguyễn Văn Chánh", unit=bqp,
    role="commander", rank="Thượng tướng", position="Thứ trưởng")
secret = auth.new_totp_secret()
step = auth.current_step()
do_confirm_totp(chief, secret, auth.code_for_step(secret, step - 1),
    request=RequestFactory().get("/"))
Person.objects.filter(pk=chief.pk).update(totp_last_step=step - 1)
do_issue_person_key(chief)
chief.refresh_from_db()
draft = do_create_draft(clerk, doc_type="chi_thi", subject="Về việc kiểm tra sẵn sàng chiến đấu",
    body="Các đơn vị tổ chức kiểm tra sẵn sàng chiến đấu.", signer=chief,
    recipient_spec=[{{"unit": "{COMMUNE}"}}])
draft = do_submit_for_review(draft, clerk)
signed = do_sign(draft, chief, totp_code=auth.code_for_step(secret, step))
issued = do_issue(signed, clerk)
print(json.dumps({{"envelope": str(issued.envelope_id), "number": issued.number_and_symbol,
    "document": str(issued.pk)}}))
"""

WAITING = f"""
from tiendon.exchange.models import EnvelopeRecipient
print(EnvelopeRecipient.objects.filter(unit__code="{COMMUNE}", state="arrived",
    envelope__kind="document").count())
"""

REGISTER = f"""
import json
from tiendon.documents.incoming.actions import do_open_incoming, do_register_incoming
from tiendon.units.actions import do_create_person
from tiendon.units.models import Unit
clerk = do_create_person(username="vt.muonglat", full_name="Lò Thị Ánh",
    unit=Unit.objects.get(code="{COMMUNE}"), role="clerk")
incoming = do_open_incoming(clerk, "ENVELOPE")
incoming = do_register_incoming(incoming, clerk)
print(json.dumps({{"number": incoming.number_and_symbol, "arrival": incoming.arrival_number,
    "verification": incoming.verification}}))
"""

STATUS = f"""
from tiendon.exchange.models import EnvelopeRecipient
print(EnvelopeRecipient.objects.get(envelope_id="ENVELOPE", unit__code="{COMMUNE}").status)
"""


def _until(check, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


def test_a_ministry_document_reaches_the_commune_edge_and_its_registration_comes_back(tmp_path):
    ministry = NodeProcess(tmp_path, "bqp", port=free_port(), extra_env=FAST_RETRIES)
    province = NodeProcess(tmp_path, "tinh-38", port=free_port(), extra_env=FAST_RETRIES)
    edge = NodeProcess(tmp_path, "xa-14845", extra_env=FAST_RETRIES)  # behind NAT: pulls
    federation(tmp_path, ministry, province, edge)
    started = time.monotonic()
    deadline = started + DEADLINE_SECONDS
    try:
        ministry.start()
        province.start()
        first_contact(ministry, province, edge)
        sent = json.loads(ministry.shell(ISSUE).strip().splitlines()[-1])
        edge.start(pull=True)
        assert _until(lambda: edge.shell(WAITING).strip() == "1", deadline), "never arrived"
        received = json.loads(
            edge.shell(REGISTER.replace("ENVELOPE", sent["envelope"])).strip().splitlines()[-1]
        )
        assert received["number"] == sent["number"]
        assert received["arrival"] == 1
        assert len(received["verification"]) == 2
        assert all(v["bottom_line"] and v["trusted"] for v in received["verification"])
        status = STATUS.replace("ENVELOPE", sent["envelope"])
        assert _until(lambda: ministry.shell(status).strip() == "03", deadline), (
            "status 03 did not come back: " + ministry.shell(status)
        )
    finally:
        for node in (ministry, province, edge):
            node.kill()
