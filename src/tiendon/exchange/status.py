"""Processing status codes of the national exchange format (QCVN 102:2016 / edXML), kept
as they are so an edXML bridge can be added. The one place that knows them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ARRIVED = "01"
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

RECEIPT_KIND = "exchange.receipt"
NON_DELIVERY_KIND = "exchange.non_delivery"
