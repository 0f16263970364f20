"""Envelopes end to end on one node: seal, store, open; and every refusal by its code."""

from __future__ import annotations

import datetime as dt
import struct
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from tiendon.audit.models import AuditRecord
from tiendon.errors import OutOfScope
from tiendon.exchange import envelope
from tiendon.exchange.actions import (
    do_accept_envelope,
    do_send_envelope,
    seal_for_units,
)
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.models import Envelope, EnvelopeRecipient
from tiendon.exchange.queries import inbox, open_payload
from tiendon.exchange.status import RECEIPT_KIND
from tiendon.exchange.tests.noteapp import apps as noteapp
from tiendon.pki import x509build
from tiendon.pki.actions import do_issue_unit_keys, do_revoke_certificate
from tiendon.pki.models import CertPurpose
from tiendon.units.models import Clearance

pytestmark = pytest.mark.django_db
PAYLOAD = "Chỉ thị số 01/CT-BQP về huấn luyện dân quân tự vệ năm 2027".encode()


@pytest.fixture
def keyed(tree, pki):
    for unit in (tree.ministry, tree.province, tree.commune_a, tree.commune_b):
        do_issue_unit_keys(unit)
    return tree


def _sealed(tree, **extra):
    return seal_for_units(
        kind="test.ping",
        payload=PAYLOAD,
        sender=tree.ministry,
        recipients=[tree.commune_a, tree.commune_b],
        **extra,
    )


def _refused(data: bytes) -> str:
    with pytest.raises(EnvelopeError) as refused:
        do_accept_envelope(data, via="test")
    record = AuditRecord.objects.filter(action="exchange.envelope_refused").last()
    assert record is not None
    assert record.new["code"] == refused.value.code
    assert not Envelope.objects.exists()
    return refused.value.code


def test_a_ministry_envelope_reaches_two_communes_and_only_they_can_open_it(keyed):
    stored = do_send_envelope(
        kind="test.ping",
        payload=PAYLOAD,
        sender=keyed.ministry,
        recipients=[keyed.commune_a, keyed.commune_b],
        actor=keyed.ministry_clerk,
    )
    assert [d.envelope_id for d in inbox(keyed.clerk_a)] == [stored.pk]
    assert open_payload(keyed.clerk_a, str(stored.pk)) == PAYLOAD
    assert open_payload(keyed.clerk_b, str(stored.pk)) == PAYLOAD
    with pytest.raises(OutOfScope):
        open_payload(keyed.province_commander, str(stored.pk))
    assert AuditRecord.objects.filter(action="exchange.payload_opened").count() == 2
    assert AuditRecord.objects.get(action="exchange.envelope_sent").new["recipients"] == 2


def test_the_sent_record_of_an_envelope_names_the_unit_signature_it_carries(keyed):
    from tiendon.pki.queries import current_for_unit

    do_send_envelope(
        kind="test.ping", payload=PAYLOAD, sender=keyed.ministry, recipients=[keyed.commune_a]
    )
    cert = current_for_unit(keyed.ministry).get(purpose=CertPurpose.UNIT_SIGNING)
    sent = AuditRecord.objects.get(action="exchange.envelope_sent")
    assert sent.new["signature"] == {"purpose": "exchange.envelope", "serial": cert.serial}
    # One record per envelope on the hot path: the signature has no second one.
    assert not AuditRecord.objects.filter(action="pki.unit_signature").exists()


def test_a_unit_whose_signing_certificate_was_revoked_seals_nothing(keyed):
    from tiendon.pki.queries import current_for_unit

    do_revoke_certificate(
        current_for_unit(keyed.ministry).get(purpose=CertPurpose.UNIT_SIGNING),
        reason="keyCompromise",
    )
    with pytest.raises(EnvelopeError) as refused:
        _sealed(keyed)
    assert refused.value.code == "sender_revoked"


def test_each_receipt_sealed_here_is_recorded_as_sent_with_its_signature(keyed):
    from tiendon.pki.queries import current_for_unit

    do_accept_envelope(_sealed(keyed).data, via="test")
    receipts = AuditRecord.objects.filter(action="exchange.envelope_sent", new__kind=RECEIPT_KIND)
    assert {r.unit_id: r.new["signature"]["serial"] for r in receipts} == {
        unit.pk: current_for_unit(unit).get(purpose=CertPurpose.UNIT_SIGNING).serial
        for unit in (keyed.commune_a, keyed.commune_b)
    }


