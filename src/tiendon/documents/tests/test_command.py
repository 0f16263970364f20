"""`tiendon documents render` and `verify`, run in-process."""

from __future__ import annotations

import json
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.tests.conftest import SUBJECT, draft, in_review

pytestmark = pytest.mark.django_db


def test_render_writes_a_draft_as_the_decree_30_layout(board, tmp_path):
    document = draft(board)
    out = tmp_path / "draft.pdf"
    call_command(
        "documents", "render", str(document.pk), "--as", board.clerk.username, "--out", str(out)
    )
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert SUBJECT in text


def test_render_then_verify_an_issued_document(board, tmp_path, capsys):
    document = do_issue(
        do_sign(in_review(board), board.commander, totp_code=board.code()), board.clerk
    )
    out = tmp_path / "issued.pdf"
    call_command(
        "documents", "render", str(document.pk), "--as", board.clerk.username, "--out", str(out)
    )
    assert out.read_bytes() == bytes(document.pdf)
    capsys.readouterr()
    call_command("documents", "verify", str(out))
    reports = json.loads(capsys.readouterr().out)
    assert [r["field_name"] for r in reports] == ["chu_ky_nguoi_ky", "chu_ky_co_quan"]
    assert all(r["bottom_line"] for r in reports)


def test_render_refuses_a_person_of_another_unit(board, tree, tmp_path):
    document = draft(board)
    with pytest.raises(CommandError, match="outside your scope"):
        call_command(
            "documents",
            "render",
            str(document.pk),
            "--as",
            tree.clerk_b.username,
            "--out",
            str(tmp_path / "x.pdf"),
        )
    assert not (tmp_path / "x.pdf").exists()


def test_verify_refuses_a_pdf_without_signatures(board, tmp_path):
    from tiendon.documents.drafting.actions import layout_of
    from tiendon.documents.pdf.layout import render

    path = tmp_path / "unsigned.pdf"
    path.write_bytes(render(layout_of(draft(board))).pdf)
    with pytest.raises(CommandError, match="0 signature"):
        call_command("documents", "verify", str(path))
