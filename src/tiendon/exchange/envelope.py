"""Envelope v1: one encryption of the payload, one HPKE wrap per recipient unit, a signed
manifest. The byte format is specified in docs/envelope.md; this module is its reference
implementation and knows nothing of the database.

    "TDE1" | u32 len | JWS (ES256, compact; payload = manifest JSON)
           | u32 len | wraps block
           | AES-256-GCM ciphertext of the payload (tag included)

The manifest carries the SHA-256 of the wraps block and of the ciphertext, so the signature
covers every byte. A relay checks the signature and both hashes; only a recipient holding
an encryption key named in a wrap can open the content key.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import re
import secrets
import struct
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)

from tiendon.errors import TiendonError

MAGIC = b"TDE1"
VERSION = 1
SUITE = "A256GCM;HPKE-P256-HKDF-SHA256-A256GCM;ES256"
KID_BYTES = 16
KIND_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_ENVELOPE_BYTES = 64 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
MAX_WRAPS = 10_000
HPKE_SUITE = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
# enc (65-byte uncompressed P-256 point) + sealed 32-byte key + 16-byte tag
WRAP_CIPHERTEXT_BYTES = 65 + 32 + 16

PRECEDENCES = ("thuong", "khan", "thuong_khan", "hoa_toc")  # routine … flash (Hỏa tốc)
SECURITY_LABELS = ("none", "mat", "toi_mat", "tuyet_mat")


class EnvelopeError(TiendonError):
    """An envelope is refused. `code` names the reason (docs/envelope.md lists them)."""

    code = "envelope_refused"


def _refuse(code: str, message: str) -> EnvelopeError:
    return EnvelopeError(message, code=code)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_decode(text: str) -> bytes:
    """Strict: the standard decoder skips stray characters, which would make input malleable."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text):
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id(certificate_der: bytes) -> bytes:
    """How a wrap names the recipient's encryption certificate: SHA-256 of its DER, cut."""
    return hashlib.sha256(certificate_der).digest()[:KID_BYTES]


BOUND_FIELDS = ("id", "kind", "sender", "precedence", "security", "created", "expires")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Binding:
    """What every wrap's HPKE `info` binds: a wrap cannot move to another envelope, another
    recipient, another key, or an envelope relabelled by someone else (sender, security)."""

    envelope_id: str
    sender: str
    security: str


def hpke_info(binding: Binding, recipient: str, kid: bytes) -> bytes:
    parts = [b"tiendon-envelope-v1", binding.envelope_id.encode(), recipient.encode(), kid]
    return b"\x00".join([*parts, binding.sender.encode(), binding.security.encode()])


def content_aad(manifest: Mapping[str, Any]) -> bytes:
    """The payload's AES-GCM associated data: the manifest fields that say what it is, so a
    re-signed manifest with another sender, label or kind no longer opens the payload."""
    return MAGIC + canonical_json({k: manifest[k] for k in BOUND_FIELDS})


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def raw_signature(der: bytes) -> bytes:
    """DER ECDSA → JWS r‖s, in low-S form: (r, n−s) also verifies, so only one of the two
    is ever produced or accepted, and a copy cannot be told apart by its signature bytes."""
    r, s = decode_dss_signature(der)
    if s > P256_ORDER // 2:
        s = P256_ORDER - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def der_signature(raw: bytes) -> bytes:
    """JWS r‖s → DER; refuses high-S (see `raw_signature`)."""
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    if len(raw) != 64 or s > P256_ORDER // 2:
        raise ValueError("not a low-S P-256 signature")
    return encode_dss_signature(r, s)


# ----------------------------------------------------------------------------- wraps block


@dataclass(frozen=True)
class Wrap:
    recipient: str  # unit code
    kid: bytes  # key_id() of the recipient's encryption certificate
    sealed: bytes  # HPKE ciphertext of the content key (enc ‖ ct)


def encode_wraps(wraps: Iterable[Wrap]) -> bytes:
    parts = []
    for wrap in wraps:
        code = wrap.recipient.encode()
        if not 0 < len(code) < 256 or len(wrap.kid) != KID_BYTES:
            raise ValueError(f"bad wrap for {wrap.recipient!r}")
        if len(wrap.sealed) != WRAP_CIPHERTEXT_BYTES:
            raise ValueError("wrap ciphertext has the wrong length")
        parts.append(bytes([len(code)]) + code + wrap.kid + wrap.sealed)
    return b"".join(parts)


