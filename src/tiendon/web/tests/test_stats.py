"""`stats`: national counts, as JSON for scripts and as a table for people."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from tiendon.audit.models import AuditRecord
from tiendon.units.actions import do_create_person
from tiendon.units.models import Role, Unit
from tiendon.units.seed import seed_units

pytestmark = pytest.mark.django_db


def stats(*args: str) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("stats", *args, stdout=out)
    return out.getvalue()


def test_stats_json_matches_the_seed() -> None:
    seed_units()
    do_create_person(
        username="vt.hongha",
        full_name="Lê Thị Hà",
        unit=Unit.objects.get(code="00097"),
        role=Role.CLERK,
    )
    figures = json.loads(stats("--json"))
    assert figures["units"] == {
        "ministry": 1,
        "military_region": 7,
        "ministry_agency": 0,
        "provincial_command": 34,
        "regional_defence_command": 0,
        "commune_board": 3321,
    }
    assert figures["commune_boards"] == {"xa": 2621, "phuong": 687, "dac_khu": 13, "total": 3321}
    assert figures["people"] == {"clerk": 1, "commander": 0, "staff": 0, "admin": 0, "total": 1}
    assert figures["audit_records"] == AuditRecord.objects.count()


def test_stats_without_json_prints_a_readable_table() -> None:
    seed_units()
    text = stats()
    assert "Commune boards" in text
    assert "Special zone (đặc khu)" in text
    line = next(ln for ln in text.splitlines() if "Provincial military command" in ln)
    assert line.split()[-1] == "34"


@pytest.mark.django_db
def test_stats_counts_certificates_by_state(tree, pki):
    from tiendon.pki.actions import do_issue_unit_keys, do_revoke_certificate

    do_issue_unit_keys(tree.commune_a)
    rotated = do_issue_unit_keys(tree.commune_a)
    do_revoke_certificate(rotated[0], reason="keyCompromise")
    out = StringIO()
    call_command("stats", "--json", stdout=out)
    figures = json.loads(out.getvalue())["certificates"]
    assert figures == {"current": 1, "superseded": 2, "expired": 0, "revoked": 1, "total": 4}
