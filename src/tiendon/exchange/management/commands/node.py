"""`tiendon node …`: declare this node, the units it serves, and its neighbours."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiendon.errors import TiendonError
from tiendon.exchange.nodes import do_add_neighbour, do_init_node


class Command(BaseCommand):
    help = "Federation set-up: init (this node), add (a parent, child or peer node)"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        init = sub.add_parser("init", help="declare this node and issue its node certificate")
        init.add_argument("--name", required=True)
        init.add_argument("--serves", nargs="+", required=True, metavar="UNIT_CODE")
        add = sub.add_parser("add", help="declare a neighbour node")
        add.add_argument("--name", required=True)
        add.add_argument("--relation", required=True, choices=["parent", "child", "peer"])
        add.add_argument("--url", default="", help="its base URL (not for a child that pulls)")
        add.add_argument("--pulls", action="store_true", help="it polls us (behind NAT)")
        add.add_argument("--serves", nargs="*", default=[], metavar="UNIT_CODE")
        add.add_argument("--secret-fit", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["subcommand"] == "init":
                node = do_init_node(options["name"], serves=options["serves"])
                self.stdout.write(
                    f"this node is {node.name}, serving {' '.join(options['serves'])}"
                )
            else:
                node = do_add_neighbour(
                    options["name"],
                    relation=options["relation"],
                    base_url=options["url"],
                    pulls=options["pulls"],
                    serves=options["serves"],
                    secret_fit=options["secret_fit"],
                )
                self.stdout.write(f"neighbour {node.name} ({node.relation}) added")
        except TiendonError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
