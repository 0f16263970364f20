"""Endpoints other nodes call. Each is behind node authentication (exchange/nodeauth.py)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tiendon.audit.actions import do_record
from tiendon.errors import TiendonError
from tiendon.exchange.actions import do_accept_batch
from tiendon.exchange.blobs import read_envelopes
from tiendon.exchange.channels import do_resend, record_seen
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.framing import batch, read_batch
from tiendon.exchange.models_transport import Node, OutboxItem
from tiendon.exchange.nodeauth import node_authenticated
from tiendon.exchange.trust import IssuerScope
from tiendon.exchange.worker import Outcome, record_pulled, waiting_for
from tiendon.pki.actions import do_import_authorities, do_import_directory

PUSH_BATCH_MAX = 1000


@require_POST
@node_authenticated
def push(request: HttpRequest) -> HttpResponse:
    """A neighbour hands over a batch of envelopes; each is accepted or refused on its own.

    The answer lists, in order, {"id", "ok": true} or {"ok": false, "code"}: the sender
    marks the accepted ones delivered and the refused ones final.
    """
    neighbour = _neighbour(request)
    if neighbour is None:
        return JsonResponse({"error": "unknown_node"}, status=403)
    name = neighbour.name
    try:
        seqs, envelopes = read_batch(request.body, limit=PUSH_BATCH_MAX)
    except EnvelopeError as exc:
        return JsonResponse({"error": exc.code}, status=413 if exc.code == "oversized" else 400)
    results: list[dict[str, object]] = [
        {"ok": False, "code": outcome.code}
        if isinstance(outcome, EnvelopeError)
        else {"ok": True, "id": str(outcome.pk)}
        for outcome in do_accept_batch(envelopes, via=name, came_from=neighbour, request=request)
    ]
    record_seen(neighbour, seqs)
    _mark_seen(neighbour)
    return JsonResponse({"results": results})


# A node's "last seen" is a heartbeat (the readiness pages show it), not a log: written at
# most this often. Written on every push, the UPDATE waited for the row lock of whoever
# was queueing envelopes to that node (its channel counter), a request at a time.
SEEN_EVERY = dt.timedelta(seconds=10)


def _mark_seen(node: Node) -> None:
    now = timezone.now()
    # A row whose stored time is recent does not match, so it is not locked or waited for.
    Node.objects.filter(
        Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now - SEEN_EVERY), pk=node.pk
    ).update(last_seen_at=now)


PULL_BATCH = 100
PULL_WAIT_SECONDS = 20


@require_POST
@node_authenticated
def pull(request: HttpRequest) -> HttpResponse:
    """A child behind NAT fetches what waits for it, highest precedence first: a framed
    batch whose first frame is JSON {"seqs": [...]} (the channel numbers, in order), then
    the envelopes. With nothing waiting, the request is held up to `wait` seconds (long
    polling). Items stay queued until acknowledged (`ack`)."""
    child = _neighbour(request, pulls=True)
    if child is None:
        return JsonResponse({"error": "unknown_node"}, status=403)
    try:
        wait = min(max(float(request.GET.get("wait", "0")), 0.0), PULL_WAIT_SECONDS)
    except ValueError:
        return JsonResponse({"error": "malformed"}, status=400)
    deadline = time.monotonic() + wait
    while True:
        items = list(waiting_for(child, PULL_BATCH))
        if items or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    _mark_seen(child)
    items = _within_bytes(items, settings.TIENDON_EXCHANGE_PULL_BYTES)
    stored = read_envelopes(item.envelope_id for item in items)
    body = batch([item.seq for item in items], [stored[str(item.envelope_id)] for item in items])
    return HttpResponse(body, content_type="application/octet-stream")


def _within_bytes(items: list[OutboxItem], budget: int) -> list[OutboxItem]:
    """As many as fit in `budget` bytes (at least one): on a slow link a cut transfer then
    costs only that much again."""
    kept: list[OutboxItem] = []
    for item in items:
        budget -= item.envelope.size
        if kept and budget < 0:
            break
        kept.append(item)
    return kept


@require_POST
@node_authenticated
def ack(request: HttpRequest) -> HttpResponse:
    """The child's answers for what it pulled: {"results": [{"seq", "ok", "code"?}]}."""
    child = _neighbour(request, pulls=True)
    if child is None:
        return JsonResponse({"error": "unknown_node"}, status=403)
    try:
        results = json.loads(request.body)["results"]
        answers = {
            int(r["seq"]): Outcome(bool(r["ok"]), refused_code=str(r.get("code", ""))[:64])
            for r in results
        }
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "malformed"}, status=400)
    recorded = record_pulled(child, answers)
    return JsonResponse({"recorded": recorded})


def _neighbour(request: HttpRequest, *, pulls: bool = False) -> Node | None:
    name = request.node.name  # type: ignore[attr-defined]
    nodes = Node.objects.exclude(relation=Node.Relation.SELF).filter(name=name)
    if pulls:
        nodes = nodes.filter(pulls=True)
    node = nodes.first()
    if node is None:
        do_record(
            "exchange.request_refused",
            object_type="node",
            object_id=name[:64],
            new={"code": "unknown_node", "path": request.path},
            request=request,
        )
    return node


@require_POST
@node_authenticated
def announce(request: HttpRequest) -> HttpResponse:
    """A child that cannot be reached (behind NAT) hands up its CAs, CRLs and units'
    certificates, in the formats of /pki/authorities and /pki/directory."""
    child = _neighbour(request)
    if child is None:
        return JsonResponse({"error": "unknown_node"}, status=403)
    try:
        document = json.loads(request.body)
        authorities = [
            (
                base64.b64decode(e["certificate"]),
                base64.b64decode(e["crl"]) if e.get("crl") else None,
            )
            for e in document["authorities"]
        ]
        directory = [
            (str(e["unit"]), str(e["purpose"]), base64.b64decode(e["certificate"]))
            for e in document["directory"]
        ]
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "malformed"}, status=400)
    try:
        imported = do_import_authorities(authorities, via=child.name)
        units = do_import_directory(directory, via=child.name, may_certify=IssuerScope().allows)
    except TiendonError as exc:
        return JsonResponse({"error": exc.code}, status=400)
    return JsonResponse({"authorities": len(imported.added), "units": units})


@require_POST
@node_authenticated
def resend(request: HttpRequest) -> HttpResponse:
    """A neighbour asks again for numbers of our channel to it: {"seqs": [...]}; the answer
    says for each whether it is sent again, on its way, or closed (expired, refused,
    unknown)."""
    neighbour = _neighbour(request)
    if neighbour is None:
        return JsonResponse({"error": "unknown_node"}, status=403)
    try:
        seqs = json.loads(request.body)["seqs"]
        if not isinstance(seqs, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in seqs
        ):
            raise TypeError("seqs must be positive integers")
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "malformed"}, status=400)
    return JsonResponse({"results": do_resend(neighbour, seqs)})
