"""`tiendon exchange worker`: deliver the outbox to the next nodes, until stopped."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiendon.errors import TiendonError
from tiendon.exchange.transport import http_transport, sync_neighbours
from tiendon.exchange.worker import run_once


class Command(BaseCommand):
    help = (
        "Exchange: 'worker' sends queued envelopes to the next nodes (several may run); "
        "'sync' fetches the neighbours' CAs, CRLs and unit certificates"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        worker = sub.add_parser("worker", help="deliver the outbox")
        worker.add_argument("--once", action="store_true", help="one pass, then exit")
        worker.add_argument("--idle", type=float, default=1.0, help="seconds to wait when idle")
        worker.add_argument("--batch", type=int, default=100)
        sub.add_parser("sync", help="fetch the neighbours' CAs, CRLs and unit certificates")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "sync":
            for name, outcome in sync_neighbours().items():
                self.stdout.write(f"{name}: {outcome}")
            return
        try:
            transport = http_transport()
        except TiendonError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        while True:
            sent = run_once(transport, limit=options["batch"])
            if sent:
                self.stdout.write(f"delivered {sent} envelopes")
            if options["once"]:
                return
            if not sent:
                time.sleep(options["idle"])
