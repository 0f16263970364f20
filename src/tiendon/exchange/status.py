"""The exchange's own statuses and kinds: transport facts only. A delivery arrived (code 01
of the national exchange format, QCVN 102:2016, which the automatic receipt carries), was
not delivered before it expired, or is waiting. The processing codes an app's recipients
report (registered, done, …) are the app's, declared to `registry.py`."""

from __future__ import annotations

ARRIVED = "01"

RECEIPT_KIND = "exchange.receipt"
NON_DELIVERY_KIND = "exchange.non_delivery"
PING_KIND = "test.ping"  # `tiendon exchange send`: a message that only travels
