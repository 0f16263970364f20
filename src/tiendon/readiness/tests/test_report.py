"""The PDF report, read back with poppler's pdftotext: Vietnamese intact, figures as on
the dashboard."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import log_in_with_totp
from django.core.management import call_command
from django.urls import reverse

from tiendon.readiness import queries
from tiendon.readiness.report import TITLE


def _text(pdf: Path) -> list[str]:
    out = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return [" ".join(line.split()) for line in out.splitlines() if line.strip()]


def _row(label: str, counts: queries.Counts) -> str:
    return (
        f"{label} {counts.total} {counts.ready} {counts.in_progress} {counts.blocked} "
        f"{counts.working}"
    )


def test_national_report_shows_provinces_with_diacritics_and_dashboard_figures(surveyed, tmp_path):
    out = tmp_path / "national.pdf"
    call_command("readiness", "report", "--scope", "national", "--out", str(out))
    lines = _text(out)
    text = "\n".join(lines)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "BÁO CÁO" in text
    assert "Tình hình bảo đảm hạ tầng công nghệ cho Ban CHQS cấp xã" in text
    assert any(line.startswith("Hà Nội, ngày ") for line in lines)
    nation = queries.summary(surveyed.tree.ministry)
    assert _row("Bộ Quốc phòng", nation) in lines
    for group in queries.by_province(surveyed.tree.ministry):
        assert _row(group.unit.short_name, group.counts) in lines
    assert "Thanh Hóa 2 1 1 0 0" in lines
    assert "Nghệ An 2 0 0 2 0" in lines
    assert "Có chứng thư số đơn vị còn hiệu lực trên thiết bị ký số 1/4" in lines
    assert "Nguồn điện không ổn định 1" in lines


def test_province_report_from_the_dashboard_button(client, surveyed, tmp_path):
    log_in_with_totp(client, surveyed.tree.ministry_admin)
    response = client.get(reverse("readiness_report", args=["38"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "38.pdf"
    pdf.write_bytes(response.content)
    lines = _text(pdf)
    text = "\n".join(lines)
    assert "QUÂN KHU 4" in text  # the superior unit, then the issuing unit
    assert "BỘ CHỈ HUY QUÂN SỰ TỈNH" in text
    assert "THANH HÓA" in text
    assert "Thanh Hóa, ngày" in text
    assert "Thanh Hóa 2 1 1 0 0" in lines
    assert "Phường Đông Tiến Sẵn sàng Mạng truyền số liệu quân sự 2 1" in lines
    hac_thanh = next(line for line in lines if line.startswith("Phường Hạc Thành"))
    assert hac_thanh.endswith("Đường truyền dân sự 0 0")
    assert "Nghệ An" not in text  # another province's figures stay out
    dashboard = client.get(reverse("readiness_unit", args=["38"])).content.decode()
    assert 'id="n-ready">1<' in dashboard
    assert 'id="n-in_progress">1<' in dashboard


def test_report_draws_the_trend_once_two_days_of_snapshots_exist(surveyed, tmp_path):
    import datetime as dt

    from django.utils import timezone

    from tiendon.readiness.actions import do_take_snapshot

    today = timezone.localdate()
    out = tmp_path / "before.pdf"
    call_command("readiness", "report", "--scope", "38", "--out", str(out))
    assert "5. Xu hướng" in "\n".join(_text(out))
    assert "tiendon readiness snapshot" in "\n".join(_text(out))
    do_take_snapshot(today - dt.timedelta(days=3))
    do_take_snapshot(today)
    call_command("readiness", "report", "--scope", "38", "--out", str(out))
    text = "\n".join(_text(out))
    assert (today - dt.timedelta(days=3)).strftime("%d/%m/%Y") in text
    assert today.strftime("%d/%m/%Y") in text
    assert "Màu xanh: sẵn sàng" in text


def test_report_title_is_in_the_pdf_metadata(surveyed, tmp_path):
    out = tmp_path / "national.pdf"
    call_command("readiness", "report", "--scope", "national", "--out", str(out))
    info = subprocess.run(["pdfinfo", str(out)], check=True, capture_output=True, text=True)
    assert TITLE in info.stdout


def test_no_section_heading_is_left_alone_at_the_foot_of_a_page(surveyed):
    import re

    from tiendon.readiness.report import report_pdf
    from tiendon.readiness.tests.conftest import _commune

    province = surveyed.tree.province
    # With 2 more communes "5. Xu hướng" fell at a page's foot, with 10 "4. Nguyên nhân…".
    for extra in range(11):
        _commune(f"9{extra:04d}", f"Ban CHQS phường Thử {extra}", f"Phường Thử {extra}", province)
        if extra not in (1, 9, 10):
            continue
        out = subprocess.run(
            ["pdftotext", "-layout", "-", "-"],
            input=report_pdf(province),
            check=True,
            capture_output=True,
        ).stdout.decode()
        pages = [[line.strip() for line in p.splitlines() if line.strip()] for p in out.split("\f")]
        assert len(pages) > 2
        for lines in pages[:-1]:
            assert not re.match(r"^\d\. ", lines[-1]), (extra, lines[-1])


def test_the_report_is_dated_at_the_units_place(surveyed, tmp_path):
    out = tmp_path / "38.pdf"
    call_command("readiness", "report", "--scope", "38", "--out", str(out))
    assert any("Thanh Hóa, ngày " in line for line in _text(out))
