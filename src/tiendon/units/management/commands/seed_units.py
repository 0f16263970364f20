"""`tiendon seed-units`: load the ministry, regions, provincial commands and commune boards."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from tiendon.errors import TiendonError
from tiendon.units.seed import seed_units


class Command(BaseCommand):
    help = (
        "Create or update the official unit hierarchy: the ministry, the military regions, "
        "the 34 provincial-level commands and the 3,321 commune boards. Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            report = seed_units()
        except TiendonError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(
            _("Done in %(seconds).1f s.") % {"seconds": time.perf_counter() - started}
        )
