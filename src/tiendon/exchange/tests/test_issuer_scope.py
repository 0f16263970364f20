"""A peer CA speaks only for the units reached through the node that introduced it: the
same national root signed every node's CA, yet one node cannot pass for another's units."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from tiendon.exchange import envelope
from tiendon.exchange.actions import do_accept_envelope
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.nodes import do_add_neighbour, do_init_node
from tiendon.exchange.tests.test_envelopes import _enc_cert
from tiendon.pki import x509build
from tiendon.pki.actions import do_import_authorities, do_import_directory, do_issue_unit_keys
from tiendon.pki.tests.test_peer_authorities import DER, other_node  # noqa: F401

pytestmark = pytest.mark.django_db


def _leaf(issuing_der, ca_key, name, code):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = x509build.build_end_entity(
        subject=x509build.SubjectInfo(name, code),
        public=key.public_key(),
        purpose="signing",
        issuer_cert=x509.load_der_x509_certificate(issuing_der),
        issuer_key=ca_key,
        crl_url="http://127.0.0.1:9/pki/crl/x.crl",
        now=timezone.now(),
    )
    return cert, key


def _from(unit_code, cert, key, issuing_der, ministry):
    sender = envelope.Sender(
        code=unit_code,
        certificate_der=cert.public_bytes(DER),
        chain_der=(issuing_der,),
        sign=lambda data: key.sign(data, ec.ECDSA(hashes.SHA256())),
    )
    recipient = envelope.Recipient(ministry.code, _enc_cert(ministry))
    return envelope.seal(b"bao cao", kind="test.ping", sender=sender, recipients=[recipient]).data


@pytest.fixture
def ministry_with_child(tree, pki, settings, other_node):  # noqa: F811
    settings.TIENDON_NODE_NAME = "bqp"
    do_issue_unit_keys(tree.ministry)
    do_init_node("bqp", serves=["BQP"])
    do_add_neighbour("tinh-38", relation="child", base_url="http://127.0.0.1:9", serves=["38"])
    issuing, _leaf14845, crl, ca_key = other_node
    do_import_authorities([(issuing, crl(1))], via="tinh-38")  # Thanh Hóa's node's CA
    return tree, issuing, ca_key


def test_a_peer_ca_is_believed_for_units_behind_its_node_only(ministry_with_child):
    tree, issuing, ca_key = ministry_with_child
    # Phường Đông Tiến is in Thanh Hóa, behind the node that introduced the CA: believed.
    cert, key = _leaf(issuing, ca_key, "Ban CHQS phường Đông Tiến", tree.commune_a.code)
    stored = do_accept_envelope(_from(tree.commune_a.code, cert, key, issuing, tree.ministry))
    assert stored.sender == tree.commune_a
    # A Nghệ An commune, or the ministry itself, certified by Thanh Hóa's CA: refused.
    for unit in (tree.commune_b, tree.ministry):
        cert, key = _leaf(issuing, ca_key, unit.name, unit.code)
        with pytest.raises(EnvelopeError) as refused:
            do_accept_envelope(_from(unit.code, cert, key, issuing, tree.ministry))
        assert refused.value.code == "sender_issuer_out_of_scope"


def test_directory_entries_from_an_out_of_scope_ca_are_not_kept(ministry_with_child):
    from tiendon.exchange.trust import IssuerScope
    from tiendon.pki.models import DirectoryEntry

    tree, issuing, ca_key = ministry_with_child
    good, _ = _leaf(issuing, ca_key, "Ban CHQS phường Đông Tiến", tree.commune_a.code)
    forged, _ = _leaf(issuing, ca_key, tree.commune_b.name, tree.commune_b.code)
    added = do_import_directory(
        [
            (tree.commune_a.code, "unit_signing", good.public_bytes(DER)),
            (tree.commune_b.code, "unit_signing", forged.public_bytes(DER)),
        ],
        via="tinh-38",
        may_certify=IssuerScope().allows,
    )
    assert added == 1
    assert list(DirectoryEntry.objects.values_list("unit__code", flat=True)) == [
        tree.commune_a.code
    ]
