"""The PKCS#11 keystore: signing keys generated on a token (USB token or HSM) and used there.

A key made here never leaves its token (sensitive, not extractable); the database keeps its
public key, the token's serial and the key's CKA_ID. Every signature is made by the token:
SHA-256 in Python, then raw CKM_ECDSA (SoftHSM 2.6 has no CKM_ECDSA_SHA256).

Threads and processes: python-pkcs11 calls C_Initialize without locking arguments, which
tells the library (SoftHSM disables its mutexes) that the application will not call it
from two threads at once; so every PKCS#11 call in this process goes through one lock. One
logged-in session per token is kept per process (a login per signature would cost a PIN
check each time and, on real tokens, wear); a forked worker starts afresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pkcs11
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.conf import settings
from django.utils.translation import gettext as _
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from tiendon.pki.keystore import Keystore, KeystoreError
from tiendon.pki.models import KeyAlgorithm, KeystoreKind, StoredKey, Token

logger = logging.getLogger(__name__)

KEY_ID_BYTES = 16
_P256_PARAMS = encode_named_curve_parameters("secp256r1")
_P256_HALF = 32  # raw CKM_ECDSA output is r ‖ s, 32 bytes each on P-256

# Errors after which a cached session is no good and one fresh attempt is worth making.
_STALE_SESSION = (
    p11.SessionHandleInvalid,
    p11.SessionClosed,
    p11.UserNotLoggedIn,
    p11.ObjectHandleInvalid,
    p11.KeyHandleInvalid,
)
_TOKEN_GONE = (p11.DeviceRemoved, p11.TokenNotPresent, p11.TokenNotRecognised, p11.SlotIDInvalid)


@dataclass
class _OpenToken:
    """A logged-in read/write session on one token, and the key handles found through it."""

    session: Any  # pkcs11 Session (the Cython class has no usable static type)
    keys: dict[bytes, Any] = field(default_factory=dict)


_lock = threading.RLock()
_open: dict[tuple[str, str], _OpenToken] = {}  # (library path, wanted token) → session
_pid = os.getpid()


def close_sessions() -> None:
    """Log out of and close every cached session, and finalise the libraries.

    For tests (each makes its own SoftHSM token folder) and for an operator who has swapped
    a token; the next use logs in again.
    """
    global _pid
    with _lock:
        for opened in _open.values():
            # The token may be gone already; the library is finalised next anyway.
            with contextlib.suppress(p11.PKCS11Error):
                opened.session.close()
        _open.clear()
        _finalise_libraries()
        _pid = os.getpid()


def _finalise_libraries() -> None:
    for library in pkcs11._loaded.values():
        if library.initialized:
            # python-pkcs11 marks the library uninitialised even when C_Finalize complains.
            with contextlib.suppress(p11.PKCS11Error):
                library.finalize()


def _after_fork_check() -> None:
    """PKCS#11 state does not survive fork(): a child drops what its parent had opened."""
    global _pid
    if os.getpid() != _pid:
        _open.clear()  # the parent's sessions: not ours to close
        _finalise_libraries()  # the child must call C_Initialize itself
        _pid = os.getpid()


def _read_pin(token_name: str) -> str:
    """The user PIN, from TIENDON_PKCS11_PIN or the file TIENDON_PKCS11_PIN_FILE; never logged."""
    pin = os.environ.get("TIENDON_PKCS11_PIN", "")
    if pin:
        return pin
    path_text = os.environ.get("TIENDON_PKCS11_PIN_FILE", "")
    if not path_text:
        raise KeystoreError(
            _("No PIN for token %(token)s: set TIENDON_PKCS11_PIN or TIENDON_PKCS11_PIN_FILE.")
            % {"token": token_name},
            code="pin_missing",
        )
    try:
        pin = Path(path_text).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeystoreError(
            _("The PIN file %(path)s for token %(token)s cannot be read.")
            % {"path": path_text, "token": token_name},
            code="pin_missing",
        ) from exc
    if not pin:
        raise KeystoreError(
            _("The PIN file %(path)s for token %(token)s is empty.")
            % {"path": path_text, "token": token_name},
            code="pin_missing",
        )
    return pin


