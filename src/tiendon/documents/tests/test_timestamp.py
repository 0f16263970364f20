"""RFC 3161 time-stamps: with TIENDON_TSA_URL set, both signatures carry a time-stamp from
the authority (here `openssl ts -reply` behind a small local HTTP handler, its certificate
issued by the node's CA for the time-stamping purpose only)."""

from __future__ import annotations

import datetime as dt
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import Document, NumberCounter
from tiendon.documents.pdf import pades
from tiendon.documents.tests.conftest import in_review
from tiendon.pki.keystore import SoftwareKeystore

pytestmark = pytest.mark.django_db

TS_CONFIG = """
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
serial = {serial}
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.61234.1.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _tsa_certificate(pki, folder: Path) -> None:
    """A time-stamping key and certificate from the node's issuing CA, as PEM files."""
    issuing_cert = x509.load_der_x509_certificate(bytes(pki.issuing.certificate_der))
    issuing_key = SoftwareKeystore().private_key(pki.issuing.key)
    key = ec.generate_private_key(ec.SECP256R1())
    # The same CRL distribution point as the CA's other end-entity certificates.
    template = x509.load_der_x509_certificate(
        bytes(pki.issuing.certificates.first().certificate_der)
    )
    crl_dp = template.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TSA thử nghiệm")]))
        .issuer_name(issuing_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuing_cert.public_key()),
            critical=False,
        )
        .add_extension(crl_dp, critical=False)
        .sign(issuing_key, hashes.SHA256())
    )
    (folder / "tsa.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "chain.pem").write_bytes(issuing_cert.public_bytes(serialization.Encoding.PEM))
    (folder / "tsa.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "serial").write_text("01\n")
    (folder / "ts.cnf").write_text(TS_CONFIG.format(serial=folder / "serial"))


@pytest.fixture
def tsa(pki, board, tmp_path, settings):
    folder = tmp_path / "tsa"
    folder.mkdir()
    _tsa_certificate(pki, folder)
    answered: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers["Content-Length"]))
            (folder / "q.tsq").write_bytes(query)
            subprocess.run(
                [
                    "openssl", "ts", "-reply",
                    "-config", str(folder / "ts.cnf"),
                    "-queryfile", str(folder / "q.tsq"),
                    "-signer", str(folder / "tsa.pem"),
                    "-inkey", str(folder / "tsa.key"),
                    "-chain", str(folder / "chain.pem"),
                    "-out", str(folder / "r.tsr"),
                ],
                check=True,
                capture_output=True,
            )  # fmt: skip
            reply = (folder / "r.tsr").read_bytes()
            answered.append(len(reply))
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.TIENDON_TSA_URL = f"http://127.0.0.1:{server.server_port}/tsa"
    yield answered
    server.shutdown()
    server.server_close()


def test_both_signatures_carry_a_trusted_time_stamp(board, tsa):
    document = do_issue(
        do_sign(in_review(board), board.commander, totp_code=board.code()), board.clerk
    )
    reports = pades.verify(bytes(document.pdf))
    assert len(reports) == 2
    for report in reports:
        assert report.bottom_line
        assert report.timestamp_trusted is True
    assert len(tsa) >= 2  # the authority answered for each signature


def test_without_an_authority_there_is_no_time_stamp(board):
    document = do_sign(in_review(board), board.commander, totp_code=board.code())
    (report,) = pades.verify(bytes(document.pdf))
    assert report.timestamp_trusted is None


def test_an_authority_that_does_not_answer_fails_issuing_cleanly(board, settings):
    import socket

    document = do_sign(in_review(board), board.commander, totp_code=board.code())
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.TIENDON_TSA_URL = f"http://127.0.0.1:{port}/tsa"
    with pytest.raises(DocumentError) as refused:
        do_issue(document, board.clerk)
    assert refused.value.code == "timestamp_failed"
    document.refresh_from_db()
    assert document.state == Document.State.SIGNED
    assert document.number is None
    assert not NumberCounter.objects.filter(last_number__gt=0).exists()
