"""Search over documents received as well as sent: a document the dispatcher took in, never
opened by a person, is found by its subject (with or without diacritics), its number and
symbol, its issuer, its số đến once registered, the words of its PDF, and by filters
alone; a secret one by its number and symbol only, its words in no full-text table; another
unit's never; a broadcast's PDF read once for every unit. SQLite (FTS5) here, PostgreSQL
where marked; the Tantivy index runs the same tests (test_search_index.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tiendon.documents.drafting.actions import do_issue, do_sign
from tiendon.documents.incoming.actions import (
    do_answer_recall,
    do_open_incoming,
    do_receive_paper,
    do_register_incoming,
    do_request_recall,
)
from tiendon.documents.models import DocumentType, IncomingDocument, SearchEntry, Secrecy
from tiendon.documents.search import fts as search
from tiendon.documents.tests import test_search
from tiendon.documents.tests.conftest import in_review
from tiendon.exchange import dispatch
from tiendon.pki.actions import do_issue_unit_keys
from tiendon.units.actions import do_create_person
from tiendon.units.models import Clearance, Role

SUBJECT = "Về việc kiểm tra công tác huấn luyện dân quân năm 2027"
# Only in the PDF (the body), not in the subject.
BODY = "Các đơn vị tổ chức bắn đạn thật tại thao trường Hàm Rồng trong tháng 3."
SECRET_SUBJECT = "Thông báo vị trí trận địa pháo phòng không"
SECRET_BODY = "Tọa độ trận địa dự bị đặt tại khe Nước Mọc."
SECRET_WORDS = {"trận", "tran", "pháo", "phao", "tọa", "toa", "mọc", "moc", "khe"}


drop_rum_indexes = test_search.drop_rum_indexes
forget_search_path = test_search.forget_search_path


def ids(result: search.SearchResult) -> list[Any]:
    return [d.pk for d in result.documents]


def issue(board: Any, units: list[Any], **overrides: Any) -> Any:
    values = {"subject": SUBJECT, "body": BODY, **overrides}
    document = do_sign(
        in_review(board, recipient_spec=[{"unit": u.code} for u in units], **values),
        board.commander,
        totp_code=board.code(),
    )
    return do_issue(document, board.clerk)


@pytest.fixture
def received(tree: Any, board: Any, province_board: Any) -> IncomingDocument:
    """The province's decision, taken in for commune A by the dispatcher (nobody opened it)."""
    sent = issue(province_board, [tree.commune_a])
    assert dispatch.run_until_idle() == 1
    row = IncomingDocument.objects.get(unit=tree.commune_a, envelope_id=sent.envelope_id)
    assert row.opened_by is None
    return row


def test_a_document_taken_in_is_found_by_subject_with_and_without_diacritics(
    tree: Any, received: IncomingDocument
) -> None:
    for query in ("huấn luyện dân quân", "huan luyen dan quan", "KIỂM TRA", "kiem tra"):
        assert ids(search.search(tree.clerk_a, query)) == [received.pk], query
    (found,) = search.search(tree.clerk_a, "huấn luyện").documents
    assert (found.search_direction, found.search_exact) == ("received", True)
    assert found.search_issuer == tree.province.name


def test_a_document_taken_in_is_found_by_symbol_issuer_and_its_pdf_words(
    tree: Any, received: IncomingDocument
) -> None:
    assert received.number_and_symbol == "01/QĐ-BCHQS"
    assert ids(search.search(tree.clerk_a, "01/QĐ-BCHQS")) == [received.pk]
    assert ids(search.search(tree.clerk_a, "qd-bchqs")) == [received.pk]
    assert ids(search.search(tree.clerk_a, "chi huy quan su tinh thanh hoa")) == [received.pk]
    # Words of its PDF alone (the body), extracted at arrival.
    assert ids(search.search(tree.clerk_a, "thao truong ham rong")) == [received.pk]
    assert ids(search.search(tree.clerk_a, "bắn đạn thật")) == [received.pk]


