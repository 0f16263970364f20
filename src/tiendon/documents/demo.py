"""Demo documents (`tiendon seed-demo`): a few issued, signed documents flowing from the
ministry to the Thanh Hóa command and on to commune boards, left in several states
(registered, assigned, in progress, done, refused, recalled, one still unopened) so that
each demo account finds something in its inbox, registers, status tables and deadlines.

Everything goes through the real actions (drafting, signing with the second factor,
issuing through the exchange, registering, assigning...), so every step is audited as in
use. A commander without a second factor is enrolled for the signing and the factor is
removed again afterwards (audited), so the demo accounts log in as before. Documents whose
subject is already there are not made again: seeding twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.test import RequestFactory
from django.utils.translation import gettext as _

from tiendon.documents.copies.actions import do_make_copy
from tiendon.documents.deadlines.reminders import add_working_days, today_in_vietnam
from tiendon.documents.drafting.actions import (
    do_create_draft,
    do_issue,
    do_sign,
    do_submit_for_review,
)
from tiendon.documents.incoming.actions import (
    do_answer_recall,
    do_assign_incoming,
    do_complete_assignment,
    do_refuse_incoming,
    do_register_incoming,
    do_request_recall,
    do_start_assignment,
)
from tiendon.documents.models import CopyForm, Document, DocumentType, IncomingDocument, Urgency
from tiendon.exchange.actions import do_hand_over_arrivals
from tiendon.units import auth
from tiendon.units.actions_auth import do_confirm_totp, do_reset_totp
from tiendon.units.models import Person, Role, Unit, UnitKind


@dataclass
class DemoDocument:
    """One document of the demo and what its recipients do with it."""

    issuer: str  # the unit's code
    drafter: str
    signer: str
    clerk: str
    doc_type: str
    subject: str
    body: str
    recipients: list[str]  # unit codes; "communes:38" adds two more communes of province 38
    urgency: str = Urgency.NORMAL
    drafting_office: str = ""
    # What each demo recipient does: {"unit code": [steps]}, steps run in order.
    steps: dict[str, list[str]] = field(default_factory=dict)
    recall: str = ""  # the sender recalls it with this reason, after the steps
    recall_accepted_by: tuple[str, ...] = ()  # unit codes that then give their copy back


MINISTRY_DIRECTIVE = DemoDocument(
    issuer="BQP",
    drafter="vanthu.bqp",
    signer="chihuy.bqp",
    clerk="vanthu.bqp",
    doc_type=DocumentType.CHI_THI,
    subject="Về việc tăng cường công tác sẵn sàng chiến đấu dịp Tết Nguyên đán Đinh Mùi 2027",
    body=(
        "Để bảo đảm an ninh, an toàn trong dịp Tết Nguyên đán Đinh Mùi 2027, Bộ Quốc phòng "
        "chỉ thị các cơ quan, đơn vị:\n"
        "1. Duy trì nghiêm chế độ trực sẵn sàng chiến đấu, trực chỉ huy, trực ban.\n"
        "2. Rà soát, bổ sung kế hoạch, phương án tác chiến bảo vệ địa bàn; kiểm tra quân số, "
        "vũ khí, trang bị.\n"
        "3. Báo cáo kết quả thực hiện về Bộ Quốc phòng trước ngày 20 tháng 01 năm 2027."
    ),
    recipients=["38", "40"],
    urgency=Urgency.KHAN,
    # Thanh Hóa forwards it down the chain as a sao y to Mường Lát before acting on it.
    steps={"38": ["register", "copy:14845", "assign:vanthu.thanhhoa", "start", "complete"]},
)
MINISTRY_NOTICE = DemoDocument(
    issuer="BQP",
    drafter="vanthu.bqp",
    signer="chihuy.bqp",
    clerk="vanthu.bqp",
    doc_type=DocumentType.THONG_BAO,
    subject="Thông báo lịch kiểm tra công tác quốc phòng địa phương năm 2027",
    body=(
        "Bộ Quốc phòng thông báo lịch kiểm tra công tác quốc phòng địa phương năm 2027 tại "
        "các Bộ Chỉ huy quân sự tỉnh. Các đơn vị chuẩn bị báo cáo theo đề cương gửi kèm."
    ),
    recipients=["38"],
    steps={"38": ["register"]},
)
PROVINCE_PLAN = DemoDocument(
    issuer="38",
    drafter="vanthu.thanhhoa",
    signer="chihuy.thanhhoa",
    clerk="vanthu.thanhhoa",
    doc_type=DocumentType.KE_HOACH,
    subject="Kế hoạch huấn luyện dân quân tự vệ năm 2027",
    body=(
        "Thực hiện Chỉ thị của Bộ Quốc phòng, Bộ Chỉ huy quân sự tỉnh Thanh Hóa ban hành kế "
        "hoạch huấn luyện dân quân tự vệ năm 2027. Ban Chỉ huy quân sự các xã, phường tổ chức "
        "huấn luyện theo đúng nội dung, thời gian quy định và báo cáo kết quả."
    ),
    recipients=["14845", "communes:38"],
    steps={"14845": ["register", "assign:vanthu.muonglat", "start"]},
)
PROVINCE_DISPATCH = DemoDocument(
    issuer="38",
    drafter="vanthu.thanhhoa",
    signer="chihuy.thanhhoa",
    clerk="vanthu.thanhhoa",
    doc_type=DocumentType.CONG_VAN,
    drafting_office="TM",
    subject="Về việc báo cáo quân số dân quân thường trực quý IV năm 2026",
    body=(
        "Đề nghị Ban Chỉ huy quân sự các xã báo cáo quân số dân quân thường trực quý IV năm "
        "2026 về Bộ Chỉ huy quân sự tỉnh (qua Phòng Tham mưu)."
    ),
    recipients=["14845"],
    steps={"14845": ["refuse:Văn bản gửi nhầm đơn vị, xã đã báo cáo theo Công văn trước."]},
)
PROVINCE_RECALLED = DemoDocument(
    issuer="38",
    drafter="vanthu.thanhhoa",
    signer="chihuy.thanhhoa",
    clerk="vanthu.thanhhoa",
    doc_type=DocumentType.THONG_BAO,
    subject="Thông báo thời gian tập huấn cán bộ Ban Chỉ huy quân sự xã",
    body="Bộ Chỉ huy quân sự tỉnh thông báo thời gian tập huấn cán bộ Ban Chỉ huy quân sự xã.",
    recipients=["14845", "communes:38"],
    steps={"14845": ["register"]},
    recall="Thông báo ghi sai thời gian tập huấn; sẽ ban hành thông báo thay thế.",
    recall_accepted_by=("14845",),
)
PROVINCE_URGENT = DemoDocument(
    issuer="38",
    drafter="vanthu.thanhhoa",
    signer="chihuy.thanhhoa",
    clerk="vanthu.thanhhoa",
    doc_type=DocumentType.CONG_DIEN,
    subject="Công điện về việc chủ động ứng phó với bão số 3",
    body=(
        "Yêu cầu Ban Chỉ huy quân sự các xã ven biển và miền núi duy trì lực lượng trực, "
        "sẵn sàng phương tiện ứng cứu, sơ tán nhân dân khỏi khu vực nguy hiểm."
    ),
    recipients=["14845", "communes:38"],
    urgency=Urgency.HOA_TOC,
)
DEMO_DOCUMENTS = [
    MINISTRY_DIRECTIVE,
    MINISTRY_NOTICE,
    PROVINCE_PLAN,
    PROVINCE_DISPATCH,
    PROVINCE_RECALLED,
    PROVINCE_URGENT,
]
# Waiting for the Deputy Minister's signature, Hỏa tốc: his reminders show it at once.
DRAFT_IN_REVIEW = DemoDocument(
    issuer="BQP",
    drafter="vanthu.bqp",
    signer="chihuy.bqp",
    clerk="vanthu.bqp",
    doc_type=DocumentType.QUYET_DINH,
    subject="Quyết định thành lập Đoàn kiểm tra công tác chuyển đổi số cấp xã",
    body="Thành lập Đoàn kiểm tra công tác chuyển đổi số tại Ban Chỉ huy quân sự cấp xã.",
    recipients=["38"],
    urgency=Urgency.HOA_TOC,
)


class _Signers:
    """Second factors for the seeding: enrolled where missing, removed again at the end."""

    def __init__(self, admin: Person) -> None:
        self.admin = admin
        self.secrets: dict[int, str] = {}

    def code_for(self, person: Person) -> str:
        if person.pk not in self.secrets:
            secret = auth.new_totp_secret()
            step = auth.current_step()
            do_confirm_totp(
                person,
                secret,
                auth.code_for_step(secret, step - 1),
                request=RequestFactory().get("/"),
            )
            self.secrets[person.pk] = secret
        # The seed signs several documents within one 30-second step; the enrolment is
        # its own and is removed below, so it may move the last-used step back.
        step = auth.current_step()
        Person.objects.filter(pk=person.pk).update(totp_last_step=step - 2)
        person.refresh_from_db()
        return auth.code_for_step(self.secrets[person.pk], step)

    def remove(self) -> None:
        for person in Person.objects.filter(pk__in=self.secrets):
            do_reset_totp(person, actor=self.admin)


def _recipient_spec(item: DemoDocument) -> list[dict[str, str]]:
    codes: list[str] = []
    for code in item.recipients:
        if code.startswith("communes:"):
            province = code.split(":", 1)[1]
            codes += list(
                Unit.objects.filter(kind=UnitKind.COMMUNE_BOARD, parent__code=province)
                .exclude(code__in=item.recipients)
                .order_by("code")
                .values_list("code", flat=True)[:2]
            )
        else:
            codes.append(code)
    return [{"unit": code} for code in codes]


def _people() -> dict[str, Person]:
    return {p.username: p for p in Person.objects.select_related("unit")}


def _draft(item: DemoDocument, people: dict[str, Person]) -> Document:
    signer = people[item.signer]
    return do_create_draft(
        people[item.drafter],
        doc_type=item.doc_type,
        subject=item.subject,
        body=item.body,
        signer=signer,
        urgency=item.urgency,
        # "Nơi nhận": the chosen units, then the filed copy ("Như trên" for a công văn's
        # "Kính gửi" is added by the layout).
        recipients=["Lưu: VT."],
        recipient_spec=_recipient_spec(item),
        signer_title=signer.position,
        signer_rank=signer.rank,
        drafting_office=item.drafting_office,
    )


def _taken_in(person: Person, **envelope: Any) -> IncomingDocument:
    """The row the dispatcher made at arrival (run here, as the node's would)."""
    do_hand_over_arrivals()
    return IncomingDocument.objects.get(unit=person.unit, **envelope)


def _run_steps(
    document: Document, unit_code: str, steps: list[str], people: dict[str, Person]
) -> None:
    unit = Unit.objects.get(code=unit_code)
    clerk = next(p for p in people.values() if p.unit_id == unit.pk and p.role == Role.CLERK)
    commander = next(
        p for p in people.values() if p.unit_id == unit.pk and p.role == Role.COMMANDER
    )
    incoming = _taken_in(clerk, envelope_id=document.envelope_id)
    assignments: list[Any] = []
    for step in steps:
        name, _sep, arg = step.partition(":")
        if name == "register":
            incoming = do_register_incoming(incoming, clerk)
        elif name == "copy":
            copy = do_make_copy(
                clerk, form=CopyForm.SAO_Y, incoming=incoming, recipient_spec=[{"unit": arg}]
            )
            # The commune takes the copy in: its 03 goes back to the copying province.
            below = next(p for p in people.values() if p.unit.code == arg and p.role == Role.CLERK)
            do_register_incoming(_taken_in(below, envelope_id=copy.envelope_id), below)
        elif name == "refuse":
            incoming = do_refuse_incoming(incoming, clerk, reason=arg)
        elif name == "assign":
            deadline = add_working_days(today_in_vietnam(), 1)
            assignments = do_assign_incoming(
                incoming, commander, assignees=[people[arg]], deadline=deadline
            )
        elif name == "start":
            for assignment in assignments:
                do_start_assignment(assignment, assignment.assignee)
        elif name == "complete":
            for assignment in assignments:
                do_complete_assignment(
                    assignment,
                    assignment.assignee,
                    result_note="Đã triển khai đến các đơn vị; báo cáo kết quả kèm theo.",
                )


def _answer_recall(document: Document, unit_code: str, people: dict[str, Person]) -> None:
    unit = Unit.objects.get(code=unit_code)
    clerk = next(p for p in people.values() if p.unit_id == unit.pk and p.role == Role.CLERK)
    incoming = _taken_in(clerk, recall_envelope_id=document.recall_envelope_id)
    do_answer_recall(incoming, clerk, accept=True, note="Đã hủy bản đã nhận.")


def seed_demo_documents(write: Callable[[str], Any] = print) -> int:
    """Seed the demo documents that are not there yet; returns how many were made."""
    people = _people()
    needed = {"quantri.bqp", *(d.signer for d in DEMO_DOCUMENTS), "vanthu.muonglat"}
    if not needed <= people.keys():
        write("demo documents skipped: the demo accounts are missing")
        return 0
    existing = set(Document.objects.values_list("subject", flat=True))
    signers = _Signers(people["quantri.bqp"])
    made = 0
    try:
        for item in DEMO_DOCUMENTS:
            if item.subject in existing:
                continue
            with transaction.atomic():
                draft = do_submit_for_review(_draft(item, people), people[item.drafter])
                signer = people[item.signer]
                signed = do_sign(draft, signer, totp_code=signers.code_for(signer))
                document = do_issue(signed, people[item.clerk])
                for unit_code, steps in item.steps.items():
                    _run_steps(document, unit_code, steps, people)
                if item.recall:
                    document = do_request_recall(document, people[item.clerk], reason=item.recall)
                    for unit_code in item.recall_accepted_by:
                        _answer_recall(document, unit_code, people)
            made += 1
        if DRAFT_IN_REVIEW.subject not in existing:
            do_submit_for_review(_draft(DRAFT_IN_REVIEW, people), people[DRAFT_IN_REVIEW.drafter])
    finally:
        signers.remove()
    held = IncomingDocument.objects.count()
    write(
        _("demo documents issued: %(made)s (received copies held: %(held)s)")
        % {"made": made, "held": held}
    )
    return made