def decode_wraps(block: bytes) -> list[Wrap]:
    wraps, offset = [], 0
    while offset < len(block):
        size = block[offset]
        end = offset + 1 + size + KID_BYTES + WRAP_CIPHERTEXT_BYTES
        if size == 0 or end > len(block):
            raise _refuse("malformed", "the wraps block is cut short or has an empty recipient")
        try:
            code = block[offset + 1 : offset + 1 + size].decode("ascii")
        except UnicodeDecodeError as exc:
            raise _refuse("malformed", "a recipient code is not ASCII") from exc
        kid_start = offset + 1 + size
        wraps.append(
            Wrap(code, block[kid_start : kid_start + KID_BYTES], block[kid_start + KID_BYTES : end])
        )
        offset = end
        if len(wraps) > MAX_WRAPS:
            raise _refuse("oversized", f"more than {MAX_WRAPS} recipients")
    return wraps


# ----------------------------------------------------------------------------- sealing


@dataclass(frozen=True)
class Recipient:
    code: str
    certificate_der: bytes  # the unit's current encryption certificate


@dataclass(frozen=True)
class Sender:
    code: str
    certificate_der: bytes  # the unit's signing certificate
    # Issuing CA and above, carried after the certificate if given (readers ignore them);
    # this node's own senders give none (`actions.sender_for`).
    chain_der: tuple[bytes, ...]
    sign: Callable[[bytes], bytes]  # ECDSA-SHA256 over the bytes, DER (a keystore's sign)


@dataclass(frozen=True)
class Sealed:
    envelope_id: str
    data: bytes  # the whole envelope, as stored and sent
    manifest: dict[str, Any]


def recipient_spki(certificate_der: bytes) -> bytes:
    public = x509.load_der_x509_certificate(certificate_der).public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise ValueError("recipient encryption keys are EC P-256 (docs/adr/0004)")
    return public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


WrapJob = tuple[str, bytes, bytes]  # recipient code, kid, SubjectPublicKeyInfo DER


def wrap_keys(content_key: bytes, binding: Binding, jobs: list[WrapJob]) -> list[bytes]:
    """HPKE-seal the content key to each recipient (top level: runs in helper processes)."""
    out = []
    for code, kid, spki in jobs:
        public = load_der_public_key(spki)
        assert isinstance(public, ec.EllipticCurvePublicKey)
        out.append(HPKE_SUITE.encrypt(content_key, public, info=hpke_info(binding, code, kid)))
    return out


# pyca's HPKE holds the GIL, so a large broadcast spreads its wraps over processes: a small
# pool of crypto-only workers (spawned, so they inherit no database connection), the caller
# taking a share itself. Below PARALLEL_FROM recipients the pool is not worth its IPC.
PARALLEL_FROM = 256
_WORKERS = (os.cpu_count() or 1) - 1
_pool: ProcessPoolExecutor | None = None


def _wrap_pool() -> ProcessPoolExecutor | None:
    global _pool
    if _WORKERS < 1:
        return None
    if _pool is None:
        _pool = ProcessPoolExecutor(_WORKERS, mp_context=multiprocessing.get_context("spawn"))
    return _pool