def test_the_stored_envelope_is_ciphertext_only(keyed, settings):
    from tiendon.exchange.blobs import read_blob

    stored = do_send_envelope(
        kind="test.ping", payload=PAYLOAD, sender=keyed.ministry, recipients=[keyed.commune_a]
    )
    assert PAYLOAD not in read_blob(str(stored.pk))
    assert "huấn luyện".encode() not in read_blob(str(stored.pk))


def test_an_envelope_delivered_twice_is_stored_once(keyed):
    sealed = _sealed(keyed)
    first = do_accept_envelope(sealed.data, via="test")
    again = do_accept_envelope(sealed.data, via="test")
    assert first.pk == again.pk
    assert Envelope.objects.exclude(kind=RECEIPT_KIND).count() == 1
    assert EnvelopeRecipient.objects.filter(envelope=first).count() == 2
    # Each recipient signed one receipt (01) for the sender, once, not on the repeat.
    assert Envelope.objects.filter(kind=RECEIPT_KIND).count() == 2


def test_the_same_id_with_other_content_is_refused_as_a_replay(keyed):
    first = _sealed(keyed)
    do_accept_envelope(first.data, via="test")
    forged = envelope.seal(
        b"other",
        kind="test.ping",
        sender=_sender_of(keyed.ministry),
        recipients=[envelope.Recipient(keyed.commune_a.code, _enc_cert(keyed.commune_a))],
        envelope_id=first.envelope_id,
    )
    with pytest.raises(EnvelopeError) as refused:
        do_accept_envelope(forged.data, via="test")
    assert refused.value.code == "replay"
    assert Envelope.objects.exclude(kind=RECEIPT_KIND).count() == 1


def _sender_of(unit):
    from tiendon.exchange.actions import sender_for

    return sender_for(unit)


def _enc_cert(unit):
    from tiendon.pki.queries import current_for_unit

    return bytes(current_for_unit(unit).get(purpose=CertPurpose.UNIT_ENCRYPTION).certificate_der)


def _parts(data: bytes) -> tuple[int, int]:
    (jws_len,) = struct.unpack(">I", data[4:8])
    (wraps_len,) = struct.unpack(">I", data[8 + jws_len : 12 + jws_len])
    return jws_len, wraps_len


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_tampered_ciphertext_is_refused(keyed):
    data = _sealed(keyed).data
    assert _refused(_flip(data, len(data) - 5)) == "ciphertext_mismatch"


def test_tampered_manifest_is_refused(keyed):
    data = _sealed(keyed).data
    header_end = data.index(b".", 8)
    assert _refused(_flip(data, header_end + 10)) == "bad_signature"


def test_tampered_signature_is_refused(keyed):
    data = _sealed(keyed).data
    jws_len, _ = _parts(data)
    assert _refused(_flip(data, 8 + jws_len - 3)) == "bad_signature"


def test_tampered_wrap_is_refused(keyed):
    data = _sealed(keyed).data
    jws_len, _wraps_len = _parts(data)
    assert _refused(_flip(data, 12 + jws_len + 30)) == "wraps_mismatch"


def test_a_unit_that_is_not_a_recipient_cannot_open(keyed):
    parsed = envelope.parse(_sealed(keyed).data, check_sender=lambda *_: None)
    with pytest.raises(EnvelopeError) as refused:
        envelope.open_for(parsed, recipient=keyed.province.code, keys={})
    assert refused.value.code == "not_a_recipient"


def test_a_wrong_key_cannot_unwrap(keyed):
    parsed = envelope.parse(_sealed(keyed).data, check_sender=lambda *_: None)
    wrap = next(w for w in parsed.wraps if w.recipient == keyed.commune_a.code)
    stranger = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(EnvelopeError) as refused:
        envelope.open_for(parsed, recipient=keyed.commune_a.code, keys={wrap.kid: stranger})
    assert refused.value.code == "unwrap_failed"


def test_a_sender_from_an_unknown_ca_is_refused(keyed):
    key = ec.generate_private_key(ec.SECP256R1())
    now = timezone.now()
    root = x509build.build_root("Rogue CA", key, now)
    signer = ec.generate_private_key(ec.SECP256R1())
    cert = x509build.build_end_entity(
        subject=x509build.SubjectInfo("Bộ Quốc phòng", "BQP", "Bộ Quốc phòng"),
        public=signer.public_key(),
        purpose="signing",
        issuer_cert=root,
        issuer_key=key,
        crl_url="http://127.0.0.1/x.crl",
        now=now,
    )
    sealed = envelope.seal(
        PAYLOAD,
        kind="test.ping",
        sender=envelope.Sender(
            "BQP",
            cert.public_bytes(serialization.Encoding.DER),
            (root.public_bytes(serialization.Encoding.DER),),
            lambda data: signer.sign(data, ec.ECDSA(hashes.SHA256())),
        ),
        recipients=[envelope.Recipient(keyed.commune_a.code, _enc_cert(keyed.commune_a))],
    )
    assert _refused(sealed.data) == "sender_unknown_issuer"


