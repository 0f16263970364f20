"""Small envelopes between two nodes on PostgreSQL: throughput, and latency under load.

    python bench/exchange.py                       # 3,000 envelopes, then 50/s for 20 s
    python bench/exchange.py --count 1000 --rate 50 --seconds 10
    python bench/exchange.py --count 8000                 # a longer steady state

Two nodes run as on a real deployment, each its own `tiendon node start` (gunicorn and a
delivery worker) with its own database in one throwaway PostgreSQL cluster: the
ministry's node `bqp` (serving BQP) and the Thanh Hóa node `tinh-38` (serving province 38,
holding the commune's keys). Set-up (migrations, seeding, PKI, first contact) is not timed.

  throughput  N envelopes (test payload of 200 bytes, BQP → commune 14845, each signed,
              encrypted and sealed on its own) are queued at the ministry while its worker
              is stopped; then one worker starts and we time until the province has all N
              in the commune's inbox: signed POSTs of batches, each envelope verified
              (signature, sender's chain and CRL), stored, and answered with a signed
              receipt that travels back (the province's worker sends those).
  latency     six processes at the ministry (clerks sending at once) seal and enqueue one
              evenly spaced stream of `rate` envelopes per second between them, on a
              common clock, while the workers run (each worker waits its linger, 0.1 s,
              once woken); per envelope, the time from its commit in the ministry's outbox
              to its arrival row at the province. The achieved offered rate and the late
              offers are printed; a rate under 95% of the asked one is flagged as short.
  raw engine  the same number of rows of the same size inserted into a bare table of the
              province's database, in batches of the same size, one transaction each: the
              ceiling that storage alone sets on this machine.

Goal (issue 4): over 1,000 envelopes per second; p95 latency under 1 s at 50 per second.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

GOAL = {"envelopes_per_s_min": 1000, "p95_latency_s_max": 1.0}
COMMUNE = "14845"
PAYLOAD_BYTES = 200
BATCH = 500
WORKERS = 2
OFFERERS = 6  # clerks sending at once; a send waits on the database more than it computes
OFFER_START_S = 6.0  # for the offering processes to start Django and connect
LATE_S = 0.05  # an offer that starts this far behind its schedule is late
SHORT = 0.95  # an offered rate under this share of the asked one is reported as short


# ------------------------------------------------------------------ roles run inside a node


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiendon.settings")
    import django

    django.setup()


def role_seal(count: int) -> dict[str, Any]:
    """Seal `count` envelopes, then enqueue them (timed apart)."""
    _django()
    from tiendon.exchange.actions import do_enqueue_many, seal_for_units
    from tiendon.units.models import Unit

    sender = Unit.objects.get(code="BQP")
    commune = Unit.objects.get(code=COMMUNE)
    started = time.perf_counter()
    sealed = [
        seal_for_units(
            kind="test.ping",
            payload=f"{i:08d}".encode() * (PAYLOAD_BYTES // 8),
            sender=sender,
            recipients=[commune],
        )
        for i in range(count)
    ]
    sealed_s = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        do_enqueue_many(sealed[start : start + BATCH])
    enqueued_s = time.perf_counter() - started
    return {
        "seal_s": sealed_s,
        "enqueue_s": enqueued_s,
        "envelope_bytes": len(sealed[0].data),
    }


def role_offer(rate: float, seconds: float, index: int, of: int, t0: float) -> dict[str, Any]:
    """Seal and enqueue this process's share of an even stream of `rate` envelopes per
    second, from wall-clock time `t0` for `seconds`: envelope i of the stream is due at
    t0 + i/rate, and this process sends i = index, index + of, … So the shares interleave
    (no two processes fire at once) and a slow start shows as lateness, not as a gap."""
    _django()
    import resource

    from tiendon.exchange.actions import do_send_envelope
    from tiendon.units.models import Unit

    sender = Unit.objects.get(code="BQP")
    commune = Unit.objects.get(code=COMMUNE)
    late, worst = 0, 0.0
    mine = range(index, int(rate * seconds), of)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = cpu.ru_utime + cpu.ru_stime
    busy = 0.0
    for i in mine:
        due = t0 + i / rate
        pause = due - time.time()
        if pause > 0:
            time.sleep(pause)
        elif pause < -LATE_S:
            late += 1  # started more than LATE_S behind its schedule
        worst = max(worst, -pause)
        began = time.perf_counter()
        do_send_envelope(
            kind="test.ping",
            payload=f"{i:08d}".encode() * (PAYLOAD_BYTES // 8),
            sender=sender,
            recipients=[commune],
        )
        busy += time.perf_counter() - began
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "offered": len(mine),
        "late": late,
        "worst_lag_s": worst,
        "finished": time.time(),
        "send_s": busy,
        "send_cpu_s": cpu.ru_utime + cpu.ru_stime - cpu_before,
    }


def role_times(side: str) -> dict[str, Any]:
    """Per envelope id: when it entered the outbox (ministry) or arrived (province)."""
    _django()
    from tiendon.exchange.models import Envelope, EnvelopeRecipient

    if side == "sent":
        rows = Envelope.objects.filter(kind="test.ping", origin="local").values_list(
            "id", "stored_at"
        )
    else:
        rows = EnvelopeRecipient.objects.filter(
            unit__code=COMMUNE, state="arrived", envelope__kind="test.ping"
        ).values_list("envelope_id", "arrived_at")
    return {str(pk): at.timestamp() for pk, at in rows}


ROLES = {"seal": role_seal, "offer": role_offer, "times": role_times}


def in_node(node: Any, role: str, *args: object) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--role", role, *map(str, args)],
        env=node.env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{node.name} {role} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------------ the bench


ARRIVED_SQL = (
    "SELECT count(*) FROM exchange_enveloperecipient r "
    "JOIN exchange_envelope e ON e.id = r.envelope_id "
    "JOIN units_unit u ON u.id = r.unit_id "
    "WHERE u.code = %s AND r.state = 'arrived' AND e.kind = 'test.ping'"
)


def wait_for_arrivals(database_url: str, expected: int, timeout: float) -> float:
    """Poll the province's database directly (a Django process per poll would take the
    CPU the nodes are being measured on)."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (arrived,) = conn.execute(ARRIVED_SQL, [COMMUNE]).fetchone() or (0,)
            if arrived >= expected:
                return time.monotonic()
            time.sleep(0.05)
    raise SystemExit(f"only {arrived} of {expected} arrived")


