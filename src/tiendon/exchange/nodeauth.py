"""Authenticating HTTP requests between nodes: each request is signed with the sending
node's key, names the receiving node, and carries a time and a nonce against replay.

The sender adds six `X-Tiendon-*` headers (`sign_request`); the receiver checks them in a
fixed order (`verify_request`, or the `node_authenticated` view decorator) and refuses
with a reason code, audited, storing nothing but the nonces of requests it accepted.

Signed string (ASCII, lines joined by "\\n", no final newline):

    tiendon-node-request/1
    METHOD            upper case
    TARGET            path and query as Django's `get_full_path()` gives them
    BODY-SHA256       lower-case hex of the exact body bytes (of b"" when there is none)
    TIME              unix seconds, decimal
    NONCE             16 random bytes, unpadded base64url
    FROM-NODE         the sending node's name
    TO-NODE           the receiving node's name

A node certificate names its node in the X.520 serialNumber attribute as "node:NAME"
(unit certificates hold a unit code there, which never contains ':').
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.encoding import escape_uri_path, iri_to_uri
from django.views.decorators.csrf import csrf_exempt

from tiendon.audit.actions import do_record
from tiendon.errors import TiendonError
from tiendon.exchange.envelope import b64url, b64url_decode, der_signature, raw_signature
from tiendon.exchange.models_nodeauth import SeenNonce
from tiendon.pki.errors import CertificateRefused
from tiendon.pki.x509build import NODE_NAME, NODE_SERIAL_PREFIX

SCHEME = "tiendon-node-request/1"
MAX_SKEW_SECONDS = 300
# A request passes the clock check for MAX_SKEW on either side of its time, so a replay can
# come at most 2 × MAX_SKEW after the first use; a minute more covers rounding.
NONCE_RETENTION = dt.timedelta(seconds=2 * MAX_SKEW_SECONDS + 60)
PRUNE_EVERY = 256  # on average, one accepted request in this many prunes old nonces
NONCE_BYTES = 16
MAX_CERTIFICATE_HEADER = 8192

HEADER_NODE = "X-Tiendon-Node"
HEADER_TARGET = "X-Tiendon-Target"
HEADER_CERT = "X-Tiendon-Cert"
HEADER_TIME = "X-Tiendon-Time"
HEADER_NONCE = "X-Tiendon-Nonce"
HEADER_SIGNATURE = "X-Tiendon-Signature"
HEADERS = (HEADER_NODE, HEADER_TARGET, HEADER_CERT, HEADER_TIME, HEADER_NONCE, HEADER_SIGNATURE)

# Refusal codes, besides node_cert_<reason> for each CertificateRefused code.
CODES = (
    "missing_header",
    "malformed",
    "oversized",
    "clock_skew",
    "bad_signature",
    "node_name_mismatch",
    "wrong_target",
    "replay",
)


class NodeAuthError(TiendonError):
    """A node-to-node request is refused; `code` is one of CODES or node_cert_<reason>."""

    code = "node_auth_refused"


@dataclass(frozen=True)
class AuthenticatedNode:
    name: str
    certificate_der: bytes


CertificateCheck = Callable[[bytes], None]


def check_node_certificate(certificate_der: bytes) -> None:
    """This node's judgement of a node certificate: path, validity, key usage, revocation."""
    from tiendon.pki.validation import validate_certificate_remembered  # loads the CA models

    try:
        # Every request names its node's certificate: an acceptance is remembered for a
        # minute under the same trust and revocation state (pki/validation.py).
        validate_certificate_remembered(certificate_der, usage="signing")
    except ValueError as exc:
        # asn1crypto prepares names lazily, during path building: a certificate whose subject
        # holds, say, unassigned code points fails there with ValueError, not as refused.
        raise CertificateRefused(
            f"the node certificate cannot be read ({exc})", code="malformed_certificate"
        ) from exc


# ----------------------------------------------------------------------------- format


def canonical_target(path: str) -> str:
    """The path and query as the receiver's `request.get_full_path()` will show them."""
    path_part, mark, query = path.partition("?")
    return escape_uri_path(unquote(path_part)) + (mark + iri_to_uri(query) if query else "")


def signing_string(
    *,
    method: str,
    target: str,
    body_sha256: str,
    time: int,
    nonce: str,
    node: str,
    target_node: str,
) -> bytes:
    lines = [SCHEME, method.upper(), target, body_sha256, str(time), nonce, node, target_node]
    if any("\n" in line or "\r" in line for line in lines):
        raise ValueError("a signed field contains a line break")
    return "\n".join(lines).encode("ascii")


