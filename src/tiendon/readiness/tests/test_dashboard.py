"""Readiness figures, scope and pages, on four surveyed communes (see conftest)."""

from __future__ import annotations

import json
from io import StringIO

from conftest import log_in_with_totp
from django.core.management import call_command
from django.urls import reverse

from tiendon.audit.models import AuditRecord
from tiendon.readiness import queries
from tiendon.readiness.actions import SurveyValues, do_take_snapshot, do_update_survey
from tiendon.readiness.models import ReadinessSnapshot


def test_states_follow_the_rules_and_the_token_signal_from_pki(surveyed):
    tree = surveyed.tree
    nation = queries.summary(tree.ministry)
    assert (nation.total, nation.ready, nation.in_progress, nation.blocked) == (4, 1, 1, 2)
    assert nation.working == 0  # measured from documents: nobody registered anything yet
    assert nation.conditions == {
        "link": 3,
        "computer": 2,
        "certificate_on_token": 1,
        "trained_operator": 1,
    }
    rows = {r.unit.code: r.counts for r in queries.by_province(tree.ministry)}
    assert (rows["38"].ready, rows["38"].in_progress, rows["38"].blocked) == (1, 1, 0)
    assert (rows["40"].ready, rows["40"].in_progress, rows["40"].blocked) == (0, 0, 2)
    regions = queries.by_region(tree.ministry)
    assert [(r.unit.code, r.counts.total) for r in regions] == [("QK4", 4)]


def test_the_rule_set_is_configurable_in_one_setting(surveyed, settings):
    settings.TIENDON_READINESS_CONDITIONS = ["link"]
    nation = queries.summary(surveyed.tree.ministry)
    # Hạc Thành and Cửa Lò now count as ready (they have a link); Trường Vinh stays blocked.
    assert (nation.ready, nation.in_progress, nation.blocked) == (3, 0, 1)


def test_survey_change_is_audited_with_old_and_new_values(surveyed):
    tree = surveyed.tree
    do_update_survey(
        surveyed.hac_thanh,
        SurveyValues(link_kind="civil_line", computers=1, trained_operators=1),
        actor=tree.province_commander,
    )
    record = AuditRecord.objects.filter(action="readiness.survey_updated").order_by("-seq")[0]
    assert record.actor_id == tree.province_commander.pk
    assert record.old["computers"] == 0
    assert record.new["computers"] == 1


def test_roll_ups_take_a_fixed_number_of_queries(surveyed, django_assert_num_queries):
    with django_assert_num_queries(4):  # two for the totals, two for the provinces
        queries.summary(surveyed.tree.ministry)
        queries.by_province(surveyed.tree.ministry)


