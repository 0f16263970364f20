"""The arrival seam: which app owns which payload kind, and which statuses it reports.

Exchange carries opaque payloads. Each app declares in its `AppConfig.ready()` the kinds it
sends, each with the handler that takes an arrived delivery in (`register_kind`), and its
status vocabulary (`register_statuses`): codes, labels, which code may follow which. The
dispatcher (`dispatch.py`) hands arrivals to handlers; receipts are checked against the
vocabulary of the kind they report on. Exchange asks here and never imports an app.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.status import ARRIVED, NON_DELIVERY_KIND, PING_KIND, RECEIPT_KIND

TRANSPORT_KINDS = frozenset({RECEIPT_KIND, NON_DELIVERY_KIND})
ARRIVED_LABEL = _("Arrived")

__all__ = ["ARRIVED", "NON_DELIVERY_KIND", "PING_KIND", "RECEIPT_KIND"]


@dataclass(frozen=True)
class Delivery:
    """One recipient unit served here of an arrived envelope."""

    unit_id: int
    unit_code: str
    arrived_at: dt.datetime


@dataclass(frozen=True)
class Arrival:
    """An envelope that arrived for one or more units this node serves, as its handler
    sees it: the signed manifest's facts, the deliveries still to take in, and `open`,
    which decrypts the payload once for all of them (the payload is encrypted once, its key
    wrapped per recipient) and audits the opening per delivery with the node as actor."""

    envelope_id: uuid.UUID
    kind: str
    sender_code: str
    sender_name: str
    precedence: str
    security: str
    created_at: dt.datetime
    deliveries: tuple[Delivery, ...]
    opener: Callable[[Arrival], bytes] = field(repr=False, compare=False)

    @property
    def secret(self) -> bool:
        return self.security != "none"

    def open(self) -> bytes:
        """The payload. A secret label (Mật and above) is refused: its content waits for a
        cleared person (`exchange.queries.open_payload`)."""
        if self.secret:
            raise EnvelopeError(
                "a secret payload is opened by a cleared person only", code="secret_content"
            )
        return self.opener(self)


@dataclass(frozen=True)
class StatusReport:
    """A status a recipient unit reported, in a signed receipt, on envelopes this node's
    unit sent; handed to the vocabulary's `record` once the transport applied it."""

    receipt_id: uuid.UUID
    reporter_id: int
    code: str
    at: dt.datetime
    note: str
    envelope_ids: tuple[uuid.UUID, ...]


Handler = Callable[[Arrival], None]
Recorder = Callable[[Sequence[StatusReport]], None]


@dataclass(frozen=True)
class Vocabulary:
    """The processing statuses an app's recipients report on the kinds it owns.

    `labels` may name 01 (the transport's arrival) for display; every other code needs
    `after[code]`: the statuses a delivery may be in for `code` to be reported (empty: a
    code recipients never report). `rank` orders the codes by how far the work has come: a
    code reported before its predecessor is parked until that comes, one ranked below the
    current status is stale and refused. `final`: after these nothing more is accepted.
    `record` is called by the dispatcher with the statuses applied, for the app's history."""

    app: str
    kinds: frozenset[str]
    labels: Mapping[str, Any]
    after: Mapping[str, frozenset[str]]
    rank: Mapping[str, int]
    final: frozenset[str] = frozenset()
    record: Recorder | None = None

    def label(self, code: str) -> str:
        return str(self.labels.get(code, code))


class StatusRefused(EnvelopeError):
    """A status outside the vocabulary, or after a final one: refused, never applied."""


class StatusEarly(EnvelopeError):
    """A status that needs one not yet reported: parked, applied when that one comes."""


@dataclass
class _Registry:
    handlers: dict[str, tuple[str, Handler | None]] = field(default_factory=dict)
    vocabularies: dict[str, Vocabulary] = field(default_factory=dict)
    labels: dict[str, Any] = field(
        default_factory=lambda: {
            RECEIPT_KIND: _("Receipts and statuses"),
            NON_DELIVERY_KIND: _("Non-delivery reports"),
        }
    )


_REGISTRY = _Registry()


def register_kind(kind: str, handler: Handler | None, *, app: str, label: Any = "") -> None:
    """Declare that `app` owns payloads of `kind` and takes them in with `handler` (called
    by the dispatcher in a transaction, once per arrival; it must be idempotent). None: a
    kind that only travels, whose arrival asks nothing of anyone here."""
    owner = _REGISTRY.handlers.get(kind)
    if owner is not None and owner[0] != app:
        raise ValueError(f"payload kind {kind!r} is already owned by {owner[0]}")
    if kind in TRANSPORT_KINDS:
        raise ValueError(f"payload kind {kind!r} is the exchange's own")
    _REGISTRY.handlers[kind] = (app, handler)
    if label:
        _REGISTRY.labels[kind] = label


def kind_label(kind: str) -> str:
    """What a payload kind is, in the words of the app that owns it (its code if none)."""
    return str(_REGISTRY.labels.get(kind, kind))


def register_statuses(vocabulary: Vocabulary) -> None:
    """Declare the statuses reported on `vocabulary.kinds` (each registered by the app)."""
    for code in vocabulary.labels:
        if code != ARRIVED and code not in vocabulary.after:
            raise ValueError(f"status {code} has no `after` entry")
    for kind in vocabulary.kinds:
        owner = _REGISTRY.handlers.get(kind)
        if owner is None or owner[0] != vocabulary.app:
            raise ValueError(f"{vocabulary.app} reports statuses on {kind!r}, not its own")
        _REGISTRY.vocabularies[kind] = vocabulary


def unregister(app: str) -> None:
    """Forget an app's kinds and statuses (tests that register an app of their own)."""
    for kind in [k for k, (owner, _h) in _REGISTRY.handlers.items() if owner == app]:
        del _REGISTRY.handlers[kind]
        _REGISTRY.vocabularies.pop(kind, None)


def handler_for(kind: str) -> Handler | None:
    owner = _REGISTRY.handlers.get(kind)
    return owner[1] if owner is not None else None


def is_known(kind: str) -> bool:
    """A kind this node can take in for its own units."""
    return kind in TRANSPORT_KINDS or kind in _REGISTRY.handlers


def vocabulary_for(kind: str) -> Vocabulary | None:
    return _REGISTRY.vocabularies.get(kind)


def label(kind: str, code: str) -> str:
    """A status code as people read it, in the words of the app that owns `kind`."""
    if code == ARRIVED:
        return str(ARRIVED_LABEL)
    vocabulary = vocabulary_for(kind)
    return vocabulary.label(code) if vocabulary is not None else code


def check_status(kind: str, current: str, code: str) -> None:
    """Whether `code` may be reported now on a delivery of `kind` in status `current`.
    Raises StatusRefused (unknown code, or after a final status) or StatusEarly."""
    vocabulary = vocabulary_for(kind)
    if vocabulary is None or not vocabulary.after.get(code):
        raise StatusRefused(f"{code!r} is not a status reported on {kind!r}", code="status_unknown")
    if current in vocabulary.final:
        raise StatusRefused(
            f"{code} after {current}, which ends the delivery", code="status_after_final"
        )
    if current in vocabulary.after[code]:
        return
    if vocabulary.rank.get(code, 0) <= vocabulary.rank.get(current, 0):
        raise StatusRefused(f"{code} comes after {current} already", code="status_stale")
    raise StatusEarly(f"{code} cannot follow {current or 'nothing'} yet", code="status_early")
