"""The committed test vectors of docs/envelope.md still open with today's reader."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tiendon.exchange import envelope

VECTORS = Path(__file__).resolve().parents[4] / "docs" / "envelope-vectors"
AT = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def _check_sender(certificate_der: bytes, chain_der: tuple[bytes, ...]) -> None:
    ca = x509.load_pem_x509_certificate((VECTORS / "ca.pem").read_bytes())
    x509.load_der_x509_certificate(certificate_der).verify_directly_issued_by(ca)
    assert [x509.load_der_x509_certificate(c) for c in chain_der] == [ca]


def test_vector_v1_opens_to_its_payload_and_manifest():
    parsed = envelope.parse(
        (VECTORS / "vector.tde").read_bytes(), check_sender=_check_sender, now=AT
    )
    assert dict(parsed.manifest) == json.loads((VECTORS / "manifest.json").read_text())
    key = serialization.load_pem_private_key(
        (VECTORS / "recipient-key.pem").read_bytes(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    recipient_der = x509.load_pem_x509_certificate(
        (VECTORS / "recipient-cert.pem").read_bytes()
    ).public_bytes(serialization.Encoding.DER)
    payload = envelope.open_for(
        parsed, recipient="14845", keys={envelope.key_id(recipient_der): key}
    )
    assert payload == (VECTORS / "payload.bin").read_bytes()


def test_vector_v1_is_refused_once_it_has_expired():
    with pytest.raises(envelope.EnvelopeError) as refused:
        envelope.parse(
            (VECTORS / "vector.tde").read_bytes(),
            check_sender=_check_sender,
            now=dt.datetime(2037, 1, 1, tzinfo=dt.UTC),
        )
    assert refused.value.code == "expired"
