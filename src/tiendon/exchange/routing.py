"""Which node an envelope for a unit goes to next: this node, or one of its neighbours.

A node serves the units listed for it in ServedUnit and everything below them that no
other node serves. The next hop for a unit is the node serving its nearest served
ancestor (itself included); with none, envelopes go up to the parent node.
"""

from __future__ import annotations

from collections.abc import Iterable

from tiendon.exchange.models_transport import Node, ServedUnit
from tiendon.units.models import Unit


class Router:
    """Routes many units with two queries (nodes and their served units), not one per unit."""

    def __init__(self) -> None:
        nodes = {n.pk: n for n in Node.objects.all()}
        self.served = {
            unit_id: nodes[node_id]
            for unit_id, node_id in ServedUnit.objects.values_list("unit_id", "node_id")
        }
        self.parent = next((n for n in nodes.values() if n.relation == Node.Relation.PARENT), None)

    def next_hop(self, unit: Unit) -> Node | None:
        """The neighbour node to hand the envelope to, or None when it arrives here."""
        ids = [int(part) for part in unit.path.strip("/").split("/") if part]
        for unit_id in reversed(ids):
            node = self.served.get(unit_id)
            if node is not None:
                return None if node.relation == Node.Relation.SELF else node
        return self.parent

    def split(self, units: Iterable[Unit]) -> tuple[list[Unit], dict[Node, list[Unit]]]:
        """Units that arrive here, and the others grouped by next hop."""
        local: list[Unit] = []
        onward: dict[Node, list[Unit]] = {}
        for unit in units:
            hop = self.next_hop(unit)
            if hop is None:
                local.append(unit)
            else:
                onward.setdefault(hop, []).append(unit)
        return local, onward
