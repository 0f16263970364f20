"""Signing and issuing: both PAdES signatures verify against the node's root, the
signer's with form filling as the only change after it; tampering is caught; a failed
step stores nothing and consumes no number."""

from __future__ import annotations

import subprocess
import unicodedata

import pytest

from tiendon.audit.models import AuditRecord
from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import Document, NumberCounter
from tiendon.documents.pdf import pades
from tiendon.documents.pdf.layout import ORGANISATION_FIELD, SIGNER_FIELD
from tiendon.documents.tests.conftest import SUBJECT, enrol, in_review
from tiendon.pki.actions import do_issue_person_key, do_issue_unit_keys, do_revoke_certificate
from tiendon.pki.errors import PkiError
from tiendon.pki.models import Certificate
from tiendon.pki.signing import current_personal_certificate

pytestmark = pytest.mark.django_db


def _signed(board):
    return do_sign(in_review(board), board.commander, totp_code=board.code())


def _pdftotext(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "issued.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return unicodedata.normalize("NFC", out.stdout.decode())


def test_the_signers_signature_verifies_and_locks_the_content(board):
    document = _signed(board)
    assert document.state == Document.State.SIGNED
    (report,) = pades.verify(bytes(document.pdf))
    assert report.field_name == SIGNER_FIELD
    assert "Hoàng Văn Đức" in report.signer_subject
    assert report.intact
    assert report.valid
    assert report.trusted
    assert report.bottom_line
    audit = AuditRecord.objects.get(action="documents.signed")
    assert audit.actor_id == board.commander.pk
    assert AuditRecord.objects.filter(action="pki.personal_signature").count() == 1


def test_issuing_fills_number_and_date_and_both_signatures_verify(board, tmp_path):
    document = do_issue(_signed(board), board.clerk)
    assert document.state == Document.State.ISSUED
    assert document.number_and_symbol == "01/QĐ-BCHQS"
    reports = {r.field_name: r for r in pades.verify(bytes(document.pdf))}
    personal, organisation = reports[SIGNER_FIELD], reports[ORGANISATION_FIELD]
    for report in (personal, organisation):
        assert report.intact
        assert report.valid
        assert report.trusted
        assert not report.revoked
        assert report.docmdp_ok
        assert report.bottom_line
    # After the signer, only form filling (number, date, the unit's signature) happened.
    assert personal.modification_level == "FORM_FILLING"
    assert organisation.modification_level in ("NONE", "LTA_UPDATES")
    assert "Ban Chỉ huy Quân sự phường Đông Tiến" in organisation.signer_subject
    text = _pdftotext(bytes(document.pdf), tmp_path)
    assert "Số: 01/QĐ-BCHQS" in text
    assert "ngày " in text
    assert f"năm {document.year}" in text
    assert SUBJECT in text


def test_the_issued_pdf_embeds_every_font(board, tmp_path):
    document = do_issue(_signed(board), board.clerk)
    path = tmp_path / "issued.pdf"
    path.write_bytes(bytes(document.pdf))
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True)
    rows = [line.split() for line in out.stdout.splitlines()[2:]]
    assert rows
    assert all(row[-5] == "yes" for row in rows), out.stdout


def test_the_signatures_embed_their_validation_data(board):
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    document = do_issue(_signed(board), board.clerk)
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(bytes(document.pdf))))
    assert len(list(dss.crls)) >= 2  # the issuing CA's CRL and the root's
    assert len(list(dss.certs)) >= 3  # signer, unit, issuing CA (and the root)


def test_poppler_accepts_both_signatures(board, tmp_path):
    document = do_issue(_signed(board), board.clerk)
    path = tmp_path / "issued.pdf"
    path.write_bytes(bytes(document.pdf))
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    assert out.stdout.count("Signature is Valid.") == 2, out.stdout