def test_national_dashboard_shows_the_figures_and_stays_light(client, surveyed):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    response = client.get(reverse("readiness"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="n-ready">1<' in html
    assert 'id="n-blocked">2<' in html
    assert 'id="n-working">0<' in html  # working digitally: measured, none yet
    assert "<svg" in html
    assert "Thanh Hóa" in html
    assert "Nghệ An" in html
    assert len(response.content) < 200_000


def test_province_commander_drills_down_only_within_the_province(client, surveyed):
    tree = surveyed.tree
    log_in_with_totp(client, tree.province_commander)
    own = client.get(reverse("readiness"))
    assert own.status_code == 200
    assert "Phường Đông Tiến" in own.content.decode()
    commune = client.get(reverse("readiness_unit", args=[tree.commune_a.code]))
    assert commune.status_code == 200
    assert "Sẵn sàng" in commune.content.decode()  # ready
    assert 'id="tokens-issued">1<' in commune.content.decode()
    for code in ("40", tree.commune_b.code, "BQP"):
        assert client.get(reverse("readiness_unit", args=[code])).status_code == 404
    assert client.get(reverse("readiness_report", args=["40"])).status_code == 404
    assert client.get(reverse("readiness_export", args=["40"])).status_code == 404
    denied = AuditRecord.objects.filter(action="permission.denied")
    assert denied.count() >= 5


def test_blocked_list_filters_by_province_and_reason(client, surveyed):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    url = reverse("readiness_blocked", args=["BQP"])
    everything = client.get(url).content.decode()
    assert "Phường Trường Vinh" in everything
    assert "Phường Cửa Lò" in everything
    by_reason = client.get(url, {"reason": "power_supply"}).content.decode()
    assert "Phường Cửa Lò" in by_reason
    assert "Phường Trường Vinh" not in by_reason
    in_thanh_hoa = client.get(url, {"province": "38"}).content.decode()
    assert "Phường Trường Vinh" not in in_thanh_hoa
    assert "Phường Cửa Lò" not in in_thanh_hoa


def test_snapshot_command_stores_counts_for_the_trend(surveyed):
    out = StringIO()
    call_command("readiness", "snapshot", stdout=out)
    national = ReadinessSnapshot.objects.get(unit=surveyed.tree.ministry)
    assert (national.total, national.ready, national.blocked) == (4, 1, 2)
    assert national.working == 0
    assert ReadinessSnapshot.objects.filter(unit__code="38").get().ready == 1
    do_take_snapshot()  # the same day again replaces, never duplicates
    assert ReadinessSnapshot.objects.filter(unit=surveyed.tree.ministry).count() == 1


def test_stats_json_counts_communes_by_readiness_state(surveyed):
    out = StringIO()
    call_command("stats", "--json", stdout=out)
    figures = json.loads(out.getvalue())["readiness"]
    assert figures == {
        "total": 4,
        "ready": 1,
        "in_progress": 1,
        "blocked": 2,
        "working_digitally": 0,
    }


def test_the_capital_command_under_the_ministry_is_its_own_region_row(surveyed):
    from tiendon.readiness.tests.conftest import _commune
    from tiendon.units.actions import do_create_unit
    from tiendon.units.models import UnitKind

    hanoi = do_create_unit(
        code="01",
        name="Bộ Tư lệnh Thủ đô Hà Nội",
        short_name="Hà Nội",
        kind=UnitKind.PROVINCIAL_COMMAND,
        parent=surveyed.tree.ministry,
        abbreviation="BTLTĐ",
    )
    _commune("00004", "Ban Chỉ huy Quân sự phường Ba Đình", "Phường Ba Đình", hanoi)
    regions = {r.unit.code: r.counts.total for r in queries.by_region(surveyed.tree.ministry)}
    assert regions == {"QK4": 4, "01": 1}
    assert queries.summary(surveyed.tree.ministry).total == 5


def test_region_page_shows_its_provinces(client, surveyed):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    response = client.get(reverse("readiness_unit", args=["QK4"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-code="38"' in html
    assert 'data-code="40"' in html
    assert 'id="regions"' not in html  # regions are listed on the national page only


def _codes_in_order(html: str, table_id: str) -> list[str]:
    import re

    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-code="([^"]+)"', body)


def test_blocked_list_sorts_by_planned_go_live_and_by_name(client, surveyed):
    import datetime as dt

    tree = surveyed.tree
    do_update_survey(
        tree.commune_b,
        SurveyValues(planned_go_live=dt.date(2026, 5, 1), blocking_reasons=["no_link"]),
        actor=None,
    )
    do_update_survey(
        surveyed.cua_lo,
        SurveyValues(planned_go_live=dt.date(2026, 2, 1), blocking_reasons=["power_supply"]),
        actor=None,
    )
    log_in_with_totp(client, tree.ministry_admin)
    url = reverse("readiness_blocked", args=["BQP"])
    planned = client.get(url, {"sort": "planned"}).content.decode()
    assert _codes_in_order(planned, "blocked") == ["16701", "16690"]
    by_name = client.get(url, {"sort": "commune"}).content.decode()
    assert _codes_in_order(by_name, "blocked") == ["16701", "16690"]  # Cửa Lò, Trường Vinh
    updated = client.get(url, {"sort": "updated"}).content.decode()
    assert _codes_in_order(updated, "blocked") == ["16701", "16690"]  # Cửa Lò changed last


def test_national_page_queries_do_not_grow_with_the_number_of_communes(client, surveyed):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tiendon.readiness.tests.conftest import _commune

    log_in_with_totp(client, surveyed.tree.ministry_admin)
    with CaptureQueriesContext(connection) as before:
        assert client.get(reverse("readiness")).status_code == 200
    for i in range(5):
        commune = _commune(
            f"1599{i}", f"Ban Chỉ huy Quân sự xã Thử {i}", f"Xã Thử {i}", surveyed.tree.province
        )
        do_update_survey(commune, SurveyValues(blocking_reasons=["premises"]), actor=None)
    with CaptureQueriesContext(connection) as after:
        html = client.get(reverse("readiness")).content.decode()
    assert 'id="n-total">9<' in html
    assert len(after.captured_queries) == len(before.captured_queries)