def test_a_sender_whose_certificate_was_revoked_is_refused(keyed):
    sealed = _sealed(keyed)
    from tiendon.pki.queries import current_for_unit

    do_revoke_certificate(
        current_for_unit(keyed.ministry).get(purpose=CertPurpose.UNIT_SIGNING),
        reason="keyCompromise",
    )
    assert _refused(sealed.data) == "sender_revoked"


def test_a_sender_already_seen_is_still_checked_on_every_envelope(keyed):
    # The header of a sender is read once per process; the signature and the certificate's
    # standing are not: a forged signature and a revocation under the same header are caught.
    from tiendon.pki.queries import current_for_unit

    first, forged, later = _sealed(keyed), _sealed(keyed), _sealed(keyed)
    assert do_accept_envelope(first.data, via="test").pk
    jws_len, _ = _parts(forged.data)
    with pytest.raises(EnvelopeError) as bad:
        do_accept_envelope(_flip(forged.data, 8 + jws_len - 3), via="test")
    assert bad.value.code == "bad_signature"
    do_revoke_certificate(
        current_for_unit(keyed.ministry).get(purpose=CertPurpose.UNIT_SIGNING),
        reason="keyCompromise",
    )
    with pytest.raises(EnvelopeError) as revoked:
        do_accept_envelope(later.data, via="test")
    assert revoked.value.code == "sender_revoked"
    assert not Envelope.objects.filter(pk__in=[forged.envelope_id, later.envelope_id]).exists()


def test_an_envelope_carries_its_senders_certificate_alone_and_is_accepted(keyed):
    # The chain stays home: every node judges the certificate against the CAs it holds.
    # (Envelopes that still carry the chain are read as before: test_vectors.)
    import base64
    import json as _json

    from tiendon.pki.queries import current_for_unit

    data = _sealed(keyed).data
    jws_len, _ = _parts(data)
    header = _json.loads(envelope.b64url_decode(data[8 : 8 + jws_len].decode().split(".")[0]))
    signing = current_for_unit(keyed.ministry).get(purpose=CertPurpose.UNIT_SIGNING)
    assert header["x5c"] == [base64.b64encode(bytes(signing.certificate_der)).decode()]
    assert do_accept_envelope(data, via="test").sender_id == keyed.ministry.pk


def test_a_sender_whose_certificate_expired_is_refused(keyed):
    from tiendon.pki.keystore import keystore_for
    from tiendon.pki.queries import current_for_unit

    past = timezone.now() - dt.timedelta(days=10)
    do_issue_unit_keys(keyed.ministry, not_before=past, lifetime=dt.timedelta(days=1))
    with pytest.raises(EnvelopeError) as unsealed:
        _sealed(keyed)  # this node does not sign with it
    assert unsealed.value.code == "sender_expired"
    # A node that still signs with it (not this code) is refused on arrival.
    cert = current_for_unit(keyed.ministry).get(purpose=CertPurpose.UNIT_SIGNING)
    sealed = envelope.seal(
        PAYLOAD,
        kind="test.ping",
        sender=envelope.Sender(
            keyed.ministry.code,
            bytes(cert.certificate_der),
            (),
            lambda data: keystore_for(cert.key).sign(cert.key, data),
        ),
        recipients=[envelope.Recipient(keyed.commune_a.code, _enc_cert(keyed.commune_a))],
    )
    assert _refused(sealed.data) == "sender_expired"


def test_an_expired_envelope_is_refused(keyed):
    data = envelope.seal(
        PAYLOAD,
        kind="test.ping",
        sender=_sender_of(keyed.ministry),
        recipients=[envelope.Recipient(keyed.commune_a.code, _enc_cert(keyed.commune_a))],
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=20),
    ).data
    assert _refused(data) == "expired"