def test_one_changed_byte_after_signing_is_refused_at_issuing(board):
    document = _signed(board)
    data = bytearray(bytes(document.pdf))
    at = data.index(b"/Contents")  # inside the signed range: the page's content reference
    data[at + 12] ^= 0x01
    Document.objects.filter(pk=document.pk).update(pdf=bytes(data))
    document.refresh_from_db()
    with pytest.raises(DocumentError) as refused:
        do_issue(document, board.clerk)
    assert refused.value.code in ("signature_broken", "corrupt_pdf")
    document.refresh_from_db()
    assert document.state == Document.State.SIGNED
    assert document.number is None
    assert not NumberCounter.objects.filter(last_number__gt=0).exists()


def test_a_byte_changed_in_the_issued_pdf_fails_validation(board):
    document = do_issue(_signed(board), board.clerk)
    data = bytearray(bytes(document.pdf))
    at = data.index(b"QUY") if b"QUY" in data else len(data) // 3
    data[at] ^= 0x01
    try:
        reports = pades.verify(bytes(data))
    except DocumentError:
        return  # unreadable after the change: refused as well
    assert not all(r.intact and r.bottom_line for r in reports)


def test_a_wrong_code_signs_nothing(board):
    document = in_review(board)
    with pytest.raises(PkiError) as refused:
        do_sign(document, board.commander, totp_code="000000")
    assert refused.value.code == "wrong_code"
    document.refresh_from_db()
    assert document.state == Document.State.IN_REVIEW
    assert document.pdf is None
    assert not AuditRecord.objects.filter(action="documents.signed").exists()


def test_a_signer_without_a_personal_certificate_cannot_sign(board, tree):
    document = in_review(board)
    do_revoke_certificate(current_personal_certificate(board.commander), reason="superseded")
    with pytest.raises(PkiError) as refused:
        do_sign(document, board.commander, totp_code=board.code())
    assert refused.value.code == "no_personal_certificate"
    document.refresh_from_db()
    assert document.state == Document.State.IN_REVIEW
    assert document.pdf is None


def test_only_the_chosen_signer_signs(board, tree):
    document = in_review(board)
    with pytest.raises(DocumentError) as refused:
        do_sign(document, board.clerk, totp_code=board.code())
    assert refused.value.code == "not_the_signer"


def test_a_draft_not_submitted_cannot_be_signed(board):
    from tiendon.documents.tests.conftest import draft

    with pytest.raises(DocumentError) as refused:
        do_sign(draft(board), board.commander, totp_code=board.code())
    assert refused.value.code == "wrong_state"


def test_only_a_clerk_of_the_issuing_unit_issues(board, tree):
    document = _signed(board)
    for person in (board.commander, tree.clerk_b):
        with pytest.raises(DocumentError) as refused:
            do_issue(document, person)
        assert refused.value.code == "not_a_clerk"
    assert not NumberCounter.objects.exists()


def test_a_unit_without_signing_certificate_cannot_issue_and_no_number_is_used(board):
    from tiendon.pki.models import Certificate, CertPurpose

    document = _signed(board)
    for cert in Certificate.objects.filter(
        unit=board.unit, person=None, purpose=CertPurpose.UNIT_SIGNING
    ):
        do_revoke_certificate(cert, reason="cessationOfOperation")
    with pytest.raises(DocumentError) as refused:
        do_issue(document, board.clerk)
    assert refused.value.code == "unit_without_certificate"
    document.refresh_from_db()
    assert document.state == Document.State.SIGNED
    assert document.number is None


def test_a_failure_inside_issuing_rolls_the_number_back(board, monkeypatch):
    first = _signed(board)

    def broken(*args, **kwargs):
        raise DocumentError("the seal could not be applied", code="signing_failed")

    monkeypatch.setattr(pades, "issue_pdf", broken)
    with pytest.raises(DocumentError):
        do_issue(first, board.clerk)
    monkeypatch.undo()
    assert not NumberCounter.objects.filter(last_number__gt=0).exists()
    assert do_issue(first, board.clerk).number == 1