def test_registering_makes_the_arrival_number_searchable(
    tree: Any, received: IncomingDocument
) -> None:
    # Three paper documents first, so the exchanged one gets số đến 04 (its own number is 01).
    for subject in ("Giấy mời họp giao ban", "Công văn về phòng cháy", "Báo cáo tuần"):
        paper = do_receive_paper(
            tree.clerk_a,
            scan=b"%PDF-1.4 scan",
            issuer_name="UBND phường Đông Tiến",
            subject=subject,
            doc_type=DocumentType.CONG_VAN,
        )
        do_register_incoming(paper, tree.clerk_a)
    assert ids(search.search(tree.clerk_a, "04")) == []
    registered = do_register_incoming(received, tree.clerk_a)
    assert registered.arrival_text == "04"
    assert ids(search.search(tree.clerk_a, "04")) == [received.pk]
    # The entry rewritten for the số đến keeps the words of the PDF read at arrival.
    assert ids(search.search(tree.clerk_a, "thao truong ham rong")) == [received.pk]
    # The paper documents are found by their typed subject and issuer too.
    assert len(ids(search.search(tree.clerk_a, "ubnd phuong dong tien"))) == 3
    assert len(ids(search.search(tree.clerk_a, "phong chay"))) == 1


def test_filters_alone_find_received_documents(tree: Any, received: IncomingDocument) -> None:
    today = timezone.localdate().strftime("%d/%m/%Y")
    for filters in (
        {"direction": "received"},
        {"issuer": tree.province.code},
        {"type": DocumentType.QUYET_DINH},
        {"status": "arrived"},
        {"date_from": today, "date_to": today, "direction": "received"},
    ):
        assert ids(search.search(tree.clerk_a, "", filters)) == [received.pk], filters
        assert ids(search.search(tree.clerk_a, "?!", filters)) == [received.pk], filters
    assert ids(search.search(tree.clerk_a, "", {"direction": "sent"})) == []
    assert ids(search.search(tree.clerk_a, "", {"status": "registered"})) == []
    assert ids(search.search(tree.clerk_a, "", {"date_to": "01/01/2020"})) == []
    assert ids(search.search(tree.clerk_a, "huan luyen", {"direction": "sent"})) == []
    assert ids(search.search(tree.clerk_a, "huan luyen", {"direction": "received"})) == [
        received.pk
    ]


def test_sent_and_received_come_back_together(tree: Any, received: IncomingDocument) -> None:
    from tiendon.documents.drafting.actions import do_create_draft

    draft = do_create_draft(
        tree.clerk_a,
        doc_type=DocumentType.BAO_CAO,
        subject="Báo cáo kết quả huấn luyện dân quân",
        body="Nội dung báo cáo.",
        signer=tree.commander_a,
    )
    found = search.search(tree.clerk_a, "huan luyen dan quan").documents
    assert {(d.pk, d.search_direction) for d in found} == {
        (draft.pk, "sent"),
        (received.pk, "received"),
    }
    assert ids(search.search(tree.clerk_a, "", {"direction": "sent"})) == [draft.pk]


def test_another_units_received_documents_never_appear(
    tree: Any, received: IncomingDocument
) -> None:
    assert ids(search.search(tree.clerk_b, "huan luyen dan quan")) == []
    assert ids(search.search(tree.clerk_b, "01/QĐ-BCHQS")) == []
    assert ids(search.search(tree.clerk_b, "", {"direction": "received"})) == []
    assert ids(search.search(tree.clerk_b, "", {"issuer": tree.province.code})) == []
    # Nor does the sender find the recipient's copy: its search holds its own document.
    province_found = search.search(tree.province_commander, "huan luyen dan quan").documents
    assert [d.search_direction for d in province_found] == ["sent"]


