"""The PKCS#11 keystore against a real SoftHSM2 token: signing, non-export, and refusals."""

from __future__ import annotations

import threading
from typing import Any

import pkcs11
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.util.ec import encode_ec_public_key

from tiendon.pki.actions_tokens import do_issue_token, do_register_token, do_report_token_lost
from tiendon.pki.keystore import KeystoreError, keystore_for, node_keystore
from tiendon.pki.keystore_pkcs11 import Pkcs11Keystore, close_sessions
from tiendon.pki.models import Certificate, StoredKey, Token
from tiendon.pki.tests.softhsm import SOFTHSM_LIB, SoftHsmToken

DOCUMENT = "Công văn số 12/BCHQS-TM về huấn luyện dân quân năm 2026".encode()


def verify(key: StoredKey, signature: bytes, data: bytes = DOCUMENT) -> None:
    keystore_for(key).public_key(key).verify(signature, data, ec.ECDSA(hashes.SHA256()))


def token_objects(hsm: SoftHsmToken) -> int:
    """How many objects the token holds, counted through a session of our own."""
    close_sessions()
    token = pkcs11.lib(SOFTHSM_LIB).get_token(token_label=hsm.label)
    with token.open(user_pin=hsm.pin) as session:
        count = len(list(session.get_objects()))
    close_sessions()
    return count


@pytest.fixture
def registered(softhsm_token: SoftHsmToken, db: Any) -> Token:
    return do_register_token(softhsm_token.serial, label=softhsm_token.label)


def test_key_on_softhsm_signs_and_cannot_be_exported(
    softhsm_token: SoftHsmToken, registered: Token
) -> None:
    keystore = Pkcs11Keystore.from_settings(token=registered)
    key = keystore.generate_signing_key(label="unit-15853", token=registered)
    key.save()
    assert key.keystore == "pkcs11"
    assert key.algorithm == "ec-p256-sign"
    assert key.token == registered
    assert key.encrypted_private is None

    signature = keystore.sign(key, DOCUMENT)
    verify(key, signature)  # against the public key stored in the database
    with pytest.raises(InvalidSignature):
        verify(key, signature, DOCUMENT + b".")

    with keystore.open_session() as session:
        key_id = bytes.fromhex(key.token_key_id)
        private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=key_id)
        public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, id=key_id)
        assert encode_ec_public_key(public) == bytes(key.public_key_der)
        assert private[Attribute.TOKEN] is True
        assert private[Attribute.SIGN] is True
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False
        assert private[Attribute.ALWAYS_SENSITIVE] is True
        assert private[Attribute.NEVER_EXTRACTABLE] is True

        # The private value cannot be read...
        with pytest.raises(p11.AttributeSensitive):
            private[Attribute.VALUE]
        # ...nor wrapped (encrypted for export) under a key the session controls...
        wrapping = session.generate_key(
            KeyType.AES, 256, capabilities=MechanismFlag.WRAP | MechanismFlag.ENCRYPT
        )
        for mechanism in (Mechanism.AES_KEY_WRAP_PAD, None):
            with pytest.raises(p11.KeyUnextractable):
                wrapping.wrap_key(private, mechanism=mechanism)
        # ...nor made extractable or non-sensitive, in place or in a copy.
        with pytest.raises(p11.AttributeReadOnly):
            private[Attribute.EXTRACTABLE] = True
        with pytest.raises(p11.AttributeReadOnly):
            private[Attribute.SENSITIVE] = False
        with pytest.raises(p11.AttributeReadOnly):
            private.copy({Attribute.EXTRACTABLE: True})


def test_key_stays_on_the_token_across_logins(
    softhsm_token: SoftHsmToken, registered: Token
) -> None:
    key = Pkcs11Keystore.from_settings(token=registered).generate_signing_key(label="k")
    key.save()
    close_sessions()  # as after a restart: a new login finds the key by its CKA_ID
    verify(key, keystore_for(key).sign(key, DOCUMENT))


def test_node_keystore_uses_the_configured_token_once_registered(
    softhsm_token: SoftHsmToken, settings: Any, db: Any
) -> None:
    settings.TIENDON_KEYSTORE = "pkcs11"
    keystore = node_keystore()
    assert isinstance(keystore, Pkcs11Keystore)
    with pytest.raises(KeystoreError) as refused:
        keystore.generate_signing_key(label="issuing")
    assert refused.value.code == "token_unregistered"
    assert softhsm_token.serial in refused.value.message

    row = do_register_token(softhsm_token.serial, label=softhsm_token.label)
    key = keystore.generate_signing_key(label="issuing")
    assert key.token == row
    key.save()
    verify(key, keystore.sign(key, DOCUMENT))


def test_signing_from_many_threads_gives_valid_signatures(
    softhsm_token: SoftHsmToken, registered: Token
) -> None:
    keystore = Pkcs11Keystore.from_settings(token=registered)
    key = keystore.generate_signing_key(label="k")
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                results.append(Pkcs11Keystore.from_settings(token=registered).sign(key, DOCUMENT))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 200
    for signature in results:
        verify(key, signature)