def test_a_signer_signing_as_another_unit_is_refused(keyed):
    sealed = envelope.seal(
        PAYLOAD,
        kind="test.ping",
        sender=envelope.Sender(
            keyed.province.code,  # claims to be the province …
            *_material(keyed.ministry),  # … with the ministry's key and certificate
        ),
        recipients=[envelope.Recipient(keyed.commune_a.code, _enc_cert(keyed.commune_a))],
    )
    assert _refused(sealed.data) == "sender_mismatch"


def _material(unit):
    sender = _sender_of(unit)
    return sender.certificate_der, sender.chain_der, sender.sign


def test_an_envelope_for_an_unknown_unit_is_refused_as_misaddressed(keyed):
    sealed = envelope.seal(
        PAYLOAD,
        kind="test.ping",
        sender=_sender_of(keyed.ministry),
        recipients=[envelope.Recipient("99999", _enc_cert(keyed.commune_a))],
    )
    assert _refused(sealed.data) == "misaddressed"


def test_oversized_and_malformed_input_is_refused(keyed, monkeypatch):
    monkeypatch.setattr(envelope, "MAX_ENVELOPE_BYTES", 1000)
    assert _refused(_sealed(keyed).data) == "oversized"
    assert _refused(b"PDF-1.7 not an envelope") == "malformed"
    assert _refused(b"") == "malformed"


def test_secret_content_is_refused_by_a_node_not_declared_fit(keyed):
    with pytest.raises(EnvelopeError) as refused:
        _sealed(keyed, security="mat")
    assert refused.value.code == "not_fit_for_secret"
    assert AuditRecord.objects.filter(action="exchange.secret_refused").exists()


def test_on_a_fit_node_secret_content_opens_only_with_clearance(keyed, settings):
    settings.TIENDON_SECRET_FIT = True
    stored = do_send_envelope(
        kind="test.ping",
        payload=PAYLOAD,
        sender=keyed.ministry,
        recipients=[keyed.commune_a],
        security="mat",
    )
    assert keyed.commander_a.clearance == Clearance.NONE
    with pytest.raises(OutOfScope):
        open_payload(keyed.commander_a, str(stored.pk))
    keyed.commander_a.clearance = Clearance.MAT
    keyed.commander_a.save()
    assert open_payload(keyed.commander_a, str(stored.pk)) == PAYLOAD


def test_an_id_that_is_not_a_uuid_is_out_of_scope(keyed):
    with pytest.raises(OutOfScope):
        open_payload(keyed.clerk_a, "../../etc/passwd")
    with pytest.raises(OutOfScope):
        open_payload(keyed.clerk_a, str(uuid.uuid4()))


def test_stats_count_envelopes_and_deliveries(keyed):
    import json
    from io import StringIO

    from django.core.management import call_command

    do_send_envelope(
        kind="test.ping",
        payload=PAYLOAD,
        sender=keyed.ministry,
        recipients=[keyed.commune_a, keyed.commune_b],
    )
    out = StringIO()
    call_command("stats", "--json", stdout=out)
    figures = json.loads(out.getvalue())
    assert figures["envelopes"] == {
        "envelopes": 1,
        "deliveries_pending": 0,
        "deliveries_arrived": 2,
        "deliveries_undelivered": 0,
    }
    assert figures["outbox"] == {"expired": 0}  # delivered here: nothing waits for a node


def _resigned(data: bytes, signer, **changes) -> bytes:
    """The same wraps and ciphertext under an edited manifest, signed by `sender`."""
    import base64
    import json as _json

    from tiendon.exchange.envelope import b64url, b64url_decode, canonical_json, raw_signature

    jws_len, _wraps_len = _parts(data)
    header_b64, manifest_b64, _sig = data[8 : 8 + jws_len].decode().split(".")
    manifest = _json.loads(b64url_decode(manifest_b64))
    manifest.update(changes)
    header = _json.loads(b64url_decode(header_b64))
    header["x5c"] = [
        base64.b64encode(d).decode() for d in (signer.certificate_der, *signer.chain_der)
    ]
    signing_input = b64url(canonical_json(header)) + "." + b64url(canonical_json(manifest))
    jws = signing_input + "." + b64url(raw_signature(signer.sign(signing_input.encode())))
    rest = data[8 + jws_len :]
    return envelope.MAGIC + struct.pack(">I", len(jws)) + jws.encode() + rest


