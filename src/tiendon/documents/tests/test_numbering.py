"""Numbers and symbols: Decree 30 formats, from 01 each year, per issuer and per series."""

from __future__ import annotations

import pytest
from django.db import transaction

from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.errors import DocumentError
from tiendon.documents.issuing.numbering import format_number, symbol_for, take_next_number
from tiendon.documents.models import Document, DocumentType, NumberCounter, Series
from tiendon.documents.tests.conftest import draft, in_review, run_concurrently


@pytest.mark.parametrize(
    ("doc_type", "office", "symbol"),
    [
        (DocumentType.QUYET_DINH, "", "QĐ-BCHQS"),
        (DocumentType.QUY_DINH, "", "QyĐ-BCHQS"),
        (DocumentType.KE_HOACH, "", "KH-BCHQS"),
        (DocumentType.TO_TRINH, "", "TTr-BCHQS"),
        (DocumentType.CONG_VAN, "TM", "BCHQS-TM"),
    ],
)
def test_symbols_follow_appendix_iii(doc_type, office, symbol):
    assert symbol_for(doc_type, "BCHQS", office) == symbol


def test_numbers_below_ten_have_a_leading_zero():
    assert format_number(5, "QĐ-BCHQS") == "05/QĐ-BCHQS"
    assert format_number(12, "BCHQS-TM") == "12/BCHQS-TM"
    assert format_number(105, "TB-BQP") == "105/TB-BQP"


@pytest.mark.parametrize(
    ("doc_type", "abbreviation", "office", "code"),
    [
        ("thu_tay", "BCHQS", "", "unknown_type"),
        (DocumentType.QUYET_DINH, "", "", "issuer_without_abbreviation"),
        (DocumentType.CONG_VAN, "BCHQS", "", "drafting_office_required"),
    ],
)
def test_a_symbol_that_cannot_be_made_is_refused_with_its_reason(
    doc_type, abbreviation, office, code
):
    with pytest.raises(DocumentError) as refused:
        symbol_for(doc_type, abbreviation, office)
    assert refused.value.code == code


@pytest.mark.django_db
def test_counters_run_per_issuer_per_year_and_per_series(tree):
    with transaction.atomic():
        taken = [
            take_next_number(tree.commune_a, 2026, Series.ORDINARY),
            take_next_number(tree.commune_a, 2026, Series.ORDINARY),
            take_next_number(tree.commune_a, 2026, Series.SECRET),
            take_next_number(tree.commune_a, 2027, Series.ORDINARY),
            take_next_number(tree.commune_b, 2026, Series.ORDINARY),
            take_next_number(tree.commune_a, 2026, Series.ORDINARY),
        ]
    assert taken == [1, 2, 1, 1, 1, 3]


@pytest.mark.django_db
def test_issuing_numbers_documents_01_02_in_order(board):
    numbers = []
    for _ in range(2):
        document = do_sign(in_review(board), board.commander, totp_code=board.code())
        numbers.append(do_issue(document, board.clerk).number_and_symbol)
    assert numbers == ["01/QĐ-BCHQS", "02/QĐ-BCHQS"]


@pytest.mark.django_db
def test_a_new_year_starts_again_at_01(board):
    from django.utils import timezone

    this_year = timezone.localtime().year
    NumberCounter.objects.create(
        issuing_unit=board.unit, year=this_year - 1, series=Series.ORDINARY, last_number=37
    )
    document = do_sign(in_review(board), board.commander, totp_code=board.code())
    issued = do_issue(document, board.clerk)
    assert (issued.number, issued.year) == (1, this_year)


@pytest.mark.django_db
def test_secret_documents_have_their_own_series(province_board):
    board = province_board
    ordinary = do_sign(
        in_review(board, doc_type=DocumentType.THONG_BAO), board.commander, totp_code=board.code()
    )
    assert do_issue(ordinary, board.clerk).number_and_symbol == "01/TB-BCHQS"
    secret = do_sign(
        in_review(board, doc_type=DocumentType.THONG_BAO, secrecy=1),
        board.commander,
        totp_code=board.code(),
    )
    issued = do_issue(secret, board.clerk)
    assert (issued.number_and_symbol, issued.series) == ("01/TB-BCHQS", Series.SECRET)
    again = do_sign(
        in_review(board, doc_type=DocumentType.THONG_BAO), board.commander, totp_code=board.code()
    )
    assert do_issue(again, board.clerk).number_and_symbol == "02/TB-BCHQS"


@pytest.mark.django_db
def test_a_cong_van_is_numbered_issuer_then_office(board):
    document = do_sign(
        in_review(board, doc_type=DocumentType.CONG_VAN, drafting_office="TM"),
        board.commander,
        totp_code=board.code(),
    )
    assert do_issue(document, board.clerk).number_and_symbol == "01/BCHQS-TM"


CONCURRENT_ISSUINGS = 50
WORKERS = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_issuings_get_01_to_50_without_gap_or_duplicate(board):
    signed = do_sign(in_review(board), board.commander, totp_code=board.code())
    documents = [signed]
    for _ in range(CONCURRENT_ISSUINGS - 1):
        other = draft(board)
        Document.objects.filter(pk=other.pk).update(
            state=Document.State.SIGNED, pdf=bytes(signed.pdf)
        )
        documents.append(Document.objects.get(pk=other.pk))
    run_concurrently(documents, lambda document: do_issue(document, board.clerk), WORKERS)
    numbers = sorted(
        Document.objects.filter(issuing_unit=board.unit).values_list("number", flat=True)
    )
    assert numbers == list(range(1, CONCURRENT_ISSUINGS + 1))
    counter = NumberCounter.objects.get(issuing_unit=board.unit, series=Series.ORDINARY)
    assert counter.last_number == CONCURRENT_ISSUINGS
