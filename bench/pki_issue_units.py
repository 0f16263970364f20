"""`tiendon pki issue-units --all` for every unit, beside the raw crypto work it wraps.

    python bench/pki_issue_units.py            # SQLite in a temporary folder
    DATABASE_URL=postgresql://… python bench/pki_issue_units.py

Ours: keys and certificates for all ~3,400 units (ECDSA signing key, P-256 HPKE key, two
certificates, both private keys sealed with AES-256-GCM, stored with audit records).
Engine: the same key generation, certificate signing and sealing with pyca/cryptography
alone, nothing stored. Goal: ours under 30 s on this 2-core machine.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from benchenv import start_django


def main() -> None:
    start_django()
    import secrets

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from tiendon.pki import x509build
    from tiendon.pki.actions import do_init_pki, issue_missing_unit_keys
    from tiendon.pki.issuer import current_issuer
    from tiendon.units.models import Unit
    from tiendon.units.seed import seed_units

    call_command("migrate", verbosity=0)
    seed_units()
    do_init_pki()
    units = Unit.objects.count()

    start = time.perf_counter()
    issued = issue_missing_unit_keys()
    ours = time.perf_counter() - start
    assert issued == units

    issuer = current_issuer()
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    now = timezone.now()
    start = time.perf_counter()
    for unit in Unit.objects.only("code", "name"):
        subject = x509build.SubjectInfo(unit.name, unit.code, unit.name)
        for purpose in ("signing", "encryption"):
            private = ec.generate_private_key(ec.SECP256R1())
            pkcs8 = private.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            nonce = secrets.token_bytes(12)
            aead.encrypt(nonce, pkcs8, b"aad")
            x509build.build_end_entity(
                subject=subject,
                public=private.public_key(),
                purpose=purpose,
                issuer_cert=issuer.certificate,
                issuer_key=issuer.private_key,
                crl_url=issuer.crl_url,
                now=now,
            )
    engine = time.perf_counter() - start

    print(f"engine: {connection.vendor}, {units} units, 2 keys and 2 certificates each")
    print(f"{'tiendon pki issue-units --all (ours)':<45}{ours:>8.2f} s")
    print(f"{'same crypto, nothing stored (pyca alone)':<45}{engine:>8.2f} s")
    print(
        json.dumps(
            {
                "bench": "pki_issue_units",
                "engine": connection.vendor,
                "units": units,
                "ours_s": round(ours, 2),
                "crypto_only_s": round(engine, 2),
                "ours_units_per_s": round(units / ours),
                "goal": {"ours_s_max": 30},
            }
        )
    )


if __name__ == "__main__":
    main()
