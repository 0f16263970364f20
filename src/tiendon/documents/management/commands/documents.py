"""`tiendon documents …`: write a document's PDF, export a document with its metadata, and
check the signatures of a PDF file."""

from __future__ import annotations

import dataclasses
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiendon.documents.deadlines import reminders
from tiendon.documents.drafting.actions import layout_of
from tiendon.documents.pdf import layout, pades
from tiendon.documents.queries import get_visible_document
from tiendon.documents.registers.export import do_export_document
from tiendon.documents.search import index as search_index
from tiendon.errors import TiendonError
from tiendon.units.models import Person


class Command(BaseCommand):
    help = (
        "Documents: render ID --as USER --out F.pdf; export --id ID --as USER --out DIR; "
        "verify F.pdf; search-index [--rebuild] [--follow]; remind [--follow]"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        render = sub.add_parser(
            "render", help="write the document's PDF (signed or issued if it is, else the draft)"
        )
        render.add_argument("id", help="the document's identifier (UUID)")
        render.add_argument("--out", required=True, type=Path)
        render.add_argument(
            "--as",
            dest="username",
            required=True,
            help="read it as this person (unit scope and clearance apply)",
        )
        export = sub.add_parser(
            "export",
            help="write the signed PDF, its attachments and the metadata (JSON and XML)",
        )
        export.add_argument("--id", required=True, help="the document's identifier (UUID)")
        export.add_argument("--out", required=True, type=Path, help="folder to write into")
        export.add_argument(
            "--as",
            dest="username",
            required=True,
            help="export it as this person (unit scope and clearance apply; audited)",
        )
        verify = sub.add_parser("verify", help="validate every signature of a PDF (JSON)")
        verify.add_argument("file", type=Path)
        index = sub.add_parser(
            "search-index",
            help="apply queued changes to the node's search index (TIENDON_SEARCH_INDEX)",
        )
        index.add_argument(
            "--rebuild", action="store_true", help="write the index anew from every document"
        )
        index.add_argument(
            "--follow", action="store_true", help="keep applying changes until stopped"
        )
        index.add_argument("--interval", type=float, default=0.5, help="seconds between passes")
        remind = sub.add_parser(
            "remind", help="remind everyone of what is overdue or due soon (once per item)"
        )
        remind.add_argument("--follow", action="store_true", help="again every --interval")
        remind.add_argument("--interval", type=float, default=3600.0, help="seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["subcommand"] == "render":
                self._render(options)
            elif options["subcommand"] == "export":
                self._export(options)
            elif options["subcommand"] == "search-index":
                self._search_index(options)
            elif options["subcommand"] == "remind":
                self._remind(options)
            else:
                self._verify(options["file"])
        except TiendonError as exc:
            raise CommandError(str(exc)) from exc

    def _person(self, username: str) -> Person:
        viewer = Person.objects.select_related("unit").filter(username=username).first()
        if viewer is None or not viewer.is_active:
            raise CommandError(f"no active person {username}")
        return viewer

    def _export(self, options: dict[str, Any]) -> None:
        viewer = self._person(options["username"])
        result = do_export_document(viewer, options["id"], options["out"])
        document = result.document
        self.stdout.write(
            f"{document.number_and_symbol or document.pk}: "
            f"{len(result.written)} files written to {options['out']}"
        )
        for path in result.written:
            self.stdout.write(f"  {path}")

    def _render(self, options: dict[str, Any]) -> None:
        viewer = Person.objects.select_related("unit").filter(username=options["username"]).first()
        if viewer is None:
            raise CommandError(f"no person {options['username']}")
        document = get_visible_document(viewer, options["id"])
        data = (
            bytes(document.pdf)
            if document.pdf is not None
            else layout.render(layout_of(document)).pdf
        )
        out: Path = options["out"]
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror}") from exc
        self.stdout.write(f"{out}: {document.get_state_display()}, {len(data)} bytes")

    def _search_index(self, options: dict[str, Any]) -> None:
        if not search_index.enabled():
            raise CommandError("TIENDON_SEARCH_INDEX is not set: this node searches its database")
        try:
            if options["follow"]:
                stop = threading.Event()
                signal.signal(signal.SIGTERM, lambda *_: stop.set())
                signal.signal(signal.SIGINT, lambda *_: stop.set())
                search_index.follow(options["interval"], stop)
                return
            with search_index.Indexer(
                heap_bytes=search_index.REBUILD_HEAP_BYTES
                if options["rebuild"]
                else search_index.WRITER_HEAP_BYTES
            ) as indexer:
                if options["rebuild"] or not search_index.is_built(indexer.path):
                    started = time.monotonic()
                    count = indexer.rebuild()
                    self.stdout.write(
                        f"search index rebuilt: {count} documents "
                        f"in {time.monotonic() - started:.1f} s"
                    )
                result = indexer.sync()
                self.stdout.write(
                    f"search index: {result.applied} queued changes applied "
                    f"({result.documents} documents)"
                )
        except search_index.IndexBusy as exc:
            raise CommandError(f"another indexer holds the search index: {exc}") from exc

    def _remind(self, options: dict[str, Any]) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        while not stop.is_set():
            self.stdout.write(f"reminders made: {reminders.do_remind_due()}")
            self.stdout.flush()
            if not options["follow"]:
                return
            stop.wait(options["interval"])

    def _verify(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        reports = pades.verify(data)
        self.stdout.write(json.dumps([dataclasses.asdict(r) for r in reports], ensure_ascii=False))
        if not reports or not all(r.bottom_line for r in reports):
            raise CommandError(f"{path}: {len(reports)} signature(s), not all valid")
