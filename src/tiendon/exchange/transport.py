"""Pushing batches to the next node over HTTP: what the worker hands its claimed items to."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from tiendon.errors import TiendonError
from tiendon.exchange.actions import do_accept_batch
from tiendon.exchange.channels import close_for_good, missing, record_seen
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.framing import batch, read_batch
from tiendon.exchange.models_transport import Node, OutboxItem
from tiendon.exchange.nodeauth import sign_request
from tiendon.exchange.nodes import Identity, this_node
from tiendon.exchange.trust import IssuerScope
from tiendon.exchange.worker import Outcome
from tiendon.pki.actions import (
    authorities_document,
    do_import_authorities,
    do_import_directory,
    published_directory,
)

PUSH_PATH = "/exchange/push"

# (url, body, headers) -> (status, response body); urllib by default, a test client in tests.
Poster = Callable[[str, bytes, dict[str, str]], tuple[int, bytes]]


def urllib_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    if urlsplit(url).scheme not in ("http", "https"):
        raise OSError(f"refusing to post to {url!r}")
    request = urllib.request.Request(  # noqa: S310  (scheme checked above)
        url, data=body, headers={**headers, "Content-Type": "application/octet-stream"}
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.TIENDON_EXCHANGE_TIMEOUT) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post_signed(
    poster: Poster, identity: Identity, node: Node, path: str, body: bytes
) -> tuple[int, bytes]:
    """POST `body` to `node`'s `path`, signed by this node (exchange/nodeauth.py)."""
    headers = sign_request(
        "POST",
        path,
        body,
        node_name=identity.name,
        target_node=node.name,
        certificate_der=identity.certificate_der,
        sign=identity.sign,
    )
    return poster(node.base_url.rstrip("/") + path, body, headers)


def http_transport(
    poster: Poster = urllib_post,
) -> Callable[[Node, Sequence[tuple[OutboxItem, bytes]]], dict[int, Outcome]]:
    """A transport for `worker.run_once`: one signed POST per destination and batch."""
    identity = this_node()

    def send(node: Node, items: Sequence[tuple[OutboxItem, bytes]]) -> dict[int, Outcome]:
        if not node.base_url:
            raise OSError(f"node {node.name} has no URL (it pulls)")
        body = batch([item.seq for item, _data in items], [data for _item, data in items])
        status, answer = post_signed(poster, identity, node, PUSH_PATH, body)
        if status != 200:
            # Refused as a whole (authentication, unknown node, …): try again later.
            return {
                item.pk: Outcome(False, error=f"HTTP {status}: {answer[:200]!r}")
                for item, _ in items
            }
        try:
            results = json.loads(answer)["results"]
        except (ValueError, KeyError, TypeError):
            return {item.pk: Outcome(False, error="unreadable answer") for item, _ in items}
        outcomes: dict[int, Outcome] = {}
        for (item, _data), result in zip(items, results, strict=False):
            if isinstance(result, dict) and result.get("ok") is True:
                outcomes[item.pk] = Outcome(True)
            elif isinstance(result, dict) and isinstance(result.get("code"), str):
                outcomes[item.pk] = Outcome(False, refused_code=result["code"][:64])
        return outcomes

    return send


PULL_PATH = "/exchange/pull"
ACK_PATH = "/exchange/ack"


ANNOUNCE_PATH = "/exchange/announce"