def test_a_secret_envelope_relabelled_and_re_signed_by_another_unit_does_not_open(keyed, settings):
    settings.TIENDON_SECRET_FIT = True
    sealed = _sealed(keyed, security="toi_mat")
    forged = _resigned(sealed.data, _sender_of(keyed.province), security="none", sender="38")
    stored = do_accept_envelope(forged, via="test")  # the province's signature is genuine …
    with pytest.raises(EnvelopeError) as refused:  # … but the content is bound to the label
        open_payload(keyed.clerk_a, str(stored.pk))
    assert refused.value.code == "unwrap_failed"


def test_a_high_s_copy_of_a_signature_is_refused(keyed):
    data = _sealed(keyed).data
    jws_len, _ = _parts(data)
    header_b64, manifest_b64, sig = data[8 : 8 + jws_len].decode().split(".")
    raw = envelope.b64url_decode(sig)
    high_s = envelope.P256_ORDER - int.from_bytes(raw[32:], "big")
    twisted = envelope.b64url(raw[:32] + high_s.to_bytes(32, "big"))
    jws = f"{header_b64}.{manifest_b64}.{twisted}".encode()
    copy = envelope.MAGIC + struct.pack(">I", len(jws)) + jws + data[8 + jws_len :]
    assert _refused(copy) == "bad_signature"


def test_an_id_that_is_not_canonical_is_refused(keyed):
    data = envelope.seal(
        PAYLOAD,
        kind="test.ping",
        sender=_sender_of(keyed.ministry),
        recipients=[envelope.Recipient(keyed.commune_a.code, _enc_cert(keyed.commune_a))],
        envelope_id=str(uuid.uuid4()).upper(),
    ).data
    assert _refused(data) == "malformed"


def test_a_deeply_nested_header_is_refused_not_crashed(keyed):
    header = envelope.b64url(b"[" * 40000)
    jws = f"{header}.e30.AAAA".encode()
    data = envelope.MAGIC + struct.pack(">I", len(jws)) + jws + struct.pack(">I", 0)
    assert _refused(data) == "malformed"


def test_an_altered_stored_envelope_is_not_opened(keyed):
    from tiendon.exchange.models import EnvelopeBytes

    stored = do_send_envelope(
        kind="test.ping", payload=PAYLOAD, sender=keyed.ministry, recipients=[keyed.commune_a]
    )
    other = envelope.seal(
        b"forged order",
        kind="test.ping",
        sender=_sender_of(keyed.ministry),
        recipients=[envelope.Recipient(keyed.commune_a.code, _enc_cert(keyed.commune_a))],
        envelope_id=str(stored.pk),
    )
    # Someone with access to the database (small envelopes are kept there):
    EnvelopeBytes.objects.filter(envelope=stored).update(data=other.data)
    with pytest.raises(EnvelopeError) as refused:
        open_payload(keyed.clerk_a, str(stored.pk))
    assert refused.value.code == "stored_altered"


def test_a_refused_envelope_leaves_no_file_behind(keyed, settings):
    from tiendon.exchange.blobs import blob_path

    settings.TIENDON_SECRET_FIT = True
    from tiendon.exchange.models_transport import Node, ServedUnit

    child = Node.objects.create(name="p38", relation=Node.Relation.CHILD)
    ServedUnit.objects.create(node=child, unit=keyed.province)
    sealed = _sealed(keyed, security="mat")  # commune A lies below the unfit child node
    assert _refused(sealed.data) == "link_not_fit_for_secret"
    assert not blob_path(sealed.envelope_id).exists()


def test_an_envelope_is_not_sent_back_to_the_node_it_came_from(keyed):
    from tiendon.exchange.models_transport import Node, OutboxItem, ServedUnit

    parent = Node.objects.create(name="bqp", relation=Node.Relation.PARENT)
    here = Node.objects.create(name="p38", relation=Node.Relation.SELF)
    ServedUnit.objects.create(node=here, unit=keyed.province)
    stored = do_accept_envelope(_sealed(keyed).data, via="bqp", came_from=parent)
    states = dict(stored.deliveries.values_list("unit__code", "state"))
    assert states == {keyed.commune_a.code: "arrived"}  # commune B is not this node's business
    assert not OutboxItem.objects.filter(envelope=stored).exists()


def test_the_database_choices_match_the_envelope_format():
    from tiendon.exchange.models import CLEARANCE_FOR_LABEL, Precedence, SecurityLabel

    assert tuple(Precedence.values) == envelope.PRECEDENCES
    assert tuple(SecurityLabel.values) == envelope.SECURITY_LABELS
    assert tuple(CLEARANCE_FOR_LABEL) == envelope.SECURITY_LABELS


