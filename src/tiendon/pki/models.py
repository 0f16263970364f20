"""Certificate authorities, keys, certificates, CRLs and crypto tokens of a node."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class KeystoreKind(models.TextChoices):
    SOFTWARE = "software", _("Software keystore (encrypted at rest)")
    PKCS11 = "pkcs11", _("PKCS#11 token or HSM")


class KeyAlgorithm(models.TextChoices):
    EC_P256_SIGN = "ec-p256-sign", _("ECDSA P-256 signing key")
    EC_P256_HPKE = "ec-p256-hpke", _("P-256 HPKE (DHKEM) key")


class Token(models.Model):
    """A crypto token (USB token or HSM slot) in the node's inventory."""

    class State(models.TextChoices):
        IN_STOCK = "in_stock", _("In stock")
        ISSUED = "issued", _("Issued")
        LOST = "lost", _("Lost")
        REVOKED = "revoked", _("Revoked")

    serial = models.CharField(max_length=64, unique=True, verbose_name=_("serial number"))
    label = models.CharField(max_length=64, blank=True, verbose_name=_("token label"))
    unit = models.ForeignKey(
        "units.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="tokens"
    )
    person = models.ForeignKey(
        "units.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="tokens"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_STOCK)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("crypto token")
        verbose_name_plural = _("crypto tokens")

    def __str__(self) -> str:
        return f"{self.serial} ({self.state})"


class StoredKey(models.Model):
    """A private key the node can use: encrypted in the database, or on a token.

    `encrypted_private` holds nonce ‖ AES-256-GCM ciphertext of the PKCS#8 DER key for the
    software keystore; a token key keeps only its PKCS#11 id here, never key material.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    keystore = models.CharField(max_length=16, choices=KeystoreKind.choices)
    algorithm = models.CharField(max_length=16, choices=KeyAlgorithm.choices)
    public_key_der = models.BinaryField()
    encrypted_private = models.BinaryField(null=True, blank=True)
    token = models.ForeignKey(
        Token, null=True, blank=True, on_delete=models.PROTECT, related_name="keys"
    )
    token_key_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        keystore="software", encrypted_private__isnull=False, token__isnull=True
                    )
                    | models.Q(
                        keystore="pkcs11", encrypted_private__isnull=True, token__isnull=False
                    )
                ),
                name="stored_key_material_matches_keystore",
            )
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} key {self.id} ({self.keystore})"


class CertificateAuthority(models.Model):
    class Kind(models.TextChoices):
        ROOT = "root", _("Root CA (key kept offline)")
        ISSUING = "issuing", _("Issuing CA of this node")
        EXTERNAL = "external", _("External trusted CA")
        PEER = "peer", _("Issuing CA of another node")

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    certificate_der = models.BinaryField()
    fingerprint = models.CharField(max_length=64, unique=True)
    # Subject key identifier (hex): names the CA in URLs (its CRL distribution point).
    key_identifier = models.CharField(max_length=64, unique=True)
    # Null for a root whose key was written to an offline folder, and for external CAs.
    key = models.OneToOneField(
        StoredKey, null=True, blank=True, on_delete=models.PROTECT, related_name="authority"
    )
    crl_number = models.PositiveBigIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # For a peer CA: the neighbour node it was first learned from. Exchange accepts what
    # it certifies only for units reached through that node (exchange/trust.py).
    introduced_by = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("certificate authority")
        verbose_name_plural = _("certificate authorities")

    def __str__(self) -> str:
        return self.name


class CertPurpose(models.TextChoices):
    UNIT_SIGNING = "unit_signing", _("Unit signing")
    UNIT_ENCRYPTION = "unit_encryption", _("Unit encryption (HPKE)")
    PERSON_SIGNING = "person_signing", _("Personal signing")
    NODE = "node", _("Node (requests between nodes)")


class RevocationReason(models.TextChoices):
    """RFC 5280 reason codes, by their ASN.1 names (the CLI takes these)."""

    UNSPECIFIED = "unspecified", _("Unspecified")
    KEY_COMPROMISE = "keyCompromise", _("Key compromise")
    AFFILIATION_CHANGED = "affiliationChanged", _("Affiliation changed")
    SUPERSEDED = "superseded", _("Superseded")
    CESSATION_OF_OPERATION = "cessationOfOperation", _("Cessation of operation")


class Certificate(models.Model):
    class State(models.TextChoices):
        VALID = "valid", _("Valid")
        REVOKED = "revoked", _("Revoked")

    serial = models.CharField(max_length=40, unique=True)  # hex
    fingerprint = models.CharField(max_length=64, unique=True)  # SHA-256 of the DER
    issuer = models.ForeignKey(
        CertificateAuthority, on_delete=models.PROTECT, related_name="certificates"
    )
    purpose = models.CharField(max_length=24, choices=CertPurpose.choices)
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="certificates")
    person = models.ForeignKey(
        "units.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    key = models.OneToOneField(StoredKey, on_delete=models.PROTECT, related_name="certificate")
    certificate_der = models.BinaryField()
    subject = models.CharField(max_length=500)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.VALID)
    superseded_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(
        max_length=32, choices=RevocationReason.choices, blank=True
    )
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        indexes = [models.Index(fields=["unit", "purpose", "state"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.serial[:12]} ({self.state})"


class Crl(models.Model):
    """Every CRL a CA published, newest by `number`; served at the distribution point."""

    authority = models.ForeignKey(
        CertificateAuthority, on_delete=models.PROTECT, related_name="crls"
    )
    number = models.PositiveBigIntegerField()
    this_update = models.DateTimeField()
    next_update = models.DateTimeField()
    crl_der = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["authority", "number"], name="crl_number_unique")
        ]

    def __str__(self) -> str:
        return f"CRL {self.number} of {self.authority_id}"


class DirectoryEntry(models.Model):
    """A unit's certificate published by the node that holds its keys (another node):
    what this node seals to when it sends to a unit it does not serve."""

    unit = models.ForeignKey("units.Unit", on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=24, choices=CertPurpose.choices)
    certificate_der = models.BinaryField()
    fingerprint = models.CharField(max_length=64, unique=True)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    via = models.CharField(max_length=64)  # the node it came from
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["unit", "purpose", "not_before"])]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.purpose} {self.fingerprint[:12]}"
