"""Rules about crypto tokens that issuance and the token inventory both apply."""

from __future__ import annotations

from django.utils.translation import gettext as _

from tiendon.errors import InvalidInput
from tiendon.pki.models import Token
from tiendon.units.models import Person, Unit


def holder_label(token: Token) -> str:
    """Who holds the token, for messages: the person (and unit), or the unit."""
    if token.person_id and token.person:
        return f"{token.person.full_name} ({token.person.username}, {token.unit})"
    return str(token.unit) if token.unit_id else _("nobody")


def require_token_for(token: Token, *, unit: Unit, person: Person | None = None) -> None:
    """Refuse a token that is lost, retired, or issued to another unit or person.

    For any action that puts a key on a token (`do_issue_unit_keys`, `do_issue_person_key`):
    call it before the key is generated, so a refused token gets nothing written on it.
    The row is read again (and locked, inside a transaction): the caller's copy may be stale.
    """
    token = (
        Token.objects.select_for_update(of=("self",))
        .select_related("unit", "person")
        .get(pk=token.pk)
    )
    if token.state == Token.State.LOST:
        raise InvalidInput(
            _("Token %(serial)s was reported lost (held by %(holder)s); it cannot be used.")
            % {"serial": token.serial, "holder": holder_label(token)},
            code="token_lost",
            field="token",
        )
    if token.state == Token.State.REVOKED:
        raise InvalidInput(
            _("Token %(serial)s was retired (last held by %(holder)s); it cannot be used.")
            % {"serial": token.serial, "holder": holder_label(token)},
            code="token_retired",
            field="token",
        )
    if token.state == Token.State.ISSUED and (
        token.unit_id != unit.pk or token.person_id != (person.pk if person else None)
    ):
        raise InvalidInput(
            _("Token %(serial)s is already issued to %(holder)s.")
            % {"serial": token.serial, "holder": holder_label(token)},
            code="token_already_issued",
            field="token",
        )


def require_token_held_by(token: Token, *, unit: Unit, person: Person | None = None) -> None:
    """Before a key is put on a token: it must be issued to exactly this holder (a token
    still in stock would carry the key to whoever it is issued to next)."""
    require_token_for(token, unit=unit, person=person)
    if Token.objects.get(pk=token.pk).state != Token.State.ISSUED:
        raise InvalidInput(
            _("Token %(serial)s is still in stock: issue it to the unit first.")
            % {"serial": token.serial},
            code="token_not_issued",
            field="token",
        )
