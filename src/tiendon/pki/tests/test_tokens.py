"""The token inventory: registering, issuing, losing and retiring tokens, with audit."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509

from tiendon.audit.models import AuditRecord
from tiendon.errors import InvalidInput
from tiendon.pki.actions_tokens import (
    do_issue_token,
    do_register_token,
    do_report_token_lost,
    do_retire_token,
)
from tiendon.pki.keystore_pkcs11 import Pkcs11Keystore
from tiendon.pki.models import Certificate, Crl, Token
from tiendon.pki.tests.softhsm import SoftHsmToken
from tiendon.pki.tests.test_pkcs11 import token_objects
from tiendon.pki.tokens import require_token_for


def actions_on(token: Token) -> list[str]:
    return list(
        AuditRecord.objects.filter(object_type="pki.token", object_id=str(token.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def revoked_in_latest_crl(cert: Certificate) -> x509.ReasonFlags | None:
    crl_row = Crl.objects.filter(authority=cert.issuer).order_by("-number").first()
    assert crl_row is not None
    crl = x509.load_der_x509_crl(bytes(crl_row.crl_der))
    entry = crl.get_revoked_certificate_by_serial_number(int(cert.serial, 16))
    if entry is None:
        return None
    return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason


def test_registered_token_is_in_stock_and_audited(tree: Any) -> None:
    token = do_register_token("  4d2f0a11b05cd5c3 ", label="USB-01", actor=tree.ministry_admin)
    assert token.serial == "4d2f0a11b05cd5c3"
    assert token.state == Token.State.IN_STOCK
    assert actions_on(token) == ["pki.token_registered"]


def test_registering_a_serial_twice_is_refused(tree: Any) -> None:
    do_register_token("4d2f0a11b05cd5c3")
    with pytest.raises(InvalidInput) as refused:
        do_register_token("4d2f0a11b05cd5c3", label="again")
    assert refused.value.code == "token_already_registered"
    assert refused.value.field == "serial"
    assert "4d2f0a11b05cd5c3" in refused.value.message
    assert Token.objects.count() == 1


def test_empty_serial_is_refused(db: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        do_register_token("   ")
    assert refused.value.field == "serial"
    assert not Token.objects.exists()


def test_token_is_issued_to_a_commander_of_the_unit(tree: Any) -> None:
    token = do_register_token("4d2f0a11b05cd5c3")
    do_issue_token(
        token, unit=tree.commune_a, person=tree.commander_a, actor=tree.province_commander
    )
    token.refresh_from_db()
    assert token.state == Token.State.ISSUED
    assert token.unit == tree.commune_a
    assert token.person == tree.commander_a
    assert actions_on(token) == ["pki.token_registered", "pki.token_issued"]
    # Issuing again to the same holder changes nothing and writes nothing.
    do_issue_token(token, unit=tree.commune_a, person=tree.commander_a)
    assert actions_on(token) == ["pki.token_registered", "pki.token_issued"]


def test_token_issued_to_one_unit_cannot_be_issued_to_another(tree: Any) -> None:
    token = do_register_token("4d2f0a11b05cd5c3")
    do_issue_token(token, unit=tree.commune_a, person=tree.commander_a)
    with pytest.raises(InvalidInput) as refused:
        do_issue_token(token, unit=tree.commune_b, person=tree.clerk_b)
    assert refused.value.code == "token_already_issued"
    assert "4d2f0a11b05cd5c3" in refused.value.message
    assert tree.commander_a.full_name in refused.value.message
    token.refresh_from_db()
    assert token.unit == tree.commune_a
    assert token.person == tree.commander_a
    with pytest.raises(InvalidInput) as also_refused:
        require_token_for(token, unit=tree.commune_a)  # the unit, not its commander
    assert also_refused.value.code == "token_already_issued"


def test_token_cannot_go_to_a_person_of_another_unit(tree: Any) -> None:
    token = do_register_token("4d2f0a11b05cd5c3")
    with pytest.raises(InvalidInput) as refused:
        do_issue_token(token, unit=tree.commune_a, person=tree.clerk_b)
    assert refused.value.code == "person_not_in_unit"
    token.refresh_from_db()
    assert token.state == Token.State.IN_STOCK


def test_lost_or_retired_token_cannot_be_issued(tree: Any) -> None:
    lost = do_register_token("1111")
    do_issue_token(lost, unit=tree.commune_a)
    do_report_token_lost(lost)
    retired = do_retire_token(do_register_token("2222"))
    for token, code in ((lost, "token_lost"), (retired, "token_retired")):
        with pytest.raises(InvalidInput) as refused:
            do_issue_token(token, unit=tree.commune_b)
        assert refused.value.code == code
        assert token.serial in refused.value.message
    lost.refresh_from_db()
    assert (lost.state, lost.unit) == (Token.State.LOST, tree.commune_a)


def test_lost_token_cannot_be_reported_twice_nor_retired(tree: Any) -> None:
    token = do_register_token("1111")
    do_report_token_lost(token)
    with pytest.raises(InvalidInput) as twice:
        do_report_token_lost(token)
    assert twice.value.code == "token_already_lost"
    with pytest.raises(InvalidInput) as retire:
        do_retire_token(token)
    assert retire.value.code == "token_already_lost"
    assert actions_on(token) == ["pki.token_registered", "pki.token_lost"]


def _unit_keys_on_token(tree: Any, hsm: SoftHsmToken) -> tuple[Token, list[Certificate]]:
    from tiendon.pki.actions import do_init_pki, do_issue_unit_keys

    do_init_pki()
    token = do_register_token(hsm.serial, label=hsm.label)
    do_issue_token(token, unit=tree.commune_a)
    certs = do_issue_unit_keys(
        tree.commune_a,
        signing_keystore=Pkcs11Keystore.from_settings(token=token),
        token=token,
    )
    return token, certs


def test_reporting_a_token_lost_revokes_its_certificates_at_once(
    softhsm_token: SoftHsmToken, tree: Any
) -> None:
    from tiendon.pki.actions import do_issue_unit_keys

    token, certs = _unit_keys_on_token(tree, softhsm_token)
    on_token = next(c for c in certs if c.key.token_id == token.pk)
    in_software = next(c for c in certs if c.key.token_id is None)
    other_unit = do_issue_unit_keys(tree.commune_b)  # software keys, untouched

    do_report_token_lost(token, actor=tree.province_commander)

    on_token.refresh_from_db()
    assert on_token.state == Certificate.State.REVOKED
    assert on_token.revocation_reason == "keyCompromise"
    assert revoked_in_latest_crl(on_token) == x509.ReasonFlags.key_compromise
    in_software.refresh_from_db()
    assert in_software.state == Certificate.State.VALID
    for cert in other_unit:
        cert.refresh_from_db()
        assert cert.state == Certificate.State.VALID
    token.refresh_from_db()
    assert token.state == Token.State.LOST
    lost = AuditRecord.objects.get(action="pki.token_lost", object_id=str(token.pk))
    assert lost.new["revoked_certificates"] == [on_token.serial]
    assert lost.actor_id == tree.province_commander.pk


def test_retiring_a_token_ends_its_certificates(softhsm_token: SoftHsmToken, tree: Any) -> None:
    token, certs = _unit_keys_on_token(tree, softhsm_token)
    on_token = next(c for c in certs if c.key.token_id == token.pk)

    do_retire_token(token)

    on_token.refresh_from_db()
    assert on_token.state == Certificate.State.REVOKED
    assert on_token.revocation_reason == "cessationOfOperation"
    assert revoked_in_latest_crl(on_token) == x509.ReasonFlags.cessation_of_operation
    token.refresh_from_db()
    assert token.state == Token.State.REVOKED
    assert actions_on(token)[-1] == "pki.token_revoked"


def test_keys_for_one_unit_cannot_go_on_a_token_issued_to_another(
    softhsm_token: SoftHsmToken, tree: Any
) -> None:
    from tiendon.pki.actions import do_init_pki, do_issue_unit_keys

    do_init_pki()
    token = do_register_token(softhsm_token.serial, label=softhsm_token.label)
    do_issue_token(token, unit=tree.commune_a)
    keystore = Pkcs11Keystore.from_settings(token=token)
    with pytest.raises(InvalidInput) as refused:
        do_issue_unit_keys(tree.commune_b, signing_keystore=keystore, token=token)
    assert refused.value.code == "token_already_issued"
    assert softhsm_token.serial in refused.value.message
    assert not Certificate.objects.filter(unit=tree.commune_b).exists()
    assert token_objects(softhsm_token) == 0  # nothing was written on the token


def test_readiness_sees_which_units_hold_a_current_certificate_on_a_token(
    softhsm_token: SoftHsmToken, tree: Any
) -> None:
    from tiendon.pki.actions import do_issue_unit_keys
    from tiendon.pki.queries import tokens_by_state, units_with_current_certificate_on_token

    token, _certs = _unit_keys_on_token(tree, softhsm_token)
    do_issue_unit_keys(tree.commune_b)  # software keys only
    assert list(units_with_current_certificate_on_token()) == [tree.commune_a]
    assert tokens_by_state()["issued"] == 1
    do_report_token_lost(token)
    assert not units_with_current_certificate_on_token().exists()
    assert tokens_by_state() == {"in_stock": 0, "issued": 0, "lost": 1, "revoked": 0}


def test_keys_do_not_go_on_a_token_still_in_stock(softhsm_token: SoftHsmToken, tree: Any) -> None:
    from tiendon.pki.actions import do_init_pki, do_issue_unit_keys

    do_init_pki()
    token = do_register_token(softhsm_token.serial, label=softhsm_token.label)
    with pytest.raises(InvalidInput) as refused:
        do_issue_unit_keys(
            tree.commune_a, signing_keystore=Pkcs11Keystore.from_settings(token=token), token=token
        )
    assert refused.value.code == "token_not_issued"
    assert token_objects(softhsm_token) == 0
