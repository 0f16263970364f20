"""Arbitrary bytes and mutated envelopes never crash the reader: refusals only."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiendon.exchange import envelope
from tiendon.exchange.envelope import EnvelopeError
from tiendon.pki import x509build

NOW = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
_CA_KEY = ec.generate_private_key(ec.SECP256R1())
_CA = x509build.build_root("Fuzz CA", _CA_KEY, NOW)
_SIGNER = ec.generate_private_key(ec.SECP256R1())
_RECIPIENT = ec.generate_private_key(ec.SECP256R1())


def _cert(key: ec.EllipticCurvePrivateKey, purpose: str, code: str) -> bytes:
    return x509build.build_end_entity(
        subject=x509build.SubjectInfo(code, code),
        public=key.public_key(),
        purpose=purpose,
        issuer_cert=_CA,
        issuer_key=_CA_KEY,
        crl_url="http://127.0.0.1/x.crl",
        now=NOW,
    ).public_bytes(serialization.Encoding.DER)


_RECIPIENT_CERT = _cert(_RECIPIENT, "encryption", "00097")
VALID = envelope.seal(
    "Công văn thử nghiệm".encode(),
    kind="test.ping",
    sender=envelope.Sender(
        "BQP",
        _cert(_SIGNER, "signing", "BQP"),
        (_CA.public_bytes(serialization.Encoding.DER),),
        lambda data: _SIGNER.sign(data, ec.ECDSA(hashes.SHA256())),
    ),
    recipients=[envelope.Recipient("00097", _RECIPIENT_CERT)],
    now=NOW,
).data
KEYS = {envelope.key_id(_RECIPIENT_CERT): _RECIPIENT}


def _read(data: bytes) -> None:
    """Parse and open as a recipient would; only EnvelopeError may come out."""
    try:
        parsed = envelope.parse(data, check_sender=lambda *_: None, now=NOW)
        envelope.open_for(parsed, recipient="00097", keys=KEYS)
    except EnvelopeError:
        pass


def test_the_unmutated_envelope_opens():
    parsed = envelope.parse(VALID, check_sender=lambda *_: None, now=NOW)
    assert envelope.open_for(parsed, recipient="00097", keys=KEYS) == "Công văn thử nghiệm".encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_are_refused_without_a_crash(data):
    _read(data)
    _read(envelope.MAGIC + data)


@settings(max_examples=600, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(VALID) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    )
)
def test_mutated_envelopes_are_refused_or_open_unchanged(mutations):
    data = bytearray(VALID)
    for index, value in mutations:
        data[index] = value
    try:
        parsed = envelope.parse(bytes(data), check_sender=lambda *_: None, now=NOW)
        opened = envelope.open_for(parsed, recipient="00097", keys=KEYS)
    except EnvelopeError:
        return
    # A mutation the signature does not cover must not exist: what opens is the original.
    assert opened == "Công văn thử nghiệm".encode()
    assert bytes(data) == VALID


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(VALID)))
def test_truncated_envelopes_are_refused(length):
    if length == len(VALID):
        return
    try:
        envelope.parse(VALID[:length], check_sender=lambda *_: None, now=NOW)
    except EnvelopeError:
        return
    raise AssertionError(f"a truncated envelope ({length} bytes) was accepted")


def test_a_sender_certificate_with_a_key_off_the_curve_is_refused_as_malformed():
    # Found by the mutation test above: pyca reads a certificate's key only when asked.
    good = _cert(_SIGNER, "signing", "BQP")
    point = _SIGNER.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    broken = good.replace(point, point[:-1] + bytes([point[-1] ^ 0x01]))
    assert broken != good
    sealed = envelope.seal(
        b"x",
        kind="test.ping",
        sender=envelope.Sender(
            "BQP",
            broken,
            (),
            lambda data: _SIGNER.sign(data, ec.ECDSA(hashes.SHA256())),
        ),
        recipients=[envelope.Recipient("00097", _RECIPIENT_CERT)],
        now=NOW,
    )
    with pytest.raises(EnvelopeError) as refused:
        envelope.parse(sealed.data, check_sender=lambda *_: None, now=NOW)
    assert refused.value.code == "malformed"