def test_a_broadcast_is_read_once_for_every_unit(
    tree: Any, board: Any, province_board: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for unit in (tree.commune_b, tree.other_province):
        do_issue_unit_keys(unit)
    real_run = subprocess.run
    calls: list[str] = []

    def counting(args: Any, *rest: Any, **kwargs: Any) -> Any:
        if args and args[0] == "pdftotext":
            calls.append(args[-2])
        return real_run(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting)
    sent = issue(province_board, [tree.commune_a, tree.commune_b, tree.other_province])
    assert dispatch.run_until_idle() == 3
    assert len(calls) == 1  # one envelope, one extraction, three units
    rows = IncomingDocument.objects.filter(envelope_id=sent.envelope_id)
    assert rows.count() == 3
    assert SearchEntry.objects.filter(incoming__in=rows, pdf_text__contains="Hàm Rồng").count() == 3
    other_clerk = do_create_person(
        username="vt.nghean",
        full_name="Ngô Thị Lan",
        unit=tree.other_province,
        role=Role.CLERK,
        password="Mat-khau-thu-nghiem-2026",
    )
    for clerk in (tree.clerk_a, tree.clerk_b, other_clerk):
        (found,) = search.search(clerk, "thao truong ham rong").documents
        assert found.unit_id == clerk.unit_id


def test_a_recalled_copy_leaves_the_search(
    tree: Any, province_board: Any, received: IncomingDocument
) -> None:
    from tiendon.documents.models import Document

    original = Document.objects.get(envelope_id=received.envelope_id)
    do_request_recall(original, province_board.clerk, reason="Ban hành nhầm")
    dispatch.run_until_idle()
    asked = IncomingDocument.objects.get(pk=received.pk)
    assert asked.recall_answer == IncomingDocument.RecallAnswer.PENDING
    do_answer_recall(asked, tree.clerk_a, accept=True)
    assert ids(search.search(tree.clerk_a, "huan luyen")) == []
    assert not SearchEntry.objects.filter(incoming=received).exists()


@pytest.fixture
def secret_received(tree: Any, board: Any, province_board: Any, settings: Any) -> Any:
    """A Mật document taken in for commune A from its label; a cleared clerk there."""
    settings.TIENDON_SECRET_FIT = True
    cleared = do_create_person(
        username="vt2.dongtien",
        full_name="Lý Thị Mai",
        unit=tree.commune_a,
        role=Role.CLERK,
        password="Mat-khau-thu-nghiem-2026",
        clearance=Clearance.MAT,
    )
    sent = issue(
        province_board,
        [tree.commune_a],
        doc_type=DocumentType.THONG_BAO,
        subject=SECRET_SUBJECT,
        body=SECRET_BODY,
        secrecy=Secrecy.MAT,
    )
    assert dispatch.run_until_idle() == 1
    row = IncomingDocument.objects.get(unit=tree.commune_a, envelope_id=sent.envelope_id)
    return cleared, sent, row


def full_text_terms() -> set[str]:
    """Every term in the full-text index itself: FTS5's (read through an fts5vocab table
    over its shadow tables) or PostgreSQL's stored vectors; and the entries' columns."""
    found: set[str] = set()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab "
                "USING fts5vocab(main, documents_search_fts, row)"
            )
            cursor.execute("SELECT term FROM temp.search_vocab")
            found |= {term for (term,) in cursor.fetchall()}
            cursor.execute("SELECT block FROM documents_search_fts_data")
            blocks = b"".join(bytes(block) for (block,) in cursor.fetchall())
            assert "tọa độ".encode() not in blocks
        else:
            cursor.execute(
                "SELECT lexeme FROM documents_searchentry, "
                "unnest(exact_tsv || folded_tsv) AS u(lexeme, positions, weights)"
            )
            found |= {lexeme for (lexeme,) in cursor.fetchall()}
        cursor.execute("SELECT exact, folded, pdf_text FROM documents_searchentry")
        for row in cursor.fetchall():
            found |= {word for column in row for word in search.words(column)}
    return found


