"""A fresh SoftHSM2 token per test, in the test's own folder, for the PKCS#11 keystore.

SoftHSM reads SOFTHSM2_CONF when the library is initialised, so the fixture closes the
keystore's cached sessions (finalising the library) before and after each test.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
import pytest

from tiendon.pki.keystore_pkcs11 import close_sessions

SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so"
SO_PIN = "so-pin-12345678"
USER_PIN = "user-pin-2468"
LABEL = "tiendon-test"

# SoftHSM's file object store keeps the token flags (CK_TOKEN_INFO.flags) in the token
# object as vendor attribute CKA_OS_TOKENFLAGS: 8-byte type, 8-byte kind (2 = integer),
# 8-byte value, all big-endian.
_CKA_OS_TOKENFLAGS = 0x8000534B
_CKF_USER_PIN_LOCKED = 0x00040000


@dataclass
class SoftHsmToken:
    label: str
    serial: str
    pin: str
    so_pin: str
    config: Path
    tokendir: Path

    def init_token(self, label: str, *, user_pin: str | None = USER_PIN) -> str:
        """Initialise another token in a free slot; return its serial. No user PIN if None."""
        close_sessions()
        if user_pin is None:
            # softhsm2-util always sets a user PIN; OpenSC's pkcs11-tool can leave it unset.
            slot = _free_slot_index()
            subprocess.run(
                [
                    "pkcs11-tool",
                    "--module",
                    SOFTHSM_LIB,
                    "--slot-index",
                    str(slot),
                    "--init-token",
                    "--label",
                    label,
                    "--so-pin",
                    self.so_pin,
                ],
                check=True,
                capture_output=True,
            )
        else:
            _softhsm_init(label, self.so_pin, user_pin)
        return token_serial(label)

    def set_user_pin_locked_flag(self) -> None:
        """Set CKF_USER_PIN_LOCKED in the token's stored flags.

        SoftHSM 2.6.1 counts no wrong PINs and never locks a token itself (it only sets
        CKF_USER_PIN_COUNT_LOW, and its C_Login ignores the lock flag), so the state a
        hardware token reaches after too many wrong PINs is written into SoftHSM's own token
        file; SoftHSM then reports the flag through C_GetTokenInfo like a locked token would.
        """
        close_sessions()
        path = _token_object_file(self.tokendir, self.serial)
        data = bytearray(path.read_bytes())
        marker = struct.pack(">QQ", _CKA_OS_TOKENFLAGS, 2)
        assert data.count(marker) == 1, "SoftHSM token file layout not recognised"
        at = data.index(marker) + len(marker)
        (flags,) = struct.unpack(">Q", data[at : at + 8])
        data[at : at + 8] = struct.pack(">Q", flags | _CKF_USER_PIN_LOCKED)
        path.write_bytes(bytes(data))


def _softhsm_init(label: str, so_pin: str, pin: str) -> None:
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            so_pin,
            "--pin",
            pin,
        ],
        check=True,
        capture_output=True,
    )


def _free_slot_index() -> int:
    library = pkcs11.lib(SOFTHSM_LIB)
    try:
        for index, slot in enumerate(library.get_slots(token_present=True)):
            if not slot.get_token().flags & pkcs11.TokenFlag.TOKEN_INITIALIZED:
                return index
    finally:
        close_sessions()
    raise AssertionError("SoftHSM offers no free slot")


def token_serial(label: str) -> str:
    library = pkcs11.lib(SOFTHSM_LIB)
    try:
        return bytes(library.get_token(token_label=label).serial).decode().strip()
    finally:
        close_sessions()


def _token_object_file(tokendir: Path, serial: str) -> Path:
    for path in tokendir.glob("*/token.object"):
        if serial.encode() in path.read_bytes():
            return path
    raise AssertionError(f"no SoftHSM token file for serial {serial}")


@pytest.fixture
def softhsm_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> Iterator[SoftHsmToken]:
    """A SoftHSM2 token initialised with a user PIN, and the settings that point at it."""
    for tool in ("softhsm2-util", "pkcs11-tool"):
        assert shutil.which(tool), f"{tool} is not installed: apt-get install softhsm2 opensc"
    assert Path(SOFTHSM_LIB).is_file(), f"{SOFTHSM_LIB} is missing: apt-get install softhsm2"
    tokendir = tmp_path / "softhsm-tokens"
    tokendir.mkdir()
    config = tmp_path / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {tokendir}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    monkeypatch.setenv("SOFTHSM2_CONF", str(config))
    monkeypatch.setenv("TIENDON_PKCS11_PIN", USER_PIN)
    monkeypatch.delenv("TIENDON_PKCS11_PIN_FILE", raising=False)
    close_sessions()  # the library must re-read SOFTHSM2_CONF
    _softhsm_init(LABEL, SO_PIN, USER_PIN)
    settings.TIENDON_PKCS11_LIB = SOFTHSM_LIB
    settings.TIENDON_PKCS11_TOKEN_LABEL = LABEL
    yield SoftHsmToken(
        label=LABEL,
        serial=token_serial(LABEL),
        pin=USER_PIN,
        so_pin=SO_PIN,
        config=config,
        tokendir=tokendir,
    )
    close_sessions()
