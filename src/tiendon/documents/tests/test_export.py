"""`tiendon documents export`: the exported PDF is the issued original (poppler and pyHanko
trust both signatures, the Vietnamese text reads back), the metadata comes as JSON and as
XML with the Appendix VI fields, and a refused export writes nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tiendon.audit.models import AuditRecord
from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.models import Secrecy
from tiendon.documents.pdf import pades
from tiendon.documents.registers.export import XML_NAMESPACE
from tiendon.documents.search import casefiles
from tiendon.documents.tests.conftest import BODY, SUBJECT, draft, in_review

pytestmark = pytest.mark.django_db

NS = {"m": XML_NAMESPACE}


def _issued(board, **overrides):
    return do_issue(
        do_sign(in_review(board, **overrides), board.commander, totp_code=board.code()),
        board.clerk,
    )


def _export(person, document, out):
    call_command(
        "documents", "export", "--id", str(document.pk), "--as", person.username, "--out", str(out)
    )


def _nss_with_root(pki, tmp_path):
    assert shutil.which("certutil"), "certutil is missing: apt-get install libnss3-tools"
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
        ["certutil", "-A", "-d", f"sql:{nss}", "-n", "tiendon-root", "-t", "C,C,C", "-i", root],
        check=True,
    )
    return nss


@pytest.fixture
def commune_b_keys(tree, pki):
    from tiendon.pki.actions import do_issue_unit_keys

    do_issue_unit_keys(tree.commune_b)


def test_an_exported_document_is_trusted_by_poppler_and_pyhanko_and_reads_back(
    board, pki, commune_b_keys, tmp_path
):
    case_file = casefiles.do_create_case_file(
        board.clerk, code="2027.01.TM", title="Hồ sơ huấn luyện dân quân năm 2027"
    )
    document = _issued(board, recipient_spec=[{"unit": "16690"}])
    casefiles.do_add_to_case_file(case_file, document, board.clerk)
    out = tmp_path / "export"
    _export(board.clerk, document, out)

    pdf = out / "document.pdf"
    checked = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{_nss_with_root(pki, tmp_path)}", str(pdf)],
        capture_output=True,
        text=True,
    ).stdout
    assert checked.count("Signature is Valid.") == 2, checked
    assert checked.count("Certificate is Trusted.") == 2, checked

    reports = pades.verify(pdf.read_bytes())
    assert len(reports) == 2
    assert all(r.intact and r.valid and r.trusted and r.bottom_line for r in reports)

    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout
    words = " ".join(unicodedata.normalize("NFC", text.decode()).split())
    assert SUBJECT in words
    assert " ".join(BODY.split()) in words
    assert "Số: 01/QĐ-BCHQS" in words


def test_the_metadata_comes_as_json_and_as_xml_with_the_appendix_vi_fields(
    board, commune_b_keys, tmp_path
):
    case_file = casefiles.do_create_case_file(
        board.clerk, code="2027.01.TM", title="Hồ sơ huấn luyện dân quân năm 2027"
    )
    document = _issued(board, recipient_spec=[{"unit": "16690"}])
    casefiles.do_add_to_case_file(case_file, document, board.clerk)
    out = tmp_path / "export"
    _export(board.clerk, document, out)

    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["file_code"] == "2027.01.TM"
    assert metadata["ordinal"] == 1
    assert metadata["notation"] == "QĐ-BCHQS"
    assert metadata["copies_issued"] == 1
    assert metadata["page_count"] >= 1

    root = ET.parse(out / "metadata.xml").getroot()  # noqa: S314  (our own output)

    def field(name):
        return root.find(f"m:{name}", NS)

    assert field("FileCode").text == "2027.01.TM"
    assert field("FileCode").get("name") == "Mã hồ sơ"
    assert field("Ordinal").text == "1"
    assert field("Number").text == "1"
    assert field("Notation").text == "QĐ-BCHQS"
    assert field("TypeName").text == "Quyết định"
    assert field("Subject").text == SUBJECT
    assert field("Subject").get("name") == "Trích yếu nội dung"
    assert field("OrganName").text == "Ban Chỉ huy Quân sự phường Đông Tiến"
    assert field("SignerFullName").text == "Hoàng Văn Đức"
    assert field("Language").text == "vi"
    # The day printed on the PDF, in Vietnam's time zone (not the UTC day).
    assert field("IssuedDate").text == timezone.localtime(document.issued_at).date().isoformat()
    assert field("IssuedAmount").text == "1"
    assert int(field("PageAmount").text) == metadata["page_count"]
    # The unit it went to by name, then the typed lines ("Lưu" is the filed copy, not a
    # recipient).
    assert [r.text for r in field("Recipients")] == [
        "Ban Chỉ huy Quân sự phường Trường Vinh",
        "Như Điều 3",
    ]
    (pdf_entry,) = root.findall("m:Files/m:File", NS)
    assert pdf_entry.get("name") == "document.pdf"
    assert pdf_entry.get("sha256") == metadata["files"][0]["sha256"]
    # And the document itself carries its case file's code now.
    document.refresh_from_db()
    assert document.metadata()["file_code"] == "2027.01.TM"


def test_the_export_is_audited(board, tmp_path):
    document = _issued(board)
    _export(board.clerk, document, tmp_path / "export")
    record = AuditRecord.objects.get(action="documents.exported")
    assert record.object_id == str(document.pk)
    assert record.new["number"] == "01/QĐ-BCHQS"


def test_another_units_document_or_a_bad_id_is_refused_and_nothing_is_written(
    board, tree, tmp_path
):
    document = _issued(board)
    out = tmp_path / "export"
    with pytest.raises(CommandError, match="outside your scope"):
        _export(tree.clerk_b, document, out)
    with pytest.raises(CommandError, match="outside your scope"):
        call_command(
            "documents", "export", "--id", "12", "--as", board.clerk.username, "--out", str(out)
        )
    assert not out.exists()
    assert not AuditRecord.objects.filter(action="documents.exported").exists()


def test_a_draft_is_not_exported(board, tmp_path):
    out = tmp_path / "export"
    with pytest.raises(CommandError, match="not_signed"):
        _export(board.clerk, draft(board), out)
    assert not out.exists()


def test_a_secret_document_is_not_exported_for_a_person_without_clearance(
    province_board, tree, tmp_path
):
    from tiendon.units.actions import do_create_person
    from tiendon.units.models import Role

    document = _issued(province_board, secrecy=Secrecy.MAT)
    uncleared = do_create_person(
        username="tl.thanhhoa",
        full_name="Đinh Văn Lực",
        unit=tree.province,
        role=Role.STAFF,
        password="Mat-khau-thu-nghiem-2026",
    )
    out = tmp_path / "export"
    with pytest.raises(CommandError):
        _export(uncleared, document, out)
    assert not out.exists()
    assert AuditRecord.objects.filter(action="documents.secret_refused").exists()


def test_an_existing_export_is_not_overwritten(board, tmp_path):
    document = _issued(board)
    out = tmp_path / "export"
    out.mkdir()
    (out / "metadata.json").write_text("{}")
    with pytest.raises(CommandError, match="out_not_empty"):
        _export(board.clerk, document, out)
    assert (out / "metadata.json").read_text() == "{}"
    assert not (out / "document.pdf").exists()


def test_an_attachment_is_exported_as_the_unit_signed_it_and_listed_in_the_metadata(
    board, tree, commune_b_keys, tmp_path
):
    from tiendon.documents.drafting.attachments import do_add_attachment
    from tiendon.documents.tests.test_attachments import annex_pdf

    document = draft(board, recipient_spec=[{"unit": tree.commune_b.code}])
    do_add_attachment(document, board.clerk, name="Phụ lục 1.pdf", content=annex_pdf())
    from tiendon.documents.drafting.actions import do_submit_for_review

    document = do_submit_for_review(document, board.clerk)
    document = do_issue(do_sign(document, board.commander, totp_code=board.code()), board.clerk)
    out = tmp_path / "export"
    _export(board.clerk, document, out)

    exported = (out / "attachments" / "Phụ lục 1.pdf").read_bytes()
    (signature,) = pades.verify(exported)
    assert signature.intact
    assert signature.valid
    assert signature.trusted
    metadata = json.loads((out / "metadata.json").read_text())
    names = [f["name"] for f in metadata["files"]]
    assert "attachments/Phụ lục 1.pdf" in names
