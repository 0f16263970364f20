"""`tiendon pki …` as an operator runs it: bulk issuance, export, openssl, revocation."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.cli

TIENDON = str(Path(sys.executable).with_name("tiendon"))
PASSPHRASE = "mật khẩu gốc ngoại tuyến"
COMMUNE = "15853"  # Phường Đông Tiến, Thanh Hóa


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """A node with its own SQLite database: units seeded, PKI initialised, root key offline."""
    base = tmp_path_factory.mktemp("node")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["TIENDON_DATA_DIR"] = str(base / "data")
    (base / "passphrase").write_text(PASSPHRASE)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [TIENDON, *args], env=env, capture_output=True, text=True, timeout=300
        )
        if check and result.returncode != 0:
            raise AssertionError(f"tiendon {' '.join(args)} failed:\n{result.stderr}")
        return result

    run("migrate", "-v0")
    run("seed-units")
    run(
        "pki",
        "init",
        "--root-key-out",
        str(base / "offline"),
        "--passphrase-file",
        str(base / "passphrase"),
    )
    return {"base": base, "env": env, "run": run, "db": base / "data" / "tiendon.sqlite3"}


def _counts(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        certs = conn.execute("SELECT count(*) FROM pki_certificate").fetchone()[0]
        units = conn.execute("SELECT count(DISTINCT unit_id) FROM pki_certificate").fetchone()[0]
    return certs, units


def test_issue_units_killed_half_way_then_rerun_issues_only_what_is_missing(node):
    with sqlite3.connect(node["db"]) as conn:
        total_units = conn.execute("SELECT count(*) FROM units_unit").fetchone()[0]
    proc = subprocess.Popen(
        [TIENDON, "pki", "issue-units", "--all", "--batch-size", "100"],
        env=node["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        certs, _units = _counts(node["db"])
        if certs >= 600:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    certs, units = _counts(node["db"])
    assert 0 < units < total_units, "the run should have been cut half-way"
    assert certs == 2 * units  # whole batches only: no key without its certificate
    with sqlite3.connect(node["db"]) as conn:
        orphans = conn.execute(
            "SELECT count(*) FROM pki_storedkey k LEFT JOIN pki_certificate c ON c.key_id = k.id "
            "LEFT JOIN pki_certificateauthority a ON a.key_id = k.id "
            "WHERE c.id IS NULL AND a.id IS NULL"
        ).fetchone()[0]
    assert orphans == 0

    rerun = node["run"]("pki", "issue-units", "--all")
    assert f"issued keys and certificates for {total_units - units} units" in rerun.stdout
    certs, units = _counts(node["db"])
    assert units == total_units
    assert certs == 2 * total_units  # nothing issued twice


def _openssl_verify(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "openssl",
            "verify",
            "-crl_check",
            "-CAfile",
            str(folder / "chain.pem"),
            "-CRLfile",
            str(folder / "crl.pem"),
            str(folder / "cert.pem"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_openssl_accepts_an_exported_certificate_and_rejects_it_once_revoked(node):
    node["run"]("pki", "issue-units", "--all")
    before = node["base"] / "export-before"
    node["run"]("pki", "export", "--unit", COMMUNE, "--out", str(before))
    accepted = _openssl_verify(before)
    assert accepted.returncode == 0, accepted.stderr + accepted.stdout
    assert "cert.pem: OK" in accepted.stdout

    revoked_out = node["run"]("pki", "revoke", "--unit", COMMUNE, "--reason", "keyCompromise")
    assert "a new CRL is published" in revoked_out.stdout
    # The exported certificate against the CRL published by the revocation:
    after = node["base"] / "export-after"
    after.mkdir()
    (after / "cert.pem").write_bytes((before / "cert.pem").read_bytes())
    (after / "chain.pem").write_bytes((before / "chain.pem").read_bytes())
    node["run"]("pki", "crl", "--out", str(after / "crl.pem"))
    rejected = _openssl_verify(after)
    assert rejected.returncode != 0
    assert "certificate revoked" in (rejected.stdout + rejected.stderr)


def test_root_crl_with_a_wrong_passphrase_is_refused_by_name(node):
    wrong = node["base"] / "wrong"
    wrong.write_text("không phải mật khẩu")
    refused = node["run"](
        "pki",
        "root-crl",
        "--root-key",
        str(node["base"] / "offline" / "root-key.pem"),
        "--passphrase-file",
        str(wrong),
        check=False,
    )
    assert refused.returncode != 0
    assert "wrong passphrase" in refused.stderr
    assert "[wrong_passphrase]" in refused.stderr
    accepted = node["run"](
        "pki",
        "root-crl",
        "--root-key",
        str(node["base"] / "offline" / "root-key.pem"),
        "--passphrase-file",
        str(node["base"] / "passphrase"),
    )
    assert "root CRL number 2 published" in accepted.stdout


def test_init_twice_is_refused_and_changes_nothing(node):
    again = node["run"]("pki", "init", check=False)
    assert again.returncode != 0
    assert "[already_initialised]" in again.stderr


def test_token_inventory_from_the_command_line(node):
    run = node["run"]
    assert (
        "registered (in stock)" in run("pki", "token-register", "TK-0001", "--label", "USB").stdout
    )
    assert f"issued to {COMMUNE}" in run("pki", "token-issue", "TK-0001", "--unit", COMMUNE).stdout
    elsewhere = run("pki", "token-issue", "TK-0001", "--unit", "38", check=False)
    assert elsewhere.returncode != 0
    assert "TK-0001" in elsewhere.stderr
    assert "[token_already_issued]" in elsewhere.stderr
    assert "reported lost" in run("pki", "token-lost", "TK-0001").stdout


def test_a_second_node_starts_under_the_first_nodes_offline_root(node, tmp_path):
    env = {**node["env"], "TIENDON_DATA_DIR": str(tmp_path / "second")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TIENDON, *args], env=env, capture_output=True, text=True, timeout=300
        )

    assert run("migrate", "-v0").returncode == 0
    offline = node["base"] / "offline"
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    refused = run(
        "pki",
        "init",
        "--root-cert",
        str(bad),
        "--root-key",
        str(offline / "root-key.pem"),
        "--passphrase-file",
        str(node["base"] / "passphrase"),
    )
    assert refused.returncode != 0
    assert "[malformed_certificate]" in refused.stderr
    accepted = run(
        "pki",
        "init",
        "--root-cert",
        str(offline / "root-cert.pem"),
        "--root-key",
        str(offline / "root-key.pem"),
        "--passphrase-file",
        str(node["base"] / "passphrase"),
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "its key was not stored" in accepted.stdout
