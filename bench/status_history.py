"""The sender's status history: statuses from a province's commune boards recorded as they
arrive (the dispatcher hands each applied receipt to the documents' history), then a page
of histories, beside the bare decryption of the same receipts by the exchange.

    python bench/status_history.py                   # SQLite in a temporary folder
    python bench/status_history.py --statuses 4
    DATABASE_URL=postgresql://… python bench/status_history.py

Set-up (not timed): the seeded units, the node's CAs, keys for province `--province` and
its commune boards (166 for 38); one document envelope from the province to all of them,
taken in by the dispatcher; then `--statuses` statuses (03, 04, 05, …) reported by every
commune through `do_send_status`, each a signed receipt encrypted to the province, opened
and applied by the exchange on arrival.

Ours:
  record      `exchange.dispatch.run_until_idle`: the applied statuses handed to
              `history.record_reported`, one `StatusEvent` row per receipt and envelope
              (nothing decrypted: the exchange opened each receipt once, on arrival);
  page        `history.history_of` for 200 units, the median of `--rounds` (a read only).
Engine, same run, same receipts: `exchange.queries.decrypt_for_unit` on each receipt and
`json.loads`, nothing stored (what reading the history cost on each page view before).

Goal: recording under the bare decryption of the same receipts; a page of 200 histories
under 100 ms. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from benchenv import start_django

GOAL = {"record_vs_engine_max_ratio": 1.0, "page_ms_max": 100}
CODES = ["03", "04", "05", "16", "15"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--province", default="38")
    parser.add_argument("--statuses", type=int, default=3, help="statuses per commune")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    start_django()
    from django.core.management import call_command
    from django.db import connection

    from tiendon.documents.delivery import history
    from tiendon.documents.models import StatusEvent
    from tiendon.documents.pdf import container
    from tiendon.exchange import dispatch
    from tiendon.exchange.actions import do_send_envelope, do_send_status
    from tiendon.exchange.models import Envelope, EnvelopeRecipient
    from tiendon.exchange.queries import decrypt_for_unit
    from tiendon.exchange.status import RECEIPT_KIND
    from tiendon.pki.actions import do_init_pki, do_issue_unit_keys
    from tiendon.units.models import Unit, UnitKind
    from tiendon.units.seed import seed_units

    call_command("migrate", verbosity=0)
    seed_units()
    do_init_pki()
    province = Unit.objects.get(code=args.province)
    communes = list(Unit.objects.filter(parent=province, kind=UnitKind.COMMUNE_BOARD))
    for unit in (province, *communes):
        do_issue_unit_keys(unit)
    sent = do_send_envelope(
        kind=container.DOCUMENT_KIND,
        payload=container.pack_document({"subject": "bench: a directive"}, b"%PDF-1.7\n"),
        sender=province,
        recipients=communes,
    )
    dispatch.run_until_idle()  # each commune's incoming row
    codes = CODES[: args.statuses]
    for code in codes:
        for unit in communes:
            do_send_status(sent, unit, code, note=f"bench {code}")
    receipts = list(
        Envelope.objects.filter(
            kind=RECEIPT_KIND,
            pk__in=EnvelopeRecipient.objects.filter(unit=province).values("envelope"),
        )
    )

    start = time.perf_counter()
    for receipt in receipts:
        json.loads(decrypt_for_unit(receipt, province))
    engine_s = time.perf_counter() - start

    start = time.perf_counter()
    read = dispatch.run_until_idle()
    first_s = time.perf_counter() - start
    events = StatusEvent.objects.filter(envelope_id=sent.pk).count()

    unit_ids = [u.pk for u in sorted(communes, key=lambda u: u.code)[:200]]
    page_times = []
    for _round in range(args.rounds):
        start = time.perf_counter()
        steps = history.history_of(sent.pk, unit_ids)
        page_times.append(time.perf_counter() - start)
    page_s = statistics.median(page_times)
    assert all(len(s) == len(codes) + 1 for s in steps.values()), "every status, and 01"

    print(
        f"engine: {connection.vendor}; province {province.code}, {len(communes)} commune boards, "
        f"{len(codes)} statuses each: {len(receipts)} receipts, {events} status rows"
    )
    print(f"recorded by the dispatcher:  {first_s:.3f} s ({read} receipts handed over)")
    print(f"  bare decryption, same run: {engine_s:.3f} s")
    print(f"a page of {len(unit_ids)} histories: {page_s * 1000:.1f} ms (rounds {page_times})")
    result = {
        "engine": connection.vendor,
        "recipients": len(communes),
        "receipts": len(receipts),
        "record_s": round(first_s, 3),
        "engine_decrypt_s": round(engine_s, 3),
        "record_ratio": round(first_s / engine_s, 2),
        "page_ms": round(page_s * 1000, 1),
        "goal": GOAL,
        "goal_met": first_s / engine_s < GOAL["record_vs_engine_max_ratio"]
        and page_s * 1000 < GOAL["page_ms_max"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
