"""Which CA may speak for which unit: bound to the shape of the network.

Any CA that chains to a trusted root validates, but a unit's certificate is believed only
from a CA in the unit's direction: a peer CA only for the units reached through the
neighbour it was first learned from (this node's own CAs, whose keys never leave it, for
any). A commune edge's CA, seen at the province or the ministry, can so certify its own
commune but never the ministry nor another unit, though the same national root signed it;
a province's CA can never speak for another province's units. (A parent can still speak
for everything above its children: that trust is the hierarchy's.)
"""

from __future__ import annotations

from cryptography import x509

from tiendon.exchange.routing import Router
from tiendon.pki.actions import issuing_authority
from tiendon.pki.models import CertificateAuthority
from tiendon.units.models import Unit


class IssuerScope:
    def __init__(self, router: Router | None = None) -> None:
        self.router = router or Router()
        self._paths: dict[str, str] = {}
        self._authorities: dict[bytes, CertificateAuthority | None] = {}

    def authority_of(self, certificate: x509.Certificate) -> CertificateAuthority | None:
        """The CA held here that signed `certificate`, looked up once per batch."""
        try:
            aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        except x509.ExtensionNotFound:
            return None
        key = aki.value.key_identifier or b""
        if key not in self._authorities:
            self._authorities[key] = issuing_authority(certificate)
        return self._authorities[key]

    def allows_path(self, unit_path: str, authority: CertificateAuthority | None) -> bool:
        if authority is None or not authority.is_active:
            return False
        if authority.kind in (CertificateAuthority.Kind.ISSUING, CertificateAuthority.Kind.ROOT):
            return True  # this node's own CAs: their keys never leave it
        if authority.kind == CertificateAuthority.Kind.PEER:
            hop = self.router.next_hop_for_path(unit_path)
            return hop is not None and hop.name == authority.introduced_by
        return False  # external anchors certify people and organisations, not our units

    def allows(self, unit_code: str, authority: CertificateAuthority | None) -> bool:
        if unit_code not in self._paths:
            unit = Unit.objects.filter(code=unit_code).only("path").first()
            if unit is None:
                return False
            self._paths[unit_code] = unit.path
        return self.allows_path(self._paths[unit_code], authority)
