"""Việc cần làm and the inbox of a unit with 10,000 open items, beside the bare SQL.

    python bench/work_queue.py [--items 10000] [--runs 40]      # SQLite in a temporary folder
    DATABASE_URL=postgresql://… python bench/work_queue.py

A commune board's clerk with 10,000 received documents waiting to be registered (one in
twenty Hỏa tốc) and a commander with 2,000 registered ones to assign. Ours: the server time
of the home page (the side navigation's counts and the work queue) and of the inbox,
through Django's test client (middleware, session, queries, template; no network), p50 and
p95. Engine: the same counts and the first page of the queue as raw SQL on the same
connection. Goal: p95 under 150 ms for both pages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def timed(runs: int, work) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("TIENDON_STATIC_MANIFEST", "0")
    from benchenv import start_django

    start_django("work-queue")
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, RequestFactory
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from tiendon.documents.models import IncomingDocument
    from tiendon.units import auth
    from tiendon.units.actions import do_create_person, do_create_unit
    from tiendon.units.actions_auth import do_confirm_totp
    from tiendon.units.models import CommuneType, Role, UnitKind

    setup_test_environment()
    call_command("migrate", verbosity=0)
    ministry = do_create_unit(code="BQP", name="Bộ Quốc phòng", kind=UnitKind.MINISTRY, parent=None)
    commune = do_create_unit(
        code="14845",
        name="Ban Chỉ huy Quân sự xã Mường Lát",
        kind=UnitKind.COMMUNE_BOARD,
        commune_type=CommuneType.XA,
        parent=ministry,
    )
    clerk = do_create_person(
        username="vt.muonglat",
        full_name="Lò Thị Ánh",
        unit=commune,
        role=Role.CLERK,
        password="x" * 16,
    )
    commander = do_create_person(
        username="ch.muonglat",
        full_name="Hà Văn Đức",
        unit=commune,
        role=Role.COMMANDER,
        password="x" * 16,
    )
    now = timezone.now()

    def row(i: int, state: str) -> IncomingDocument:
        return IncomingDocument(
            unit=commune,
            source=IncomingDocument.Source.PAPER,
            issuer_name="Bộ Chỉ huy Quân sự tỉnh Thanh Hóa",
            number=i,
            notation="KH-BCHQS",
            doc_type="cong_van",
            subject=f"Về việc huấn luyện dân quân tự vệ đợt {i}",
            urgency="hoa_toc" if i % 20 == 0 else "normal",
            state=state,
            arrived_at=now,
        )

    IncomingDocument.objects.bulk_create(
        [row(i, "arrived") for i in range(args.items)]
        + [row(i, "registered") for i in range(args.items // 5)],
        batch_size=2000,
    )
    secret = auth.new_totp_secret()  # a commander works with a second factor
    code = auth.code_for_step(secret, auth.current_step())
    do_confirm_totp(commander, secret, code, request=RequestFactory().get("/"))
    as_clerk, as_commander = Client(), Client()
    as_clerk.force_login(clerk)
    as_commander.force_login(commander)
    session = as_commander.session
    session[auth.SESSION_OTP_VERIFIED] = True
    session.save()
    for client in (as_clerk, as_commander):
        assert client.get("/").status_code == 200  # warm
    assert as_clerk.get("/documents/incoming/").status_code == 200
    home = timed(args.runs, lambda: as_clerk.get("/"))
    home_commander = timed(args.runs, lambda: as_commander.get("/"))
    inbox = timed(args.runs, lambda: as_clerk.get("/documents/incoming/"))
    table = connection.ops.quote_name(IncomingDocument._meta.db_table)

    def engine() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT state, COUNT(*) FROM {table} WHERE unit_id = %s GROUP BY state",  # noqa: S608
                [commune.pk],
            )
            cursor.fetchall()
            cursor.execute(
                f"SELECT id, subject, urgency FROM {table} WHERE unit_id = %s AND state = "  # noqa: S608
                "'arrived' ORDER BY CASE urgency WHEN 'hoa_toc' THEN 3 ELSE 0 END DESC, "
                "arrived_at LIMIT 200",
                [commune.pk],
            )
            cursor.fetchall()

    raw = timed(args.runs, engine)
    figures = {
        "engine": connection.vendor,
        "items": args.items,
        "home_clerk_p50_ms": round(statistics.median(home), 1),
        "home_clerk_p95_ms": round(p95(home), 1),
        "home_commander_p95_ms": round(p95(home_commander), 1),
        "inbox_p50_ms": round(statistics.median(inbox), 1),
        "inbox_p95_ms": round(p95(inbox), 1),
        "raw_sql_p95_ms": round(p95(raw), 1),
        "goal_p95_ms": 150,
    }
    f = figures
    print(f"home (clerk)       p50 {f['home_clerk_p50_ms']} ms, p95 {f['home_clerk_p95_ms']} ms")
    print(f"home (commander)   p95 {figures['home_commander_p95_ms']} ms")
    print(f"inbox              p50 {figures['inbox_p50_ms']} ms, p95 {figures['inbox_p95_ms']} ms")
    print(f"raw SQL (counts and first 200): p95 {figures['raw_sql_p95_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
