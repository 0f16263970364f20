"""Files that are not a readiness survey: a clear message each, and nothing changes."""

from __future__ import annotations

import pytest
from conftest import log_in_with_totp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiendon.readiness.tests.helpers import csv_bytes, row, stored_state, xlsx

PEOPLE_HEADER = ["unit_code", "username", "full_name", "rank", "position", "role", "clearance"]


def _upload(client, data: bytes, name: str):
    return client.post(
        reverse("readiness_import"),
        {"file": SimpleUploadedFile(name, data), "apply_valid_only": "on"},
    )


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("anh.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "không phải"),
        ("hong.xlsx", b"PK\x03\x04" + b"\x00garbage" * 100, "XLSX"),
        ("cu.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, ".xls"),
        ("rong.csv", b"", "rỗng"),
        (
            "nguoi.xlsx",
            xlsx([["15853", "a.b", "A", "", "", "clerk", "0"]], PEOPLE_HEADER),
            "không đúng mẫu khảo sát",
        ),
        ("chi-tieu-de.csv", csv_bytes([]), "không có dòng khảo sát"),
    ],
    ids=["not-a-spreadsheet", "damaged-xlsx", "old-xls", "empty", "wrong-template", "no-rows"],
)
def test_a_file_that_is_not_a_survey_is_refused_with_a_clear_message(
    client, surveyed, name, data, message
):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    before = stored_state()
    response = _upload(client, data, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert stored_state() == before


def test_a_50_mb_file_is_refused_before_it_is_read(client, surveyed):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    before = stored_state()
    big = csv_bytes([row("15853", computers=1)]) + b"x" * (50 * 1024 * 1024)
    response = _upload(client, big, "lon.csv")
    assert response.status_code == 400
    assert "lớn hơn 20 MB" in response.content.decode()
    assert stored_state() == before


@pytest.mark.parametrize(
    ("cells", "column", "code"),
    [
        ({"commune_code": "00000"}, "commune_code", "unknown_unit"),
        ({"commune_code": "38"}, "commune_code", "not_commune"),
        ({"computers": "-1"}, "computers", "negative"),
        ({"trained_operators": "-3"}, "trained_operators", "negative"),
        ({"computers": "hai"}, "computers", "not_a_number"),
        ({"planned_go_live": "2026-12-01"}, "planned_go_live", "bad_date"),
        ({"actual_go_live": "31/02/2026"}, "actual_go_live", "bad_date"),
        ({"link_kind": "cáp quang biển"}, "link_kind", "bad_link_kind"),
        ({"blocking_reasons": "no_budget; bão lũ"}, "blocking_reasons", "bad_reason"),
        ({"computers": "1", "computer_serials": "A;B"}, "computer_serials", "serials_exceed_count"),
    ],
)
def test_each_bad_cell_is_named_by_row_column_and_code_and_nothing_changes(
    client, surveyed, cells, column, code
):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    before = stored_state()
    values = {"link_kind": "civil_line", **{k: v for k, v in cells.items() if k != "commune_code"}}
    data = csv_bytes([row(cells.get("commune_code", "15900"), **values)])
    response = client.post(reverse("readiness_import"), {"file": SimpleUploadedFile("x.csv", data)})
    assert response.status_code == 400
    html = response.content.decode()
    assert f"dòng 2, cột {column}" in html
    assert f"[{code}]" in html
    assert stored_state() == before


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2048) | st.text(max_size=1024).map(str.encode))
def test_any_bytes_end_in_a_clear_refusal_or_an_import_never_a_crash(surveyed, data):
    import io

    from tiendon.readiness.spreadsheets import (
        SurveyFileError,
        SurveyImportRejected,
        import_surveys,
    )

    before = stored_state()
    refused: Exception | None = None
    try:
        import_surveys(io.BytesIO(data), actor=surveyed.tree.ministry_admin, source="fuzz")
    except (SurveyFileError, SurveyImportRejected) as exc:
        refused = exc
    if refused is not None:
        assert str(refused)
        assert stored_state() == before
