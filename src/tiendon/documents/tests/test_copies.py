"""Certified copies and forwarding down the chain: a ministry directive reaches a commune
through the province as a sao y; the copy has its own number and the copying unit's
signature, the original travels with it unchanged, and statuses come back to each sender."""

from __future__ import annotations

import subprocess
import unicodedata

import pytest
from django.test import override_settings

from tiendon.audit.models import AuditRecord
from tiendon.documents import queries
from tiendon.documents.copies.actions import do_make_copy, parse_pages
from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.errors import DocumentError
from tiendon.documents.incoming.actions import do_register_incoming
from tiendon.documents.models import CertifiedCopy, IncomingCopy, NumberCounter
from tiendon.documents.pdf import pades
from tiendon.documents.tests.conftest import SUBJECT, in_review, taken_in
from tiendon.errors import InvalidInput, OutOfScope
from tiendon.exchange.models import Envelope

pytestmark = pytest.mark.django_db


def issue_to(board, spec, **overrides):
    overrides.setdefault("signer_title", "THỨ TRƯỞNG" if board.unit.parent_id is None else "")
    document = do_sign(
        in_review(board, recipient_spec=spec, **overrides),
        board.commander,
        totp_code=board.code(),
    )
    return do_issue(document, board.clerk)


def open_waiting(clerk):
    (waiting,) = queries.waiting_envelopes(clerk)
    return taken_in(clerk, waiting.envelope_id)