def test_signing_with_a_key_on_a_softhsm_token(board, softhsm_token):
    """The same flow when the personal key lives on a PKCS#11 token (SoftHSM2)."""
    from tiendon.pki.actions_tokens import do_issue_token, do_register_token
    from tiendon.pki.keystore_pkcs11 import Pkcs11Keystore

    token = do_register_token(softhsm_token.serial, label=softhsm_token.label)
    token = do_issue_token(token, unit=board.unit, person=board.commander)
    keystore = Pkcs11Keystore.from_settings(token=token)
    do_issue_person_key(board.commander, keystore=keystore, token=token)
    document = do_issue(_signed(board), board.clerk)
    reports = {r.field_name: r for r in pades.verify(bytes(document.pdf))}
    assert reports[SIGNER_FIELD].bottom_line
    assert reports[ORGANISATION_FIELD].bottom_line
    assert current_personal_certificate(board.commander).key.keystore == "pkcs11"


def test_second_factor_is_needed_to_sign(tree, pki):
    from tiendon.documents.drafting.actions import do_create_draft, do_submit_for_review

    do_issue_person_key(tree.province_commander)
    document = do_submit_for_review(
        do_create_draft(
            tree.province_commander,
            doc_type="thong_bao",
            subject="Thông báo lịch trực",
            body="Nội dung.",
            signer=tree.province_commander,
        ),
        tree.province_commander,
    )
    with pytest.raises(PkiError) as refused:
        do_sign(document, tree.province_commander, totp_code="123456")
    assert refused.value.code == "second_factor_required"
    assert enrol  # the helper used by the board fixture enrols the same way


def test_an_uploaded_content_pdf_is_signed_with_the_document(board, tmp_path):
    from reportlab.pdfgen.canvas import Canvas

    from tiendon.documents.drafting.actions import do_create_draft, do_submit_for_review
    from tiendon.documents.models import DocumentType
    from tiendon.documents.pdf.layout import SERIF, register_fonts

    register_fonts()
    path = tmp_path / "upload.pdf"
    canvas = Canvas(str(path))
    for line in ("Phụ lục: danh sách dân quân thường trực", "Trang thứ hai của tệp"):
        canvas.setFont(SERIF, 14)
        canvas.drawString(72, 700, line)
        canvas.showPage()
    canvas.save()
    document = do_create_draft(
        board.clerk,
        doc_type=DocumentType.BAO_CAO,
        subject="Báo cáo lực lượng dân quân",
        uploaded_pdf=path.read_bytes(),
        signer=board.commander,
    )
    document = do_sign(
        do_submit_for_review(document, board.clerk), board.commander, totp_code=board.code()
    )
    document = do_issue(document, board.clerk)
    text = _pdftotext(bytes(document.pdf), tmp_path)
    assert "Phụ lục: danh sách dân quân thường trực" in text
    assert "Trang thứ hai của tệp" in text
    assert "Số: 01/BC-BCHQS" in text
    reports = pades.verify(bytes(document.pdf))
    assert len(reports) == 2
    assert all(r.bottom_line for r in reports)


def test_poppler_trusts_both_signatures_given_the_root_in_an_nss_database(board, pki, tmp_path):
    """pdfsig, an independent verifier, with only the node's root CA as trust anchor."""
    import shutil

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    assert shutil.which("certutil"), "certutil is missing: apt-get install libnss3-tools"
    document = do_issue(_signed(board), board.clerk)
    nss = tmp_path / "nss"
    nss.mkdir()
    root = tmp_path / "root.pem"
    root.write_bytes(
        x509.load_der_x509_certificate(bytes(pki.root.certificate_der)).public_bytes(
            serialization.Encoding.PEM
        )
    )
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{nss}",
            "-n",
            "tiendon-root",
            "-t",
            "C,C,C",
            "-i",
            str(root),
        ],
        check=True,
    )
    path = tmp_path / "issued.pdf"
    path.write_bytes(bytes(document.pdf))
    out = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True
    ).stdout
    assert out.count("Signature is Valid.") == 2, out
    assert out.count("Certificate is Trusted.") == 2, out


