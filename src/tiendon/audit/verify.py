"""Walking the audit chain to find the first record that was edited, deleted or inserted."""

from __future__ import annotations

from dataclasses import dataclass

from tiendon.audit.chain import GENESIS_HASH, RecordContent
from tiendon.audit.models import AuditRecord, ChainHead


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    record_id: int | None
    code: str  # content_changed | link_broken | missing_records | head_mismatch
    message: str


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def content_of(record: AuditRecord) -> RecordContent:
    return RecordContent(
        seq=record.seq,
        at=record.at,
        actor_id=record.actor_id,
        actor_label=record.actor_label,
        unit_id=record.unit_id,
        action=record.action,
        object_type=record.object_type,
        object_id=record.object_id,
        old=record.old,
        new=record.new,
        client_address=record.client_address,
        prev_hash=record.prev_hash,
    )


def verify_chain(batch_size: int = 5000) -> VerifyResult:
    """Recompute every hash in sequence order; stop at the first break."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seq = 0
    fields = [f.attname for f in AuditRecord._meta.concrete_fields]
    for record in AuditRecord.objects.order_by("seq").only(*fields).iterator(batch_size):
        if record.seq != expected_seq:
            return VerifyResult(
                checked,
                ChainProblem(
                    record.seq,
                    record.pk,
                    "missing_records",
                    f"record {record.seq} (id {record.pk}) follows record {expected_seq - 1}: "
                    f"records {expected_seq}..{record.seq - 1} were deleted",
                ),
            )
        if content_of(record).digest() != record.hash:
            return VerifyResult(
                checked,
                ChainProblem(
                    record.seq,
                    record.pk,
                    "content_changed",
                    f"record {record.seq} (id {record.pk}, action {record.action}) was edited: "
                    "its content no longer matches its hash",
                ),
            )
        if record.prev_hash != expected_prev:
            return VerifyResult(
                checked,
                ChainProblem(
                    record.seq,
                    record.pk,
                    "link_broken",
                    f"record {record.seq} (id {record.pk}) does not follow the record before it: "
                    "a record was inserted, replaced or deleted here",
                ),
            )
        expected_prev = record.hash
        expected_seq += 1
        last_seq = record.seq
        checked += 1
    head = ChainHead.objects.filter(id=1).first()
    if head is not None and (head.last_seq != last_seq or head.last_hash != expected_prev):
        return VerifyResult(
            checked,
            ChainProblem(
                last_seq + 1,
                None,
                "head_mismatch",
                f"the chain ends at record {last_seq} but its head says {head.last_seq}: "
                "the newest records were deleted",
            ),
        )
    return VerifyResult(checked, None)
