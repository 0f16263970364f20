"""Endpoints other nodes call. Each is behind node authentication (exchange/nodeauth.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tiendon.audit.actions import do_record
from tiendon.exchange.actions import do_accept_envelope
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.framing import unframe
from tiendon.exchange.models_transport import Node
from tiendon.exchange.nodeauth import node_authenticated


@require_POST
@node_authenticated
def push(request: HttpRequest) -> HttpResponse:
    """A neighbour hands over a batch of envelopes; each is accepted or refused on its own.

    The answer lists, in order, {"id", "ok": true} or {"ok": false, "code"}: the sender
    marks the accepted ones delivered and the refused ones final.
    """
    name = request.node.name  # type: ignore[attr-defined]
    neighbour = Node.objects.exclude(relation=Node.Relation.SELF).filter(name=name).first()
    if neighbour is None:
        do_record(
            "exchange.request_refused",
            object_type="node",
            object_id=name[:64],
            new={"code": "unknown_node", "path": request.path},
            request=request,
        )
        return JsonResponse({"error": "unknown_node"}, status=403)
    try:
        envelopes = unframe(request.body)
    except EnvelopeError as exc:
        return JsonResponse({"error": exc.code}, status=400)
    results: list[dict[str, object]] = []
    for data in envelopes:
        try:
            stored = do_accept_envelope(data, via=name, came_from=neighbour, request=request)
        except EnvelopeError as exc:
            results.append({"ok": False, "code": exc.code})
        else:
            results.append({"ok": True, "id": str(stored.pk)})
    Node.objects.filter(pk=neighbour.pk).update(last_seen_at=timezone.now())
    return JsonResponse({"results": results})
