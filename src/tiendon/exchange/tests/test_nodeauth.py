"""Node-to-node request authentication: a signed request is accepted once; every refusal
has its own code, is audited, and leaves nothing stored."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, RequestFactory
from django.urls import path as url_path
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tiendon import urls as project_urls
from tiendon.audit.models import AuditRecord
from tiendon.exchange import nodeauth
from tiendon.exchange.envelope import b64url, b64url_decode
from tiendon.exchange.models import SeenNonce
from tiendon.exchange.nodeauth import (
    AuthenticatedNode,
    NodeAuthError,
    node_authenticated,
    prune_nonces,
    sign_request,
    verify_request,
)
from tiendon.pki import x509build
from tiendon.pki.actions import do_issue_unit_keys, do_revoke_certificate, fingerprint
from tiendon.pki.issuer import current_issuer
from tiendon.pki.keystore import SoftwareKeystore, keystore_for
from tiendon.pki.models import Certificate, CertPurpose

THIS_NODE = "bqp-trungtam"  # the ministry data-centre node receives in these tests
SENDER = "tinh-thanhhoa"
ENVELOPE_PATH = "/exchange/envelopes/6f1c2a9e-3b7d-4c55-9a10-2e8f0d4b7a31"
PULL_PATH = "/exchange/pull?cursor=41&wait=30"
BODY = b"TDE1" + "Chỉ thị số 01/CT-BQP".encode() * 40


@dataclass
class NodeIdentity:
    name: str
    certificate_der: bytes
    sign: Callable[[bytes], bytes]
    row: Certificate | None = None

    def headers(self, method: str, path: str, body: bytes = b"", **extra) -> dict[str, str]:
        return sign_request(
            method,
            path,
            body,
            node_name=extra.pop("node_name", self.name),
            target_node=extra.pop("target_node", THIS_NODE),
            certificate_der=self.certificate_der,
            sign=self.sign,
            **extra,
        )


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _software_signer(private: ec.EllipticCurvePrivateKey) -> Callable[[bytes], bytes]:
    return lambda data: private.sign(data, ec.ECDSA(hashes.SHA256()))


def _node_certificate(
    name: str, *, now: dt.datetime | None = None, lifetime: dt.timedelta | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A node certificate from this node's issuing CA (until pki has a node profile)."""
    issuer = current_issuer()
    private = ec.generate_private_key(ec.SECP256R1())
    now = now or timezone.now()
    cert = x509build.build_end_entity(
        subject=x509build.node_subject(name),
        public=private.public_key(),
        purpose="signing",
        issuer_cert=issuer.certificate,
        issuer_key=issuer.private_key,
        crl_url=issuer.crl_url,
        now=now,
        lifetime=lifetime or x509build.END_ENTITY_LIFETIME,
        not_before=now - x509build.BACKDATE,
    )
    return cert, private


def _stored_node(name: str, unit) -> NodeIdentity:
    """A node certificate with a Certificate row, so `do_revoke_certificate` can revoke it;
    the key lives in the node's software keystore and signs through it, as in service.
    The row is marked superseded so it never counts as the unit's own signing certificate."""
    issuer = current_issuer()
    keystore = SoftwareKeystore()
    key = keystore.generate_signing_key(label=f"node-{name}")
    key.save()
    public = serialization.load_der_public_key(bytes(key.public_key_der))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    now = timezone.now()
    built = x509build.build_end_entity(
        subject=x509build.node_subject(name),
        public=public,
        purpose="signing",
        issuer_cert=issuer.certificate,
        issuer_key=issuer.private_key,
        crl_url=issuer.crl_url,
        now=now,
    )
    der = _der(built)
    row = Certificate.objects.create(
        serial=f"{built.serial_number:x}",
        fingerprint=fingerprint(der),
        issuer=issuer.authority,
        purpose=CertPurpose.UNIT_SIGNING,
        unit=unit,
        key=key,
        certificate_der=der,
        subject=built.subject.rfc4514_string(),
        not_before=built.not_valid_before_utc,
        not_after=built.not_valid_after_utc,
        superseded_at=now,
    )
    return NodeIdentity(name, der, lambda data: keystore.sign(key, data), row)