def test_text_added_to_the_page_after_signing_is_caught_and_refused(board):
    """pdfsig only checks byte ranges; pyHanko's difference analysis sees a new revision
    that changes page content, which form filling does not allow."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    document = _signed(board)
    writer = IncrementalPdfFileWriter(io.BytesIO(bytes(document.pdf)))
    extra = generic.StreamObject(stream_data=b"BT /F1 14 Tf 100 100 Td (Them mot dong) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(extra))
    tampered = io.BytesIO()
    writer.write(tampered)
    (report,) = pades.verify(tampered.getvalue())
    assert report.intact  # the signed bytes themselves are untouched...
    assert not report.bottom_line  # ...but what came after is not form filling
    Document.objects.filter(pk=document.pk).update(pdf=tampered.getvalue())
    document.refresh_from_db()
    with pytest.raises(DocumentError) as refused:
        do_issue(document, board.clerk)
    assert refused.value.code == "signature_broken"
    assert not NumberCounter.objects.exists()


def test_the_units_signature_can_come_from_a_softhsm_token(board, softhsm_token):
    from tiendon.pki.actions_tokens import do_issue_token, do_register_token
    from tiendon.pki.keystore_pkcs11 import Pkcs11Keystore

    token = do_register_token(softhsm_token.serial, label=softhsm_token.label)
    token = do_issue_token(token, unit=board.unit)
    do_issue_unit_keys(
        board.unit, signing_keystore=Pkcs11Keystore.from_settings(token=token), token=token
    )
    document = do_issue(_signed(board), board.clerk)
    reports = {r.field_name: r for r in pades.verify(bytes(document.pdf))}
    assert reports[ORGANISATION_FIELD].bottom_line
    assert reports[SIGNER_FIELD].modification_level == "FORM_FILLING"
    record = AuditRecord.objects.get(action="documents.issued")
    assert Certificate.objects.get(serial=record.new["certificate"]).key.keystore == "pkcs11"


def test_an_issued_pdf_that_would_not_verify_is_not_stored(board, monkeypatch):
    document = _signed(board)
    real_issue = pades.issue_pdf

    def spoiled(*args, **kwargs):
        data = bytearray(real_issue(*args, **kwargs))
        at = data.index(b"stream\n") + 20
        data[at] ^= 0x01  # one byte of the first page's content, signed by both
        return bytes(data)

    monkeypatch.setattr(pades, "issue_pdf", spoiled)
    with pytest.raises(DocumentError) as refused:
        do_issue(document, board.clerk)
    assert refused.value.code == "issue_unverified"
    document.refresh_from_db()
    assert document.state == Document.State.SIGNED
    assert document.number is None
    assert not NumberCounter.objects.filter(last_number__gt=0).exists()


def test_a_signer_whose_clearance_dropped_cannot_sign_a_secret_document(province_board):
    from tiendon.units.models import Clearance, Person

    board = province_board
    document = in_review(board, doc_type="chi_thi", secrecy=1)
    Person.objects.filter(pk=board.commander.pk).update(clearance=Clearance.NONE)
    board.commander.refresh_from_db()
    with pytest.raises(DocumentError) as refused:
        do_sign(document, board.commander, totp_code=board.code())
    assert refused.value.code == "clearance_required"
    document.refresh_from_db()
    assert document.pdf is None


def test_the_issued_date_line_reads_ha_noi_for_the_ministry(ministry_board, tmp_path):
    from django.utils import timezone

    from tiendon.documents.pdf.layout import vietnamese_date

    signed = do_sign(
        in_review(ministry_board, signer_title="Thứ trưởng"),
        ministry_board.commander,
        totp_code=ministry_board.code(),
    )
    document = do_issue(signed, ministry_board.clerk)
    path = tmp_path / "issued.pdf"
    path.write_bytes(bytes(document.pdf))
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    text = unicodedata.normalize("NFC", out.stdout.decode())
    day = vietnamese_date(timezone.localtime(document.issued_at).date())
    line = next(line for line in text.splitlines() if "Số: 01/QĐ-BQP" in line)
    assert line.rstrip().endswith(f"Hà Nội, {day}")
    assert "Bộ Quốc phòng," not in text