def test_wrong_pin_is_refused_naming_the_token_not_the_pin(
    softhsm_token: SoftHsmToken, registered: Token, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIENDON_PKCS11_PIN", "9999-wrong")
    with pytest.raises(KeystoreError) as refused:
        Pkcs11Keystore.from_settings(token=registered).generate_signing_key(label="k")
    assert refused.value.code == "wrong_pin"
    assert softhsm_token.serial in refused.value.message
    assert "9999-wrong" not in str(refused.value)
    assert StoredKey.objects.count() == 0
    assert token_objects(softhsm_token) == 0


def test_missing_pin_is_refused(
    softhsm_token: SoftHsmToken, registered: Token, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIENDON_PKCS11_PIN")
    with pytest.raises(KeystoreError) as refused:
        Pkcs11Keystore.from_settings(token=registered).generate_signing_key(label="k")
    assert refused.value.code == "pin_missing"
    assert softhsm_token.serial in refused.value.message


def test_pin_is_read_from_the_pin_file(
    softhsm_token: SoftHsmToken, registered: Token, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    pin_file = tmp_path / "token.pin"
    pin_file.write_text(softhsm_token.pin + "\n")
    monkeypatch.delenv("TIENDON_PKCS11_PIN")
    monkeypatch.setenv("TIENDON_PKCS11_PIN_FILE", str(pin_file))
    key = Pkcs11Keystore.from_settings(token=registered).generate_signing_key(label="k")
    verify(key, Pkcs11Keystore.from_settings(token=registered).sign(key, DOCUMENT))


def test_token_that_is_not_plugged_in_is_absent(softhsm_token: SoftHsmToken, db: Any) -> None:
    elsewhere = do_register_token("0000deadbeef0000", label="in-a-drawer")
    with pytest.raises(KeystoreError) as refused:
        Pkcs11Keystore.from_settings(token=elsewhere).generate_signing_key(label="k")
    assert refused.value.code == "token_absent"
    assert "0000deadbeef0000" in refused.value.message


def test_missing_pkcs11_library_means_token_absent(
    softhsm_token: SoftHsmToken, registered: Token, settings: Any
) -> None:
    settings.TIENDON_PKCS11_LIB = "/usr/lib/no-such-pkcs11.so"
    with pytest.raises(KeystoreError) as refused:
        Pkcs11Keystore.from_settings(token=registered).generate_signing_key(label="k")
    assert refused.value.code == "token_absent"
    assert softhsm_token.serial in refused.value.message


def test_token_with_locked_user_pin_is_refused(
    softhsm_token: SoftHsmToken, registered: Token
) -> None:
    # SoftHSM never locks a PIN itself; see SoftHsmToken.set_user_pin_locked_flag.
    softhsm_token.set_user_pin_locked_flag()
    with pytest.raises(KeystoreError) as refused:
        Pkcs11Keystore.from_settings(token=registered).generate_signing_key(label="k")
    assert refused.value.code == "token_locked"
    assert softhsm_token.serial in refused.value.message
    assert StoredKey.objects.count() == 0


def test_token_whose_user_pin_was_never_set_is_refused(
    softhsm_token: SoftHsmToken, db: Any
) -> None:
    serial = softhsm_token.init_token("no-user-pin", user_pin=None)
    row = do_register_token(serial, label="no-user-pin")
    with pytest.raises(KeystoreError) as refused:
        Pkcs11Keystore.from_settings(token=row).generate_signing_key(label="k")
    assert refused.value.code == "pin_not_initialised"
    assert serial in refused.value.message


def test_key_deleted_from_the_token_is_reported_missing(
    softhsm_token: SoftHsmToken, registered: Token
) -> None:
    keystore = Pkcs11Keystore.from_settings(token=registered)
    key = keystore.generate_signing_key(label="k")
    key.save()
    keystore.discard_key(key)
    assert token_objects(softhsm_token) == 0
    with pytest.raises(KeystoreError) as refused:
        keystore_for(key).sign(key, DOCUMENT)
    assert refused.value.code == "key_missing"
    assert key.token_key_id in refused.value.message
    assert softhsm_token.serial in refused.value.message


def test_no_new_key_on_a_token_reported_lost(
    softhsm_token: SoftHsmToken, registered: Token
) -> None:
    do_report_token_lost(registered)
    registered.refresh_from_db()
    with pytest.raises(KeystoreError) as refused:
        Pkcs11Keystore.from_settings(token=registered).generate_signing_key(label="k")
    assert refused.value.code == "token_withdrawn"
    assert token_objects(softhsm_token) == 0


def test_unit_keys_issued_on_a_token_sign_with_the_token(
    softhsm_token: SoftHsmToken, registered: Token, tree: Any
) -> None:
    from tiendon.pki.actions import do_init_pki, do_issue_unit_keys

    do_init_pki()
    do_issue_token(registered, unit=tree.commune_a)
    keystore = Pkcs11Keystore.from_settings(token=registered)
    certs = do_issue_unit_keys(tree.commune_a, signing_keystore=keystore, token=registered)
    signing = next(c for c in certs if c.purpose == "unit_signing")
    assert signing.key.keystore == "pkcs11"
    assert signing.key.token == registered
    verify(signing.key, keystore_for(signing.key).sign(signing.key, DOCUMENT))


def test_wrong_pin_during_issuance_leaves_nothing_behind(
    softhsm_token: SoftHsmToken, registered: Token, tree: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tiendon.pki.actions import do_init_pki, do_issue_unit_keys

    do_init_pki()
    do_issue_token(registered, unit=tree.commune_a)
    keys_before = StoredKey.objects.count()
    monkeypatch.setenv("TIENDON_PKCS11_PIN", "0000")
    with pytest.raises(KeystoreError) as refused:
        do_issue_unit_keys(
            tree.commune_a,
            signing_keystore=Pkcs11Keystore.from_settings(token=registered),
            token=registered,
        )
    assert refused.value.code == "wrong_pin"
    assert StoredKey.objects.count() == keys_before
    assert not Certificate.objects.filter(unit=tree.commune_a).exists()
    assert token_objects(softhsm_token) == 0
