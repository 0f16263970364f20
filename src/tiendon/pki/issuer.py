"""The node's CAs as usable objects: certificate, key and CRL URL, loaded once per job."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.urls import reverse

from tiendon.pki.errors import PkiError
from tiendon.pki.keystore import SoftwareKeystore
from tiendon.pki.models import CertificateAuthority


def crl_url(key_identifier: str) -> str:
    return settings.TIENDON_PUBLIC_URL + reverse("pki_crl", args=[key_identifier])


@dataclass
class Issuer:
    """A CA whose key this node holds (the issuing CA; the root only in the demo)."""

    authority: CertificateAuthority

    @cached_property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(bytes(self.authority.certificate_der))

    @cached_property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        if self.authority.key is None:
            raise PkiError(
                f"the key of {self.authority.name} is not on this node (kept offline)",
                code="ca_key_offline",
            )
        return SoftwareKeystore().private_key(self.authority.key)

    @property
    def crl_url(self) -> str:
        return crl_url(self.authority.key_identifier)


def current_issuer() -> Issuer:
    authority = (
        CertificateAuthority.objects.select_related("key")
        .filter(kind=CertificateAuthority.Kind.ISSUING, is_active=True)
        .order_by("-created_at")
        .first()
    )
    if authority is None:
        raise PkiError(
            "no issuing CA on this node: run `tiendon pki init`", code="pki_not_initialised"
        )
    return Issuer(authority)
