"""Public PKI endpoints (CRLs, the certificate directory) and the administrators' pages."""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from tiendon.pki import queries
from tiendon.pki.actions import authorities_document, latest_crl, published_directory
from tiendon.pki.models import CertificateAuthority


@require_GET
def crl(request: HttpRequest, key_identifier: str) -> HttpResponse:
    """The CRL distribution point: public, like the CRL itself (RFC 5280)."""
    authority = CertificateAuthority.objects.filter(key_identifier=key_identifier).first()
    latest = latest_crl(authority) if authority is not None else None
    if latest is None:
        raise Http404
    response = HttpResponse(bytes(latest.crl_der), content_type="application/pkix-crl")
    response["Cache-Control"] = "max-age=300"
    return response


@require_GET
def directory(request: HttpRequest, code: str) -> JsonResponse:
    """A unit's current certificates (public data) for other nodes to fetch."""
    certs = queries.published_certificates(code)
    if certs is None:
        raise Http404
    return JsonResponse(
        {
            "unit": code,
            "certificates": [
                {
                    "purpose": c.purpose,
                    "serial": c.serial,
                    "not_after": c.not_after.isoformat(),
                    "pem": x509.load_der_x509_certificate(bytes(c.certificate_der))
                    .public_bytes(serialization.Encoding.PEM)
                    .decode(),
                }
                for c in certs
            ],
        }
    )


@require_GET
def authorities(request: HttpRequest) -> JsonResponse:
    """Every CA this node knows, with its newest CRL: public, so other nodes can validate
    what this node's units and node sign (they accept only CAs under a root they trust)."""
    return JsonResponse(authorities_document())


@require_GET
def directory_all(request: HttpRequest) -> JsonResponse:
    """The current certificates of every unit whose keys this node holds (public data)."""
    return JsonResponse(
        {
            "entries": [
                {"unit": code, "purpose": purpose, "certificate": base64.b64encode(der).decode()}
                for code, purpose, der in published_directory()
            ]
        }
    )
