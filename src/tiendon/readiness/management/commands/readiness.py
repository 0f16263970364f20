"""`tiendon readiness snapshot` and `tiendon readiness report --scope … --out FILE.pdf`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from tiendon.readiness.actions import do_take_snapshot
from tiendon.units.models import Unit, UnitKind


class Command(BaseCommand):
    help = "Rollout readiness: take the daily snapshot, or write the PDF report."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        snapshot = sub.add_parser("snapshot", help="store today's counts (for the trend chart)")
        snapshot.add_argument("--day", help="yyyy-mm-dd (default: today, Vietnam time)")
        report = sub.add_parser("report", help="write the PDF report")
        report.add_argument(
            "--scope", default="national", help="'national' or a province code (e.g. 38)"
        )
        report.add_argument("--out", required=True, help="the PDF file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "snapshot":
            day = dt.date.fromisoformat(options["day"]) if options["day"] else None
            count = do_take_snapshot(day)
            self.stdout.write(_("Snapshot stored for %(n)d units.") % {"n": count})
            return
        from tiendon.readiness.report import report_pdf

        scope = options["scope"]
        if scope == "national":
            unit = Unit.objects.filter(kind=UnitKind.MINISTRY, parent=None).first()
        else:
            unit = Unit.objects.filter(code=scope, kind=UnitKind.PROVINCIAL_COMMAND).first()
        if unit is None:
            raise CommandError(_("No such scope: %s (national or a province code)") % scope)
        data = report_pdf(unit)
        Path(options["out"]).write_bytes(data)
        self.stdout.write(_("Report written: %(path)s") % {"path": options["out"]})