def text_of(pdf: bytes, tmp_path, name: str = "copy.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return unicodedata.normalize("NFC", out.stdout.decode())


def status_of(rows, code):
    return {row["unit__code"]: row["code"] for row in rows}[code]


@pytest.fixture
def at_province(tree, ministry_board, province_board, board):
    """A ministry directive issued to province 38, opened and registered there."""
    directive = issue_to(ministry_board, [{"unit": tree.province.code}])
    incoming = do_register_incoming(open_waiting(province_board.clerk), province_board.clerk)
    return directive, incoming


def test_a_ministry_directive_reaches_the_commune_through_the_province(
    tree, ministry_board, province_board, board, at_province, tmp_path
):
    directive, at_38 = at_province
    assert at_38.issuer_code == tree.ministry.code
    copy = do_make_copy(
        province_board.clerk,
        form="SY",
        incoming=at_38,
        recipient_spec=[{"set": "communes_of", "province": tree.province.code}],
    )
    assert copy.number_and_symbol == "01/SY-BCHQS"
    assert copy.original["notation"] == directive.symbol
    assert copy.original["number"] == directive.number
    assert copy.original["issuer"] == tree.ministry.code
    assert bytes(copy.original_pdf) == bytes(directive.pdf)
    envelope = Envelope.objects.get(pk=copy.envelope_id)
    assert envelope.sender == tree.province
    assert set(envelope.deliveries.values_list("unit__code", flat=True)) == {tree.commune_a.code}

    # The commune sees a copy of the ministry's directive, both signatures verified.
    at_commune = open_waiting(tree.clerk_a)
    assert at_commune.number_and_symbol == "01/SY-BCHQS"
    assert at_commune.issuer_code == tree.province.code
    assert at_commune.subject == SUBJECT
    info = IncomingCopy.objects.get(incoming=at_commune)
    assert info.form == "SY"
    assert info.original["notation"] == directive.symbol
    assert info.original["issuer_name"] == tree.ministry.name
    assert info.original_verified
    assert len(info.original_verification) == 2  # the ministry's signer and the ministry
    (copy_signature,) = at_commune.verification
    assert copy_signature["bottom_line"]
    assert copy_signature["trusted"]
    assert tree.province.name in copy_signature["signer"]
    original = queries.incoming_original_file(tree.clerk_a, at_commune.pk)
    assert original == bytes(directive.pdf)

    # What the commune reads: the directive's text and the province's stamp.
    pdf, _type = queries.incoming_file(tree.clerk_a, at_commune.pk)
    text = text_of(pdf, tmp_path)
    assert "SAO Y - Số: 01/SY-BCHQS" in text
    assert tree.province.name in text
    assert "+07:00" in text
    assert f"Số: {directive.number_and_symbol}" in text  # the original's number, flattened
    assert SUBJECT in text

    # The commune registers: the province sees the commune's status, the ministry the
    # province's.
    do_register_incoming(at_commune, tree.clerk_a)
    _copy, total, _by_code, rows = queries.copy_statuses(province_board.clerk, copy.pk)
    assert total == 1
    assert status_of(rows, tree.commune_a.code) == "03"
    table = queries.recipient_statuses(ministry_board.clerk, directive.pk)
    assert status_of(table.rows, tree.province.code) == "03"
    record = AuditRecord.objects.get(action="documents.copy_made")
    assert record.actor_id == province_board.clerk.pk
    assert record.new["number"] == "01/SY-BCHQS"


def test_the_copys_signature_passes_pyhanko_and_pdfsig(province_board, at_province, tmp_path):
    _directive, at_38 = at_province
    copy = do_make_copy(
        province_board.clerk, form="SY", incoming=at_38, recipient_spec=[{"set": "children"}]
    )
    (report,) = pades.verify(bytes(copy.pdf))
    assert report.bottom_line
    assert report.intact
    assert report.trusted
    path = tmp_path / "copy.pdf"
    path.write_bytes(bytes(copy.pdf))
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    assert out.stdout.count("Signature is Valid.") == 1, out.stdout


def test_an_extract_copies_the_chosen_pages_in_its_own_series(
    tree, province_board, at_province, tmp_path
):
    _directive, at_38 = at_province
    first = do_make_copy(
        province_board.clerk, form="SY", incoming=at_38, recipient_spec=[{"set": "children"}]
    )
    extract = do_make_copy(
        province_board.clerk,
        form="TrS",
        incoming=at_38,
        pages=[1],
        recipient_spec=[{"unit": tree.commune_a.code}],
    )
    assert first.number_and_symbol == "01/SY-BCHQS"
    assert extract.number_and_symbol == "01/TrS-BCHQS"  # its own series
    assert extract.pages == [1]
    assert "TRÍCH SAO - Số: 01/TrS-BCHQS" in text_of(bytes(extract.pdf), tmp_path)
    with pytest.raises(InvalidInput) as refused:
        do_make_copy(
            province_board.clerk,
            form="TrS",
            incoming=at_38,
            pages=[1, 9],
            recipient_spec=[{"set": "children"}],
        )
    assert (refused.value.code, refused.value.field) == ("bad_pages", "pages")
    with pytest.raises(InvalidInput) as refused:
        do_make_copy(
            province_board.clerk, form="TrS", incoming=at_38, recipient_spec=[{"set": "children"}]
        )
    assert refused.value.code == "pages_required"
    assert CertifiedCopy.objects.count() == 2


def test_a_copy_of_a_copy_is_a_sao_luc(tree, province_board, board, at_province, tmp_path):
    """The commune copies the province's sao y for its own use (here: back to the province,
    the only other unit it may send to in this tree): only as a sao lục."""
    _directive, at_38 = at_province
    do_make_copy(
        province_board.clerk, form="SY", incoming=at_38, recipient_spec=[{"set": "children"}]
    )
    at_commune = do_register_incoming(open_waiting(tree.clerk_a), tree.clerk_a)
    with pytest.raises(InvalidInput) as refused:
        do_make_copy(
            tree.clerk_a,
            form="SY",
            incoming=at_commune,
            recipient_spec=[{"unit": tree.province.code}],
        )
    assert refused.value.code == "wrong_copy_form"
    sao_luc = do_make_copy(
        tree.clerk_a, form="SL", incoming=at_commune, recipient_spec=[{"unit": tree.province.code}]
    )
    assert sao_luc.number_and_symbol == "01/SL-BCHQS"
    at_38_again = open_waiting(province_board.clerk)
    info = IncomingCopy.objects.get(incoming=at_38_again)
    assert info.form == "SL"
    assert info.original_verified  # still the ministry's original, byte for byte
    text = text_of(queries.incoming_file(province_board.clerk, at_38_again.pk)[0], tmp_path)
    assert "SAO LỤC - Số: 01/SL-BCHQS" in text
    assert "SAO Y - Số: 01/SY-BCHQS" in text  # the province's stamp, flattened


def test_another_unit_cannot_copy_what_it_did_not_receive(tree, board, at_province):
    _directive, at_38 = at_province
    with pytest.raises(OutOfScope):
        do_make_copy(tree.clerk_a, form="SY", incoming=at_38, recipient_spec=[{"set": "children"}])
    with pytest.raises(OutOfScope):
        queries.get_visible_incoming(tree.clerk_a, at_38.pk)
    assert not CertifiedCopy.objects.exists()


def test_a_document_is_registered_before_it_is_copied(tree, ministry_board, province_board):
    issue_to(ministry_board, [{"unit": tree.province.code}])
    arrived = open_waiting(province_board.clerk)
    with pytest.raises(DocumentError) as refused:
        do_make_copy(
            province_board.clerk, form="SY", incoming=arrived, recipient_spec=[{"set": "children"}]
        )
    assert refused.value.code == "wrong_state"


def test_only_a_clerk_copies_and_no_number_is_used_by_a_refusal(tree, province_board, at_province):
    _directive, at_38 = at_province
    with pytest.raises(DocumentError) as refused:
        do_make_copy(
            tree.province_commander,
            form="SY",
            incoming=at_38,
            recipient_spec=[{"set": "children"}],
        )
    assert refused.value.code == "not_a_clerk"
    with pytest.raises(InvalidInput) as refused:
        do_make_copy(province_board.clerk, form="SY", incoming=at_38, recipient_spec=[])
    assert refused.value.code == "no_recipients"
    assert not NumberCounter.objects.filter(series__startswith="copy_").exists()


def test_a_person_without_clearance_cannot_copy_a_secret_document(
    tree, ministry_board, province_board, board
):
    from tiendon.units.actions import do_create_person
    from tiendon.units.models import Person, Role

    Person.objects.filter(pk=ministry_board.clerk.pk).update(clearance=1)
    ministry_board.clerk.refresh_from_db()
    with override_settings(TIENDON_SECRET_FIT=True):
        issue_to(ministry_board, [{"unit": tree.province.code}], secrecy=1)
        secret = do_register_incoming(open_waiting(province_board.clerk), province_board.clerk)
        uncleared = do_create_person(
            username="vt2.thanhhoa",
            full_name="Lê Văn Tâm",
            unit=tree.province,
            role=Role.CLERK,
            password="Mat-khau-thu-nghiem-2026",
        )
        with pytest.raises(DocumentError) as refused:
            do_make_copy(
                uncleared, form="SY", incoming=secret, recipient_spec=[{"set": "children"}]
            )
        assert refused.value.code == "clearance_required"
        copy = do_make_copy(
            province_board.clerk, form="SY", incoming=secret, recipient_spec=[{"set": "children"}]
        )
    assert copy.secrecy == 1
    assert copy.series == "copy_SY_secret"
    assert Envelope.objects.get(pk=copy.envelope_id).security == "mat"


def test_a_unit_copies_its_own_issued_document(tree, province_board, board, tmp_path):
    own = issue_to(province_board, [])
    copy = do_make_copy(
        province_board.clerk, form="SY", document=own, recipient_spec=[{"set": "children"}]
    )
    assert copy.source_document_id == own.pk
    assert copy.original["number"] == own.number
    assert list(queries.copies_of_document(province_board.clerk, own.pk)) == [copy]


def test_page_lists_are_parsed():
    assert parse_pages("1, 3-4") == [1, 3, 4]
    with pytest.raises(InvalidInput) as refused:
        parse_pages("một")
    assert refused.value.code == "bad_pages"


def _paper(clerk, scan, **extra):
    from django.utils import timezone

    from tiendon.documents.incoming.actions import do_receive_paper

    return do_register_incoming(
        do_receive_paper(
            clerk,
            scan=scan,
            issuer_name="Ủy ban nhân dân tỉnh Thanh Hóa",
            subject="Về việc phòng chống lụt bão năm 2027",
            doc_type="chi_thi",
            number=7,
            notation="CT-UBND",
            issue_date=timezone.localdate(),
            signer_name="Nguyễn Văn Bình",
            **extra,
        ),
        clerk,
    )


def test_a_paper_document_is_copied_from_its_scan_and_sent_down(
    tree, province_board, board, tmp_path
):
    """Decree 30's copy from paper to electronic form: the scan, stamped and signed by the
    copying unit; the commune sees it certified by the province, the original on paper."""
    from django.test import Client
    from django.urls import reverse

    from tiendon.documents.pdf.layout import render_line

    scan = render_line("Chỉ thị về phòng chống lụt bão năm 2027", 500, 40)
    paper = _paper(province_board.clerk, scan)
    copy = do_make_copy(
        province_board.clerk,
        form="SY",
        incoming=paper,
        recipient_spec=[{"unit": tree.commune_a.code}],
    )
    assert copy.number_and_symbol == "01/SY-BCHQS"
    assert copy.original["medium"] == "paper"
    assert copy.original["issuer_name"] == "Ủy ban nhân dân tỉnh Thanh Hóa"
    assert (copy.original["number"], copy.original["notation"]) == (7, "CT-UBND")
    (report,) = pades.verify(bytes(copy.pdf))
    assert report.bottom_line
    text = text_of(bytes(copy.pdf), tmp_path)
    assert "SAO Y - Số: 01/SY-BCHQS" in text
    assert "phòng chống lụt bão năm 2027" in text  # the scan's own text, kept

    at_commune = open_waiting(tree.clerk_a)
    info = IncomingCopy.objects.get(incoming=at_commune)
    assert info.original_on_paper
    assert info.original_verification == []
    (signature,) = at_commune.verification
    assert signature["bottom_line"]
    assert tree.province.name in signature["signer"]
    assert queries.incoming_original_file(tree.clerk_a, at_commune.pk) == scan
    client = Client()
    client.force_login(tree.clerk_a)
    page = client.get(reverse("incoming_detail", args=[at_commune.pk])).content.decode()
    assert "Bản gốc là văn bản giấy" in page
    assert "Có chữ ký không xác thực được." not in page


def test_an_image_scan_becomes_a_page_of_the_copy(tree, province_board, board):
    import io

    from PIL import Image

    image = io.BytesIO()
    Image.new("L", (850, 1100), 255).save(image, format="PNG", dpi=(100, 100))
    paper = _paper(province_board.clerk, image.getvalue())
    copy = do_make_copy(
        province_board.clerk, form="SY", incoming=paper, recipient_spec=[{"set": "children"}]
    )
    (report,) = pades.verify(bytes(copy.pdf))
    assert report.bottom_line
    assert bytes(copy.original_pdf).startswith(b"%PDF-")


def test_an_unreadable_scan_is_refused_and_uses_no_number(tree, province_board, board):
    paper = _paper(province_board.clerk, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(DocumentError) as refused:
        do_make_copy(
            province_board.clerk, form="SY", incoming=paper, recipient_spec=[{"set": "children"}]
        )
    assert refused.value.code == "corrupt_scan"
    assert not CertifiedCopy.objects.exists()
    # Only the arrival number (số đến) of the registration: no copy number was taken.
    counters = NumberCounter.objects.filter(issuing_unit=tree.province)
    assert list(counters.values_list("series", flat=True)) == ["incoming"]