def _token_serial(p11_token: Any) -> str:
    return bytes(p11_token.serial).decode("ascii", "replace").strip()


class Pkcs11Keystore(Keystore):
    """Signing keys on one PKCS#11 token, found by its serial (or, failing that, its label).

    Generating a key needs the token registered in the inventory first
    (`tiendon.pki.actions_tokens.do_register_token`): the keystore does not create inventory
    rows itself, so every token the node uses has an audited registration.
    """

    kind = KeystoreKind.PKCS11

    def __init__(
        self, *, library: str, serial: str = "", label: str = "", row: Token | None = None
    ) -> None:
        if not serial and not label:
            raise KeystoreError(
                _(
                    "No PKCS#11 token chosen: give a registered token or set "
                    "TIENDON_PKCS11_TOKEN_LABEL."
                ),
                code="token_absent",
            )
        self.library = library
        self.serial = serial
        self.label = label
        self.row = row

    @classmethod
    def from_settings(cls, token: Token | None = None) -> Pkcs11Keystore:
        """The keystore for `token` (an inventory row), or for the node's configured token."""
        library = getattr(settings, "TIENDON_PKCS11_LIB", "/usr/lib/softhsm/libsofthsm2.so")
        if token is not None:
            return cls(library=library, serial=token.serial, label=token.label, row=token)
        return cls(library=library, label=getattr(settings, "TIENDON_PKCS11_TOKEN_LABEL", ""))

    @property
    def token_name(self) -> str:
        """How messages name the token: serial and label as far as known; never the PIN."""
        if self.serial and self.label:
            return f"{self.serial} ({self.label})"
        return self.serial or f"“{self.label}”"

    def __repr__(self) -> str:
        return f"Pkcs11Keystore(library={self.library!r}, token={self.token_name!r})"

    # --- finding the token and logging in -------------------------------------------------

    def _library(self) -> Any:
        _after_fork_check()
        if not Path(self.library).is_file():
            raise KeystoreError(
                _("The PKCS#11 library %(library)s is not installed; token %(token)s is absent.")
                % {"library": self.library, "token": self.token_name},
                code="token_absent",
            )
        try:
            return pkcs11.lib(self.library)
        except p11.PKCS11Error as exc:
            raise KeystoreError(
                _("The PKCS#11 library %(library)s cannot be loaded; token %(token)s is absent.")
                % {"library": self.library, "token": self.token_name},
                code="token_absent",
            ) from exc

    def _match(self, library: Any) -> Any | None:
        tokens = list(library.get_tokens())
        if self.serial:
            for candidate in tokens:
                if _token_serial(candidate) == self.serial:
                    return candidate
        if self.label:
            labelled = [t for t in tokens if t.label == self.label]
            if len(labelled) > 1:
                raise KeystoreError(
                    _("%(count)s tokens carry the label %(token)s; register them by serial.")
                    % {"count": len(labelled), "token": self.token_name},
                    code="token_ambiguous",
                )
            if labelled:
                return labelled[0]
        return None

    def _find_token(self) -> Any:
        library = self._library()
        found = self._match(library)
        if found is None:
            # Libraries list the tokens they saw at C_Initialize; a token plugged in (or made)
            # since needs a fresh look. That closes every session of this library.
            for key in [k for k in _open if k[0] == self.library]:
                del _open[key]
            library.reinitialize()
            found = self._match(library)
        if found is None:
            raise KeystoreError(
                _("Token %(token)s is not present: no token with that serial or label.")
                % {"token": self.token_name},
                code="token_absent",
            )
        return found

    def _login(self) -> _OpenToken:
        p11_token = self._find_token()
        flags = TokenFlag(p11_token.flags)
        if flags & TokenFlag.USER_PIN_LOCKED:
            raise self._locked_error()
        if not flags & TokenFlag.USER_PIN_INITIALIZED:
            raise self._pin_not_initialised_error()
        pin = _read_pin(self.token_name)
        try:
            session = p11_token.open(rw=True, user_pin=pin)
        except p11.UserAlreadyLoggedIn:
            # Login state is shared by all sessions of the process on a token.
            session = p11_token.open(rw=True)
        except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange) as exc:
            logger.warning("PKCS#11 login refused on token %s: wrong PIN", self.token_name)
            raise KeystoreError(
                _("Wrong PIN for token %(token)s.") % {"token": self.token_name}, code="wrong_pin"
            ) from exc
        except (p11.PinLocked, p11.PinExpired) as exc:
            raise self._locked_error() from exc
        except p11.UserPinNotInitialized as exc:
            raise self._pin_not_initialised_error() from exc
        except _TOKEN_GONE as exc:
            raise self._absent_error() from exc
        return _OpenToken(session=session)

    def _locked_error(self) -> KeystoreError:
        return KeystoreError(
            _(
                "Token %(token)s is locked (too many wrong PINs): "
                "its security officer must unlock it."
            )
            % {"token": self.token_name},
            code="token_locked",
        )

    def _pin_not_initialised_error(self) -> KeystoreError:
        return KeystoreError(
            _("Token %(token)s has no user PIN yet: its security officer must set one.")
            % {"token": self.token_name},
            code="pin_not_initialised",
        )

    def _absent_error(self) -> KeystoreError:
        return KeystoreError(
            _("Token %(token)s was removed or stopped answering.") % {"token": self.token_name},
            code="token_absent",
        )

    def _opened(self) -> _OpenToken:
        cache_key = (self.library, self.serial or f"label:{self.label}")
        opened = _open.get(cache_key)
        if opened is None:
            opened = self._login()
            _open[cache_key] = opened
        return opened

    def _forget(self) -> None:
        opened = _open.pop((self.library, self.serial or f"label:{self.label}"), None)
        if opened is not None:
            with contextlib.suppress(p11.PKCS11Error):  # already invalid: hence forgotten
                opened.session.close()

    @contextmanager
    def open_session(self) -> Iterator[Any]:
        """The logged-in session, held under the process lock (for inspection and tools)."""
        with _lock:
            yield self._opened().session

    # --- the Keystore interface -----------------------------------------------------------

    def _for_row(self, token: Token | None) -> Pkcs11Keystore:
        if token is None or (self.row is not None and token.pk == self.row.pk):
            return self
        return Pkcs11Keystore(
            library=self.library, serial=token.serial, label=token.label, row=token
        )

    def _for_key(self, key: StoredKey) -> Pkcs11Keystore:
        # Compare ids first: signing should not cost a query for the key's token row.
        if self.row is not None and key.token_id == self.row.pk:
            return self
        return self._for_row(key.token)

    def _inventory_row(self, p11_serial: str) -> Token:
        row = self.row or Token.objects.filter(serial=p11_serial).first()
        if row is None:
            raise KeystoreError(
                _("Token %(token)s (serial %(serial)s) is not in the inventory: register it first.")
                % {"token": self.token_name, "serial": p11_serial},
                code="token_unregistered",
            )
        if row.pk is not None:  # the caller's copy may predate a loss report
            row.state = Token.objects.filter(pk=row.pk).values_list("state", flat=True).get()
        if row.state in (Token.State.LOST, Token.State.REVOKED):
            raise KeystoreError(
                _("Token %(token)s is %(state)s; no new key may be made on it.")
                % {"token": self.token_name, "state": row.get_state_display()},
                code="token_withdrawn",
            )
        return row

    def generate_signing_key(self, *, label: str, token: Token | None = None) -> StoredKey:
        """A P-256 key pair made on the token; the private half can sign and nothing else.

        Returns an unsaved StoredKey. If the caller does not save it (its certificate failed),
        it should call `discard_key`, or the token keeps an unused key pair.
        """
        target = self._for_row(token)
        if target is not self:
            return target.generate_signing_key(label=label)
        key_id = secrets.token_bytes(KEY_ID_BYTES)
        with _lock:
            opened = self._opened()
            row = self._inventory_row(_token_serial(opened.session.token))
            try:
                public, private = self._generate(opened.session, key_id, label)
            except _STALE_SESSION:
                self._forget()
                opened = self._opened()
                public, private = self._generate(opened.session, key_id, label)
            except _TOKEN_GONE as exc:
                self._forget()
                raise self._absent_error() from exc
            spki = encode_ec_public_key(public)
            opened.keys[key_id] = private
        # Normalise through cryptography so the stored DER is what X.509 code will produce.
        public_key = serialization.load_der_public_key(spki)
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, ec.SECP256R1
        ):
            raise KeystoreError(
                _("Token %(token)s made a key that is not P-256.") % {"token": self.token_name},
                code="wrong_key_type",
            )
        logger.info("generated P-256 key %s on token %s", key_id.hex(), self.token_name)
        return StoredKey(
            keystore=self.kind,
            algorithm=KeyAlgorithm.EC_P256_SIGN,
            token=row,
            token_key_id=key_id.hex(),
            public_key_der=public_key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )

    @staticmethod
    def _generate(session: Any, key_id: bytes, label: str) -> tuple[Any, Any]:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: _P256_PARAMS}, local=True
        )
        return params.generate_keypair(
            id=key_id,
            label=label,
            store=True,
            capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            public_template={Attribute.TOKEN: True, Attribute.VERIFY: True},
            private_template={
                Attribute.TOKEN: True,
                Attribute.PRIVATE: True,
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.SIGN: True,
                Attribute.DERIVE: False,
                Attribute.DECRYPT: False,
                Attribute.UNWRAP: False,
            },
        )

    def _key_id(self, key: StoredKey) -> bytes:
        if key.keystore != self.kind or not key.token_key_id:
            raise KeystoreError(
                _("Key %(key)s is not on a PKCS#11 token.") % {"key": key.pk}, code="not_pkcs11"
            )
        return bytes.fromhex(key.token_key_id)

    def _private(self, opened: _OpenToken, key_id: bytes) -> Any:
        private = opened.keys.get(key_id)
        if private is None:
            try:
                private = opened.session.get_key(
                    object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC, id=key_id
                )
            except p11.NoSuchKey as exc:
                raise KeystoreError(
                    _("Token %(token)s holds no key with id %(key_id)s.")
                    % {"token": self.token_name, "key_id": key_id.hex()},
                    code="key_missing",
                ) from exc
            opened.keys[key_id] = private
        return private

    def sign(self, key: StoredKey, data: bytes) -> bytes:
        target = self._for_key(key)
        if target is not self:
            return target.sign(key, data)
        key_id = self._key_id(key)
        digest = hashlib.sha256(data).digest()
        with _lock:
            try:
                raw = self._private(self._opened(), key_id).sign(digest, mechanism=Mechanism.ECDSA)
            except _STALE_SESSION:
                self._forget()
                raw = self._private(self._opened(), key_id).sign(digest, mechanism=Mechanism.ECDSA)
            except _TOKEN_GONE as exc:
                self._forget()
                raise self._absent_error() from exc
        raw = bytes(raw)
        if len(raw) != 2 * _P256_HALF:
            raise KeystoreError(
                _("Token %(token)s returned a signature of unexpected length.")
                % {"token": self.token_name},
                code="bad_signature",
            )
        r = int.from_bytes(raw[:_P256_HALF], "big")
        s = int.from_bytes(raw[_P256_HALF:], "big")
        return encode_dss_signature(r, s)

    def discard_key(self, key: StoredKey) -> None:
        """Destroy an unsaved key's pair on the token (its certificate could not be issued)."""
        target = self._for_key(key)
        if target is not self:
            target.discard_key(key)
            return
        key_id = self._key_id(key)
        with _lock:
            opened = self._opened()
            opened.keys.pop(key_id, None)
            for obj in list(opened.session.get_objects({Attribute.ID: key_id})):
                obj.destroy()
        logger.info("discarded key %s on token %s", key_id.hex(), self.token_name)
