"""Search: diacritics ignored (đ folded to d) but exact matches first, PDF text, filters,
scope and clearance, bad input; on SQLite (FTS5) and PostgreSQL (unaccent + GIN)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import PASSWORD
from django.db import connection
from django.urls import reverse

from tiendon.documents.drafting.actions import do_create_draft, do_edit_draft, do_submit_for_review
from tiendon.documents.models import DocumentType, SearchEntry, Secrecy, Urgency
from tiendon.documents.pdf.layout import render_line
from tiendon.documents.search import fts as search
from tiendon.errors import InvalidInput
from tiendon.units.actions import do_create_person
from tiendon.units.models import Clearance, Role


def make(tree: Any, subject: str, body: str = "Nội dung văn bản.", **extra: Any) -> Any:
    drafter = extra.pop("drafter", tree.clerk_a)
    values: dict[str, Any] = {
        "doc_type": DocumentType.QUYET_DINH,
        "subject": subject,
        "body": body,
        "signer": tree.commander_a,
    }
    values.update(extra)
    return do_create_draft(drafter, **values)


def ids(result: search.SearchResult) -> list[Any]:
    return [d.pk for d in result.documents]


def test_decision_on_training_is_found_without_diacritics(tree: Any) -> None:
    wanted = make(tree, "Về việc tổ chức huấn luyện dân quân năm 2027")
    make(tree, "Về việc sửa chữa doanh trại", doc_type=DocumentType.KE_HOACH)
    found = search.search(tree.clerk_a, "quyet dinh huan luyen")
    assert ids(found) == [wanted.pk]
    assert ids(search.search(tree.clerk_a, "Quyết định về huấn luyện")) == [wanted.pk]
    # The words in the subject itself, whatever the type.
    report = make(tree, "Báo cáo Quyết định về huấn luyện", doc_type=DocumentType.BAO_CAO)
    assert set(ids(search.search(tree.clerk_a, "quyet dinh huan luyen"))) == {
        wanted.pk,
        report.pk,
    }


def test_d_with_stroke_folds_to_d_both_ways(tree: Any) -> None:
    wanted = make(tree, "Kế hoạch đào tạo cán bộ dân quân")
    for query in ("đào tạo", "dao tao", "ĐÀO TẠO", "DAO TAO", "Đao Tao"):
        assert ids(search.search(tree.clerk_a, query)) == [wanted.pk], query
    assert search.fold("Đồng Tiến đường") == "dong tien duong"


def test_exact_diacritics_rank_first(tree: Any) -> None:
    dao_tao = make(tree, "Đào tạo huấn luyện viên dân quân")  # đào
    chi_dao = make(tree, "Chỉ đạo công tác huấn luyện dân quân")  # đạo, newer
    by_dao = search.search(tree.clerk_a, "đào huấn luyện")
    assert ids(by_dao) == [dao_tao.pk, chi_dao.pk]
    assert by_dao.exact == {str(dao_tao.pk)}
    by_dao2 = search.search(tree.clerk_a, "đạo huấn luyện")
    assert ids(by_dao2) == [chi_dao.pk, dao_tao.pk]
    # Without diacritics neither is exact: both match, newest first on equal relevance.
    assert set(ids(search.search(tree.clerk_a, "dao huan luyen"))) == {dao_tao.pk, chi_dao.pk}


def test_text_of_an_uploaded_pdf_is_searchable(tree: Any) -> None:
    pdf = render_line("Phương án tuần tra bảo vệ biên giới mùa mưa", 500, 40)
    document = make(tree, "Về việc bảo vệ mùa mưa", body="", uploaded_pdf=pdf)
    assert ids(search.search(tree.clerk_a, "tuan tra bien gioi")) == [document.pk]
    entry = SearchEntry.objects.get(document=document)
    assert "tuần tra" in entry.pdf_text.lower()


def test_an_edited_draft_is_found_by_its_new_words_only(tree: Any) -> None:
    document = make(tree, "Về việc diễn tập phòng thủ")
    do_edit_draft(document, tree.clerk_a, subject="Về việc phòng chống lụt bão")
    assert ids(search.search(tree.clerk_a, "lut bao")) == [document.pk]
    assert ids(search.search(tree.clerk_a, "dien tap")) == []


def test_another_units_documents_never_match(tree: Any) -> None:
    make(tree, "Về việc huấn luyện dân quân xã Đồng Tiến")
    assert ids(search.search(tree.clerk_b, "huan luyen")) == []
    assert ids(search.search(tree.ministry_clerk, "huan luyen")) == []
    assert len(ids(search.search(tree.clerk_a, "huan luyen"))) == 1


def test_secret_subject_never_matches_for_an_uncleared_person(tree: Any) -> None:
    commander = tree.province_commander  # cleared for Mật
    secret = do_create_draft(
        commander,
        doc_type=DocumentType.KE_HOACH,
        subject="Kế hoạch bố trí lực lượng phòng thủ bí mật",
        body="Vị trí các trận địa.",
        signer=commander,
        secrecy=Secrecy.MAT,
    )
    uncleared = do_create_person(
        username="tl.thanhhoa",
        full_name="Đinh Văn Tư",
        unit=tree.province,
        role=Role.STAFF,
        password=PASSWORD,
        clearance=Clearance.NONE,
    )
    assert ids(search.search(uncleared, "bo tri luc luong")) == []
    assert ids(search.search(uncleared, "ke hoach")) == []
    # Secret documents are indexed by number and symbol only, never by subject or content.
    entry = SearchEntry.objects.get(document=secret)
    assert "phòng thủ" not in entry.exact
    assert "tran dia" not in entry.folded
    assert ids(search.search(commander, "bo tri luc luong")) == []


def test_filters_narrow_the_results(tree: Any) -> None:
    decision = make(tree, "Về việc huấn luyện tự vệ", urgency=Urgency.HOA_TOC)
    plan = make(tree, "Kế hoạch huấn luyện tự vệ", doc_type=DocumentType.KE_HOACH)
    do_submit_for_review(plan, tree.clerk_a)
    query = "huan luyen tu ve"
    assert set(ids(search.search(tree.clerk_a, query))) == {decision.pk, plan.pk}
    assert ids(search.search(tree.clerk_a, query, {"type": "ke_hoach"})) == [plan.pk]
    assert ids(search.search(tree.clerk_a, query, {"urgency": "hoa_toc"})) == [decision.pk]
    assert ids(search.search(tree.clerk_a, query, {"status": "in_review"})) == [plan.pk]
    assert ids(search.search(tree.clerk_a, query, {"issuer": tree.commune_b.code})) == []
    assert len(ids(search.search(tree.clerk_a, query, {"issuer": tree.commune_a.code}))) == 2
    today = decision.created_at.astimezone().strftime("%d/%m/%Y")
    assert len(ids(search.search(tree.clerk_a, query, {"date_from": today, "date_to": today}))) == 2
    assert ids(search.search(tree.clerk_a, query, {"date_to": "01/01/2020"})) == []


@pytest.mark.parametrize(
    ("query", "filters", "code"),
    [
        ("", {}, "query_empty"),
        ("  ?! ", {}, "query_empty"),
        ("huấn luyện " * 30, {}, "query_too_long"),
        (" ".join(["a"] * 17), {}, "query_too_long"),
        ("huấn luyện", {"colour": "đỏ"}, "unknown_filter"),
        ("huấn luyện", {"type": "sắc lệnh"}, "unknown_type"),
        ("huấn luyện", {"urgency": "rất gấp"}, "unknown_urgency"),
        ("huấn luyện", {"status": "lost"}, "unknown_status"),
        ("huấn luyện", {"issuer": "NOPE"}, "unknown_issuer"),
        ("huấn luyện", {"date_from": "2027-13-45"}, "bad_date"),
        ("huấn luyện", {"date_from": "31.12.2026"}, "bad_date"),
        ("huấn luyện", {"date_from": "02/01/2027", "date_to": "01/01/2027"}, "bad_date_range"),
    ],
)
def test_bad_search_input_is_refused_with_a_code(
    tree: Any, query: str, filters: dict[str, str], code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        search.search(tree.clerk_a, query, filters)
    assert caught.value.code == code


def test_fts_syntax_in_a_query_is_just_words(tree: Any) -> None:
    wanted = make(tree, "Về việc huấn luyện")
    assert ids(search.search(tree.clerk_a, 'huấn "OR luyện* NEAR(')) == []
    assert ids(search.search(tree.clerk_a, 'huấn" luyện')) == [wanted.pk]


def test_search_page_shows_results_and_errors(tree: Any, client: Any) -> None:
    make(tree, "Về việc huấn luyện dân quân năm 2027")
    client.force_login(tree.clerk_a)
    page = client.get(reverse("document_search"), {"q": "huan luyen"})
    assert page.status_code == 200
    assert "huấn luyện dân quân năm 2027" in page.content.decode()
    assert "Tìm kiếm văn bản" in page.content.decode()  # Vietnamese first
    bad = client.get(reverse("document_search"), {"q": "huấn", "date_from": "hôm qua"})
    assert bad.status_code == 400
    assert "bad_date" in bad.content.decode()
    other = client.get(reverse("document_search"), {"q": "huấn", "colour": "x"})
    assert other.status_code == 400
    client.force_login(tree.clerk_b)
    page_b = client.get(reverse("document_search"), {"q": "huan luyen"})
    assert "huấn luyện dân quân" not in page_b.content.decode()


def _plan(sql: str, params: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def forget_search_path() -> Iterator[None]:
    """The search remembers per connection whether it has the RUM indexes: a test that
    removes them (inside its transaction, rolled back after it) clears that memory
    afterwards, whatever happened, so the next test sees the database as it is."""
    yield
    connection._tiendon_uses_rum = None  # type: ignore[attr-defined]


@pytest.fixture
def drop_rum_indexes(forget_search_path: None) -> Callable[[], None]:
    """Drops the RUM indexes inside the test's transaction: the database as it is where
    the RUM package is missing."""

    def drop() -> None:
        with connection.cursor() as cursor:
            for name in search.RUM_INDEXES:
                cursor.execute(f"DROP INDEX {name}")
        connection._tiendon_uses_rum = None  # type: ignore[attr-defined]

    return drop


@pytest.mark.postgres
def test_postgres_without_rum_uses_the_unaccent_gin_index(
    tree: Any, drop_rum_indexes: Callable[[], None]
) -> None:
    make(tree, "Về việc huấn luyện Đồng Tiến")
    with connection.cursor() as cursor:
        cursor.execute("SELECT tiendon_fold('Đồng Tiến ĐÀO')")
        assert cursor.fetchone()[0] == "dong tien dao"
        cursor.execute("SELECT provolatile FROM pg_proc WHERE proname = 'tiendon_fold'")
        assert cursor.fetchone()[0] == "i"
    drop_rum_indexes()
    assert not search.uses_rum()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    # The search's own query: the unit and the words, both found in the one GIN index (the
    # unit compared as a bigint, or btree_gin cannot use it and every match is read).
    sql, params = search.ranking(tree.clerk_a, ["dong", "tien"], {})[:20].query.sql_with_params()
    plan = _plan(sql, params)
    assert "documents_searchentry_scope_fold_gin" in plan, plan
    assert "Index Cond: ((issuing_unit_id = " in plan, plan
    assert [d.subject for d in search.search(tree.clerk_a, "dong tien").documents] == [
        "Về việc huấn luyện Đồng Tiến"
    ]


@pytest.mark.postgres
def test_postgres_search_takes_its_top_20_from_the_rum_indexes(tree: Any) -> None:
    make(tree, "Về việc huấn luyện Đồng Tiến")
    assert search.uses_rum()
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension WHERE extname = 'rum'")
        assert cursor.fetchone() is not None
        # One row: left to itself the planner may as well sort it. What is checked is that
        # the RUM index can hand over the top 20 in order, so only index scans are allowed.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET enable_bitmapscan = off")
    exact, folded = search.rum_rankings(tree.clerk_a, ["đồng", "tiến"], {}, [])
    try:
        for queryset, column, index in ((exact, "exact", "exact"), (folded, "folded", "fold")):
            sql, params = queryset[:20].query.sql_with_params()
            plan = _plan(sql, params)
            # Ordered by the index itself (RUM's <=>): no sort of every match.
            assert f"Index Scan using documents_searchentry_{index}_rum" in plan, plan
            assert f"Order By: ({column}_tsv <=> " in plan, plan
            assert "Sort" not in plan, plan
    finally:
        with connection.cursor() as cursor:  # a setting of the connection: put it back
            cursor.execute("RESET enable_bitmapscan")


@pytest.mark.postgres
def test_postgres_rum_and_gin_paths_find_the_same_documents_in_the_same_order(
    tree: Any, drop_rum_indexes: Callable[[], None]
) -> None:
    subjects = [
        "Đào tạo huấn luyện viên dân quân",
        "Chỉ đạo công tác huấn luyện dân quân",
        "Huấn luyện dân quân, huấn luyện tự vệ, huấn luyện dự bị",
        "Kế hoạch đào tạo cán bộ",
        "Về việc sửa chữa doanh trại",
        "Báo cáo kết quả huấn luyện năm 2026",
    ]
    for subject in subjects:
        make(tree, subject, body="Huấn luyện theo kế hoạch." if "2026" in subject else "Xem.")
    make(
        tree,
        "Đào tạo huấn luyện dân quân xã khác",
        drafter=tree.clerk_b,
        signer=tree.clerk_b,
        signer_title="Chỉ huy trưởng",
    )
    queries = ["đào huấn luyện", "dao tao", "huấn luyện", "huan luyen dan quan", "doanh trai"]

    def results() -> list[tuple[list[str], set[str]]]:
        out = []
        for query in queries:
            found = search.search(tree.clerk_a, query)
            out.append(([d.subject for d in found.documents], found.exact))
        return out

    assert search.uses_rum()
    with_rum = results()
    drop_rum_indexes()
    assert not search.uses_rum()
    assert results() == with_rum
    by_dao, _dao_tao, training, _, _ = with_rum
    assert by_dao[0][0] == "Đào tạo huấn luyện viên dân quân"  # exact diacritics first
    assert len(training[0]) == 4
    # A page past the exact matches: the folded ones follow, none twice.
    second = search.search(tree.clerk_a, "đào huấn luyện", limit=1, offset=1)
    assert [d.subject for d in second.documents] == [by_dao[0][1]]


@pytest.mark.postgres
def test_postgres_rum_migration_creates_indexes_only_where_it_can(
    tree: Any, forget_search_path: None
) -> None:
    import importlib

    migration = importlib.import_module("tiendon.documents.migrations.0007_rum_search_index")
    document = make(tree, "Về việc tìm kiếm cứu nạn")

    def migrate_forward() -> None:
        with connection.schema_editor() as editor:
            migration.forward(None, editor)
        connection._tiendon_uses_rum = None  # type: ignore[attr-defined]

    def found() -> list[Any]:
        return ids(search.search(tree.clerk_a, "tim kiem cuu nan"))

    with connection.cursor() as cursor:
        # Everything below is undone with the test's transaction.
        cursor.execute("DROP EXTENSION rum CASCADE")  # the two indexes go with it
        # A PostgreSQL without the package: its catalogue does not list rum.
        cursor.execute("CREATE SCHEMA norum")
        cursor.execute(
            "CREATE VIEW norum.pg_available_extensions AS SELECT * FROM "
            "pg_catalog.pg_available_extensions WHERE name <> 'rum'"
        )
        cursor.execute("SET LOCAL search_path = norum, pg_catalog, public")
    migrate_forward()
    assert not search.uses_rum()
    assert found() == [document.pk]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path = public")
        # The package installed, but a role that may not create an untrusted extension.
        cursor.execute("CREATE ROLE tiendon_no_rum")
        cursor.execute("GRANT ALL ON SCHEMA public TO tiendon_no_rum")
        cursor.execute("SET LOCAL ROLE tiendon_no_rum")
    migrate_forward()
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'rum'")
        assert cursor.fetchone()[0] == 0
        # The test's deferred foreign keys would keep CREATE INDEX from running in its
        # transaction (a real migration has none pending).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not search.uses_rum()
    assert found() == [document.pk]
    # Where it can: the extension, both indexes, and the search takes the RUM path.
    migrate_forward()
    assert search.uses_rum()
    assert found() == [document.pk]


def test_a_secret_document_is_found_by_its_number_only(province_board: Any) -> None:
    from tiendon.documents.drafting.actions import do_issue, do_sign
    from tiendon.documents.tests.conftest import in_review

    board = province_board
    signed = do_sign(
        in_review(
            board,
            doc_type=DocumentType.THONG_BAO,
            subject="Thông báo vị trí trận địa",
            secrecy=Secrecy.MAT,
        ),
        board.commander,
        totp_code=board.code(),
    )
    secret = do_issue(signed, board.clerk)
    assert secret.number_and_symbol == "01/TB-BCHQS"
    assert ids(search.search(board.clerk, "01/TB-BCHQS")) == [secret.pk]
    assert ids(search.search(board.clerk, "vi tri tran dia")) == []
    uncleared = do_create_person(
        username="cb2.thanhhoa",
        full_name="Lý Thị Hoa",
        unit=board.unit,
        role=Role.STAFF,
        password=PASSWORD,
    )
    assert ids(search.search(uncleared, "01/TB-BCHQS")) == []


def test_search_entries_cover_exactly_the_documents_each_person_may_see(tree: Any) -> None:
    from tiendon.documents import queries

    make(tree, "Về việc tuyển quân năm 2027")
    make(
        tree,
        "Về việc tuyển quân đợt hai",
        drafter=tree.clerk_b,
        signer=tree.clerk_b,
        signer_title="Chỉ huy trưởng",
    )
    do_create_draft(
        tree.province_commander,
        doc_type=DocumentType.KE_HOACH,
        subject="Kế hoạch tuyển quân bí mật",
        body="Chỉ tiêu từng xã.",
        signer=tree.province_commander,
        secrecy=Secrecy.MAT,
    )
    uncleared = do_create_person(
        username="tq.thanhhoa",
        full_name="Hà Văn Sơn",
        unit=tree.province,
        role=Role.STAFF,
        password=PASSWORD,
        clearance=Clearance.NONE,
    )
    people = [tree.ministry_clerk, tree.province_commander, uncleared, tree.clerk_a, tree.clerk_b]
    for person in people:
        entries = queries.search_entries_visible_to(person).values_list("document_id", flat=True)
        documents = queries.documents_visible_to(person).values_list("pk", flat=True)
        assert set(entries) == set(documents), person.username
    assert len(ids(search.search(tree.clerk_a, "tuyen quan"))) == 1
    assert len(ids(search.search(tree.clerk_b, "tuyen quan"))) == 1
    assert ids(search.search(tree.ministry_clerk, "tuyen quan")) == []


def test_a_document_made_secret_behind_the_orm_leaves_an_uncleared_search(tree: Any) -> None:
    from tiendon.documents.models import Document

    document = make(tree, "Về việc diễn tập khu vực phòng thủ")
    assert ids(search.search(tree.clerk_a, "dien tap")) == [document.pk]
    # A bulk update sends no signal and leaves the text as it was: PostgreSQL's trigger
    # moves the entry's copy along, and on both engines the page is checked against the
    # documents themselves.
    Document.objects.filter(pk=document.pk).update(secrecy=Secrecy.MAT)
    assert ids(search.search(tree.clerk_a, "dien tap")) == []


@pytest.mark.postgres
def test_postgres_trigger_keeps_the_entrys_scope_in_step(tree: Any) -> None:
    from tiendon.documents.models import Document

    document = make(tree, "Về việc diễn tập khu vực phòng thủ")
    Document.objects.filter(pk=document.pk).update(secrecy=Secrecy.MAT, issuing_unit=tree.commune_b)
    entry = SearchEntry.objects.get(document=document)
    assert (entry.secrecy, entry.issuing_unit_id) == (Secrecy.MAT, tree.commune_b.pk)


def test_an_entry_that_disagrees_with_its_document_never_shows_it(tree: Any) -> None:
    document = make(tree, "Về việc phòng chống lụt bão")
    # Even an entry altered by hand to claim another unit does not open the document there:
    # the page of results is loaded through the documents' own scope check.
    SearchEntry.objects.filter(document=document).update(issuing_unit=tree.commune_b)
    assert ids(search.search(tree.clerk_b, "lut bao")) == []
    assert ids(search.search(tree.clerk_a, "lut bao")) == []
