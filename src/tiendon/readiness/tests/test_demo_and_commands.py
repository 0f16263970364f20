"""The demo seed (deterministic, never overwriting) and the readiness command's errors."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from tiendon.readiness.demo import seed_demo_surveys
from tiendon.readiness.models import CommuneReadiness
from tiendon.readiness.tests.helpers import stored_state


def _surveys() -> list[tuple]:
    return list(
        CommuneReadiness.objects.order_by("unit__code").values_list(
            "unit__code", "link_kind", "computers", "operator_names", "blocking_reasons"
        )
    )


def test_demo_surveys_are_the_same_on_every_run(tree):
    assert seed_demo_surveys() == 2
    first = _surveys()
    assert all(row[1] for row in first)
    CommuneReadiness.objects.all().delete()
    assert seed_demo_surveys() == 2
    assert _surveys() == first


def test_demo_seed_leaves_existing_surveys_alone(surveyed):
    before = stored_state()
    assert seed_demo_surveys() == 0
    assert stored_state() == before


def test_report_for_an_unknown_scope_is_refused(surveyed, tmp_path):
    out = tmp_path / "x.pdf"
    with pytest.raises(CommandError, match="99"):
        call_command("readiness", "report", "--scope", "99", "--out", str(out))
    with pytest.raises(CommandError):  # a commune is not a report scope
        call_command("readiness", "report", "--scope", "15853", "--out", str(out))
    assert not out.exists()