def _receipt_from(tree, signer, about_unit, envelope_id, code="01"):
    from tiendon.exchange.envelope import canonical_json

    return seal_for_units(
        kind=RECEIPT_KIND,
        payload=canonical_json(
            {"envelopes": [envelope_id], "unit": about_unit.code, "status": code, "at": "x"}
        ),
        sender=signer,
        recipients=[tree.ministry],
    ).data


def test_a_receipt_records_the_status_only_for_the_unit_that_signed_it(keyed, note_app):
    sent = do_send_envelope(
        kind=noteapp.KIND,
        payload=PAYLOAD,
        sender=keyed.ministry,
        recipients=[keyed.commune_a, keyed.commune_b],
    )
    # Commune A reports for itself (read), and tries to report for commune B too.
    do_accept_envelope(_receipt_from(keyed, keyed.commune_a, keyed.commune_a, str(sent.pk), "21"))
    do_accept_envelope(_receipt_from(keyed, keyed.commune_a, keyed.commune_b, str(sent.pk), "21"))
    statuses = dict(sent.deliveries.values_list("unit__code", "status"))
    assert statuses == {keyed.commune_a.code: "21", keyed.commune_b.code: "01"}
    assert AuditRecord.objects.filter(action="exchange.status_received").count() == 1
    assert AuditRecord.objects.filter(action="exchange.receipt_refused").count() == 1


def test_a_large_envelope_is_kept_in_a_file_and_checked_when_opened(keyed):
    from tiendon.exchange.blobs import INLINE_MAX, blob_path
    from tiendon.exchange.models import EnvelopeBytes

    scan = bytes(range(256)) * (INLINE_MAX // 256 + 1)  # a scanned page, over the inline size
    stored = do_send_envelope(
        kind="test.ping", payload=scan, sender=keyed.ministry, recipients=[keyed.commune_a]
    )
    assert blob_path(str(stored.pk)).exists()
    assert not EnvelopeBytes.objects.filter(envelope=stored).exists()
    assert open_payload(keyed.clerk_a, str(stored.pk)) == scan
    path = blob_path(str(stored.pk))
    path.write_bytes(path.read_bytes()[:-1] + b"\0")  # someone with disk access
    with pytest.raises(EnvelopeError) as refused:
        open_payload(keyed.clerk_a, str(stored.pk))
    assert refused.value.code == "stored_altered"


def test_a_recipient_reports_its_status_with_a_note_and_the_sender_sees_it(keyed, note_app):
    from tiendon.exchange.actions import do_send_status

    sent = do_send_envelope(
        kind=noteapp.KIND, payload=PAYLOAD, sender=keyed.ministry, recipients=[keyed.commune_a]
    )
    receipt = do_send_status(sent, keyed.commune_a, "21", note="Đã đọc, chuyển chỉ huy")
    assert receipt.kind == RECEIPT_KIND
    row = sent.deliveries.get()
    assert (row.status, row.status_note) == ("21", "Đã đọc, chuyển chỉ huy")
    assert AuditRecord.objects.filter(action="exchange.status_sent").count() == 1
    for code, unit, note, reason in (
        ("01", keyed.commune_a, "", "status_unknown"),  # arrival is reported by the node itself
        ("99", keyed.commune_a, "", "status_unknown"),  # not in the note app's vocabulary
        ("06", keyed.commune_a, "", "status_unknown"),  # documents' code, not the note app's
        ("21", keyed.commune_b, "", "not_a_recipient"),
        ("22", keyed.commune_a, "x" * 1001, "oversized"),
    ):
        with pytest.raises(EnvelopeError) as refused:
            do_send_status(sent, unit, code, note=note)
        assert refused.value.code == reason
    assert sent.deliveries.get().status == "21"


def test_a_revocation_just_after_a_seal_is_caught_before_anything_is_stored(keyed):
    # Sealing rechecks a unit's certificate at most once a second; storing always does.
    from tiendon.exchange.actions import do_send_envelope
    from tiendon.pki.queries import current_for_unit

    _sealed(keyed)  # checked now
    do_revoke_certificate(
        current_for_unit(keyed.ministry).get(purpose=CertPurpose.UNIT_SIGNING),
        reason="keyCompromise",
    )
    with pytest.raises(EnvelopeError) as refused:
        do_send_envelope(
            kind="test.ping", payload=PAYLOAD, sender=keyed.ministry, recipients=[keyed.commune_a]
        )
    assert refused.value.code == "sender_revoked"
    assert not Envelope.objects.exists()