def raw_inserts(database_url: str, count: int, size: int) -> float:
    import psycopg

    rows = [(os.urandom(16).hex(), os.urandom(size)) for _ in range(count)]
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE bench_raw (id text PRIMARY KEY, data bytea)")
        conn.commit()
        started = time.perf_counter()
        for start in range(0, count, BATCH):
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO bench_raw VALUES (%s, %s)", rows[start : start + BATCH]
                )
            conn.commit()
        took = time.perf_counter() - started
        conn.execute("DROP TABLE bench_raw")
    return count / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--role", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.role:
        print(json.dumps(ROLES[args.role](*_role_args(args.role, rest))))
        return

    import psycopg

    from tiendon.exchange.harness import NodeProcess, federation, first_contact, free_port

    work = Path(tempfile.mkdtemp(prefix="tiendon-bench-exchange-"))
    os.chmod(work, 0o755)  # noqa: S103  (the postgres user reads the cluster folder)
    cluster = work / "pg"
    url = subprocess.run(
        [str(ROOT / "scripts/pg-cluster.sh"), "start", str(cluster)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    nodes: list[NodeProcess] = []
    workers: list[subprocess.Popen[bytes]] = []
    try:
        base = url.rsplit("/", 1)[0]
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            for name in ("bqp", "tinh38"):
                conn.execute(f"CREATE DATABASE {name}")
        os.environ.setdefault("TIENDON_SECRET_KEY", "bench-only-secret-key-0123456789abcdef-xyz")
        os.environ.setdefault("TIENDON_NODE_SECRET", "bench-only-node-secret-0123456789abcdef")
        ministry = NodeProcess(work, "bqp", port=free_port(), database_url=base + "/bqp")
        province = NodeProcess(work, "tinh-38", port=free_port(), database_url=base + "/tinh38")
        nodes = [ministry, province]
        print("setting up two nodes on PostgreSQL …", file=sys.stderr)
        federation(work, ministry, province)
        ministry.start(worker=False, web_workers=2)
        province.start(web_workers=2)
        first_contact(ministry, province)

        print(f"sealing and queueing {args.count} envelopes …", file=sys.stderr)
        sealed = in_node(ministry, "seal", args.count)
        # Two delivery workers (SKIP LOCKED shares the queue), so one batch is on the wire
        # while the other's outcome is recorded.
        workers = [
            subprocess.Popen(
                [*_tiendon(), "exchange", "worker", "--batch", str(BATCH), "--idle", "0.05"],
                env=ministry.env,
                stdout=subprocess.DEVNULL,
            )
            for _ in range(WORKERS)
        ]
        started = time.monotonic()
        finished = wait_for_arrivals(base + "/tinh38", args.count, timeout=900)
        rate = args.count / (finished - started)
        print(f"throughput: {rate:.0f} envelopes/s", file=sys.stderr)

        print(f"offering {args.rate:g}/s for {args.seconds:g} s …", file=sys.stderr)
        before = set(in_node(ministry, "times", "sent"))
        # Several sending processes (a clerk's send is a sealing, a transaction and its
        # audit record), each sending its share of one evenly spaced stream on a common
        # clock that starts once all of them are up (Django's start-up is not offered time).
        t0 = time.time() + OFFER_START_S
        with ThreadPoolExecutor(OFFERERS) as pool:
            shares = list(
                pool.map(
                    lambda i: in_node(ministry, "offer", args.rate, args.seconds, i, OFFERERS, t0),
                    range(OFFERERS),
                )
            )
        count = sum(x["offered"] for x in shares)
        took = max(x["finished"] for x in shares) - t0
        offered = {
            "offered": count,
            "late": sum(x["late"] for x in shares),
            "worst_lag_s": max(x["worst_lag_s"] for x in shares),
            # The stream's last envelope is due at (count - 1)/rate; a share that ran late
            # finishes later, so the achieved rate falls below the asked one.
            "per_s": count / max(took, (count - 1) / args.rate, 1e-9),
            "send_ms": 1000 * sum(x["send_s"] for x in shares) / count,
            "send_cpu_ms": 1000 * sum(x["send_cpu_s"] for x in shares) / count,
        }
        offered["short"] = offered["per_s"] < SHORT * args.rate
        wait_for_arrivals(base + "/tinh38", args.count + offered["offered"], timeout=300)
        sent = {k: v for k, v in in_node(ministry, "times", "sent").items() if k not in before}
        arrived = in_node(province, "times", "arrived")
        latencies = sorted(arrived[k] - v for k, v in sent.items())
        p50 = statistics.median(latencies)
        p95 = latencies[int(0.95 * (len(latencies) - 1))]

        raw = raw_inserts(base + "/tinh38", args.count, sealed["envelope_bytes"])
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        for node in nodes:
            node.stop()
        subprocess.run([str(ROOT / "scripts/pg-cluster.sh"), "stop", str(cluster)], check=False)

    print(f"{'':34}{'ours':>12}{'raw engine':>14}")
    print(f"{'envelopes per second':34}{rate:>12.0f}{raw:>14.0f}  (bare INSERTs, same bytes)")
    print(f"{'envelope size, bytes':34}{sealed['envelope_bytes']:>12}")
    print(f"{'sealing, envelopes per second':34}{args.count / sealed['seal_s']:>12.0f}")
    print(f"{'enqueueing, envelopes per second':34}{args.count / sealed['enqueue_s']:>12.0f}")
    achieved = offered["per_s"]
    print(f"{'latency p50 / p95':34}{p50:>9.3f} s / {p95:.3f} s at {achieved:.1f}/s offered")
    print(
        f"{'offered / asked, late offers':34}{achieved:>10.1f}/s of {args.rate:g}/s, "
        f"{offered['late']} of {offered['offered']} late (> {LATE_S * 1000:.0f} ms), "
        f"worst {offered['worst_lag_s']:.3f} s behind"
    )
    print(
        f"{'a send, wall / CPU of its process':34}{offered['send_ms']:>9.1f} ms / "
        f"{offered['send_cpu_ms']:.1f} ms"
    )
    if offered["short"]:
        print(
            f"OFFERED RATE SHORT: {achieved:.1f}/s of the {args.rate:g}/s asked; the latency "
            "above was measured at that lower load"
        )
    print(
        json.dumps(
            {
                "envelopes_per_s": round(rate),
                "raw_inserts_per_s": round(raw),
                "seal_per_s": round(args.count / sealed["seal_s"]),
                "enqueue_per_s": round(args.count / sealed["enqueue_s"]),
                "latency_p50_s": round(p50, 3),
                "latency_p95_s": round(p95, 3),
                "offered": offered["offered"],
                "offered_per_s": round(offered["per_s"], 1),
                "offered_asked_per_s": args.rate,
                "offered_short": offered["short"],
                "offered_late": offered["late"],
                "offered_worst_lag_s": round(offered["worst_lag_s"], 3),
                "send_ms": round(offered["send_ms"], 1),
                "send_cpu_ms": round(offered["send_cpu_ms"], 1),
                "envelope_bytes": sealed["envelope_bytes"],
                "count": args.count,
                "goal": GOAL,
            }
        )
    )


def _tiendon() -> list[str]:
    return [str(Path(sys.executable).with_name("tiendon"))]


def _role_args(role: str, rest: list[str]) -> list[Any]:
    if role == "seal":
        return [int(rest[0])]
    if role == "offer":
        return [float(rest[0]), float(rest[1]), int(rest[2]), int(rest[3]), float(rest[4])]
    return list(rest)


if __name__ == "__main__":
    main()
