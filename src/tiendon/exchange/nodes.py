"""This node's identity in the federation, and its neighbours: set up once per node."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from tiendon.audit.actions import do_record
from tiendon.errors import InvalidInput
from tiendon.exchange.models_transport import Node, ServedUnit
from tiendon.pki.actions import do_issue_node_certificate
from tiendon.pki.keystore import keystore_for
from tiendon.units.models import Person, Unit


def _units(codes: Sequence[str]) -> list[Unit]:
    units = Unit.objects.in_bulk(list(codes), field_name="code")
    missing = [c for c in codes if c not in units]
    if missing:
        raise InvalidInput(f"unknown unit codes: {', '.join(missing)}", code="unknown_unit")
    return [units[c] for c in codes]


@transaction.atomic
def do_init_node(name: str, *, serves: Sequence[str], actor: Person | None = None) -> Node:
    """Declare this node, the units it serves, and issue its node certificate."""
    if Node.objects.filter(relation=Node.Relation.SELF).exists():
        raise InvalidInput("this node is already set up", code="already_initialised")
    if not serves:
        raise InvalidInput("a node serves at least one unit", code="serves_nothing")
    units = _units(serves)
    node = Node.objects.create(name=name, relation=Node.Relation.SELF)
    for unit in units:
        ServedUnit.objects.create(node=node, unit=unit)
    node.certificate = do_issue_node_certificate(name, home_unit=units[0], actor=actor)
    node.save(update_fields=["certificate"])
    do_record("exchange.node_initialised", actor=actor, obj=node, new={"serves": list(serves)})
    return node


@transaction.atomic
def do_add_neighbour(
    name: str,
    *,
    relation: str,
    base_url: str = "",
    pulls: bool = False,
    serves: Sequence[str] = (),
    secret_fit: bool = False,
    actor: Person | None = None,
) -> Node:
    """A parent, child or peer node, and the units it serves (children and peers)."""
    if relation not in (Node.Relation.PARENT, Node.Relation.CHILD, Node.Relation.PEER):
        raise InvalidInput(f"relation {relation!r}: use parent, child or peer", code="relation")
    if relation == Node.Relation.PARENT and Node.objects.filter(relation=relation).exists():
        raise InvalidInput("this node already has a parent", code="parent_exists")
    if not base_url and not pulls:
        raise InvalidInput("a node we push to needs its URL", code="url_missing", field="url")
    node = Node.objects.create(
        name=name, relation=relation, base_url=base_url, pulls=pulls, secret_fit=secret_fit
    )
    for unit in _units(serves):
        ServedUnit.objects.create(node=node, unit=unit)
    do_record(
        "exchange.neighbour_added",
        actor=actor,
        obj=node,
        new={"relation": relation, "url": base_url, "pulls": pulls, "serves": list(serves)},
    )
    return node


@dataclass(frozen=True)
class Identity:
    """What this node signs its outgoing requests with (see nodeauth.sign_request)."""

    name: str
    certificate_der: bytes

    def sign(self, data: bytes) -> bytes:
        node = Node.objects.select_related("certificate__key").get(relation=Node.Relation.SELF)
        assert node.certificate is not None
        key = node.certificate.key
        return keystore_for(key).sign(key, data)


def this_node() -> Identity:
    node = (
        Node.objects.select_related("certificate")
        .filter(relation=Node.Relation.SELF, certificate__isnull=False)
        .first()
    )
    if node is None or node.certificate is None:
        raise InvalidInput("this node is not set up: run `tiendon node init`", code="no_node")
    if node.name != settings.TIENDON_NODE_NAME:
        raise InvalidInput(
            f"TIENDON_NODE_NAME={settings.TIENDON_NODE_NAME!r} but this database is node "
            f"{node.name!r}",
            code="node_name_mismatch",
        )
    return Identity(node.name, bytes(node.certificate.certificate_der))