def wrap_all(content_key: bytes, binding: Binding, jobs: list[WrapJob]) -> list[bytes]:
    pool = _wrap_pool() if len(jobs) >= PARALLEL_FROM else None
    if pool is None:
        return wrap_keys(content_key, binding, jobs)
    shares = _WORKERS + 1
    size = -(-len(jobs) // shares)
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    try:
        futures = [pool.submit(wrap_keys, content_key, binding, c) for c in chunks[1:]]
    except (BrokenProcessPool, RuntimeError):
        return wrap_keys(content_key, binding, jobs)
    mine = wrap_keys(content_key, binding, chunks[0])
    try:
        theirs = [f.result() for f in futures]
    except BrokenProcessPool:
        # A worker died (killed, out of memory): do its share here rather than fail the send.
        theirs = [wrap_keys(content_key, binding, c) for c in chunks[1:]]
    return mine + [sealed for chunk in theirs for sealed in chunk]


# A commune may be cut off for a week: what is not delivered in two weeks is reported.
DEFAULT_LIFETIME = dt.timedelta(days=14)


def seal(
    payload: bytes,
    *,
    kind: str,
    sender: Sender,
    recipients: Iterable[Recipient],
    precedence: str = "thuong",
    security: str = "none",
    lifetime: dt.timedelta = DEFAULT_LIFETIME,
    now: dt.datetime | None = None,
    envelope_id: str | None = None,
) -> Sealed:
    """Encrypt `payload` once, wrap its key for each recipient, sign the manifest."""
    if precedence not in PRECEDENCES:
        raise ValueError(f"precedence must be one of {PRECEDENCES}")
    if security not in SECURITY_LABELS:
        raise ValueError(f"security label must be one of {SECURITY_LABELS}")
    if not KIND_PATTERN.fullmatch(kind):
        raise ValueError("kind: 1-64 of a-z, 0-9, '.', '_', '-'")
    envelope_id = envelope_id or str(uuid.uuid4())
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    described = {
        "id": envelope_id,
        "kind": kind,
        "sender": sender.code,
        "precedence": precedence,
        "security": security,
        "created": now.strftime(TIME_FORMAT),
        "expires": (now + lifetime).strftime(TIME_FORMAT),
    }
    content_key = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(12)
    ciphertext = AESGCM(content_key).encrypt(nonce, payload, content_aad(described))
    unique: dict[str, Recipient] = {}
    for recipient in recipients:
        unique.setdefault(recipient.code, recipient)
    jobs = [
        (r.code, key_id(r.certificate_der), recipient_spki(r.certificate_der))
        for r in unique.values()
    ]
    binding = Binding(envelope_id, sender.code, security)
    wraps = [
        Wrap(code, kid, sealed_key)
        for (code, kid, _spki_der), sealed_key in zip(
            jobs, wrap_all(content_key, binding, jobs), strict=True
        )
    ]
    if not wraps:
        raise ValueError("an envelope needs at least one recipient")
    wraps_block = encode_wraps(wraps)
    manifest = {
        **described,
        "v": VERSION,
        "recipients": len(wraps),
        "suite": SUITE,
        "nonce": b64url(nonce),
        "wraps_sha256": hashlib.sha256(wraps_block).hexdigest(),
        "ct_sha256": hashlib.sha256(ciphertext).hexdigest(),
        "ct_len": len(ciphertext),
    }
    header = {
        "alg": "ES256",
        "typ": "tiendon-envelope+jws",
        "x5c": [base64.b64encode(d).decode() for d in (sender.certificate_der, *sender.chain_der)],
    }
    signing_input = b64url(canonical_json(header)) + "." + b64url(canonical_json(manifest))
    jws = signing_input + "." + b64url(raw_signature(sender.sign(signing_input.encode("ascii"))))
    data = b"".join(
        [
            MAGIC,
            struct.pack(">I", len(jws)),
            jws.encode("ascii"),
            struct.pack(">I", len(wraps_block)),
            wraps_block,
            ciphertext,
        ]
    )
    return Sealed(envelope_id=envelope_id, data=data, manifest=manifest)


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Parsed:
    """An envelope whose signature and hashes were checked (the sender's certificate too,
    through the `check_sender` given to `parse`)."""

    manifest: Mapping[str, Any]
    sender_certificate_der: bytes
    chain_der: tuple[bytes, ...]
    wraps: tuple[Wrap, ...]
    ciphertext: bytes
    size: int

    @property
    def envelope_id(self) -> str:
        return str(self.manifest["id"])

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(w.recipient for w in self.wraps)


def _frame(data: bytes) -> tuple[bytes, bytes, bytes]:
    if not isinstance(data, bytes | bytearray):
        raise _refuse("malformed", "an envelope is bytes")
    if len(data) > MAX_ENVELOPE_BYTES:
        raise _refuse("oversized", f"envelope larger than {MAX_ENVELOPE_BYTES} bytes")
    if len(data) < 12 or data[:4] != MAGIC:
        raise _refuse("malformed", "not a Tiền Đồn v1 envelope (magic 'TDE1' missing)")
    (jws_len,) = struct.unpack(">I", data[4:8])
    if jws_len > MAX_HEADER_BYTES:
        raise _refuse("oversized", f"signed manifest larger than {MAX_HEADER_BYTES} bytes")
    if 8 + jws_len + 4 > len(data):
        raise _refuse("malformed", "the signed manifest's length is out of bounds")
    jws = bytes(data[8 : 8 + jws_len])
    (wraps_len,) = struct.unpack(">I", data[8 + jws_len : 12 + jws_len])
    wraps_start = 12 + jws_len
    if wraps_start + wraps_len > len(data):
        raise _refuse("malformed", "the wraps block's length is out of bounds")
    return (
        jws,
        bytes(data[wraps_start : wraps_start + wraps_len]),
        bytes(data[wraps_start + wraps_len :]),
    )


def _json_part(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(part))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise _refuse("malformed", f"the {what} is not base64url JSON") from exc
    if not isinstance(value, dict):
        raise _refuse("malformed", f"the {what} is not a JSON object")
    return value


_MANIFEST_TYPES: dict[str, type | tuple[type, ...]] = {
    "v": int,
    "id": str,
    "kind": str,
    "sender": str,
    "recipients": int,
    "precedence": str,
    "security": str,
    "created": str,
    "expires": str,
    "suite": str,
    "nonce": str,
    "wraps_sha256": str,
    "ct_sha256": str,
    "ct_len": int,
}


def _check_manifest(manifest: dict[str, Any]) -> None:
    for name, kind in _MANIFEST_TYPES.items():
        if not isinstance(manifest.get(name), kind) or isinstance(manifest.get(name), bool):
            raise _refuse("malformed", f"manifest field {name!r} is missing or of the wrong type")
    if manifest["v"] != VERSION or manifest["suite"] != SUITE:
        raise _refuse("unsupported", "unknown envelope version or suite")
    if not KIND_PATTERN.fullmatch(manifest["kind"]):
        raise _refuse("malformed", "the payload kind is not of the documented form")
    try:
        if str(uuid.UUID(manifest["id"])) != manifest["id"]:
            raise ValueError("the id is not a lower-case hyphenated UUID")
        for name in ("created", "expires"):
            manifest_time(manifest[name])
        if len(b64url_decode(manifest["nonce"])) != 12:
            raise ValueError("nonce")
    except (ValueError, binascii.Error) as exc:
        raise _refuse("malformed", "manifest id, times or nonce are malformed") from exc
    if manifest["precedence"] not in PRECEDENCES or manifest["security"] not in SECURITY_LABELS:
        raise _refuse("malformed", "unknown precedence or security label")


_TIME_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)


