"""`tiendon node …`: declare this node, the units it serves, and its neighbours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiendon.errors import TiendonError
from tiendon.exchange.nodes import do_add_neighbour, do_init_node, this_node
from tiendon.exchange.supervisor import Supervisor, node_children


class Command(BaseCommand):
    help = "Federation: init (this node), add (a parent, child or peer node), start (run it)"

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
        start = sub.add_parser(
            "start", help="run this node: web server, delivery worker, pull loop (until stopped)"
        )
        start.add_argument("--name", required=True, help="the name given at 'node init'")
        start.add_argument("--data", help="the node's data folder (TIENDON_DATA_DIR)")
        start.add_argument("--port", type=int, help="serve on this port (omit behind NAT)")
        start.add_argument("--host", default="127.0.0.1")
        start.add_argument("--web-workers", type=int, default=2)
        start.add_argument("--pull", action="store_true", help="poll the parent (behind NAT)")
        start.add_argument(
            "--no-worker", action="store_true", help="no delivery worker (run one apart)"
        )
        start.add_argument("--log", help="append the processes' output to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "start":
            raise SystemExit(self._start(options))
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

    def _start(self, options: dict[str, Any]) -> int:
        # `tiendon.cli` has already pointed the settings at --data and --name.
        call_command("migrate", interactive=False, verbosity=0)
        try:
            node = this_node()
        except TiendonError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]; run 'tiendon node init'") from exc
        if node.name != options["name"]:
            raise CommandError(f"this data folder holds node {node.name}, not {options['name']}")
        if options["port"] is None and not options["pull"]:
            raise CommandError("give --port to serve, or --pull for a node behind NAT")
        children = node_children(
            host=options["host"],
            port=options["port"],
            web_workers=options["web_workers"],
            pull=options["pull"],
            worker=not options["no_worker"],
        )
        where = f" on {options['host']}:{options['port']}" if options["port"] else ""
        self.stdout.write(
            f"node {node.name} starting{where}: {', '.join(c.name for c in children)}"
        )
        self.stdout.flush()
        return Supervisor(children, log=Path(options["log"]) if options["log"] else None).run()
