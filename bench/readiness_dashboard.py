"""The national readiness dashboard for every commune board, beside its bare aggregate SQL.

    python bench/readiness_dashboard.py [--runs 50]          # SQLite in a temporary folder
    DATABASE_URL=postgresql://… python bench/readiness_dashboard.py

Seeds the official hierarchy (3,321 commune boards) and the demo surveys, then asks for
`/readiness/` as a ministry user through Django's test client (the whole server side:
middleware, session, queries, template; no network). Ours: p50/p95 server time and the
first-load bytes (HTML plus the stylesheet and icon it links; the charts are inline SVG).
Engine: the dashboard's main GROUP BY query (communes by province and state) run as raw
SQL on the same connection. Goals: p95 under 300 ms, first load under 200 KB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    if not os.environ.get("TIENDON_DATA_DIR"):
        os.environ["TIENDON_DATA_DIR"] = tempfile.mkdtemp(prefix="tiendon-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiendon.settings")
    os.environ.setdefault("TIENDON_STATIC_MANIFEST", "0")
    import django

    django.setup()
    from django.contrib.staticfiles import finders
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import setup_test_environment

    from tiendon.readiness.demo import seed_demo_surveys
    from tiendon.readiness.queries import communes_under
    from tiendon.readiness.rules import state_expression
    from tiendon.units.actions import do_create_person
    from tiendon.units.models import Person, Role, Unit, UnitKind
    from tiendon.units.seed import seed_units

    setup_test_environment()  # allows the test client's host "testserver"
    call_command("migrate", verbosity=0)
    seed_units()
    seed_demo_surveys()
    ministry = Unit.objects.get(kind=UnitKind.MINISTRY, parent=None)
    viewer = Person.objects.filter(username="bench.viewer").first() or do_create_person(
        username="bench.viewer",
        full_name="Người đo hiệu năng",
        unit=ministry,
        role=Role.CLERK,
        password=None,
        check_password=False,
    )
    communes = Unit.objects.filter(kind=UnitKind.COMMUNE_BOARD).count()

    client = Client()
    client.force_login(viewer)
    first = client.get("/readiness/")
    assert first.status_code == 200, first.status_code
    html = first.content
    linked = [finders.find("web/site.css"), finders.find("web/favicon.svg")]
    page_bytes = len(html) + sum(Path(p).stat().st_size for p in linked if p)

    ours = []
    for _ in range(args.runs):
        start = time.perf_counter()
        response = client.get("/readiness/")
        ours.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200

    rows = (
        communes_under(ministry)
        .order_by()
        .annotate(state=state_expression())
        .values_list("parent_id", "state")
        .annotate(n=Count("pk"))
    )
    sql, params = rows.query.sql_with_params()
    engine = []
    with connection.cursor() as cursor:
        for _ in range(args.runs):
            start = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            engine.append((time.perf_counter() - start) * 1000)

    print(f"engine: {connection.vendor}, {communes} commune boards, {args.runs} runs each")
    print(f"{'GET /readiness/ (national), p50':<48}{statistics.median(ours):>9.1f} ms")
    print(f"{'GET /readiness/ (national), p95':<48}{_p95(ours):>9.1f} ms")
    print(f"{'bare aggregate SQL (by province, state), p95':<48}{_p95(engine):>9.1f} ms")
    print(f"{'first load: HTML + CSS + icon':<48}{page_bytes / 1024:>9.1f} KB")
    print(
        json.dumps(
            {
                "bench": "readiness_dashboard",
                "engine": connection.vendor,
                "communes": communes,
                "runs": args.runs,
                "ours_p50_ms": round(statistics.median(ours), 1),
                "ours_p95_ms": round(_p95(ours), 1),
                "raw_sql_p95_ms": round(_p95(engine), 1),
                "page_bytes": page_bytes,
                "html_bytes": len(html),
                "goal": {"p95_ms_max": 300, "page_bytes_max": 200_000},
            }
        )
    )


if __name__ == "__main__":
    main()