@pytest.fixture
def province_node(tree, pki) -> NodeIdentity:
    return _stored_node(SENDER, tree.province)


def _request(
    headers: dict[str, str], *, method: str = "PUT", path: str = ENVELOPE_PATH, body: bytes = BODY
) -> HttpRequest:
    return RequestFactory().generic(
        method, path, data=body, content_type="application/octet-stream", headers=headers
    )


def _push(node: NodeIdentity, **extra) -> HttpRequest:
    return _request(node.headers("PUT", ENVELOPE_PATH, BODY, **extra))


def _verify(request: HttpRequest, **extra) -> AuthenticatedNode:
    return verify_request(request, this_node=THIS_NODE, **extra)


def _refused(request: HttpRequest, **extra) -> str:
    """Refuse `request`; check the one audit record and that nothing else was stored."""
    nonces = SeenNonce.objects.count()
    records = AuditRecord.objects.count()
    with pytest.raises(NodeAuthError) as refused:
        _verify(request, **extra)
    assert SeenNonce.objects.count() == nonces
    assert AuditRecord.objects.count() == records + 1
    record = AuditRecord.objects.order_by("-seq").first()
    assert record is not None
    assert record.action == "exchange.request_refused"
    assert record.object_type == "node"
    assert record.object_id == request.headers.get("X-Tiendon-Node", "")[:64]
    assert record.new["code"] == refused.value.code
    assert record.new["path"] == request.path
    return refused.value.code


# ----------------------------------------------------------------------------- accepted


def test_a_signed_push_is_accepted_as_the_node_its_certificate_names(province_node):
    records = AuditRecord.objects.count()
    node = _verify(_push(province_node))
    assert node == AuthenticatedNode(SENDER, province_node.certificate_der)
    assert list(SeenNonce.objects.values_list("node", flat=True)) == [SENDER]
    assert AuditRecord.objects.count() == records  # an accepted request writes no audit


def test_a_signed_pull_with_a_cursor_is_accepted(province_node):
    headers = province_node.headers("GET", PULL_PATH)
    request = _request(headers, method="GET", path=PULL_PATH, body=b"")
    assert _verify(request).name == SENDER


def test_a_percent_encoded_path_verifies_as_django_reads_it(province_node):
    target = "/exchange/t%E1%BB%87p%20m%E1%BA%ABu/?q=%C4%90%C3%B4ng%20Ti%E1%BA%BFn&x=a+b"
    request = _request(province_node.headers("PUT", target, BODY), path=target)
    assert request.path == "/exchange/tệp mẫu/"
    assert _verify(request).name == SENDER


def test_each_attempt_signed_afresh_is_accepted_again(province_node):
    assert _verify(_push(province_node)).name == SENDER
    assert _verify(_push(province_node)).name == SENDER
    assert SeenNonce.objects.count() == 2


def test_the_signed_string_is_exactly_as_documented():
    message = nodeauth.signing_string(
        method="put",
        target="/exchange/envelopes/6f1c2a9e?x=1",
        body_sha256=hashlib.sha256(b"").hexdigest(),
        time=1795000000,
        nonce="AAECAwQFBgcICQoLDA0ODw",
        node=SENDER,
        target_node=THIS_NODE,
    )
    assert message == (
        b"tiendon-node-request/1\n"
        b"PUT\n"
        b"/exchange/envelopes/6f1c2a9e?x=1\n"
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        b"1795000000\n"
        b"AAECAwQFBgcICQoLDA0ODw\n"
        b"tinh-thanhhoa\n"
        b"bqp-trungtam"
    )


def test_the_headers_carry_node_target_certificate_time_nonce_and_signature(province_node):
    moment = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY, now=moment, nonce=bytes(16))
    assert headers["X-Tiendon-Node"] == SENDER
    assert headers["X-Tiendon-Target"] == THIS_NODE
    assert base64.b64decode(headers["X-Tiendon-Cert"]) == province_node.certificate_der
    assert headers["X-Tiendon-Time"] == str(int(moment.timestamp()))
    assert headers["X-Tiendon-Nonce"] == "AAAAAAAAAAAAAAAAAAAAAA"
    assert len(b64url_decode(headers["X-Tiendon-Signature"])) == 64


