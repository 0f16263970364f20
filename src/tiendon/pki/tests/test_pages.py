"""Administrators' PKI pages: the unit's certificates, issuing, revoking and PEM downloads."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PASSWORD, log_in_with_totp
from cryptography import x509
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from tiendon.audit.models import AuditRecord
from tiendon.pki.actions import do_issue_person_key, do_issue_unit_keys, do_revoke_certificate
from tiendon.pki.models import Certificate, CertPurpose, Crl, RevocationReason
from tiendon.units.actions import do_create_person
from tiendon.units.models import Role


@pytest.fixture
def admin_client(client: Client, tree: Any) -> Client:
    """The ministry administrator, logged in with password and TOTP."""
    return log_in_with_totp(client, tree.ministry_admin)


@pytest.fixture
def commune_a_admin_client(tree: Any) -> Client:
    """An administrator whose scope is commune A only."""
    admin = do_create_person(
        username="qt.dongtien",
        full_name="Vũ Văn Quân",
        unit=tree.commune_a,
        role=Role.ADMIN,
        password=PASSWORD,
    )
    return log_in_with_totp(Client(), admin)


def _page(client: Client, unit: Any) -> str:
    response = client.get(reverse("unit_certificates", args=[unit.code]))
    assert response.status_code == 200
    return response.content.decode()


def _row_of(page: str, serial: str) -> str:
    """The table row (start tag to serial cell) that shows this certificate."""
    return page.split(f'<code class="serial">{serial}</code>')[0].rsplit("<tr", 1)[1]


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_admin_sees_the_units_certificates_with_their_states(
    admin_client: Client, tree: Any, pki: Any
) -> None:
    first = do_issue_unit_keys(tree.commune_a)
    current = do_issue_unit_keys(tree.commune_a)
    revoked = do_revoke_certificate(current[0], reason=RevocationReason.KEY_COMPROMISE)
    personal = do_issue_person_key(tree.commander_a)

    page = _page(admin_client, tree.commune_a)

    for cert in [*first, *current, personal]:
        assert cert.serial in page
    with translation.override("vi"):
        assert str(CertPurpose.UNIT_SIGNING.label) in page
    states = {
        first[0].serial: "superseded",
        current[1].serial: "valid",
        revoked.serial: "revoked",
        personal.serial: "valid",
    }
    for serial, state in states.items():
        assert f"state-{state}" in _row_of(page, serial)
    assert tree.commander_a.full_name in page
    assert timezone.localtime(first[0].not_after).strftime("%d/%m/%Y") in page


def test_issuing_unit_keys_creates_two_certificates_and_audits_them(
    admin_client: Client, tree: Any, pki: Any
) -> None:
    response = admin_client.post(
        reverse("unit_certificates_issue", args=[tree.commune_a.code]), follow=True
    )
    assert response.status_code == 200
    certs = Certificate.objects.filter(unit=tree.commune_a, person=None)
    assert {c.purpose for c in certs} == {CertPurpose.UNIT_SIGNING, CertPurpose.UNIT_ENCRYPTION}
    records = AuditRecord.objects.filter(action="pki.certificate_issued")
    assert records.count() == 2
    assert {r.actor_id for r in records} == {tree.ministry_admin.pk}
    for cert in certs:
        assert cert.serial in response.content.decode()


def test_admin_issues_a_personal_certificate(admin_client: Client, tree: Any, pki: Any) -> None:
    response = admin_client.post(
        reverse("person_certificate_issue", args=[tree.commander_a.username]), follow=True
    )
    cert = Certificate.objects.get(person=tree.commander_a)
    assert cert.purpose == CertPurpose.PERSON_SIGNING
    assert cert.serial in response.content.decode()
    assert AuditRecord.objects.get(action="pki.certificate_issued").actor_id == (
        tree.ministry_admin.pk
    )


def test_revoking_from_the_page_revokes_and_publishes_a_new_crl(
    admin_client: Client, tree: Any, pki: Any
) -> None:
    signing = do_issue_unit_keys(tree.commune_a)[0]
    crls_before = Crl.objects.count()

    response = admin_client.post(
        reverse("certificate_revoke", args=[signing.serial]),
        {"reason": RevocationReason.KEY_COMPROMISE, "confirm": "yes"},
        follow=True,
    )

    signing.refresh_from_db()
    assert signing.state == Certificate.State.REVOKED
    assert signing.revocation_reason == RevocationReason.KEY_COMPROMISE
    assert Crl.objects.count() == crls_before + 1
    record = AuditRecord.objects.get(action="pki.certificate_revoked")
    assert record.actor_id == tree.ministry_admin.pk
    assert "state-revoked" in _row_of(response.content.decode(), signing.serial)


def test_revoking_without_confirmation_changes_nothing(
    admin_client: Client, tree: Any, pki: Any
) -> None:
    signing = do_issue_unit_keys(tree.commune_a)[0]
    response = admin_client.post(
        reverse("certificate_revoke", args=[signing.serial]),
        {"reason": RevocationReason.KEY_COMPROMISE},
        follow=True,
    )
    signing.refresh_from_db()
    assert signing.state == Certificate.State.VALID
    assert len(_messages(response)) == 1


def test_revoking_twice_shows_a_message_instead_of_an_error(
    admin_client: Client, tree: Any, pki: Any
) -> None:
    signing = do_issue_unit_keys(tree.commune_a)[0]
    do_revoke_certificate(signing, reason=RevocationReason.SUPERSEDED)
    response = admin_client.post(
        reverse("certificate_revoke", args=[signing.serial]),
        {"reason": RevocationReason.KEY_COMPROMISE, "confirm": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    with translation.override("vi"):
        expected = translation.gettext("This certificate was already revoked.")
    assert _messages(response) == [expected]
    assert expected in response.content.decode()


def test_downloads_are_pem_that_cryptography_reads(
    admin_client: Client, tree: Any, pki: Any
) -> None:
    signing = do_issue_unit_keys(tree.commune_a)[0]
    do_revoke_certificate(signing, reason=RevocationReason.KEY_COMPROMISE)

    cert_pem = admin_client.get(reverse("certificate_pem", args=[signing.serial]))
    assert cert_pem["Content-Type"] == "application/x-pem-file"
    cert = x509.load_pem_x509_certificate(cert_pem.content)
    assert tree.commune_a.code in cert.subject.rfc4514_string()

    chain_pem = admin_client.get(reverse("certificate_chain_pem", args=[signing.serial]))
    chain = x509.load_pem_x509_certificates(chain_pem.content)
    assert len(chain) == 2
    assert chain[0].subject == cert.issuer
    assert chain[1].subject == chain[1].issuer  # the self-signed root

    crl_pem = admin_client.get(reverse("pki_crl_pem"))
    crl = x509.load_pem_x509_crl(crl_pem.content)
    assert crl.get_revoked_certificate_by_serial_number(int(signing.serial, 16)) is not None
    assert crl.issuer == cert.issuer


def test_any_logged_in_person_can_download_the_crl(client: Client, tree: Any, pki: Any) -> None:
    client.post(reverse("login"), {"username": tree.clerk_a.username, "password": PASSWORD})
    response = client.get(reverse("pki_crl_pem"))
    assert response.status_code == 200
    x509.load_pem_x509_crl(response.content)


def test_a_clerk_is_refused_the_certificate_pages(client: Client, tree: Any, pki: Any) -> None:
    signing = do_issue_unit_keys(tree.commune_a)[0]
    client.post(reverse("login"), {"username": tree.clerk_a.username, "password": PASSWORD})

    assert client.get(reverse("unit_certificates", args=[tree.commune_a.code])).status_code == 403
    assert client.get(reverse("certificate_pem", args=[signing.serial])).status_code == 403
    issue = client.post(reverse("unit_certificates_issue", args=[tree.commune_a.code]))
    assert issue.status_code == 403
    assert Certificate.objects.count() == 2
    assert (
        AuditRecord.objects.filter(
            action="permission.denied", actor=tree.clerk_a, new__reason="administrators only"
        ).count()
        == 3
    )


def test_an_admin_of_commune_a_cannot_see_commune_b_certificates(
    commune_a_admin_client: Client, tree: Any, pki: Any
) -> None:
    signing_b = do_issue_unit_keys(tree.commune_b)[0]
    client = commune_a_admin_client

    assert client.get(reverse("unit_certificates", args=[tree.commune_b.code])).status_code == 404
    assert client.get(reverse("certificate_pem", args=[signing_b.serial])).status_code == 404
    chain = client.get(reverse("certificate_chain_pem", args=[signing_b.serial]))
    assert chain.status_code == 404
    revoke = client.post(
        reverse("certificate_revoke", args=[signing_b.serial]),
        {"reason": RevocationReason.KEY_COMPROMISE, "confirm": "yes"},
    )
    assert revoke.status_code == 404
    signing_b.refresh_from_db()
    assert signing_b.state == Certificate.State.VALID
    denials = AuditRecord.objects.filter(action="permission.denied", new__reason="out_of_scope")
    assert denials.count() == 4
    # Their own unit stays open to them.
    assert client.get(reverse("unit_certificates", args=[tree.commune_a.code])).status_code == 200


def test_posting_without_the_csrf_token_is_refused(
    admin_client: Client, tree: Any, pki: Any
) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = admin_client.cookies  # the same logged-in session, but CSRF enforced
    assert strict.get(reverse("unit_certificates", args=[tree.commune_a.code])).status_code == 200
    response = strict.post(reverse("unit_certificates_issue", args=[tree.commune_a.code]))
    assert response.status_code == 403
    assert not Certificate.objects.exists()


def test_issuing_before_the_pki_is_set_up_shows_a_message(admin_client: Client, tree: Any) -> None:
    response = admin_client.post(
        reverse("unit_certificates_issue", args=[tree.commune_a.code]), follow=True
    )
    assert response.status_code == 200
    with translation.override("vi"):
        expected = translation.gettext(
            "This node's certificate authority is not set up yet. "
            "Run `tiendon pki init` on the server first."
        )
    assert _messages(response) == [expected]
    assert not Certificate.objects.exists()
    crl = admin_client.get(reverse("pki_crl_pem"), follow=True)
    assert crl.redirect_chain[-1][0] == reverse("home")
    assert _messages(crl) == [expected]


def test_admins_see_the_certificates_link_and_clerks_do_not(
    admin_client: Client, client: Client, tree: Any
) -> None:
    link = reverse("unit_certificates", args=[tree.ministry.code])
    assert link in admin_client.get(reverse("home")).content.decode()
    clerk = Client()
    clerk.post(reverse("login"), {"username": tree.clerk_a.username, "password": PASSWORD})
    assert "/certificates/" not in clerk.get(reverse("home")).content.decode()
