"""Sending through the exchange, as every documents action that sends does it: the
envelope's precedence and label for a document, the unit's signing certificate, what the
exchange's refusals mean to a person, the note a status carries and the recall request."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tiendon.documents.errors import DocumentError
from tiendon.documents.models import Secrecy, Urgency
from tiendon.documents.pdf import container
from tiendon.documents.pdf.layout import nfc
from tiendon.errors import InvalidInput
from tiendon.exchange.actions import do_send_envelope
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.queries import recipient_units
from tiendon.pki.errors import PkiError
from tiendon.pki.models import Certificate
from tiendon.pki.signing import UnitSigner, unit_signer
from tiendon.units.models import Person, Unit

if TYPE_CHECKING:
    from tiendon.exchange.models import Envelope

NOTE_MAX = 1000  # what a status receipt carries


def unit_signer_for(
    unit: Unit, *, purpose: str, actor: Person | None, request: HttpRequest | None = None
) -> UnitSigner:
    """The unit's organisation signer (issuing, attachments and certified copies all sign
    with it), its certificate checked valid now; each signature is audited by pki."""
    try:
        return unit_signer(unit, purpose=purpose, actor=actor, request=request)
    except PkiError as exc:
        raise DocumentError(
            _("The issuing unit has no signing certificate."), code="unit_without_certificate"
        ) from exc


def unit_signing_certificate(unit: Unit) -> Certificate:
    """The unit's current organisation signing certificate, checked valid now."""
    return unit_signer_for(unit, purpose="documents.read", actor=None).certificate


# Độ khẩn and độ mật as the envelope manifest names them.
PRECEDENCE_FOR_URGENCY = {
    Urgency.NORMAL: "thuong",
    Urgency.KHAN: "khan",
    Urgency.THUONG_KHAN: "thuong_khan",
    Urgency.HOA_TOC: "hoa_toc",
}
LABEL_FOR_SECRECY = {
    Secrecy.NONE: "none",
    Secrecy.MAT: "mat",
    Secrecy.TOI_MAT: "toi_mat",
    Secrecy.TUYET_MAT: "tuyet_mat",
}
# What the exchange's refusals mean to the person issuing.
SEND_REFUSALS = {
    "not_fit_for_secret": gettext_lazy(
        "This node is not declared fit for secret documents: secret documents travel only "
        "in a system on an isolated network or under state cipher protection. Nothing was "
        "issued."
    ),
    "link_not_fit_for_secret": gettext_lazy(
        "The link towards a recipient is not declared fit for secret documents. Nothing was issued."
    ),
    "no_encryption_certificate": gettext_lazy(
        "A recipient unit has no valid encryption certificate. Nothing was issued."
    ),
    "no_signing_certificate": gettext_lazy("The issuing unit has no signing certificate."),
    "misaddressed": gettext_lazy("A recipient unit is not known to this node. Nothing was issued."),
}


def clean_note(text: str, *, required: bool, field: str) -> str:
    text = nfc(text or "").strip()
    if required and not text:
        raise InvalidInput(_("Give a reason or a note."), code="note_required", field=field)
    if len(text) > NOTE_MAX:
        raise InvalidInput(
            _("At most %(max)s characters.") % {"max": NOTE_MAX}, code="note_too_long", field=field
        )
    return text


# Recall (thu hồi): 13 asked by the sender; 15 accepted, 16 refused by each recipient.


def send_recall(
    sender: Unit,
    original_envelope_id: uuid.UUID | str,
    *,
    identifier: str,
    reason: str,
    actor: Person,
    request: HttpRequest | None = None,
) -> Envelope:
    """The recall request (13) of something `sender` sent in `original_envelope_id` (a
    document, or a certified copy: `copies.do_request_copy_recall`), to every recipient
    of the original, in an envelope of kind "document.recall". Run inside the caller's
    transaction, which freezes its own copy; the recipients answer with 15 or 16
    (`do_open_recall`, `do_answer_recall`), whatever was recalled."""
    precedence, units = recipient_units(original_envelope_id)
    try:
        return do_send_envelope(
            kind=container.RECALL_KIND,
            payload=container.pack_recall(
                original_envelope=str(original_envelope_id), identifier=identifier, reason=reason
            ),
            sender=sender,
            recipients=units,
            precedence=precedence,
            actor=actor,
            request=request,
        )
    except EnvelopeError as exc:
        raise DocumentError(
            _("The recall could not be sent (%(code)s).") % {"code": exc.code}, code=exc.code
        ) from exc