# ----------------------------------------------------------------------------- refused


def _tampered(headers: dict[str, str], **changes: str) -> dict[str, str]:
    return {**headers, **changes}


def test_a_tampered_body_is_refused_as_a_bad_signature(province_node):
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY)
    assert _refused(_request(headers, body=BODY + b"\x00")) == "bad_signature"


def test_a_tampered_path_is_refused_as_a_bad_signature(province_node):
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY)
    other = "/exchange/envelopes/00000000-0000-4000-8000-000000000000"
    assert _refused(_request(headers, path=other)) == "bad_signature"


def test_a_tampered_cursor_is_refused_as_a_bad_signature(province_node):
    headers = province_node.headers("GET", PULL_PATH)
    tampered = _request(headers, method="GET", path="/exchange/pull?cursor=0&wait=30", body=b"")
    assert _refused(tampered) == "bad_signature"


def test_a_tampered_method_is_refused_as_a_bad_signature(province_node):
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY)
    assert _refused(_request(headers, method="POST")) == "bad_signature"


def test_a_tampered_time_is_refused_as_a_bad_signature(province_node):
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY)
    later = str(int(headers["X-Tiendon-Time"]) + 1)
    assert _refused(_request(_tampered(headers, **{"X-Tiendon-Time": later}))) == "bad_signature"


def test_a_swapped_nonce_is_refused_as_a_bad_signature(province_node):
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY)
    fresh = b64url(b"\x01" * 16)
    assert _refused(_request(_tampered(headers, **{"X-Tiendon-Nonce": fresh}))) == "bad_signature"


def test_a_signature_by_a_key_other_than_the_certificates_is_refused(province_node):
    thief = NodeIdentity(
        SENDER,
        province_node.certificate_der,
        _software_signer(ec.generate_private_key(ec.SECP256R1())),
    )
    assert _refused(_push(thief)) == "bad_signature"


def test_a_reused_nonce_is_refused_as_a_replay(province_node):
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY)
    assert _verify(_request(headers)).name == SENDER
    assert _refused(_request(headers)) == "replay"
    assert SeenNonce.objects.count() == 1


def test_a_request_for_another_node_is_refused_as_wrong_target(province_node):
    assert _refused(_push(province_node, target_node="tinh-nghean")) == "wrong_target"


def test_a_request_made_for_another_node_and_readdressed_is_a_bad_signature(province_node):
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY, target_node="tinh-nghean")
    readdressed = _tampered(headers, **{"X-Tiendon-Target": THIS_NODE})
    assert _refused(_request(readdressed)) == "bad_signature"


@pytest.mark.parametrize("minutes", [-10, 10])
def test_a_request_ten_minutes_off_our_clock_is_refused_as_clock_skew(province_node, minutes):
    sent = timezone.now() + dt.timedelta(minutes=minutes)
    assert _refused(_push(province_node, now=sent)) == "clock_skew"


def test_a_request_four_minutes_late_is_still_accepted(province_node):
    sent = timezone.now() - dt.timedelta(minutes=4)
    assert _verify(_push(province_node, now=sent)).name == SENDER


def test_a_node_certificate_from_an_unknown_ca_is_refused(tree, pki):
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    now = timezone.now()
    rogue_root = x509build.build_root("Rogue CA", rogue_key, now)
    private = ec.generate_private_key(ec.SECP256R1())
    cert = x509build.build_end_entity(
        subject=x509build.node_subject(SENDER),
        public=private.public_key(),
        purpose="signing",
        issuer_cert=rogue_root,
        issuer_key=rogue_key,
        crl_url="http://127.0.0.1/rogue.crl",
        now=now,
    )
    rogue = NodeIdentity(SENDER, _der(cert), _software_signer(private))
    assert _refused(_push(rogue)) == "node_cert_unknown_issuer"


