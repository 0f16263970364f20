"""`tiendon audit verify`: check the node's audit chain end to end."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiendon.audit.verify import verify_chain


class Command(BaseCommand):
    help = "Audit log tools. 'verify' walks the hash chain and names the first broken record."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("verify", help="verify the hash chain")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            result = verify_chain()
            if result.problem is None:
                self.stdout.write(f"audit chain intact: {result.checked} records verified")
                return
            raise CommandError(
                f"audit chain broken at record {result.problem.seq} "
                f"[{result.problem.code}]: {result.problem.message}"
            )