def manifest_time(value: str) -> dt.datetime:
    """A manifest time (TIME_FORMAT, UTC); ValueError if it is not exactly that. Read by
    hand: `strptime` was a tenth of the cost of accepting an envelope."""
    if not _TIME_PATTERN.fullmatch(value):
        raise ValueError(f"not a time of the form {TIME_FORMAT}: {value!r}")
    return dt.datetime(
        int(value[0:4]),
        int(value[5:7]),
        int(value[8:10]),
        int(value[11:13]),
        int(value[14:16]),
        int(value[17:19]),
        tzinfo=dt.UTC,
    )


def expires_at(manifest: Mapping[str, Any]) -> dt.datetime:
    return manifest_time(manifest["expires"])


_Signer = tuple[tuple[bytes, ...], "ec.EllipticCurvePublicKey | EnvelopeError"]
# A node receives thousands of envelopes from the same sender, each with the same header:
# what the header yields (certificates and the signing key) is read once per distinct
# header text. Only reading is saved: the signature is verified on every envelope, and
# the certificate judged by `check_sender` (which remembers acceptances on its own terms).
_SIGNERS_MAX = 256
_signers: dict[str, _Signer] = {}


def _signer(header_part: str) -> _Signer:
    """The certificates of a JWS header and the first one's P-256 key (or why that key
    cannot verify: raised after the signature's own form is checked, as before)."""
    known = _signers.get(header_part)
    if known is not None:
        return known
    header = _json_part(header_part, "JWS header")
    if header.get("alg") != "ES256" or header.get("typ") != "tiendon-envelope+jws":
        raise _refuse("unsupported", "the manifest is not signed with ES256")
    chain = header.get("x5c")
    if not isinstance(chain, list) or not chain or not all(isinstance(c, str) for c in chain):
        raise _refuse("malformed", "the JWS header carries no sender certificate")
    try:
        certs = tuple(base64.b64decode(c, validate=True) for c in chain)
        sender_cert = x509.load_der_x509_certificate(certs[0])
    except Exception as exc:  # pyca raises several types for malformed DER
        raise _refuse("malformed", "the sender certificate is not valid DER") from exc
    public: ec.EllipticCurvePublicKey | EnvelopeError
    try:
        key = sender_cert.public_key()
    except Exception:  # pyca reads keys lazily, with several error types
        public = _refuse("malformed", "the sender certificate's key cannot be read")
    else:
        if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
            public = key
        else:
            public = _refuse("bad_signature", "ES256 needs a P-256 signing key")
    if len(_signers) >= _SIGNERS_MAX:
        _signers.clear()
    _signers[header_part] = (certs, public)
    return certs, public


