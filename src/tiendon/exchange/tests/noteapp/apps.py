from __future__ import annotations

import os
import time
from collections.abc import Sequence

from django.apps import AppConfig

from tiendon.exchange import registry

KIND = "noteapp.note"
READ, ACTED, CLOSED = "21", "22", "23"
LABELS = {READ: "Đã đọc", ACTED: "Đã xử lý", CLOSED: "Đã đóng"}


def take_in(arrival: registry.Arrival) -> None:
    """One audit record per delivery, in the dispatcher's transaction; with NOTEAPP_SLOW_S
    set, slow enough for a test to kill the dispatcher half-way through a batch; with
    NOTEAPP_FAIL_FOR set to a unit code, raises for that unit's deliveries."""
    from tiendon.audit.actions import AuditEntry, do_record_batch
    from tiendon.units.models import Unit

    failing = os.environ.get("NOTEAPP_FAIL_FOR", "")
    if failing and any(d.unit_code == failing for d in arrival.deliveries):
        raise RuntimeError(f"noteapp refuses deliveries to {failing}")
    text = "" if arrival.secret else arrival.open().decode()
    time.sleep(float(os.environ.get("NOTEAPP_SLOW_S", "0")))
    do_record_batch(
        AuditEntry(
            action="noteapp.taken",
            unit=Unit(pk=delivery.unit_id),
            object_type="envelope",
            object_id=str(arrival.envelope_id),
            new={"text": text[:100], "secret": arrival.secret},
        )
        for delivery in arrival.deliveries
    )


def record(reports: Sequence[registry.StatusReport]) -> None:
    from tiendon.audit.actions import AuditEntry, do_record_batch
    from tiendon.units.models import Unit

    do_record_batch(
        AuditEntry(
            action="noteapp.status",
            unit=Unit(pk=report.reporter_id),
            object_type="envelope",
            object_id=str(envelope_id),
            new={"code": report.code, "note": report.note},
        )
        for report in reports
        for envelope_id in report.envelope_ids
    )


def register() -> None:
    registry.register_kind(KIND, take_in, app="noteapp")
    registry.register_statuses(
        registry.Vocabulary(
            app="noteapp",
            kinds=frozenset({KIND}),
            labels=LABELS,
            after={
                READ: frozenset({registry.ARRIVED}),
                ACTED: frozenset({READ}),
                CLOSED: frozenset({READ, ACTED}),
            },
            rank={registry.ARRIVED: 1, READ: 2, ACTED: 3, CLOSED: 4},
            final=frozenset({CLOSED}),
            record=record,
        )
    )


class NoteAppConfig(AppConfig):
    name = "tiendon.exchange.tests.noteapp"
    label = "noteapp"

    def ready(self) -> None:
        register()
