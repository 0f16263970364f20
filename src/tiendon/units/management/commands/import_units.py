"""`tiendon import-units FILE.csv`: add units above the provinces from a CSV, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from tiendon.units.importers_units import COLUMNS, UnitImportRefused, import_units


class Command(BaseCommand):
    help = (
        "Import units above the provinces (military regions, ministry agencies, regional "
        f"defence commands) from a UTF-8 CSV file with the header {','.join(COLUMNS)}. "
        "Every row is checked first; if any row is wrong, nothing is imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and report, change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(
                _("cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
            ) from None
        try:
            plan = import_units(data, dry_run=options["dry_run"])
        except UnitImportRefused as exc:
            if len(exc.problems) == 1 and exc.problems[0].row is None:
                # The file as a whole is unusable: one message says why.
                raise CommandError(f"{path}: {exc.lines()[0]}") from None
            for line in exc.lines():
                self.stderr.write(line)
            raise CommandError(
                _("%(path)s was refused: %(n)d problem(s); nothing was imported.")
                % {"path": path, "n": len(exc.problems)}
            ) from None
        if options["dry_run"]:
            message = _(
                "Dry run: %(created)d unit(s) would be created, %(unchanged)d already "
                "exist unchanged; nothing was changed."
            )
        else:
            message = _(
                "Imported: %(created)d unit(s) created, %(unchanged)d already existed unchanged."
            )
        self.stdout.write(
            message % {"created": len(plan.to_create), "unchanged": len(plan.unchanged)}
        )