def parse(
    data: bytes,
    *,
    check_sender: Callable[[bytes, tuple[bytes, ...]], None],
    now: dt.datetime | None = None,
) -> Parsed:
    """Check framing, signature, hashes and expiry; what any node (relay or not) may do.

    `check_sender(certificate_der, chain_der)` validates the sender's certificate (path,
    key usage, revocation) and raises on refusal.
    """
    jws, wraps_block, ciphertext = _frame(data)
    try:
        text = jws.decode("ascii")
    except UnicodeDecodeError as exc:
        raise _refuse("malformed", "the signed manifest is not ASCII") from exc
    parts = text.split(".")
    if len(parts) != 3:
        raise _refuse("malformed", "the signed manifest is not a compact JWS")
    certs, public = _signer(parts[0])
    try:
        raw = b64url_decode(parts[2])
    except (ValueError, binascii.Error) as exc:
        raise _refuse("bad_signature", "the signature is not base64url") from exc
    if isinstance(public, EnvelopeError):
        raise _refuse(public.code, public.message)
    try:
        signature = der_signature(raw)
    except ValueError as exc:
        raise _refuse("bad_signature", "the signature is not a low-S ES256 signature") from exc
    try:
        public.verify(signature, (parts[0] + "." + parts[1]).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise _refuse("bad_signature", "the manifest's signature does not verify") from exc
    # Only signed bytes are interpreted from here on.
    manifest = _json_part(parts[1], "manifest")
    _check_manifest(manifest)
    check_sender(certs[0], certs[1:])
    if hashlib.sha256(wraps_block).hexdigest() != manifest["wraps_sha256"]:
        raise _refuse("wraps_mismatch", "the wraps block does not match the signed manifest")
    if (
        hashlib.sha256(ciphertext).hexdigest() != manifest["ct_sha256"]
        or len(ciphertext) != manifest["ct_len"]
    ):
        raise _refuse("ciphertext_mismatch", "the ciphertext does not match the signed manifest")
    wraps = decode_wraps(wraps_block)
    if len(wraps) != manifest["recipients"] or len({w.recipient for w in wraps}) != len(wraps):
        raise _refuse("malformed", "the wraps do not match the recipient count")
    if expires_at(manifest) < (now or dt.datetime.now(dt.UTC)):
        raise _refuse("expired", f"the envelope expired at {manifest['expires']}")
    return Parsed(
        manifest=manifest,
        sender_certificate_der=certs[0],
        chain_der=certs[1:],
        wraps=tuple(wraps),
        ciphertext=ciphertext,
        size=len(data),
    )


def parse_stored(data: bytes) -> Parsed:
    """An envelope this node verified with `parse` when it arrived, read again to open it.

    The caller has checked the bytes against the SHA-256 recorded when they were verified
    (`exchange.queries.decrypt_for_unit`), so the signature, the sender's certificate and the
    hashes are not checked a second time: an envelope is verified once per node it crosses.
    Opening still authenticates the content (AES-256-GCM under a key unwrapped by HPKE, bound
    to this envelope and recipient)."""
    jws, wraps_block, ciphertext = _frame(data)
    parts = jws.decode("ascii").split(".")
    if len(parts) != 3:
        raise _refuse("malformed", "the signed manifest is not a compact JWS")
    certs, _public = _signer(parts[0])
    manifest = _json_part(parts[1], "manifest")
    return Parsed(
        manifest=manifest,
        sender_certificate_der=certs[0],
        chain_der=certs[1:],
        wraps=tuple(decode_wraps(wraps_block)),
        ciphertext=ciphertext,
        size=len(data),
    )


def _binding(manifest: Mapping[str, Any]) -> Binding:
    return Binding(str(manifest["id"]), str(manifest["sender"]), str(manifest["security"]))


def open_for(
    parsed: Parsed,
    *,
    recipient: str,
    keys: Mapping[bytes, ec.EllipticCurvePrivateKey],
) -> bytes:
    """Decrypt for one recipient unit, given its encryption keys by key id (old ones too)."""
    wrap = next((w for w in parsed.wraps if w.recipient == recipient), None)
    if wrap is None:
        raise _refuse("not_a_recipient", f"{recipient} is not a recipient of this envelope")
    private = keys.get(wrap.kid)
    if private is None:
        raise _refuse("no_key", f"{recipient} holds no key {wrap.kid.hex()} named by its wrap")
    try:
        content_key = HPKE_SUITE.decrypt(
            wrap.sealed, private, info=hpke_info(_binding(parsed.manifest), recipient, wrap.kid)
        )
    except (InvalidTag, ValueError) as exc:
        raise _refuse("unwrap_failed", "the content key cannot be unwrapped") from exc
    try:
        return AESGCM(content_key).decrypt(
            b64url_decode(parsed.manifest["nonce"]),
            parsed.ciphertext,
            content_aad(parsed.manifest),
        )
    except (InvalidTag, ValueError) as exc:
        raise _refuse("decrypt_failed", "the payload does not decrypt") from exc
