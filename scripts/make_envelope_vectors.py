"""Write the envelope v1 test vectors in docs/envelope-vectors/ (run once; committed).

Keys here are for the vectors only. A reader of docs/envelope.md checks its
implementation by opening vector.tde with recipient-key.pem and comparing payload.bin.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from tiendon.exchange import envelope
from tiendon.pki import x509build

OUT = Path(__file__).resolve().parent.parent / "docs" / "envelope-vectors"
NOW = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = x509build.build_root("Envelope test vector CA", ca_key, NOW)
    signer = ec.generate_private_key(ec.SECP256R1())
    recipient = ec.generate_private_key(ec.SECP256R1())
    certs = {}
    for name, key, purpose, code in (
        ("sender", signer, "signing", "BQP"),
        ("recipient", recipient, "encryption", "14845"),
    ):
        certs[name] = x509build.build_end_entity(
            subject=x509build.SubjectInfo(code, code),
            public=key.public_key(),
            purpose=purpose,
            issuer_cert=ca,
            issuer_key=ca_key,
            crl_url="http://127.0.0.1:8000/pki/crl/vector.crl",
            now=NOW,
            lifetime=dt.timedelta(days=3650),
        )
    payload = "Chỉ thị số 01/CT-BQP: thử nghiệm phong bì điện tử (vector v1).\n".encode()
    sealed = envelope.seal(
        payload,
        kind="test.ping",
        sender=envelope.Sender(
            "BQP",
            certs["sender"].public_bytes(serialization.Encoding.DER),
            (ca.public_bytes(serialization.Encoding.DER),),
            lambda data: signer.sign(data, ec.ECDSA(hashes.SHA256())),
        ),
        recipients=[
            envelope.Recipient("14845", certs["recipient"].public_bytes(serialization.Encoding.DER))
        ],
        precedence="khan",
        lifetime=dt.timedelta(days=3650),
        now=NOW,
        envelope_id="6f1c2b0e-5a4d-4e8b-9c3a-2d7e1f0a9b84",
    )
    (OUT / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (OUT / "sender-cert.pem").write_bytes(certs["sender"].public_bytes(serialization.Encoding.PEM))
    (OUT / "recipient-cert.pem").write_bytes(
        certs["recipient"].public_bytes(serialization.Encoding.PEM)
    )
    (OUT / "recipient-key.pem").write_bytes(pem_key(recipient))
    (OUT / "payload.bin").write_bytes(payload)
    (OUT / "vector.tde").write_bytes(sealed.data)
    (OUT / "manifest.json").write_text(
        json.dumps(sealed.manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )
    print(f"wrote {len(sealed.data)} bytes of envelope to {OUT}")


if __name__ == "__main__":
    main()
