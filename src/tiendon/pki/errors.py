"""PKI errors: each refusal has its own stable code."""

from __future__ import annotations

from tiendon.errors import TiendonError


class PkiError(TiendonError):
    code = "pki_error"


class CertificateRefused(PkiError):
    """Verification failed. Codes: expired, not_yet_valid, revoked, wrong_key_usage,
    unknown_issuer, broken_chain, malformed_certificate."""

    code = "certificate_refused"
