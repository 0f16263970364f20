"""Administrators' PKI pages: a unit's certificates, issuing, rotating, revoking, PEM downloads.

Thin views: state changes go through `actions` (which audit them), certificates and units
are fetched through `queries` (scope enforced there; OutOfScope becomes an audited 404 in
`tiendon.web.middleware`). A refusal from the PKI becomes a message on the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from tiendon.pki import queries
from tiendon.pki.actions import (
    current_certificates,
    do_issue_person_key,
    do_issue_unit_keys,
    do_revoke_certificate,
    ensure_fresh_crl,
)
from tiendon.pki.errors import PkiError
from tiendon.pki.issuer import current_issuer
from tiendon.pki.keystore import KeystoreError
from tiendon.pki.models import (
    Certificate,
    CertificateAuthority,
    CertPurpose,
    KeystoreKind,
    RevocationReason,
)
from tiendon.units import queries as unit_queries
from tiendon.units.models import Person

PEM_TYPE = "application/x-pem-file"

# What an administrator reads when the PKI refuses; the English message stays in the logs.
_REFUSALS: dict[str, Promise] = {
    "pki_not_initialised": gettext_lazy(
        "This node's certificate authority is not set up yet. "
        "Run `tiendon pki init` on the server first."
    ),
    "already_revoked": gettext_lazy("This certificate was already revoked."),
    "unknown_reason": gettext_lazy("Choose a revocation reason from the list."),
    "nothing_to_revoke": gettext_lazy("This unit has no current certificate to revoke."),
    "ca_key_offline": gettext_lazy(
        "The key of the certificate authority is kept offline; it cannot sign here."
    ),
}


def _refusal_text(error: PkiError | KeystoreError) -> str:
    known = _REFUSALS.get(error.code)
    if known is not None:
        return str(known)
    return _("The certificate authority refused: %(code)s.") % {"code": error.code}


def _admin(request: HttpRequest) -> Person:
    """The administrator making the request; anyone else is refused (and audited)."""
    person = request.user
    if not isinstance(person, Person) or not person.is_admin:
        raise PermissionDenied("administrators only")
    return person


# ---------------------------------------------------------------- the unit's certificates


class CertState:
    """What a certificate is worth today; only `revoked` is stored, the rest follow from dates."""

    VALID = "valid"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"
    EXPIRED = "expired"


_STATE_LABELS: dict[str, Promise] = {
    CertState.VALID: gettext_lazy("valid"),
    CertState.SUPERSEDED: gettext_lazy("superseded"),
    CertState.REVOKED: gettext_lazy("revoked"),
    CertState.EXPIRED: gettext_lazy("expired"),
}


def certificate_state(cert: Certificate, now: dt.datetime) -> str:
    if cert.state == Certificate.State.REVOKED:
        return CertState.REVOKED
    if cert.not_after < now:
        return CertState.EXPIRED
    if cert.superseded_at is not None:
        return CertState.SUPERSEDED
    return CertState.VALID


@dataclass(frozen=True)
class CertificateRow:
    cert: Certificate
    state: str

    @property
    def state_label(self) -> str:
        return str(_STATE_LABELS[self.state])

    @property
    def key_location(self) -> str:
        key = self.cert.key
        if key.keystore == KeystoreKind.PKCS11 and key.token is not None:
            return _("token %(serial)s") % {"serial": key.token.serial}
        return _("software keystore")

    @property
    def revocable(self) -> bool:
        return self.state != CertState.REVOKED


@dataclass(frozen=True)
class PersonRow:
    person: Person
    has_current: bool


@login_required
@require_GET
def unit_certificates(request: HttpRequest, code: str) -> HttpResponse:
    admin = _admin(request)
    unit = unit_queries.get_visible_unit(admin, code)
    now = timezone.now()
    rows = [
        CertificateRow(cert=c, state=certificate_state(c, now))
        for c in queries.certificates_of_unit(admin, unit)
    ]
    unit_purposes = {CertPurpose.UNIT_SIGNING, CertPurpose.UNIT_ENCRYPTION}
    with_personal = set(
        current_certificates(unit=unit, purpose=CertPurpose.PERSON_SIGNING).values_list(
            "person_id", flat=True
        )
    )
    people = [
        PersonRow(person=p, has_current=p.pk in with_personal)
        for p in unit_queries.order_people_vi(Person.objects.filter(unit=unit, is_active=True))
    ]
    return render(
        request,
        "pki/unit_certificates.html",
        {
            "unit": unit,
            "unit_rows": [r for r in rows if r.cert.purpose in unit_purposes],
            "person_rows": [r for r in rows if r.cert.purpose == CertPurpose.PERSON_SIGNING],
            "has_current_keys": any(
                r.state == CertState.VALID and r.cert.purpose in unit_purposes for r in rows
            ),
            "people": people,
            "reasons": RevocationReason.choices,
            "pki_ready": CertificateAuthority.objects.filter(
                kind=CertificateAuthority.Kind.ISSUING, is_active=True
            ).exists(),
        },
    )


# ---------------------------------------------------------------- issuing and revoking


@login_required
@require_POST
def unit_certificates_issue(request: HttpRequest, code: str) -> HttpResponse:
    admin = _admin(request)
    unit = unit_queries.get_visible_unit(admin, code)
    try:
        do_issue_unit_keys(unit, actor=admin, request=request)
    except (PkiError, KeystoreError) as error:
        messages.error(request, _refusal_text(error))
    else:
        messages.success(
            request,
            _("New signing and encryption certificates were issued for %(unit)s.")
            % {"unit": unit.name},
        )
    return redirect("unit_certificates", code=unit.code)


@login_required
@require_POST
def person_certificate_issue(request: HttpRequest, username: str) -> HttpResponse:
    admin = _admin(request)
    person = unit_queries.get_visible_person(admin, username)
    try:
        do_issue_person_key(person, actor=admin, request=request)
    except (PkiError, KeystoreError) as error:
        messages.error(request, _refusal_text(error))
    else:
        messages.success(
            request,
            _("A personal signing certificate was issued for %(name)s.")
            % {"name": person.full_name},
        )
    return redirect("unit_certificates", code=person.unit.code)


@login_required
@require_POST
def certificate_revoke(request: HttpRequest, serial: str) -> HttpResponse:
    admin = _admin(request)
    cert = queries.get_visible_certificate(admin, serial)
    reason = request.POST.get("reason", "")
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the confirmation box to revoke a certificate."))
    else:
        try:
            do_revoke_certificate(cert, reason=reason, actor=admin, request=request)
        except (PkiError, KeystoreError) as error:
            messages.error(request, _refusal_text(error))
        else:
            messages.success(
                request,
                _("Certificate %(serial)s was revoked; a new revocation list was published.")
                % {"serial": cert.serial},
            )
    return redirect("unit_certificates", code=cert.unit.code)


# ---------------------------------------------------------------- downloads (PEM)


def _pem_response(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=PEM_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _ca_chain(authority: CertificateAuthority) -> list[CertificateAuthority]:
    """The issuing CA, then its parents up to the root."""
    chain = [authority]
    while chain[-1].parent_id is not None and len(chain) < 8:
        parent = chain[-1].parent
        assert parent is not None
        chain.append(parent)
    return chain


def _der_to_pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


@login_required
@require_GET
def certificate_pem(request: HttpRequest, serial: str) -> HttpResponse:
    admin = _admin(request)
    cert = queries.get_visible_certificate(admin, serial)
    return _pem_response(
        _der_to_pem(bytes(cert.certificate_der)),
        f"{cert.unit.code}-{cert.purpose}-{cert.serial[:16]}.pem",
    )


@login_required
@require_GET
def certificate_chain_pem(request: HttpRequest, serial: str) -> HttpResponse:
    admin = _admin(request)
    cert = queries.get_visible_certificate(admin, serial)
    body = b"".join(_der_to_pem(bytes(ca.certificate_der)) for ca in _ca_chain(cert.issuer))
    return _pem_response(body, f"chain-{cert.serial[:16]}.pem")


@login_required
@require_GET
def current_crl_pem(request: HttpRequest) -> HttpResponse:
    """The issuing CA's current CRL, for anyone logged in (the CRL itself is public)."""
    try:
        crl = ensure_fresh_crl(current_issuer().authority)
    except (PkiError, KeystoreError) as error:
        messages.error(request, _refusal_text(error))
        return redirect("home")
    pem = x509.load_der_x509_crl(bytes(crl.crl_der)).public_bytes(serialization.Encoding.PEM)
    return _pem_response(pem, f"crl-{crl.number}.pem")