def node_name_of(certificate: x509.Certificate) -> str | None:
    """The node a certificate names, or None if it is not a node certificate."""
    serials = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if len(serials) != 1:
        return None
    value = serials[0].value
    if not isinstance(value, str) or not value.startswith(NODE_SERIAL_PREFIX):
        return None
    return value[len(NODE_SERIAL_PREFIX) :]


# ----------------------------------------------------------------------------- sending


def sign_request(
    method: str,
    path: str,
    body: bytes,
    *,
    node_name: str,
    target_node: str,
    certificate_der: bytes,
    sign: Callable[[bytes], bytes],
    now: dt.datetime | None = None,
    nonce: bytes | None = None,
) -> dict[str, str]:
    """Headers authenticating one request; sign every attempt afresh (new time, new nonce).

    `path` is the request target exactly as sent (path and query, no scheme or host);
    `sign` returns a DER ECDSA-SHA256 signature (a keystore's `sign`).
    """
    for name in (node_name, target_node):
        if not NODE_NAME.fullmatch(name):
            raise ValueError(f"not a node name: {name!r}")
    nonce = secrets.token_bytes(NONCE_BYTES) if nonce is None else nonce
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"a nonce is {NONCE_BYTES} bytes")
    time = int((now or timezone.now()).timestamp())
    nonce_text = b64url(nonce)
    message = signing_string(
        method=method,
        target=canonical_target(path),
        body_sha256=hashlib.sha256(body).hexdigest(),
        time=time,
        nonce=nonce_text,
        node=node_name,
        target_node=target_node,
    )
    return {
        HEADER_NODE: node_name,
        HEADER_TARGET: target_node,
        HEADER_CERT: base64.b64encode(certificate_der).decode("ascii"),
        HEADER_TIME: str(time),
        HEADER_NONCE: nonce_text,
        HEADER_SIGNATURE: b64url(raw_signature(sign(message))),
    }


# ----------------------------------------------------------------------------- receiving


@dataclass(frozen=True)
class _Presented:
    node: str
    target_node: str
    certificate_der: bytes
    public_key: CertificatePublicKeyTypes
    named_node: str | None
    time: int
    nonce: str
    signature: bytes


def _refuse(code: str, message: str) -> NodeAuthError:
    return NodeAuthError(message, code=code)