def test_a_secret_document_taken_in_keeps_its_words_out_of_every_full_text_table(
    tree: Any, secret_received: Any
) -> None:
    cleared, sent, row = secret_received
    assert (row.content_recorded, row.secrecy) == (False, Secrecy.MAT)
    assert not SECRET_WORDS & full_text_terms()
    # Opened by a cleared person: the row gets its subject, the index still no text of it.
    opened = do_open_incoming(cleared, str(sent.envelope_id))
    assert opened.subject == SECRET_SUBJECT
    assert opened.number_and_symbol == "01/TB-BCHQS"
    terms = full_text_terms()
    assert not SECRET_WORDS & terms
    assert {"01", "tb", "bchqs"} <= terms
    assert SearchEntry.objects.get(incoming=row).pdf_text == ""
    # Found by its number and symbol (and issuer) by the cleared clerk only, never by words.
    assert ids(search.search(cleared, "01/TB-BCHQS")) == [row.pk]
    assert ids(search.search(cleared, "tran dia phao")) == []
    assert ids(search.search(cleared, "", {"direction": "received"})) == [row.pk]
    assert ids(search.search(tree.clerk_a, "01/TB-BCHQS")) == []
    assert ids(search.search(tree.clerk_a, "", {"direction": "received"})) == []


@pytest.mark.postgres
def test_postgres_keeps_a_secret_documents_words_out_of_its_vectors(
    tree: Any, secret_received: Any
) -> None:
    test_a_secret_document_taken_in_keeps_its_words_out_of_every_full_text_table(
        tree, secret_received
    )


@pytest.mark.postgres
@pytest.mark.parametrize("rum", [True, False], ids=["rum", "gin"])
def test_postgres_finds_a_received_document_by_words_symbol_and_filters(
    tree: Any, received: IncomingDocument, drop_rum_indexes: Callable[[], None], rum: bool
) -> None:
    if not rum:
        drop_rum_indexes()
    assert search.uses_rum() == rum
    test_a_document_taken_in_is_found_by_subject_with_and_without_diacritics(tree, received)
    test_a_document_taken_in_is_found_by_symbol_issuer_and_its_pdf_words(tree, received)
    test_filters_alone_find_received_documents(tree, received)
    test_sent_and_received_come_back_together(tree, received)


def test_the_search_page_shows_received_documents_and_filters_alone(
    tree: Any, received: IncomingDocument, client: Any
) -> None:
    client.force_login(tree.clerk_a)
    page = client.get(reverse("document_search"), {"q": "huan luyen"})
    html = page.content.decode()
    assert page.status_code == 200
    assert reverse("incoming_detail", args=[received.pk]) in html
    assert "Văn bản đến" in html
    assert "01/QĐ-BCHQS" in html
    assert tree.province.name in html
    assert timezone.localdate().strftime("%d/%m/%Y") in html
    alone = client.get(reverse("document_search"), {"q": "", "direction": "received"})
    assert alone.status_code == 200
    assert reverse("incoming_detail", args=[received.pk]) in alone.content.decode()
    punctuation = client.get(reverse("document_search"), {"q": "?! …"})
    assert punctuation.status_code == 200
    assert "chỉ có dấu câu" in punctuation.content.decode()
    empty = client.get(reverse("document_search"), {"q": ""})
    assert empty.status_code == 200
    assert "Hãy nhập nội dung cần tìm hoặc chọn bộ lọc." in empty.content.decode()
    # The issuer is chosen by name (the unit picker); its code is what the filter posts.
    by_issuer = client.get(reverse("document_search"), {"issuer": tree.province.code})
    html = by_issuer.content.decode()
    assert 'class="unit-search' in html
    assert reverse("incoming_detail", args=[received.pk]) in html