def test_a_revoked_node_certificate_is_refused(province_node):
    assert _verify(_push(province_node)).name == SENDER
    assert province_node.row is not None
    do_revoke_certificate(province_node.row, reason="keyCompromise")
    assert _refused(_push(province_node)) == "node_cert_revoked"


def test_an_expired_node_certificate_is_refused(tree, pki):
    cert, private = _node_certificate(
        SENDER, now=timezone.now() - dt.timedelta(days=10), lifetime=dt.timedelta(days=1)
    )
    expired = NodeIdentity(SENDER, _der(cert), _software_signer(private))
    assert _refused(_push(expired)) == "node_cert_expired"


def test_a_units_signing_certificate_cannot_speak_for_a_node(tree, pki):
    signing = next(
        c for c in do_issue_unit_keys(tree.province) if c.purpose == CertPurpose.UNIT_SIGNING
    )
    keystore = keystore_for(signing.key)
    unit = NodeIdentity(
        SENDER, bytes(signing.certificate_der), lambda data: keystore.sign(signing.key, data)
    )
    assert _refused(_push(unit)) == "node_name_mismatch"


def test_one_nodes_certificate_cannot_speak_for_another_node(tree, pki):
    cert, private = _node_certificate("tinh-nghean")
    impostor = NodeIdentity(SENDER, _der(cert), _software_signer(private))
    assert _refused(_push(impostor)) == "node_name_mismatch"


@pytest.mark.parametrize("header", nodeauth.HEADERS)
def test_a_request_missing_a_header_is_refused(province_node, header):
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY)
    del headers[header]
    assert _refused(_request(headers)) == "missing_header"


def test_an_unsigned_request_is_refused_as_missing_headers(tree, pki):
    assert _refused(_request({})) == "missing_header"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Tiendon-Node", "../tinh"),
        ("X-Tiendon-Node", "x" * 80),
        ("X-Tiendon-Target", "bqp trungtam"),
        ("X-Tiendon-Time", "12a"),
        ("X-Tiendon-Time", "-5"),
        ("X-Tiendon-Time", "1" * 40),
        ("X-Tiendon-Nonce", "!!!!"),
        ("X-Tiendon-Nonce", "AAAA"),
        ("X-Tiendon-Nonce", "AAAAAAAAAAAAAAAAAAAAAA=="),
        ("X-Tiendon-Nonce", "AAAAAAAAAAAAAAAAAAAAAB"),  # stray bits: not canonical base64url
        ("X-Tiendon-Signature", "AAAA"),
        ("X-Tiendon-Signature", "%%%"),
        ("X-Tiendon-Cert", "not base64 at all"),
        ("X-Tiendon-Cert", base64.b64encode(b"\x30\x03\x02\x01\x01").decode()),
        ("X-Tiendon-Cert", "A" * 9000),
    ],
)
def test_a_garbage_header_is_refused_as_malformed(province_node, header, value):
    headers = _tampered(province_node.headers("PUT", ENVELOPE_PATH, BODY), **{header: value})
    assert _refused(_request(headers)) == "malformed"


def test_a_valid_signature_with_a_stray_character_is_refused_as_malformed(province_node):
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY)
    signature = headers["X-Tiendon-Signature"]
    stray = _tampered(headers, **{"X-Tiendon-Signature": signature[:10] + "!" + signature[10:]})
    assert _refused(_request(stray)) == "malformed"


def test_a_body_over_the_nodes_limit_is_refused_as_oversized(province_node, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    assert _refused(_push(province_node)) == "oversized"


def test_a_certificate_check_failing_for_any_reason_names_that_reason(province_node):
    from tiendon.pki.errors import CertificateRefused

    def refuse(der: bytes) -> None:
        raise CertificateRefused("test", code="wrong_key_usage")

    assert _refused(_push(province_node), check_certificate=refuse) == "node_cert_wrong_key_usage"


_FUZZ = hypothesis_settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _outcome(request: HttpRequest) -> str:
    """The accepted node's name or the refusal code; any other exception fails the test."""
    try:
        return _verify(request).name
    except NodeAuthError as exc:
        return exc.code


@_FUZZ
@given(
    header=st.sampled_from(nodeauth.HEADERS),
    value=st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=120),
)
def test_arbitrary_header_values_are_refused_never_crash(province_node, header, value):
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY)
    outcome = _outcome(_request(_tampered(headers, **{header: value})))
    assert outcome in nodeauth.CODES or outcome.startswith("node_cert_") or outcome == SENDER