def _read_headers(request: HttpRequest) -> _Presented:
    values = {name: request.headers.get(name, "") for name in HEADERS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise _refuse("missing_header", f"missing {', '.join(missing)}")
    for name in (HEADER_NODE, HEADER_TARGET):
        if not NODE_NAME.fullmatch(values[name]):
            raise _refuse("malformed", f"{name} is not a node name")
    time_text = values[HEADER_TIME]
    if not (time_text.isascii() and time_text.isdigit() and len(time_text) <= 12):
        raise _refuse("malformed", f"{HEADER_TIME} is not unix seconds")
    try:
        nonce = b64url_decode(values[HEADER_NONCE])
        signature = b64url_decode(values[HEADER_SIGNATURE])
    except (ValueError, binascii.Error) as exc:
        raise _refuse("malformed", "nonce or signature is not unpadded base64url") from exc
    if len(nonce) != NONCE_BYTES or b64url(nonce) != values[HEADER_NONCE]:
        raise _refuse("malformed", f"the nonce is not {NONCE_BYTES} bytes in base64url")
    if len(signature) != 64:
        raise _refuse("malformed", "the signature is not 64 bytes (r ‖ s)")
    cert_text = values[HEADER_CERT]
    if len(cert_text) > MAX_CERTIFICATE_HEADER:
        raise _refuse("malformed", f"{HEADER_CERT} is longer than {MAX_CERTIFICATE_HEADER}")
    try:
        certificate_der = base64.b64decode(cert_text, validate=True)
        certificate = x509.load_der_x509_certificate(certificate_der)
        # pyca decodes lazily: the key and subject are read here, where bad input is refused.
        public_key = certificate.public_key()
        named_node = node_name_of(certificate)
    except (ValueError, binascii.Error, UnsupportedAlgorithm, x509.InvalidVersion) as exc:
        raise _refuse("malformed", f"{HEADER_CERT} is not a base64 DER certificate") from exc
    return _Presented(
        node=values[HEADER_NODE],
        target_node=values[HEADER_TARGET],
        certificate_der=certificate_der,
        public_key=public_key,
        named_node=named_node,
        time=int(time_text),
        nonce=values[HEADER_NONCE],
        signature=signature,
    )


def _check_signature(request: HttpRequest, presented: _Presented) -> None:
    try:
        body = request.body
    except RequestDataTooBig as exc:
        raise _refuse("oversized", "the request body is larger than this node takes") from exc
    public = presented.public_key
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise _refuse("bad_signature", "the node certificate's key is not EC P-256")
    message = signing_string(
        method=request.method or "",
        target=request.get_full_path(),
        body_sha256=hashlib.sha256(body).hexdigest(),
        time=presented.time,
        nonce=presented.nonce,
        node=presented.node,
        target_node=presented.target_node,
    )
    try:
        der = der_signature(presented.signature)
    except ValueError as exc:
        raise _refuse("bad_signature", "the request's signature is not low-S ES256") from exc
    try:
        public.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise _refuse("bad_signature", "the request's signature does not verify") from exc


def _remember_nonce(presented: _Presented, now: dt.datetime) -> None:
    # The savepoint keeps the caller's transaction usable after a duplicate; on PostgreSQL a
    # concurrent insert of the same nonce waits for the first and then fails here.
    try:
        with transaction.atomic():
            SeenNonce.objects.create(node=presented.node, nonce=presented.nonce, seen_at=now)
    except IntegrityError as exc:
        raise _refuse("replay", "this nonce was already used by that node") from exc
    if secrets.randbelow(PRUNE_EVERY) == 0:
        prune_nonces(now=now)


def prune_nonces(*, now: dt.datetime | None = None) -> int:
    """Forget nonces too old for any replay of them to pass the clock check."""
    cutoff = (now or timezone.now()) - NONCE_RETENTION
    deleted, _ = SeenNonce.objects.filter(seen_at__lt=cutoff).delete()
    return deleted


def _authenticate(
    request: HttpRequest, *, this_node: str, check_certificate: CertificateCheck, now: dt.datetime
) -> AuthenticatedNode:
    presented = _read_headers(request)
    if abs(now.timestamp() - presented.time) > MAX_SKEW_SECONDS:
        raise _refuse(
            "clock_skew", f"request time {presented.time} is over {MAX_SKEW_SECONDS} s from ours"
        )
    _check_signature(request, presented)
    try:
        check_certificate(presented.certificate_der)
    except CertificateRefused as exc:
        raise _refuse(f"node_cert_{exc.code}", f"node certificate: {exc.message}") from exc
    if presented.named_node != presented.node:
        raise _refuse("node_name_mismatch", f"the certificate does not name node {presented.node}")
    if presented.target_node != this_node:
        raise _refuse("wrong_target", f"addressed to {presented.target_node}, not {this_node}")
    _remember_nonce(presented, now)
    return AuthenticatedNode(name=presented.node, certificate_der=presented.certificate_der)


def verify_request(
    request: HttpRequest,
    *,
    this_node: str,
    check_certificate: CertificateCheck = check_node_certificate,
    now: dt.datetime | None = None,
) -> AuthenticatedNode:
    """The node that signed `request`, or NodeAuthError (audited as
    exchange.request_refused; nothing else is written for a refused request).

    Order: headers, clock, signature, certificate, node name, target, nonce; the nonce is
    stored last, so only authenticated requests take room in the replay store.
    """
    try:
        return _authenticate(
            request,
            this_node=this_node,
            check_certificate=check_certificate,
            now=now or timezone.now(),
        )
    except NodeAuthError as exc:
        do_record(
            "exchange.request_refused",
            object_type="node",
            object_id=request.headers.get(HEADER_NODE, "")[:64],
            new={
                "code": exc.code,
                "method": (request.method or "")[:16],
                "path": request.path[:300],
                "reason": exc.message[:300],
            },
            request=request,
        )
        raise


P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]


def node_authenticated(view: View[P]) -> View[P]:
    """Only signed requests from another node reach `view`, with `request.node` set to the
    AuthenticatedNode; others get 401 and {"error": code}.

    CSRF does not apply: the request carries no cookie, its signature is its credential.
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            node = verify_request(request, this_node=settings.TIENDON_NODE_NAME)
        except NodeAuthError as exc:
            response = JsonResponse({"error": exc.code}, status=401)
            response["WWW-Authenticate"] = f'TiendonNode realm="{settings.TIENDON_NODE_NAME}"'
            return response
        request.node = node  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapped)