def test_the_upgrade_indexes_the_documents_received_before_it(
    tree: Any, received: IncomingDocument, secret_received: Any
) -> None:
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    migration = importlib.import_module("tiendon.documents.migrations.0013_search_incoming")
    _cleared, _sent, secret = secret_received
    SearchEntry.objects.filter(incoming__isnull=False).delete()  # as before the upgrade
    assert ids(search.search(tree.clerk_a, "huan luyen")) == []
    # What it reads of the schema editor is its connection (SQLite's own editor cannot open
    # inside the test's transaction).
    migration.index_received(apps, SimpleNamespace(connection=connection))
    assert ids(search.search(tree.clerk_a, "huan luyen dan quan")) == [received.pk]
    assert ids(search.search(tree.clerk_a, "01/QĐ-BCHQS")) == [received.pk]
    # The PDF's text is not: it stays in the encrypted envelope a migration cannot open.
    assert ids(search.search(tree.clerk_a, "ham rong")) == []
    assert SearchEntry.objects.get(incoming=secret).exact == "bộ chỉ huy quân sự tỉnh thanh hóa"
    assert not SECRET_WORDS & full_text_terms()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_search_page_in_chromium_at_desk_and_phone_widths(
    live_server: Any, browser: Any, tree: Any, board: Any, province_board: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tiendon.documents.tests.test_browser import _fits_phone, _log_in, _shot

    def take_in() -> IncomingDocument:
        # In a thread of its own: signing runs pyHanko through async_to_sync, which refuses
        # the thread where Playwright keeps its event loop.
        try:
            sent = issue(province_board, [tree.commune_a])
            dispatch.run_until_idle()
            return IncomingDocument.objects.get(unit=tree.commune_a, envelope_id=sent.envelope_id)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(1) as pool:
        received = pool.submit(take_in).result()
    for width in (1366, 390):
        page = _log_in(browser, live_server.url, tree.clerk_a, width=width)
        page.goto(f"{live_server.url}{reverse('document_search')}?q=huan+luyen+dan+quan")
        row = page.locator("#search-results tbody tr.received")
        assert "Văn bản đến" in row.inner_text()
        assert "01/QĐ-BCHQS" in row.inner_text()
        assert tree.province.name in row.inner_text()
        _shot(page, f"search-received-{width}")
        assert _fits_phone(page) or width > 390
        # Filters alone: "Văn bản đến", no words.
        page.fill("#q", "")
        page.locator("summary:has-text('Bộ lọc')").click()
        page.select_option("select[name=direction]", "received")
        page.click("#search-form button[type=submit]")
        page.wait_for_selector("#search-results tbody tr.received")
        _shot(page, f"search-received-filters-{width}")
        page.fill("#q", "?!")
        page.select_option("select[name=direction]", "")
        page.click("#search-form button[type=submit]")
        assert "chỉ có dấu câu" in page.locator("#search-error").inner_text()
        _shot(page, f"search-punctuation-{width}")
        page.goto(f"{live_server.url}{reverse('document_search')}?q=huan+luyen+dan+quan")
        page.click("#search-results tbody tr.received a")
        page.wait_for_url(f"**{reverse('incoming_detail', args=[received.pk])}")
        page.context.close()


def test_search_entries_cover_exactly_what_each_person_may_find(
    tree: Any, received: IncomingDocument, secret_received: Any
) -> None:
    from tiendon.documents import queries

    cleared, _sent, secret = secret_received
    for person in (tree.clerk_a, cleared, tree.clerk_b, tree.province_commander):
        entries = queries.search_entries_visible_to(person)
        sent = set(entries.filter(document__isnull=False).values_list("document_id", flat=True))
        got = set(entries.filter(incoming__isnull=False).values_list("incoming_id", flat=True))
        assert sent == set(queries.documents_visible_to(person).values_list("pk", flat=True))
        assert got == set(queries.incoming_found_by(person).values_list("pk", flat=True))
    assert set(queries.incoming_found_by(cleared)) == {received, secret}
    assert set(queries.incoming_found_by(tree.clerk_a)) == {received}
