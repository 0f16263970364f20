"""`tiendon exchange worker`: deliver the outbox to the next nodes, until stopped;
`tiendon exchange dispatch`: hand what arrived to the apps that own it."""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiendon.errors import TiendonError
from tiendon.exchange import dispatch, registry
from tiendon.exchange.actions import do_send_envelope
from tiendon.exchange.envelope import PRECEDENCES
from tiendon.exchange.models import EnvelopeRecipient
from tiendon.exchange.transport import (
    http_transport,
    pull_from_parent,
    request_missing,
    sync_neighbours,
)
from tiendon.exchange.worker import run_once, wait_for_work
from tiendon.pki.actions import refresh_crls
from tiendon.units.models import Unit

GAP_CHECK_SECONDS = 60
# Woken from idle, a worker waits this long before it claims (exchange/worker.py
# `wait_for_work`): a few envelopes per signed request instead of one, for at most 0.1 s
# more per hop. At 50 envelopes/s it cut both nodes' CPU by a quarter to a third; 0.03 s
# gathered too little to show (bench/exchange.py, docs/benchmarks.md).
LINGER_SECONDS = 0.1


class Command(BaseCommand):
    help = (
        "Exchange: 'worker' sends queued envelopes to the next nodes (several may run); "
        "'sync' fetches the neighbours' CAs, CRLs and unit certificates"
    )
    # No system checks: they import every app's URLs and views (a second of CPU) each time
    # a worker starts or restarts, and a worker serves no URL. `tiendon check` and
    # `migrate` run them at deployment.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        worker = sub.add_parser("worker", help="deliver the outbox")
        worker.add_argument("--once", action="store_true", help="one pass, then exit")
        worker.add_argument("--idle", type=float, default=1.0, help="seconds to wait when idle")
        worker.add_argument("--batch", type=int, default=100)
        worker.add_argument(
            "--linger",
            type=float,
            default=LINGER_SECONDS,
            help="seconds to wait, once woken, for more to join the batch",
        )
        hand = sub.add_parser(
            "dispatch", help="hand arrived deliveries to the apps that own their kinds"
        )
        hand.add_argument("--once", action="store_true", help="until nothing is due, then exit")
        hand.add_argument("--idle", type=float, default=1.0, help="seconds to wait when idle")
        hand.add_argument("--batch", type=int, default=100, help="envelopes per transaction")
        send = sub.add_parser("send", help="send a test message (kind test.ping) to units")
        send.add_argument("--from", dest="sender", required=True, metavar="UNIT_CODE")
        send.add_argument("--to", nargs="+", required=True, metavar="UNIT_CODE")
        send.add_argument("--text", required=True)
        send.add_argument("--precedence", default="thuong", choices=PRECEDENCES)
        state = sub.add_parser("status", help="each recipient's status of a sent envelope")
        state.add_argument("--envelope", required=True)
        inbox = sub.add_parser("inbox", help="envelopes that arrived for a unit here")
        inbox.add_argument("--unit", required=True)
        pull = sub.add_parser("pull", help="an edge node fetches from its parent")
        pull.add_argument("--once", action="store_true", help="one request, then exit")
        pull.add_argument("--wait", type=int, default=20, help="long-poll seconds")
        sub.add_parser("sync", help="fetch the neighbours' CAs, CRLs and unit certificates")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "send":
            self._send(options)
            return
        if options["subcommand"] == "status":
            self._status(options)
            return
        if options["subcommand"] == "inbox":
            self._inbox(options)
            return
        if options["subcommand"] == "pull":
            self._pull(options)
            return
        if options["subcommand"] == "dispatch":
            self._dispatch(options)
            return
        if options["subcommand"] == "sync":
            for name, outcome in sync_neighbours().items():
                self.stdout.write(f"{name}: {outcome}")
            return
        try:
            transport = http_transport()
        except TiendonError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        synced_at = gaps_checked_at = -math.inf
        while True:
            if time.monotonic() - synced_at >= settings.TIENDON_EXCHANGE_SYNC_SECONDS:
                # Our own CRLs re-signed past half their life (validation only reads them).
                for crl in refresh_crls():
                    self.stdout.write(f"CRL {crl.number} of {crl.authority.name} published")
                # First (a node back from an outage too): the neighbours' current CRLs and
                # certificates, so the backlog is judged against today's revocations.
                for name, outcome in sync_neighbours().items():
                    self.stdout.write(f"sync {name}: {outcome}")
                synced_at = time.monotonic()
            if time.monotonic() - gaps_checked_at >= GAP_CHECK_SECONDS:
                for name, outcome in request_missing().items():
                    self.stdout.write(f"channel from {name}: {outcome}")
                gaps_checked_at = time.monotonic()
            sent = run_once(transport, limit=options["batch"])
            if sent:
                self.stdout.write(f"delivered {sent} envelopes")
            if options["once"]:
                return
            if not sent:
                wait_for_work(options["idle"], linger=options["linger"])

    def _dispatch(self, options: dict[str, Any]) -> None:
        if options["once"]:
            self.stdout.write(f"handed over {dispatch.run_until_idle(limit=options['batch'])}")
            return
        while True:
            done = dispatch.run_once(limit=options["batch"])
            if done.handled or done.failed:
                self.stdout.write(f"handed over {done.handled}, failed {done.failed}")
            else:
                dispatch.wait_for_arrivals(options["idle"])

    def _units(self, codes: list[str]) -> list[Unit]:
        units = Unit.objects.in_bulk(codes, field_name="code")
        missing = [c for c in codes if c not in units]
        if missing:
            raise CommandError(f"unknown unit codes: {', '.join(missing)}")
        return [units[c] for c in codes]

    def _send(self, options: dict[str, Any]) -> None:
        (sender,) = self._units([options["sender"]])
        try:
            stored = do_send_envelope(
                kind="test.ping",
                payload=options["text"].encode(),
                sender=sender,
                recipients=self._units(options["to"]),
                precedence=options["precedence"],
            )
        except TiendonError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        self.stdout.write(f"envelope {stored.pk} sealed for {stored.recipient_count} units")

    def _inbox(self, options: dict[str, Any]) -> None:
        (unit,) = self._units([options["unit"]])
        rows = EnvelopeRecipient.objects.filter(
            unit=unit, state=EnvelopeRecipient.State.ARRIVED
        ).select_related("envelope__sender")
        for row in rows.order_by("arrived_at"):
            envelope = row.envelope
            self.stdout.write(
                f"{envelope.pk} {envelope.kind} from {envelope.sender.code} "
                f"({envelope.precedence}) arrived {row.arrived_at:%Y-%m-%d %H:%M:%S}"
            )
        self.stdout.write(f"{rows.count()} envelopes")

    def _pull(self, options: dict[str, Any]) -> None:
        announce = True  # first: hand our CAs and certificates up to the parent
        while True:
            try:
                accepted = pull_from_parent(
                    wait=0 if options["once"] else options["wait"], announce=announce
                )
                announce = False
            except (OSError, TiendonError) as exc:
                if options["once"]:
                    raise CommandError(str(exc)) from exc
                self.stderr.write(f"pull failed, retrying: {exc}")
                time.sleep(5)
                continue
            if accepted or options["once"]:
                self.stdout.write(f"accepted {accepted} envelopes")
            if options["once"]:
                return

    def _status(self, options: dict[str, Any]) -> None:
        rows = EnvelopeRecipient.objects.filter(envelope_id=options["envelope"]).select_related(
            "unit", "envelope"
        )
        for row in rows.order_by("unit__code"):
            label = registry.label(row.envelope.kind, row.status) if row.status else "-"
            self.stdout.write(f"{row.unit.code} {row.state} status {row.status or '--'} ({label})")
