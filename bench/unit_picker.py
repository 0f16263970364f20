"""The unit picker's type-ahead over the official list, beside the engine's bare scan.

    python bench/unit_picker.py [--runs 30]          # SQLite in a temporary folder
    DATABASE_URL=postgresql://… python bench/unit_picker.py

Seeds the official hierarchy (the ministry, regions, 34 provinces, 3,321 communes) and times
what a clerk's keystrokes ask for, over a mix of inputs (one letter, a prefix, a full name
with and without tones, a code, a name shared by many communes):
ours, `units.queries.search_units` (count, rank, Vietnamese order, one page of 20) and the
whole fragment through Django's test client (`/pick/units/`); the engine, the bare
`LIKE '%…%'` over the same folded column with LIMIT 21; and folding at query time instead
of a stored column (`unaccent` through `tiendon_fold` on PostgreSQL, Python on SQLite).
Also the first load of the draft page with the picker (HTML, CSS, htmx, picker.js), raw and
gzipped. Goals: fragment p95 under 50 ms; first load under 200 KB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

QUERIES = [
    "m",
    "mu",
    "muong",
    "muong lat",
    "Mường Lát",
    "dong",
    "Đông",
    "tan thanh",
    "ha noi",
    "14845",
]


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _timed(samples: list[float], call) -> object:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = call()
    samples.append((time.perf_counter() - start) * 1000)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30, help="rounds over the query mix")
    args = parser.parse_args()
    import os

    os.environ.setdefault("TIENDON_STATIC_MANIFEST", "0")
    from benchenv import start_django

    start_django("unit-picker")
    from django.contrib.staticfiles import finders
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from tiendon.units.actions import do_create_person
    from tiendon.units.folding import fold
    from tiendon.units.models import Person, Role, Unit, UnitKind
    from tiendon.units.queries import search_units
    from tiendon.units.seed import seed_units

    setup_test_environment()
    call_command("migrate", verbosity=0)
    seed_units()
    ministry = Unit.objects.get(kind=UnitKind.MINISTRY, parent=None)
    viewer = Person.objects.filter(username="bench.clerk").first() or do_create_person(
        username="bench.clerk",
        full_name="Người đo hiệu năng",
        unit=ministry,
        role=Role.CLERK,
        password=None,
        check_password=False,
    )
    units = Unit.objects.count()
    client = Client()
    client.force_login(viewer)

    ours: list[float] = []
    fragment: list[float] = []
    bare: list[float] = []
    at_query_time: list[float] = []
    like = "SELECT id FROM units_unit WHERE is_active AND search_name LIKE %s LIMIT 21"
    if connection.vendor == "postgresql":
        unaccented = (
            "SELECT id FROM units_unit WHERE is_active AND "
            "tiendon_fold(lower(name || ' ' || short_name)) LIKE %s LIMIT 21"
        )
    overhead: list[float] = []  # the same request with nothing typed: no search at all
    for _ in range(args.runs):
        _timed(overhead, lambda: client.get("/pick/units/?q=&sets=1"))
        for query in QUERIES:
            pattern = f"%{fold(query)}%"
            _timed(ours, lambda q=query: search_units(q))
            response = _timed(
                fragment,
                lambda q=query: client.get(f"/pick/units/?{urlencode({'q': q, 'sets': 1})}"),
            )
            assert response.status_code == 200  # type: ignore[attr-defined]
            with connection.cursor() as cursor:
                _timed(bare, lambda p=pattern, c=cursor: (c.execute(like, [p]), c.fetchall()))
                if connection.vendor == "postgresql":
                    _timed(
                        at_query_time,
                        lambda p=pattern, c=cursor: (c.execute(unaccented, [p]), c.fetchall()),
                    )
                else:

                    def python_fold(folded: str = fold(query), c=cursor) -> list[int]:
                        c.execute("SELECT id, name, short_name FROM units_unit WHERE is_active")
                        return [r[0] for r in c.fetchall() if folded in fold(f"{r[1]} {r[2]}")][:21]

                    _timed(at_query_time, python_fold)

    page = client.get("/documents/new/")
    assert page.status_code == 200, page.status_code
    html = page.content
    assets = [
        "web/site.css",
        "web/favicon.svg",
        "units/picker.css",
        "django_htmx/htmx-2.min.js",
        "units/picker.js",
    ]
    for asset in assets:
        assert asset.encode() in html, asset
    bodies = [html] + [Path(str(finders.find(a))).read_bytes() for a in assets]
    page_bytes = sum(len(b) for b in bodies)
    page_gzip = sum(len(gzip.compress(b, 9)) for b in bodies)
    picker_js = len(bodies[-1])

    print(
        f"engine: {connection.vendor}, {units} units, {args.runs} rounds of {len(QUERIES)} inputs"
    )
    rows = [
        ("search_units (count + page of 20), p50", statistics.median(ours)),
        ("search_units, p95", _p95(ours)),
        ("GET /pick/units/ fragment, p50", statistics.median(fragment)),
        ("GET /pick/units/ fragment, p95", _p95(fragment)),
        ("the same request with nothing typed, p50", statistics.median(overhead)),
        ("engine: bare LIKE on the folded column, p95", _p95(bare)),
        ("folding at query time instead, p95", _p95(at_query_time)),
    ]
    for label, value in rows:
        print(f"{label:<48}{value:>9.2f} ms")
    print(
        f"{'draft page first load (raw / gzip -9)':<48}"
        f"{page_bytes / 1024:>7.1f} / {page_gzip / 1024:.1f} KB"
    )
    print(f"{'picker.js':<48}{picker_js:>9} B")
    print(
        json.dumps(
            {
                "bench": "unit_picker",
                "engine": connection.vendor,
                "units": units,
                "runs": args.runs * len(QUERIES),
                "ours_p50_ms": round(statistics.median(ours), 2),
                "ours_p95_ms": round(_p95(ours), 2),
                "fragment_p50_ms": round(statistics.median(fragment), 2),
                "fragment_p95_ms": round(_p95(fragment), 2),
                "empty_request_p50_ms": round(statistics.median(overhead), 2),
                "engine_like_p95_ms": round(_p95(bare), 2),
                "fold_at_query_time_p95_ms": round(_p95(at_query_time), 2),
                "page_bytes": page_bytes,
                "page_gzip_bytes": page_gzip,
                "picker_js_bytes": picker_js,
                "goal": {"fragment_p95_ms_max": 50, "page_bytes_max": 200_000},
            }
        )
    )


if __name__ == "__main__":
    main()
