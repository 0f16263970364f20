"""Recipients of an outgoing document: single units, a unit's saved groups, and whole sets
("all commune boards of province X", "all 3,321 commune boards", "all units directly
below us"). A draft keeps the choice as a small JSON list; issuing resolves it to units
with one query per entry, never one per unit (a broadcast names 3,321 communes)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tiendon.documents.errors import DocumentError
from tiendon.documents.models import RecipientGroup
from tiendon.errors import InvalidInput
from tiendon.units.models import Unit, UnitKind

# Whole sets a drafter may choose.
SET_CHILDREN = "children"  # every unit directly below the issuer
SET_COMMUNES_OF = "communes_of"  # every commune board of one province (in the issuer's scope)
SET_ALL_COMMUNES = "all_communes"  # every commune board in the country (the ministry only)
SETS = (SET_CHILDREN, SET_COMMUNES_OF, SET_ALL_COMMUNES)
MAX_ENTRIES = 500


def _bad(message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, field="recipient_spec")


def clean_spec(issuer: Unit, spec: list[Any]) -> list[dict[str, Any]]:
    """Check a recipient choice as drafted: every unit code known and active, every group
    the issuer's own, every set allowed for the issuer. Returns it in canonical form."""
    if not isinstance(spec, list) or len(spec) > MAX_ENTRIES:
        raise _bad(_("The recipient list is not valid."), "bad_recipients")
    cleaned: list[dict[str, Any]] = []
    codes: list[str] = []
    for entry in spec:
        if not isinstance(entry, dict) or len(entry) == 0:
            raise _bad(_("The recipient list is not valid."), "bad_recipients")
        if "unit" in entry:
            codes.append(str(entry["unit"]).strip())
            cleaned.append({"unit": str(entry["unit"]).strip()})
        elif "group" in entry:
            try:
                group_id = int(entry["group"])
            except (TypeError, ValueError) as exc:
                raise _bad(_("Unknown recipient group."), "unknown_group") from exc
            if not RecipientGroup.objects.filter(pk=group_id, owner=issuer).exists():
                raise _bad(_("Unknown recipient group."), "unknown_group")
            cleaned.append({"group": group_id})
        elif entry.get("set") in SETS:
            cleaned.append(_clean_set(issuer, entry))
        else:
            raise _bad(_("The recipient list is not valid."), "bad_recipients")
    if codes:
        known = set(
            Unit.objects.filter(code__in=codes, is_active=True).values_list("code", flat=True)
        )
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise _bad(
                _("Unknown recipient unit: %(codes)s.") % {"codes": ", ".join(unknown[:10])},
                "unknown_recipient",
            )
        if issuer.code in codes:
            raise _bad(_("A unit does not send a document to itself."), "self_recipient")
    # The same entry twice is one entry.
    unique: list[dict[str, Any]] = []
    for entry in cleaned:
        if entry not in unique:
            unique.append(entry)
    return unique


def _clean_set(issuer: Unit, entry: dict[str, Any]) -> dict[str, Any]:
    name = entry["set"]
    if name == SET_CHILDREN:
        return {"set": name}
    if name == SET_ALL_COMMUNES:
        if issuer.kind != UnitKind.MINISTRY:
            raise _bad(_("Only the ministry sends to every commune board."), "set_not_allowed")
        return {"set": name}
    code = str(entry.get("province", "")).strip()
    province = Unit.objects.filter(code=code, kind=UnitKind.PROVINCIAL_COMMAND).first()
    if province is None:
        raise _bad(_("Unknown province: %(code)s.") % {"code": code}, "unknown_recipient")
    if not province.path.startswith(issuer.path):
        raise _bad(
            _("The communes of %(name)s are not under this unit.") % {"name": province.name},
            "set_not_allowed",
        )
    return {"set": name, "province": code}


def _entry_units(issuer: Unit, entry: dict[str, Any]) -> QuerySet[Unit]:
    active = Unit.objects.filter(is_active=True)
    if "unit" in entry:
        return active.filter(code=entry["unit"])
    if "group" in entry:
        members = RecipientGroup.objects.filter(pk=entry["group"], owner=issuer).values("members")
        return active.filter(pk__in=members)
    if entry["set"] == SET_CHILDREN:
        return active.filter(parent=issuer)
    communes = active.filter(kind=UnitKind.COMMUNE_BOARD)
    if entry["set"] == SET_ALL_COMMUNES:
        return communes
    province = Unit.objects.get(code=entry["province"])
    return communes.filter(path__startswith=province.path)


def resolve(issuer: Unit, spec: list[dict[str, Any]]) -> list[Unit]:
    """The recipient units, each once, the issuer left out; in code order (stable)."""
    spec = clean_spec(issuer, spec)
    ids: set[int] = set()
    for entry in spec:
        ids.update(_entry_units(issuer, entry).values_list("pk", flat=True))
    ids.discard(issuer.pk)
    if not ids:
        raise DocumentError(
            _("The chosen recipients name no active unit; nothing would be sent."),
            code="no_recipients",
        )
    return list(Unit.objects.filter(pk__in=ids).order_by("code"))


def labels(issuer: Unit, spec: list[dict[str, Any]]) -> list[str]:
    """Lines for "Nơi nhận" (the fixed legal Vietnamese of the PDF, not translated)."""
    lines: list[str] = []
    codes = [e["unit"] for e in spec if "unit" in e]
    names = dict(Unit.objects.filter(code__in=codes).values_list("code", "name"))
    groups = dict(
        RecipientGroup.objects.filter(
            owner=issuer, pk__in=[e["group"] for e in spec if "group" in e]
        ).values_list("pk", "name")
    )
    for entry in spec:
        if "unit" in entry:
            lines.append(f"- {names.get(entry['unit'], entry['unit'])};")
        elif "group" in entry:
            lines.append(f"- {groups.get(entry['group'], '')};")
        elif entry["set"] == SET_CHILDREN:
            lines.append("- Các đơn vị trực thuộc;")
        elif entry["set"] == SET_ALL_COMMUNES:
            lines.append("- Ban CHQS các xã, phường, đặc khu (toàn quốc);")
        else:
            province = Unit.objects.filter(code=entry["province"]).first()
            where = province.short_name or province.name if province else entry["province"]
            lines.append(f"- Ban CHQS các xã, phường thuộc {where};")
    return lines
