"""Where private keys live and how they are used: one interface, two backends.

`SoftwareKeystore` keeps PKCS#8 keys in the database encrypted with AES-256-GCM under a
key derived once from the node secret (which lives outside the data folder).
`tiendon.pki.keystore_pkcs11.Pkcs11Keystore` generates signing keys on a token, where
they stay: every signature is made by the token. HPKE decryption keys are software only
(pyca's HPKE needs the private key in memory; see docs/adr/0005-keys-and-keystores.md).
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
from abc import ABC, abstractmethod
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from tiendon.errors import TiendonError
from tiendon.pki.models import KeyAlgorithm, KeystoreKind, StoredKey, Token

logger = logging.getLogger(__name__)

NODE_SECRET_MIN_BYTES = 32
_NONCE_BYTES = 12


class KeystoreError(TiendonError):
    """A key cannot be made or used: missing secret, absent token, wrong PIN, bad data."""

    code = "keystore_error"


class Keystore(ABC):
    """Makes signing keys and signs with them; callers never see where the key is."""

    kind: str

    @abstractmethod
    def generate_signing_key(self, *, label: str, token: Token | None = None) -> StoredKey:
        """A new ECDSA P-256 key, returned unsaved (the caller saves it with its certificate)."""

    @abstractmethod
    def sign(self, key: StoredKey, data: bytes) -> bytes:
        """ECDSA-SHA256 signature of `data`, DER-encoded (as X.509 and CMS expect)."""

    def discard_key(self, key: StoredKey) -> None:  # noqa: B027  (a no-op unless overridden)
        """Forget a key whose certificate could not be issued (a token keeps it otherwise).

        Nothing to do for keys that live only in the unsaved row.
        """

    def public_key(self, key: StoredKey) -> ec.EllipticCurvePublicKey:
        public = serialization.load_der_public_key(bytes(key.public_key_der))
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise KeystoreError(f"key {key.pk} is not an EC key", code="wrong_key_type")
        return public


def _read_node_secret() -> bytes:
    """The node secret, from TIENDON_NODE_SECRET or the file TIENDON_NODE_SECRET_FILE."""
    raw = os.environ.get("TIENDON_NODE_SECRET", "")
    if raw:
        secret = raw.encode()
    else:
        path_text = os.environ.get("TIENDON_NODE_SECRET_FILE", "")
        if not path_text:
            path_text = _demo_secret_file() if settings.DEBUG else ""
        if not path_text:
            raise KeystoreError(
                "no node secret: set TIENDON_NODE_SECRET or TIENDON_NODE_SECRET_FILE "
                "(a file outside the data folder)",
                code="node_secret_missing",
            )
        path = Path(path_text).resolve()
        if path.is_relative_to(Path(settings.DATA_DIR).resolve()):
            raise KeystoreError(
                f"TIENDON_NODE_SECRET_FILE={path} lies inside the data folder; keep it apart, "
                "so a copy of the data alone does not open the keys",
                code="node_secret_in_data_dir",
            )
        try:
            secret = path.read_bytes().strip()
        except OSError as exc:
            raise KeystoreError(
                f"TIENDON_NODE_SECRET_FILE={path} cannot be read: {exc.strerror}",
                code="node_secret_unreadable",
            ) from exc
    if len(secret) < NODE_SECRET_MIN_BYTES:
        raise KeystoreError(
            f"the node secret must be at least {NODE_SECRET_MIN_BYTES} bytes",
            code="node_secret_short",
        )
    return secret


def _demo_secret_file() -> str:
    """The demo generates a node secret beside (not inside) its data folder, and says so."""
    path = Path(settings.DATA_DIR).resolve().parent / f"{Path(settings.DATA_DIR).name}.node-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        logger.warning("demo: generated a node secret in %s; set TIENDON_NODE_SECRET_FILE", path)
    return str(path)


@functools.cache
def _wrapping_key(secret: bytes) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"tiendon-node", info=b"keystore v1 aes-256-gcm"
    ).derive(secret)
    return AESGCM(derived)


class SoftwareKeystore(Keystore):
    kind = KeystoreKind.SOFTWARE

    def __init__(self) -> None:
        self._aead = _wrapping_key(_read_node_secret())

    # Associated data binds a ciphertext to its row: swapping two keys' blobs fails to open.
    @staticmethod
    def _aad(key: StoredKey) -> bytes:
        return f"tiendon-key|{key.pk}|{key.algorithm}".encode()

    def _store(self, algorithm: str, private: ec.EllipticCurvePrivateKey) -> StoredKey:
        key = StoredKey(keystore=self.kind, algorithm=algorithm)
        key.public_key_der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pkcs8 = private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        nonce = secrets.token_bytes(_NONCE_BYTES)
        key.encrypted_private = nonce + self._aead.encrypt(nonce, pkcs8, self._aad(key))
        return key

    def generate_signing_key(self, *, label: str = "", token: Token | None = None) -> StoredKey:
        if token is not None:
            raise KeystoreError("the software keystore has no tokens", code="no_token_here")
        return self._store(KeyAlgorithm.EC_P256_SIGN, ec.generate_private_key(ec.SECP256R1()))

    def generate_hpke_key(self) -> StoredKey:
        return self._store(KeyAlgorithm.EC_P256_HPKE, ec.generate_private_key(ec.SECP256R1()))

    def import_private_key(self, algorithm: str, private: ec.EllipticCurvePrivateKey) -> StoredKey:
        return self._store(algorithm, private)

    def private_key(self, key: StoredKey) -> ec.EllipticCurvePrivateKey:
        """The key itself: for the CA's certificate signing and for HPKE decryption only."""
        if key.keystore != self.kind or key.encrypted_private is None:
            raise KeystoreError(
                f"key {key.pk} is not in the software keystore", code="not_software"
            )
        blob = bytes(key.encrypted_private)
        try:
            pkcs8 = self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], self._aad(key))
        except Exception as exc:  # cryptography raises InvalidTag
            raise KeystoreError(
                f"key {key.pk} cannot be opened: wrong node secret or altered key data",
                code="key_unopenable",
            ) from exc
        private = serialization.load_der_private_key(pkcs8, password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise KeystoreError(f"key {key.pk} is not an EC key", code="wrong_key_type")
        return private

    def sign(self, key: StoredKey, data: bytes) -> bytes:
        return self.private_key(key).sign(data, ec.ECDSA(hashes.SHA256()))


def node_keystore() -> Keystore:
    """The keystore this node makes new unit and personal signing keys in (configuration)."""
    kind = getattr(settings, "TIENDON_KEYSTORE", KeystoreKind.SOFTWARE)
    if kind == KeystoreKind.PKCS11:
        from tiendon.pki.keystore_pkcs11 import Pkcs11Keystore

        return Pkcs11Keystore.from_settings()
    return SoftwareKeystore()


def keystore_for(key: StoredKey) -> Keystore:
    """The backend that holds this key."""
    if key.keystore == KeystoreKind.PKCS11:
        from tiendon.pki.keystore_pkcs11 import Pkcs11Keystore

        return Pkcs11Keystore.from_settings(token=key.token)
    return SoftwareKeystore()
