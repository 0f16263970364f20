"""Fixtures of the documents tests: a commune board whose commander signs (TOTP enrolled,
personal certificate) and whose clerk drafts and issues (unit signing certificate)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import RequestFactory

from tiendon.documents.drafting.actions import do_create_draft, do_submit_for_review
from tiendon.documents.models import DocumentType, IncomingDocument
from tiendon.exchange import dispatch
from tiendon.pki.actions import do_issue_person_key, do_issue_unit_keys
from tiendon.units import auth
from tiendon.units.actions_auth import do_confirm_totp
from tiendon.units.models import Person

BODY = (
    "Căn cứ Luật Dân quân tự vệ ngày 22 tháng 11 năm 2019;\n"
    "Ban Chỉ huy Quân sự phường giao nhiệm vụ huấn luyện dân quân năm 2027 cho các "
    "tiểu đội theo kế hoạch đã được phê duyệt."
)
SUBJECT = "Về việc tổ chức huấn luyện dân quân tự vệ năm 2027"


@dataclass
class Board:
    unit: Any
    clerk: Any
    commander: Any
    secret: str

    def code(self) -> str:
        """A fresh, unspent code: each signature needs its own (the step moves on)."""
        # The current step, so the code still matches if the 30 s step turns over before it
        # is checked; tests sign more often than every 30 s, so the spent step falls back.
        step = auth.current_step()
        Person.objects.filter(pk=self.commander.pk).update(totp_last_step=step - 1)
        return auth.code_for_step(self.secret, step)


def apart_from_the_browser(work: Callable[[], object]) -> None:
    """Run `work` (the node's dispatcher, a signature) as it runs on a node: in its own
    thread, away from a browser test's event loop (pyHanko's validation runs its own), on its
    own database connection."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=300)


def taken_in(person: Any, envelope_id: Any, *, recall: bool = False) -> IncomingDocument:
    """What the node's dispatcher makes of a delivery to the person's unit (run here, as the
    node would at arrival): the received document, or the one a recall names."""
    dispatch.run_until_idle()
    field = "recall_envelope_id" if recall else "envelope_id"
    return IncomingDocument.objects.get(unit=person.unit, **{field: envelope_id})


def enrol(person: Any) -> str:
    secret = auth.new_totp_secret()
    step = auth.current_step()
    do_confirm_totp(
        person, secret, auth.code_for_step(secret, step - 1), request=RequestFactory().get("/")
    )
    Person.objects.filter(pk=person.pk).update(totp_last_step=step - 2)
    return secret


@pytest.fixture
def board(tree: Any, pki: Any) -> Board:
    commander = tree.commander_a
    secret = enrol(commander)
    do_issue_person_key(commander)
    do_issue_unit_keys(tree.commune_a)
    commander.refresh_from_db()
    return Board(unit=tree.commune_a, clerk=tree.clerk_a, commander=commander, secret=secret)


@pytest.fixture
def province_board(tree: Any, pki: Any) -> Board:
    """The provincial command: a commander cleared for Mật signs, a cleared clerk issues."""
    from tiendon.units.actions import do_create_person
    from tiendon.units.models import Clearance, Role

    clerk = do_create_person(
        username="vt.thanhhoa",
        full_name="Vũ Thị Hằng",
        unit=tree.province,
        role=Role.CLERK,
        password="Mat-khau-thu-nghiem-2026",
        clearance=Clearance.MAT,
    )
    commander = tree.province_commander
    secret = enrol(commander)
    do_issue_person_key(commander)
    do_issue_unit_keys(tree.province)
    commander.refresh_from_db()
    return Board(unit=tree.province, clerk=clerk, commander=commander, secret=secret)


@pytest.fixture
def ministry_board(tree: Any, pki: Any) -> Board:
    """The ministry: its administrator signs, its clerk issues."""
    signer = tree.ministry_admin
    secret = enrol(signer)
    do_issue_person_key(signer)
    do_issue_unit_keys(tree.ministry)
    signer.refresh_from_db()
    return Board(unit=tree.ministry, clerk=tree.ministry_clerk, commander=signer, secret=secret)


def draft(board: Board, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "doc_type": DocumentType.QUYET_DINH,
        "subject": SUBJECT,
        "body": BODY,
        "signer": board.commander,
        "recipients": ["Như Điều 3;", "Lưu: VT, TM."],
    }
    values.update(overrides)
    return do_create_draft(board.clerk, **values)


def in_review(board: Board, **overrides: Any) -> Any:
    return do_submit_for_review(draft(board, **overrides), board.clerk)


def run_concurrently(items: list[Any], act: Callable[[Any], object], workers: int = 5) -> None:
    """Run `act` on the items from `workers` threads that start together (each its own
    database connection), and fail with every exception a thread met."""
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(batch: list[Any]) -> None:
        try:
            start.wait()
            for item in batch:
                act(item)
        except BaseException as exc:  # reported after the join
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(items[i::workers],)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


from tiendon.pki.tests.softhsm import softhsm_token  # noqa: E402, F401

# The magic bytes of a PNG: enough for a paper document's scan that nobody renders.
PNG_SCAN = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def paper_assigned(
    tree: Any, subject: str, assignees: list[Any], deadline: Any, **extra: Any
) -> list[Any]:
    """A paper document received by commune A's clerk, registered, and assigned by its
    commander to `assignees` with `deadline`: the assignments."""
    from tiendon.documents.incoming.actions import (
        do_assign_incoming,
        do_receive_paper,
        do_register_incoming,
    )

    paper = do_receive_paper(
        tree.clerk_a,
        scan=PNG_SCAN,
        issuer_name="Ủy ban nhân dân phường Đông Tiến",
        subject=subject,
        doc_type=DocumentType.CONG_VAN,
        **extra,
    )
    registered = do_register_incoming(paper, tree.clerk_a)
    return do_assign_incoming(registered, tree.commander_a, assignees=assignees, deadline=deadline)
