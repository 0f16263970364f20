"""A 2 MiB document signed, encrypted and enqueued for every commune board, beside peers.

    python bench/broadcast.py                    # all commune boards (3,321), 2 MiB
    python bench/broadcast.py --recipients 500 --size-mib 1 --skip-peers
    DATABASE_URL=postgresql://… python bench/broadcast.py

Ours (SQLite in a temporary folder unless DATABASE_URL says otherwise; seeding, PKI and
unit keys are set up first and not timed):
  crypto   `exchange.actions.seal_for_units`: load the sender's signing key and every
           recipient's current encryption certificate, AES-256-GCM the payload once, one
           HPKE (DHKEM P-256) wrap of the content key per recipient, sign the manifest;
  enqueue  `exchange.actions.do_enqueue`: store the envelope and one row per recipient
           (and a hand-off per recipient: they are all served by this node);
  ready    `exchange.dispatch.run_until_idle`: the documents' handler takes it in for every
           recipient (decrypt and check once, one inbox row per board, audited); reported
           beside the total, not in it.
Engine lines show the wraps alone (sequential, and a 2-process prototype of a parallel
seal) so the crypto can be told apart from loading and framing.

Peers, same run, same file, same number of recipients (only the encryption command is
timed; inputs are written before): `openssl cms -encrypt -aes-256-gcm` to the units' real
EC P-256 encryption certificates (ECDH key agreement per recipient) and to throwaway
RSA-2048 certificates; `gpg --encrypt` to throwaway OpenPGP keys (ECDH nistp256 subkeys)
with --trust-model always. RSA keys and the GNUPGHOME are generated once and cached in
/tmp/tiendon-bench-cache (TIENDON_BENCH_CACHE), so reruns are fast.

Goal: ours (crypto + enqueue) under 0.5 s, under half of openssl's EC time, and the stored
envelope under the payload + 200 bytes per recipient. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from benchenv import start_django

CACHE = Path(os.environ.get("TIENDON_BENCH_CACHE", "/tmp/tiendon-bench-cache"))  # noqa: S108
GOAL = {"total_s_max": 0.5, "vs_openssl_ec_max_ratio": 0.5, "per_recipient_bytes_max": 200}
KIND = "document"


# ----------------------------------------------------------------------------- peers' keys


def _rsa_chunk(directory: str, indices: Sequence[int]) -> int:
    """Generate RSA-2048 keys and self-signed certificates (a pool worker)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    for index in indices:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"bench-rsa-{index:05d}")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        base = Path(directory) / f"{index:05d}"
        base.with_suffix(".key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        # The certificate last: its presence marks the pair complete.
        base.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return len(indices)


def rsa_certificates(count: int) -> list[Path]:
    """`count` cached RSA-2048 certificates, generating the missing ones on 2 processes."""
    directory = CACHE / "rsa"
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{i:05d}.pem" for i in range(count)]
    missing = [i for i, path in enumerate(paths) if not path.exists()]
    if missing:
        print(f"generating {len(missing)} RSA-2048 keys into {directory} (once)…", flush=True)
        start = time.perf_counter()
        chunks = [missing[i : i + 50] for i in range(0, len(missing), 50)]
        with ProcessPoolExecutor(max_workers=2) as pool:
            list(pool.map(_rsa_chunk, [str(directory)] * len(chunks), chunks))
        print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
    return paths


def _gpg(home: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--quiet", *args],
        check=True,
        capture_output=True,
        **kwargs,
    )


def _gpg_fingerprints(home: Path) -> list[str]:
    """Primary-key fingerprints of the keyring, in the order of the keys' names."""
    out = _gpg(home, "--with-colons", "--list-keys").stdout.decode()
    found: dict[str, str] = {}
    fingerprint, primary = "", False
    for line in out.splitlines():
        fields = line.split(":")
        if fields[0] == "pub":
            primary, fingerprint = True, ""
        elif fields[0] == "sub":
            primary = False
        elif fields[0] == "fpr" and primary and not fingerprint:
            fingerprint = fields[9]
        elif fields[0] == "uid" and fingerprint:
            found[fields[9]] = fingerprint
    return [found[uid] for uid in sorted(found)]


def gpg_keyring(count: int) -> tuple[Path, list[str]]:
    """A cached GNUPGHOME with at least `count` keys (ECDSA P-256 + ECDH P-256 subkey)."""
    home = CACHE / "gnupg"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    have = _gpg_fingerprints(home)
    if len(have) < count:
        print(f"generating {count - len(have)} OpenPGP keys into {home} (once)…", flush=True)
        start = time.perf_counter()
        params = "".join(
            "Key-Type: ECDSA\nKey-Curve: nistp256\nKey-Usage: sign\n"
            "Subkey-Type: ECDH\nSubkey-Curve: nistp256\nSubkey-Usage: encrypt\n"
            f"Name-Real: Bench commune {i:05d}\n"
            f"Name-Email: c{i:05d}@bench.tiendon.invalid\n"
            "Expire-Date: 0\n%no-protection\n%commit\n"
            for i in range(len(have), count)
        )
        _gpg(home, "--gen-key", input=params.encode())
        have = _gpg_fingerprints(home)
        print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
    return home, have[:count]


def stop_gpg_agent(home: Path) -> None:
    """The agent gpg started for this GNUPGHOME (and only that one)."""
    subprocess.run(
        ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
        check=False,
        capture_output=True,
    )


# ----------------------------------------------------------------------------- timing


@dataclass
class Peer:
    name: str
    seconds: float
    size: int
    note: str = ""


def run_timed(args: Sequence[str], cwd: Path, repeat: int) -> float:
    """The best wall time of `repeat` runs of a command."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(args, cwd=cwd, capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(
                f"{args[0]} {' '.join(args[1:4])} … failed ({done.returncode}): "
                + done.stderr.decode(errors="replace")[-2000:]
            )
    return best


def openssl_cms(
    work: Path, payload: Path, certs: Sequence[Path], label: str, out_name: str, repeat: int
) -> Peer:
    """`openssl cms -encrypt` to every certificate; AES-256-GCM, or AES-256-CBC if refused."""
    out = work / out_name
    base = ["openssl", "cms", "-encrypt", "-binary", "-in", str(payload), "-outform", "DER"]
    names = [os.path.relpath(c, work) for c in certs]
    for cipher in ("-aes-256-gcm", "-aes256"):
        try:
            seconds = run_timed([*base, "-out", str(out), cipher, *names], work, repeat)
        except RuntimeError as exc:
            if cipher == "-aes256":
                raise
            print(f"  {label}: -aes-256-gcm refused, using -aes256: {exc}", file=sys.stderr)
            continue
        return Peer(label, seconds, out.stat().st_size, cipher.lstrip("-"))
    raise AssertionError("unreachable")


def openssl_decrypts(work: Path, out_name: str, cert: Path, key: Path, payload: Path) -> bool:
    """Untimed check that one recipient can open the peer's output."""
    plain = work / "openssl-check.bin"
    done = subprocess.run(
        [
            "openssl",
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(work / out_name),
            "-recip",
            str(cert),
            "-inkey",
            str(key),
            "-out",
            str(plain),
        ],
        capture_output=True,
        check=False,
    )
    ok = done.returncode == 0 and plain.read_bytes() == payload.read_bytes()
    plain.unlink(missing_ok=True)
    return ok


def gpg_encrypt(work: Path, payload: Path, count: int, repeat: int) -> tuple[Peer, bool]:
    home, fingerprints = gpg_keyring(count)
    out = work / "out.gpg"
    recipients = [arg for fpr in fingerprints for arg in ("-r", fpr)]
    try:
        # Start the agent and warm the keyring's page cache outside the timing.
        _gpg(home, "--list-keys", fingerprints[0])
        seconds = run_timed(
            [
                "gpg",
                "--homedir",
                str(home),
                "--batch",
                "--yes",
                "--quiet",
                "--trust-model",
                "always",
                "--output",
                str(out),
                "--encrypt",
                *recipients,
                str(payload),
            ],
            work,
            repeat,
        )
        plain = _gpg(home, "--decrypt", str(out)).stdout
    finally:
        stop_gpg_agent(home)
    return Peer("gpg --encrypt", seconds, out.stat().st_size, "ECDH nistp256"), plain == (
        payload.read_bytes()
    )


# ----------------------------------------------------------------------------- ours


def prepare_people() -> None:
    """A clerk and a commander in every commune board, as a deployment has, so that taking a
    broadcast in also makes the reminders (the clerks register; Hỏa tốc: the commanders)."""
    from tiendon.units.models import Person, Role, Unit, UnitKind

    if Person.objects.filter(username__startswith="vt.").exists():
        return
    boards = Unit.objects.filter(kind=UnitKind.COMMUNE_BOARD)
    people = []
    for unit in boards:
        for role, prefix in ((Role.CLERK, "vt"), (Role.COMMANDER, "ch")):
            person = Person(
                username=f"{prefix}.{unit.code}",
                full_name=f"{prefix} {unit.name}",
                unit=unit,
                role=role,
            )
            person.set_unusable_password()
            people.append(person)
    Person.objects.bulk_create(people, batch_size=1000)


def prepare_units() -> float:
    from django.core.management import call_command

    from tiendon.pki.actions import do_init_pki, issue_missing_unit_keys
    from tiendon.pki.models import CertificateAuthority
    from tiendon.units.models import Unit
    from tiendon.units.seed import seed_units

    start = time.perf_counter()
    call_command("migrate", verbosity=0)
    if not Unit.objects.exists():
        seed_units()
    if not CertificateAuthority.objects.exists():
        do_init_pki()
    issue_missing_unit_keys()
    return time.perf_counter() - start


def engine_wraps(items: Sequence[tuple[str, bytes]], parallel: bool) -> tuple[float, list[bytes]]:
    """The wraps alone, as `envelope.seal` makes them: one core, or over its process pool."""
    import secrets
    import uuid

    from tiendon.exchange import envelope

    jobs = [(code, envelope.key_id(der), envelope.recipient_spki(der)) for code, der in items]
    key = secrets.token_bytes(32)
    binding = envelope.Binding(str(uuid.uuid4()), "BQP", "none")
    start = time.perf_counter()
    if parallel:
        wraps = envelope.wrap_all(key, binding, jobs)
    else:
        wraps = envelope.wrap_keys(key, binding, jobs)
    return time.perf_counter() - start, wraps


@dataclass
class Ours:
    crypto_s: float
    enqueue_s: float
    size: int
    opened: bool
    ready_s: float


def encryption_certificates(units: Sequence[Any]) -> dict[str, bytes]:
    from tiendon.pki.models import CertPurpose
    from tiendon.pki.queries import current_certificates

    rows = current_certificates(
        unit__in=units, person=None, purpose=CertPurpose.UNIT_ENCRYPTION
    ).values_list("unit__code", "certificate_der")
    return {code: bytes(der) for code, der in rows}


def engine_seal(payload: bytes, sender: Any, recipients: Sequence[Any], repeat: int) -> float:
    """`envelope.seal` with the sender and the certificates already in memory."""
    from tiendon.exchange import envelope

    ders = encryption_certificates(recipients)
    from tiendon.exchange.actions import sender_for

    who = sender_for(sender)
    listed = [envelope.Recipient(u.code, ders[u.code]) for u in recipients]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        envelope.seal(payload, kind=KIND, sender=who, recipients=listed)
        best = min(best, time.perf_counter() - start)
    return best


def run_ours(payload: bytes, sender: Any, recipients: Sequence[Any]) -> Ours:
    from tiendon.documents.models import IncomingDocument
    from tiendon.exchange import dispatch
    from tiendon.exchange.actions import do_enqueue, seal_for_units

    start = time.perf_counter()
    sealed = seal_for_units(kind=KIND, payload=payload, sender=sender, recipients=recipients)
    crypto = time.perf_counter() - start
    start = time.perf_counter()
    stored = do_enqueue(sealed)
    enqueue = time.perf_counter() - start
    # Then the node's dispatcher, as `tiendon node start` runs it: every recipient's inbox
    # row ready to register (decrypted and checked once for all, one row per board).
    start = time.perf_counter()
    dispatch.run_until_idle()
    ready = time.perf_counter() - start
    rows = IncomingDocument.objects.filter(envelope_id=stored.pk).count()
    assert rows == len(recipients), f"{rows} inbox rows for {len(recipients)} recipients"
    # Untimed: the last recipient opens it with its own key.
    opened = open_check(sealed.data, payload, recipients[-1])
    return Ours(crypto, enqueue, stored.size, opened, ready)


def encryption_key_of(unit: Any) -> tuple[bytes, Any]:
    from tiendon.pki.keystore import SoftwareKeystore
    from tiendon.pki.models import CertPurpose
    from tiendon.pki.queries import current_certificates

    cert = (
        current_certificates(unit=unit, person=None, purpose=CertPurpose.UNIT_ENCRYPTION)
        .select_related("key")
        .get()
    )
    return bytes(cert.certificate_der), SoftwareKeystore().private_key(cert.key)


def open_check(data: bytes, payload: bytes, unit: Any) -> bool:
    from tiendon.exchange import envelope

    der, private = encryption_key_of(unit)
    parsed = envelope.parse(data, check_sender=lambda cert, chain: None)
    return envelope.open_for(parsed, recipient=unit.code, keys={envelope.key_id(der): private}) == (
        payload
    )


# ----------------------------------------------------------------------------- main


def fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=None, help="default: all boards")
    parser.add_argument("--size-mib", type=float, default=2.0)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="report the best of N runs")
    parser.add_argument(
        "--people", action="store_true", help="a clerk and a commander in every commune board"
    )
    options = parser.parse_args()

    start_django("bench-broadcast")
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from django.db import connection

    from tiendon.units.models import Unit, UnitKind

    prepared = prepare_units()
    if options.people:
        prepare_people()
    repeat = max(1, options.repeat)
    sender = Unit.objects.filter(kind=UnitKind.MINISTRY).order_by("code").first()
    boards = Unit.objects.filter(kind=UnitKind.COMMUNE_BOARD).order_by("code")
    recipients = list(boards[: options.recipients] if options.recipients else boards)
    count = len(recipients)
    assert sender is not None
    assert count > 0
    from tiendon.documents.pdf import container

    # A document's payload as issuing packs it: its metadata and a PDF of the size asked
    # (random bytes: the signatures' verification, ~0.2 s once per envelope, is not in it).
    payload = container.pack_document(
        {"identifier": "bench", "type": "CT", "subject": "Chỉ thị về công tác sẵn sàng"},
        b"%PDF-1.7\n" + os.urandom(int(options.size_mib * 1024 * 1024)),
    )
    print(
        f"engine: {connection.vendor}; {count} commune boards; payload {len(payload):,} B; "
        f"setup (seed, PKI, keys; untimed) {prepared:.0f} s",
        flush=True,
    )

    # Ours: warm the imports and the connection, then the timed run.
    run_ours(container.pack_document({"subject": "warm-up"}, b"%PDF-1.7\n"), sender, recipients[:2])
    runs = [run_ours(payload, sender, recipients) for _ in range(repeat)]
    ours = Ours(
        crypto_s=min(r.crypto_s for r in runs),
        enqueue_s=min(r.enqueue_s for r in runs),
        size=runs[0].size,
        opened=all(r.opened for r in runs),
        ready_s=min(r.ready_s for r in runs),
    )
    total = ours.crypto_s + ours.enqueue_s

    # Engine: the wraps alone, on one core and over envelope.py's process pool.
    ders = encryption_certificates(recipients)
    items = [(u.code, ders[u.code]) for u in recipients]
    seal_mem = engine_seal(payload, sender, recipients, repeat)
    wraps_seq = min(engine_wraps(items, False)[0] for _ in range(repeat))
    timed = [engine_wraps(items, True) for _ in range(repeat)]  # the pool is warm by now
    wraps_par = min(t for t, _ in timed)
    assert len(timed[0][1]) == count

    peers: list[Peer] = []
    checks: dict[str, bool] = {"ours_opens": ours.opened}
    if not options.skip_peers:
        with tempfile.TemporaryDirectory(prefix="tiendon-bench-peers-") as tmp:
            work = Path(tmp)
            data = work / "payload.bin"
            data.write_bytes(payload)
            ec_dir = work / "ec"
            ec_dir.mkdir()
            ec_paths = []
            for i, (_, der) in enumerate(items):
                path = ec_dir / f"{i:05d}.pem"
                pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
                path.write_bytes(pem)
                ec_paths.append(path)
            peer = openssl_cms(work, data, ec_paths, "openssl cms, EC P-256", "out-ec.der", repeat)
            peers.append(peer)
            _, private = encryption_key_of(recipients[-1])
            key_path = work / "ec-last.key"
            key_path.write_bytes(
                private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            checks["openssl_ec_opens"] = openssl_decrypts(
                work, "out-ec.der", ec_paths[-1], key_path, data
            )
            rsa_paths = rsa_certificates(count)
            peers.append(
                openssl_cms(work, data, rsa_paths, "openssl cms, RSA-2048", "out-rsa.der", repeat)
            )
            checks["openssl_rsa_opens"] = openssl_decrypts(
                work, "out-rsa.der", rsa_paths[-1], rsa_paths[-1].with_suffix(".key"), data
            )
            gpg_peer, checks["gpg_opens"] = gpg_encrypt(work, data, count, repeat)
            peers.append(gpg_peer)

    size = len(payload)
    per_recipient = (ours.size - size) / count
    rows: list[tuple[str, str, str, str]] = [
        ("ours: crypto (seal_for_units)", fmt_s(ours.crypto_s), "", ""),
        ("ours: enqueue (do_enqueue)", fmt_s(ours.enqueue_s), "", ""),
        ("ours: every inbox row ready (dispatcher)", fmt_s(ours.ready_s), "", ""),
        ("ours: total", fmt_s(total), f"{ours.size:,}", f"{per_recipient:.1f}"),
        ("  engine: envelope.seal, certs in memory", fmt_s(seal_mem), "", ""),
        ("  engine: HPKE wraps alone, 1 core", fmt_s(wraps_seq), "", ""),
        ("  engine: HPKE wraps, 2 processes", fmt_s(wraps_par), "", ""),
    ]
    for peer in peers:
        rows.append(
            (
                f"{peer.name} ({peer.note})",
                fmt_s(peer.seconds),
                f"{peer.size:,}",
                f"{(peer.size - size) / count:.1f}",
            )
        )
    print(
        f"best of {repeat} runs; "
        f"load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    print(f"{'':<44}{'time':>10}{'bytes':>14}{'B/recipient':>13}")
    for name, seconds, stored, overhead in rows:
        print(f"{name:<44}{seconds:>10}{stored:>14}{overhead:>13}")
    print("decryption checks (untimed): " + ", ".join(f"{k}={v}" for k, v in checks.items()))

    by_name = {p.name: p for p in peers}
    openssl_ec = by_name.get("openssl cms, EC P-256")
    result: dict[str, Any] = {
        "bench": "broadcast",
        "engine": connection.vendor,
        "recipients": count,
        "repeat": repeat,
        "people_per_board": 2 if options.people else 0,
        "loadavg_1min": round(os.getloadavg()[0], 2),
        "payload_bytes": size,
        "ours_crypto_s": round(ours.crypto_s, 3),
        "ours_enqueue_s": round(ours.enqueue_s, 3),
        "ours_total_s": round(total, 3),
        "ours_inbox_ready_s": round(ours.ready_s, 3),
        "ours_bytes": ours.size,
        "ours_per_recipient_bytes": round(per_recipient, 1),
        "engine_seal_in_memory_s": round(seal_mem, 3),
        "engine_wraps_1core_s": round(wraps_seq, 3),
        "engine_wraps_2proc_s": round(wraps_par, 3),
        "peers": {
            p.name: {
                "s": round(p.seconds, 3),
                "bytes": p.size,
                "per_recipient_bytes": round((p.size - size) / count, 1),
                "cipher": p.note,
            }
            for p in peers
        },
        "vs_openssl_ec_ratio": (
            round(total / openssl_ec.seconds, 3) if openssl_ec is not None else None
        ),
        "checks": checks,
        "goal": GOAL,
    }
    result["goal_met"] = (
        total < GOAL["total_s_max"]
        and per_recipient < GOAL["per_recipient_bytes_max"]
        and (
            result["vs_openssl_ec_ratio"] is None
            or result["vs_openssl_ec_ratio"] < GOAL["vs_openssl_ec_max_ratio"]
        )
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
