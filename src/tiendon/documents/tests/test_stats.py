"""`tiendon stats --json` counts documents: sent ones by state, received copies by the
processing status they stand at."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.incoming.actions import (
    do_refuse_incoming,
    do_register_incoming,
)
from tiendon.documents.tests.conftest import draft, in_review, taken_in
from tiendon.pki.actions import do_issue_unit_keys

pytestmark = pytest.mark.django_db


def test_stats_count_documents_by_state_and_received_copies_by_status(tree, board, province_board):
    do_issue_unit_keys(tree.commune_b)
    draft(board)
    in_review(board)
    do_sign(in_review(province_board), province_board.commander, totp_code=province_board.code())
    sent = do_issue(
        do_sign(
            in_review(province_board, recipient_spec=[{"unit": "15853"}, {"unit": "16690"}]),
            province_board.commander,
            totp_code=province_board.code(),
        ),
        province_board.clerk,
    )
    do_register_incoming(taken_in(tree.clerk_a, sent.envelope_id), tree.clerk_a)
    do_refuse_incoming(taken_in(tree.clerk_b, sent.envelope_id), tree.clerk_b, reason="Gửi nhầm.")
    out = StringIO()
    call_command("stats", "--json", stdout=out)
    figures = json.loads(out.getvalue())["documents"]
    assert figures == {
        "draft": 1,
        "in_review": 1,
        "signed": 1,
        "issued": 1,
        "recalled": 0,
        "incoming_01": 0,
        "incoming_02": 1,
        "incoming_03": 1,
        "incoming_04": 0,
        "incoming_05": 0,
        "incoming_06": 0,
        "incoming_13": 0,
        "incoming_15": 0,
        "incoming_16": 0,
    }


def test_the_stats_table_names_the_document_rows(tree):
    out = StringIO()
    with translation.override("en"):
        call_command("stats", stdout=out)
    text = out.getvalue()
    assert "Documents: sent by state, received by status" in text
    line = next(ln for ln in text.splitlines() if "Received: 03 Registered" in ln)
    assert line.split()[-1] == "0"
