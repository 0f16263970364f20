"""`tiendon import_people FILE --as ADMIN [--out passwords.csv]`: create accounts from a list."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiendon.units.importers_people import (
    PeopleFileError,
    PeopleImportRejected,
    import_people,
)
from tiendon.units.models import Person


class Command(BaseCommand):
    help = (
        "Create people from a CSV or XLSX list (columns unit_code, username, full_name, rank, "
        "position, role, clearance, optional password). All rows are created or none. "
        "One-time passwords are written to --out, never to the terminal or the log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--as", dest="admin", required=True, help="username of the importing administrator"
        )
        parser.add_argument(
            "--out", type=Path, help="CSV file to write the one-time passwords to (mode 0600)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        out: Path | None = options["out"]
        admin = Person.objects.select_related("unit").filter(username=options["admin"]).first()
        if admin is None or not admin.is_admin or not admin.is_active:
            raise CommandError(f"{options['admin']} is not an active administrator")
        if out is None:
            raise CommandError("--out is required: the one-time passwords must go somewhere")
        if out.exists():
            raise CommandError(f"{out} already exists; choose a new file for the passwords")
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        # Create the output first, so a bad path fails before anything is imported.
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise CommandError(f"cannot create {out}: {exc.strerror}") from exc
        try:
            with path.open("rb") as stream:
                issued = import_people(
                    stream, actor=admin, source=path.name, size=path.stat().st_size
                )
        except PeopleFileError as exc:
            os.close(fd)
            out.unlink()
            raise CommandError(f"{path}: {exc.message}") from exc
        except PeopleImportRejected as exc:
            os.close(fd)
            out.unlink()
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{path}: {exc.message}") from exc
        except BaseException:
            os.close(fd)
            out.unlink()
            raise
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["username", "full_name", "unit_code", "one_time_password"])
            for item in issued:
                writer.writerow([item.username, item.full_name, item.unit_code, item.password])
        self.stdout.write(
            self.style.SUCCESS(f"{len(issued)} people imported; one-time passwords in {out}")
        )
