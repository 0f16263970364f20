"""Which node an envelope for a unit goes to next: this node, or one of its neighbours.

A node serves the units listed for it in ServedUnit and everything below them that no
other node serves. The next hop for a unit is the node serving its nearest served
ancestor (itself included); with none, envelopes go up to the parent node.
"""

from __future__ import annotations

from tiendon.exchange.models_transport import Node, ServedUnit


class Router:
    """Routes many units with two queries (nodes and their served units), not one per unit."""

    def __init__(self) -> None:
        nodes = {n.pk: n for n in Node.objects.all()}
        self.served = {
            unit_id: nodes[node_id]
            for unit_id, node_id in ServedUnit.objects.values_list("unit_id", "node_id")
        }
        self.parent = next((n for n in nodes.values() if n.relation == Node.Relation.PARENT), None)
        # Per path, once per router: a batch of hundreds names the same few units.
        self._hops: dict[str, Node | None] = {}

    def next_hop_for_path(self, path: str) -> Node | None:
        """The neighbour node to hand an envelope for the unit at `path` (Unit.path) to, or
        None when it arrives here."""
        if path not in self._hops:
            self._hops[path] = self._next_hop(path)
        return self._hops[path]

    def _next_hop(self, path: str) -> Node | None:
        ids = [int(part) for part in path.strip("/").split("/") if part]
        for unit_id in reversed(ids):
            node = self.served.get(unit_id)
            if node is not None:
                return None if node.relation == Node.Relation.SELF else node
        return self.parent
