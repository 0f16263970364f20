"""The processing statuses a recipient unit reports on a document it received, with the
codes of the national exchange format (QCVN 102:2016 / edXML), kept as they are so an edXML
bridge can be added: the one place that knows them. Declared to the exchange in
`apps.DocumentsConfig.ready` (`exchange.registry`), which checks every reported code
against `AFTER` and `FINAL` and refuses or parks the others."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tiendon.exchange.status import ARRIVED

REFUSED = "02"
REGISTERED = "03"
ASSIGNED = "04"
IN_PROGRESS = "05"
DONE = "06"
RECALL_REQUESTED = "13"
RECALL_ACCEPTED = "15"
RECALL_REFUSED = "16"

LABELS = {
    ARRIVED: _("Arrived"),
    REFUSED: _("Refused"),
    REGISTERED: _("Registered"),
    ASSIGNED: _("Assigned"),
    IN_PROGRESS: _("In progress"),
    DONE: _("Done"),
    RECALL_REQUESTED: _("Recall requested"),
    RECALL_ACCEPTED: _("Recall accepted"),
    RECALL_REFUSED: _("Recall refused"),
}

# Which statuses a delivery may be in when each code is reported. 13 is the sender's own
# request, never reported by a recipient. A recall is answered whatever the work had come to.
_WORKED = frozenset({ARRIVED, REGISTERED, ASSIGNED, IN_PROGRESS, DONE})
AFTER = {
    REFUSED: frozenset({ARRIVED, REGISTERED}),
    REGISTERED: frozenset({ARRIVED}),
    ASSIGNED: frozenset({REGISTERED, ASSIGNED, IN_PROGRESS}),
    IN_PROGRESS: frozenset({ASSIGNED, IN_PROGRESS}),
    DONE: frozenset({ASSIGNED, IN_PROGRESS}),
    RECALL_REQUESTED: frozenset(),
    RECALL_ACCEPTED: _WORKED | {RECALL_REFUSED},
    RECALL_REFUSED: _WORKED | {RECALL_REFUSED},
}
# Nothing follows a refusal or an accepted recall ("done after recall accepted" is refused).
FINAL = frozenset({REFUSED, RECALL_ACCEPTED})
# How far a delivery has come: a code ranked below the current status is stale.
RANK = {
    ARRIVED: 1,
    REFUSED: 2,
    REGISTERED: 2,
    ASSIGNED: 3,
    IN_PROGRESS: 4,
    DONE: 5,
    RECALL_ACCEPTED: 6,
    RECALL_REFUSED: 6,
}