@_FUZZ
@given(data=st.data())
def test_a_mutated_certificate_is_refused_never_crashes(province_node, data):
    der = bytearray(province_node.certificate_der)
    position = data.draw(st.integers(0, len(der) - 1))
    der[position] = data.draw(st.integers(0, 255).filter(lambda b: b != der[position]))
    headers = province_node.headers("PUT", ENVELOPE_PATH, BODY)
    mutated = _tampered(headers, **{"X-Tiendon-Cert": base64.b64encode(bytes(der)).decode()})
    outcome = _outcome(_request(mutated))
    assert outcome in nodeauth.CODES or outcome.startswith("node_cert_")


# ----------------------------------------------------------------------------- replay store


def test_nonces_are_forgotten_only_once_no_replay_could_pass_the_clock(province_node):
    now = timezone.now()
    old, recent = now - dt.timedelta(minutes=12), now - dt.timedelta(minutes=9)
    for moment in (old, recent):
        _verify(_push(province_node, now=moment), now=moment)
    assert prune_nonces(now=now) == 1
    assert SeenNonce.objects.get().seen_at == recent


# ----------------------------------------------------------------------------- the decorator


@node_authenticated
def _node_ping(request: HttpRequest, envelope_id: str) -> HttpResponse:
    return JsonResponse({"node": request.node.name, "envelope": envelope_id})


# The project's own URLs stay (the CA's CRL address is reversed while validating).
urlpatterns = [url_path("test-node-ping/<str:envelope_id>", _node_ping), *project_urls.urlpatterns]
PING_PATH = "/test-node-ping/6f1c2a9e-3b7d-4c55-9a10-2e8f0d4b7a31"


@pytest.mark.urls(__name__)
def test_the_decorated_view_answers_a_signed_push_through_the_full_middleware(
    province_node, settings
):
    settings.TIENDON_NODE_NAME = THIS_NODE
    client = Client(enforce_csrf_checks=True)
    headers = province_node.headers("PUT", PING_PATH, BODY)
    response = client.put(PING_PATH, BODY, content_type="application/octet-stream", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"node": SENDER, "envelope": PING_PATH.rsplit("/", 1)[1]}


@pytest.mark.urls(__name__)
def test_the_decorated_view_answers_401_with_the_code_and_runs_nothing(province_node, settings):
    settings.TIENDON_NODE_NAME = "tinh-nghean"  # this node is not the one addressed
    client = Client(enforce_csrf_checks=True)
    headers = province_node.headers("PUT", PING_PATH, BODY)
    response = client.put(PING_PATH, BODY, content_type="application/octet-stream", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "wrong_target"}
    assert response["WWW-Authenticate"].startswith("TiendonNode")
    assert not SeenNonce.objects.exists()
    unsigned = client.put(PING_PATH, BODY, content_type="application/octet-stream")
    assert (unsigned.status_code, unsigned.json()) == (401, {"error": "missing_header"})


# ----------------------------------------------------------------------------- concurrency


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uses_of_one_nonce_accept_exactly_one(tree, pki):
    node = _stored_node(SENDER, tree.province)
    headers = node.headers("PUT", ENVELOPE_PATH, BODY)
    start = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            start.wait(timeout=10)
            # Hold the transaction open a moment after inserting, so the other insert of
            # the same nonce has to wait on the unique index and then fail.
            with transaction.atomic():
                try:
                    result = _verify(_request(headers)).name
                except NodeAuthError as exc:
                    result = exc.code
                time.sleep(0.3)
            with lock:
                outcomes.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == sorted([SENDER, "replay"])
    assert SeenNonce.objects.count() == 1
    assert AuditRecord.objects.filter(action="exchange.request_refused").count() == 1
