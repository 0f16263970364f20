"""The audit chain: intact logs verify, tampering is found and named."""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from tiendon.audit.actions import COPY_FROM, AuditEntry, do_record, do_record_batch
from tiendon.audit.models import AuditRecord
from tiendon.audit.verify import verify_chain


def _append(n: int) -> list[AuditRecord]:
    return [
        do_record("test.event", object_type="thing", object_id=str(i), new={"i": i, "tên": "Đức"})
        for i in range(n)
    ]


@pytest.mark.django_db
def test_untouched_log_verifies(tree, capsys):
    _append(5)
    call_command("audit", "verify")
    out = capsys.readouterr().out
    total = AuditRecord.objects.count()
    assert f"{total} records verified" in out
    assert total >= 5 + 12  # the tree fixture audited its units and people too


@pytest.mark.django_db
def test_records_link_to_the_previous_hash():
    first, second = _append(2)
    assert second.prev_hash == first.hash
    assert second.seq == first.seq + 1
    assert len(first.hash) == 64


@pytest.mark.django_db
def test_a_state_change_records_actor_unit_and_old_and_new_values(tree):
    from tiendon.units.actions import do_update_person

    do_update_person(tree.clerk_a, actor=tree.ministry_admin, position="Văn thư chính")
    record = AuditRecord.objects.filter(action="person.updated").get()
    assert record.actor_id == tree.ministry_admin.pk
    assert record.unit_id == tree.commune_a.pk
    assert record.old["position"] == ""
    assert record.new["position"] == "Văn thư chính"


@pytest.mark.django_db
def test_raw_update_of_one_record_is_refused_on_postgres_or_named_by_verify():
    records = _append(6)
    target = records[3]
    table = AuditRecord._meta.db_table
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {table} SET action = %s WHERE id = %s", ["x", target.pk])
        assert verify_chain().ok
        return
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET new = %s WHERE id = %s", ['{"i": 99}', target.pk])
    result = verify_chain()
    assert not result.ok
    assert result.problem.seq == target.seq
    assert result.problem.code == "content_changed"
    with pytest.raises(CommandError, match=f"broken at record {target.seq} "):
        call_command("audit", "verify")


@pytest.mark.django_db
def test_raw_delete_is_refused_on_postgres_or_named_by_verify():
    records = _append(6)
    table = AuditRecord._meta.db_table
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table} WHERE id = %s", [records[2].pk])
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [records[2].pk])
    result = verify_chain()
    assert result.problem.code == "missing_records"
    assert result.problem.seq == records[3].seq


@pytest.mark.django_db
def test_deleting_the_newest_records_is_found_through_the_chain_head():
    records = _append(4)
    delete = f"DELETE FROM {AuditRecord._meta.db_table} WHERE id = %s"
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(delete, [records[-1].pk])
        return
    with connection.cursor() as cursor:
        cursor.execute(delete, [records[-1].pk])
    result = verify_chain()
    assert result.problem.code == "head_mismatch"


@pytest.mark.django_db
def test_an_inserted_record_is_named():
    records = _append(3)
    forged = AuditRecord(
        seq=records[-1].seq + 1,
        at=records[-1].at,
        action="test.forged",
        prev_hash="f" * 64,
        hash="e" * 64,
    )
    forged.save()
    result = verify_chain()
    assert result.problem.seq == forged.seq


@pytest.mark.django_db
def test_batch_append_writes_one_contiguous_chain():
    _append(1)
    batch = do_record_batch(
        AuditEntry(action="exchange.sent", object_type="envelope", object_id=str(i))
        for i in range(50)
    )
    assert [r.seq for r in batch] == list(range(batch[0].seq, batch[0].seq + 50))
    assert verify_chain().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_from_several_connections_keep_the_chain_whole():
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(20):
                do_record("test.concurrent", object_type="worker", object_id=f"{k}-{i}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AuditRecord.objects.filter(action="test.concurrent").count() == 80
    assert verify_chain().ok


@pytest.mark.django_db
def test_hostile_text_with_nul_characters_is_recorded_and_still_verifies():
    # PostgreSQL text and jsonb cannot hold NUL; a refusal may quote hostile input.
    record = do_record(
        "test.hostile", object_type="node", object_id="evil\x00node", new={"path": "/a\x00b"}
    )
    record.refresh_from_db()
    assert "\x00" not in record.object_id
    assert record.new == {"path": "/a\ufffdb"}
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_large_batch_is_stored_whole_and_reads_back_as_appended(tree):
    # On PostgreSQL a batch this size goes in by COPY; every value must read back as hashed.
    entries = [
        AuditEntry(
            action="exchange.envelope_received",
            unit=tree.commune_a,
            object_type="envelope",
            object_id=f"env-{i}",
            old=None if i % 2 else {"state": "chờ"},
            new={"kind": "test.ping", "size": 4000 + i, "via": "tỉnh\x00 38", "ok": True},
            client_address="127.0.0.1" if i % 3 else "::1",
        )
        for i in range(COPY_FROM + 5)
    ]
    batch = do_record_batch(entries)
    stored = {r.pk: r for r in AuditRecord.objects.filter(action="exchange.envelope_received")}
    assert sorted(stored) == sorted(r.pk for r in batch)
    for record in batch:
        again = stored[record.pk]
        assert (again.seq, again.hash, again.prev_hash) == (
            record.seq,
            record.hash,
            record.prev_hash,
        )
        assert again.new == record.new
        assert again.old == record.old
        assert again.client_address == record.client_address
    assert stored[batch[0].pk].new["via"] == "tỉnh\ufffd 38"
    assert verify_chain().ok
    # The chain goes on from the batch: the next single append follows its last record.
    after = do_record("test.after")
    assert after.prev_hash == batch[-1].hash
    assert verify_chain().ok
