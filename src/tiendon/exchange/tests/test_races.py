"""Two deliveries of one envelope at the same moment, on PostgreSQL's real concurrency."""

from __future__ import annotations

import hashlib
import threading

import pytest
from django.db import connection

from tiendon.exchange import envelope
from tiendon.exchange.actions import do_accept_envelope, seal_for_units, sender_for
from tiendon.exchange.blobs import read_blob
from tiendon.exchange.envelope import EnvelopeError
from tiendon.exchange.models import Envelope, EnvelopeRecipient
from tiendon.exchange.status import RECEIPT_KIND
from tiendon.pki.actions import do_issue_unit_keys
from tiendon.pki.models import CertPurpose
from tiendon.pki.queries import current_for_unit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _both(first: bytes, second: bytes) -> list[object]:
    start = threading.Barrier(2)
    results: list[object] = []
    lock = threading.Lock()

    def deliver(data: bytes) -> None:
        try:
            start.wait()
            outcome: object = do_accept_envelope(data, via="race")
        except EnvelopeError as exc:
            outcome = exc.code
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=deliver, args=(d,)) for d in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def keyed(tree, pki):
    for unit in (tree.ministry, tree.commune_a):
        do_issue_unit_keys(unit)
    return tree


def test_the_same_envelope_delivered_twice_at_once_is_stored_once(keyed):
    sealed = seal_for_units(
        kind="test.ping", payload=b"mot", sender=keyed.ministry, recipients=[keyed.commune_a]
    )
    results = _both(sealed.data, sealed.data)
    assert all(isinstance(r, Envelope) for r in results), results
    held = Envelope.objects.exclude(kind=RECEIPT_KIND)
    assert held.count() == 1
    assert EnvelopeRecipient.objects.filter(envelope__in=held).count() == 1
    assert read_blob(sealed.envelope_id) == sealed.data


def test_two_contents_under_one_id_at_once_keep_the_first_and_refuse_the_other(keyed):
    sealed = seal_for_units(
        kind="test.ping", payload=b"mot", sender=keyed.ministry, recipients=[keyed.commune_a]
    )
    cert = current_for_unit(keyed.commune_a).get(purpose=CertPurpose.UNIT_ENCRYPTION)
    rival = envelope.seal(
        b"hai",
        kind="test.ping",
        sender=sender_for(keyed.ministry),
        recipients=[envelope.Recipient(keyed.commune_a.code, bytes(cert.certificate_der))],
        envelope_id=sealed.envelope_id,
    )
    results = _both(sealed.data, rival.data)
    assert sorted(map(str, results)).count("replay") == 1
    held = Envelope.objects.exclude(kind=RECEIPT_KIND).get()
    # Whichever won, the stored bytes are the ones the database row describes.
    assert hashlib.sha256(read_blob(sealed.envelope_id)).hexdigest() == held.sha256
