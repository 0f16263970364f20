"""Audit appends per second: our hash-chained append beside the engine's plain insert.

    python bench/audit_append.py [--n 2000]            # SQLite in a temporary folder
    DATABASE_URL=postgresql://… python bench/audit_append.py

The goal: a chained append costs little next to the engine's own insert (single appends
at ≥ 50% of the plain one-row-per-transaction INSERT rate), and batches reach ≥ 10,000/s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="records per measurement")
    args = parser.parse_args()

    if not os.environ.get("TIENDON_DATA_DIR"):
        os.environ["TIENDON_DATA_DIR"] = tempfile.mkdtemp(prefix="tiendon-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiendon.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from tiendon.audit.actions import AuditEntry, do_record, do_record_batch
    from tiendon.audit.models import AuditRecord
    from tiendon.audit.verify import verify_chain

    call_command("migrate", verbosity=0)
    n = args.n

    start = time.perf_counter()
    for i in range(n):
        do_record("bench.single", object_type="thing", object_id=str(i), new={"i": i})
    single = n / (time.perf_counter() - start)

    start = time.perf_counter()
    for chunk in range(0, n * 5, 500):
        do_record_batch(
            AuditEntry(action="bench.batch", object_type="thing", object_id=str(chunk + i))
            for i in range(500)
        )
    batched = n * 5 / (time.perf_counter() - start)

    # The engine's own figure: the same rows, inserted one per transaction, no chain.
    now = timezone.now()
    start = time.perf_counter()
    for i in range(n):
        with transaction.atomic():
            AuditRecord.objects.create(
                seq=10_000_000 + i,
                at=now,
                action="bench.raw",
                object_type="thing",
                object_id=str(i),
                new={"i": i},
                prev_hash="0" * 64,
                hash=f"{i:064x}",
            )
    raw_single = n / (time.perf_counter() - start)

    start = time.perf_counter()
    result = verify_chain()  # stops at the first raw row (seq jumps), after the chained ones
    verify_rate = result.checked / (time.perf_counter() - start)

    print(f"engine: {connection.vendor}, {n} records per measurement")
    print(f"{'chained append, one per transaction':<45}{single:>10,.0f} /s")
    print(f"{'plain INSERT, one per transaction (engine)':<45}{raw_single:>10,.0f} /s")
    print(f"{'chained append, batches of 500':<45}{batched:>10,.0f} /s")
    print(f"{'verify':<45}{verify_rate:>10,.0f} records/s")
    print(
        json.dumps(
            {
                "bench": "audit_append",
                "engine": connection.vendor,
                "n": n,
                "ours_single_per_s": round(single),
                "engine_insert_per_s": round(raw_single),
                "ours_batch_per_s": round(batched),
                "verify_per_s": round(verify_rate),
                "single_vs_engine": round(single / raw_single, 2),
                "goal": {"single_vs_engine": 0.5, "ours_batch_per_s": 10000},
            }
        )
    )


if __name__ == "__main__":
    main()