def pull_from_parent(poster: Poster = urllib_post, *, wait: int = 0, announce: bool = False) -> int:
    """For an edge node behind NAT: fetch what the parent holds for us, accept each
    envelope (or refuse it by code), and acknowledge. Returns how many were accepted."""
    identity = this_node()
    parent = Node.objects.filter(relation=Node.Relation.PARENT).exclude(base_url="").first()
    if parent is None:
        raise OSError("this node has no parent with a URL to pull from")

    def signed(path: str, body: bytes) -> tuple[int, bytes]:
        return post_signed(poster, identity, parent, path, body)

    if announce:
        # What the parent cannot fetch from us: our CAs, CRLs and units' certificates.
        document = {
            **authorities_document(),
            "directory": [
                {"unit": code, "purpose": purpose, "certificate": base64.b64encode(der).decode()}
                for code, purpose, der in published_directory()
            ],
        }
        status, body = signed(ANNOUNCE_PATH, json.dumps(document).encode())
        if status != 200:
            raise OSError(f"announce refused: HTTP {status} {body[:200]!r}")
    path = f"{PULL_PATH}?wait={int(wait)}"
    status, body = signed(path, b"")
    if status != 200:
        raise OSError(f"pull refused: HTTP {status} {body[:200]!r}")
    try:
        seqs, envelopes = read_batch(body)
    except EnvelopeError as exc:
        raise OSError(f"pull answer unreadable: {exc.message}") from exc
    outcomes = do_accept_batch(envelopes, via=parent.name, came_from=parent)
    record_seen(parent, seqs)
    results: list[dict[str, object]] = [
        {"seq": seq, "ok": False, "code": outcome.code}
        if isinstance(outcome, EnvelopeError)
        else {"seq": seq, "ok": True}
        for seq, outcome in zip(seqs, outcomes, strict=True)
    ]
    accepted = sum(1 for r in results if r["ok"])
    if results:
        status, body = signed(ACK_PATH, json.dumps({"results": results}).encode())
        if status != 200:
            raise OSError(f"acknowledgement refused: HTTP {status} {body[:200]!r}")
    return accepted


Fetcher = Callable[[str], tuple[int, bytes]]


def urllib_get(url: str) -> tuple[int, bytes]:
    if urlsplit(url).scheme not in ("http", "https"):
        raise OSError(f"refusing to fetch {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=settings.TIENDON_EXCHANGE_TIMEOUT) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _get_json(fetch: Fetcher, url: str) -> Any:
    status, body = fetch(url)
    if status != 200:
        raise OSError(f"HTTP {status}")
    return json.loads(body)


def sync_neighbours(fetch: Fetcher = urllib_get) -> dict[str, str]:
    """From every reachable neighbour: its CAs and CRLs (/pki/authorities), then its units'
    certificates (/pki/directory), each imported only if it validates here. A node back
    from an outage does this before its backlog. Returns an outcome per node."""
    outcomes: dict[str, str] = {}
    for node in Node.objects.exclude(relation=Node.Relation.SELF).exclude(base_url=""):
        base = node.base_url.rstrip("/")
        try:
            authorities = [
                (
                    base64.b64decode(entry["certificate"]),
                    base64.b64decode(entry["crl"]) if entry.get("crl") else None,
                )
                for entry in _get_json(fetch, base + "/pki/authorities")["authorities"]
            ]
            result = do_import_authorities(authorities, via=node.name)
            directory = [
                (str(e["unit"]), str(e["purpose"]), base64.b64decode(e["certificate"]))
                for e in _get_json(fetch, base + "/pki/directory")["entries"]
            ]
            units = do_import_directory(directory, via=node.name, may_certify=IssuerScope().allows)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            outcomes[node.name] = f"unreachable or unreadable: {exc}"[:200]
        except TiendonError as exc:
            outcomes[node.name] = f"refused [{exc.code}]"
        else:
            outcomes[node.name] = (
                f"{len(result.added)} CAs added, {result.crls} newer CRLs, "
                f"{units} unit certificates added"
            )
    return outcomes


RESEND_PATH = "/exchange/resend"


def request_missing(poster: Poster = urllib_post) -> dict[str, str]:
    """Ask each neighbour with a URL again for the numbers missing from its channel to us
    past the grace period (exchange/channels.py). Returns an outcome per node asked."""
    identity = this_node()
    outcomes: dict[str, str] = {}
    for node in Node.objects.exclude(relation=Node.Relation.SELF):
        holes = missing(node)
        if not holes:
            continue
        if not node.base_url:
            outcomes[node.name] = f"{len(holes)} missing; it has no URL (it will send again)"
            continue
        body = json.dumps({"seqs": holes}).encode()
        try:
            status, answer = post_signed(poster, identity, node, RESEND_PATH, body)
            results = json.loads(answer)["results"] if status == 200 else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            outcomes[node.name] = f"{len(holes)} missing; unreachable: {exc}"[:200]
            continue
        if not isinstance(results, list):
            outcomes[node.name] = f"{len(holes)} missing; refused: HTTP {status}"
            continue
        closed = close_for_good(node, [r for r in results if isinstance(r, dict)])
        outcomes[node.name] = f"{len(holes)} missing asked again, {closed} closed for good"
    return outcomes
