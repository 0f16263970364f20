"""The node's Tantivy search index (ADR 0011): the same search, answered from the index.

The behaviour tests of test_search.py run again here with the index on (`indexed`): each
search first lets the indexer apply the queue, as the node's `search-index --follow` does
within a second. Then what is the index's own: the queue written in the change's
transaction, a lagging index that never shows what it should not, a crash between the
index's commit and the queue's clean-up, one indexer at a time, the rebuild, and the
command.
"""

from __future__ import annotations

import functools
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tantivy
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from tiendon.documents.drafting.state import document_saved
from tiendon.documents.incoming.actions import do_open_incoming, do_register_incoming
from tiendon.documents.models import Document, DocumentType, SearchQueueItem, Secrecy
from tiendon.documents.search import fts as search
from tiendon.documents.search import index as search_index
from tiendon.documents.tests import test_search as behaviour
from tiendon.documents.tests import test_search_received as received_behaviour
from tiendon.documents.tests.test_search import ids, make
from tiendon.documents.tests.test_search_received import SECRET_WORDS


@pytest.fixture
def index_folder(tmp_path: Path, settings: Any) -> Iterator[Path]:
    folder = tmp_path / "search-index"
    settings.TIENDON_SEARCH_INDEX = str(folder)
    search_index.forget_opened()
    yield folder
    search_index.forget_opened()


@pytest.fixture
def indexer(index_folder: Path, db: None) -> Iterator[search_index.Indexer]:
    with search_index.Indexer() as writer:
        writer.rebuild()
        yield writer


@pytest.fixture
def indexed(indexer: search_index.Indexer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every search finds the index up to date, as if the node's indexer had just run."""
    for name in ("ranked", "listed"):  # words, and filters alone
        monkeypatch.setattr(search_index, name, after_sync(indexer, getattr(search_index, name)))


def after_sync(indexer: search_index.Indexer, read: Callable[..., Any]) -> Callable[..., Any]:
    def reading(*args: Any) -> Any:
        indexer.sync()
        return read(*args)

    return reading


# The behaviour of test_search.py, answered from the index.
BEHAVIOUR = [
    "test_decision_on_training_is_found_without_diacritics",
    "test_d_with_stroke_folds_to_d_both_ways",
    "test_exact_diacritics_rank_first",
    "test_text_of_an_uploaded_pdf_is_searchable",
    "test_an_edited_draft_is_found_by_its_new_words_only",
    "test_another_units_documents_never_match",
    "test_secret_subject_never_matches_for_an_uncleared_person",
    "test_filters_narrow_the_results",
    "test_bad_search_input_is_refused_with_a_code",
    "test_fts_syntax_in_a_query_is_just_words",
    "test_search_page_shows_results_and_errors",
    "test_a_secret_document_is_found_by_its_number_only",
    "test_search_entries_cover_exactly_the_documents_each_person_may_see",
    "test_a_document_made_secret_behind_the_orm_leaves_an_uncleared_search",
]
# Not test_an_entry_that_disagrees_with_its_document_never_shows_it: the index takes the
# unit from the document itself, not from the entry's copy that the test alters; a stale
# index is test_a_lagging_index_never_shows_what_the_person_may_no_longer_see below.


def _with_the_index(test: Callable[..., None]) -> Callable[..., None]:
    """A copy of the test that also uses `indexed` (its own marks, the original's intact)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        test(*args, **kwargs)

    run.pytestmark = [  # type: ignore[attr-defined]
        *getattr(test, "pytestmark", []),
        pytest.mark.usefixtures("indexed").mark,
    ]
    return run


for _name in BEHAVIOUR:
    globals()[f"{_name}__indexed"] = _with_the_index(getattr(behaviour, _name))
# And the search over documents received (test_search_received.py), with its fixtures.
received = received_behaviour.received
secret_received = received_behaviour.secret_received
for _name in (
    "test_a_document_taken_in_is_found_by_subject_with_and_without_diacritics",
    "test_a_document_taken_in_is_found_by_symbol_issuer_and_its_pdf_words",
    "test_registering_makes_the_arrival_number_searchable",
    "test_filters_alone_find_received_documents",
    "test_sent_and_received_come_back_together",
    "test_another_units_received_documents_never_appear",
    "test_a_recalled_copy_leaves_the_search",
    "test_a_secret_document_taken_in_keeps_its_words_out_of_every_full_text_table",
):
    globals()[f"{_name}__indexed"] = _with_the_index(getattr(received_behaviour, _name))


def test_a_received_document_is_queued_at_each_change_and_filtered_in_the_index(
    tree: Any, indexer: search_index.Indexer, received: Any
) -> None:
    assert SearchQueueItem.objects.filter(incoming_id=received.pk).exists()
    result = search.search(tree.clerk_a, "huan luyen")
    assert (ids(result), result.waiting) == ([], 1)  # taken in, not in the index yet
    indexer.sync()
    assert ids(search.search(tree.clerk_a, "huan luyen", {"direction": "received"})) == [
        received.pk
    ]
    assert ids(search.search(tree.clerk_a, "huan luyen", {"status": "registered"})) == []
    do_register_incoming(received, tree.clerk_a)
    assert SearchQueueItem.objects.filter(incoming_id=received.pk).exists()
    indexer.sync()
    filters = {"status": "registered", "issuer": tree.province.code, "direction": "received"}
    assert ids(search.search(tree.clerk_a, "huan luyen", filters)) == [received.pk]
    assert ids(search.search(tree.clerk_a, "huan luyen", {"direction": "sent"})) == []


def test_a_secret_received_document_has_no_words_in_the_index(
    tree: Any, indexer: search_index.Indexer, secret_received: Any
) -> None:
    cleared, sent, row = secret_received
    do_open_incoming(cleared, str(sent.envelope_id))  # a cleared person fills it in
    indexer.sync()
    searcher = search_index.open_index().searcher()

    def count(field: str, word: str) -> int:
        query = tantivy.Query.term_query(search_index.SCHEMA, field, word, index_option="freq")
        return int(searcher.search(query, 10).count)

    # What is indexed: its number and symbol, never a word of its subject or its PDF.
    assert count("exact", "bchqs") >= 1
    for word in SECRET_WORDS:
        assert (count("exact", word), count("folded", word)) == (0, 0), word
    # What is stored: no text at all (the index keeps words for matching, not the text).
    doc_query = tantivy.Query.term_query(
        search_index.SCHEMA, "doc", search_index.term_of(row.pk), index_option="basic"
    )
    ((_score, address),) = searcher.search(doc_query, 1).hits
    assert not {"exact", "folded"} & searcher.doc(address).to_dict().keys()
    assert ids(search.search(cleared, "01/TB-BCHQS")) == [row.pk]
    assert ids(search.search(cleared, "tran dia")) == []


def test_the_index_answers_the_search_not_the_database(
    tree: Any, indexed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = make(tree, "Về việc huấn luyện dân quân")
    monkeypatch.setattr(search, "ranking", _forbidden)
    monkeypatch.setattr(search, "rum_rankings", _forbidden)
    assert ids(search.search(tree.clerk_a, "huan luyen")) == [document.pk]


def test_the_index_answers_a_search_by_filters_alone(
    tree: Any, indexed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = make(tree, "Về việc huấn luyện dân quân")
    newer = make(tree, "Kế hoạch tuyển quân", doc_type=DocumentType.KE_HOACH)
    monkeypatch.setattr(search.queries, "search_entries_visible_to", _forbidden)
    assert ids(search.search(tree.clerk_a, "", {"direction": "sent"})) == [newer.pk, older.pk]
    assert ids(search.search(tree.clerk_a, "", {"type": "ke_hoach"})) == [newer.pk]
    assert ids(search.search(tree.clerk_a, "", {"direction": "sent"}, offset=1)) == [older.pk]
    assert ids(search.search(tree.clerk_b, "", {"direction": "sent"})) == []


def _forbidden(*args: Any) -> Any:
    raise AssertionError("the database ranked a search the index should answer")


def test_a_change_is_queued_in_its_transaction_and_applied_once(
    tree: Any, indexer: search_index.Indexer
) -> None:
    document = make(tree, "Về việc phòng chống lụt bão")
    assert SearchQueueItem.objects.filter(document_id=document.pk).exists()
    # Not applied yet: the clerk is told, and the document is not found.
    result = search.search(tree.clerk_a, "lut bao")
    assert (ids(result), result.waiting) == ([], 1)
    assert search.search(tree.clerk_b, "lut bao").waiting == 0  # another unit's queue
    applied = indexer.sync()
    assert (applied.applied, applied.documents) == (1, 1)
    assert not SearchQueueItem.objects.exists()
    result = search.search(tree.clerk_a, "lut bao")
    assert (ids(result), result.waiting) == ([document.pk], 0)
    # A save that changes nothing the index holds queues nothing.
    document.save(update_fields=["recall_reason"])
    assert not SearchQueueItem.objects.exists()


def test_the_page_says_what_is_not_searchable_yet(
    tree: Any, indexer: search_index.Indexer, client: Any
) -> None:
    make(tree, "Về việc phòng chống lụt bão")
    client.force_login(tree.clerk_a)
    page = client.get(reverse("document_search"), {"q": "lut bao"}).content.decode()
    assert "1 văn bản của đơn vị vừa được cập nhật, chưa tìm được ngay." in page
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("document_search"), {"q": "lut bao"}).content.decode()
    assert "1 document of your unit changed a moment ago and is not searchable yet." in page
    indexer.sync()
    page = client.get(reverse("document_search"), {"q": "lut bao"}).content.decode()
    assert "phòng chống lụt bão" in page
    assert 'id="search-waiting"' not in page


def test_a_crash_before_the_queue_is_cleared_applies_the_change_again_harmlessly(
    tree: Any, indexer: search_index.Indexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = make(tree, "Về việc tuần tra biên giới")

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("killed after the index's commit")

    monkeypatch.setattr(search_index.SearchQueueItem.objects, "filter", crash)
    with pytest.raises(RuntimeError):
        indexer.sync()
    monkeypatch.undo()
    assert SearchQueueItem.objects.filter(document_id=document.pk).exists()
    indexer.sync()
    assert ids(search.search(tree.clerk_a, "tuan tra")) == [document.pk]
    searcher = search_index.open_index().searcher()
    assert searcher.num_docs == 1  # replaced, not added twice


def test_an_edited_or_removed_document_leaves_the_index(
    tree: Any, indexer: search_index.Indexer
) -> None:
    document = make(tree, "Về việc diễn tập phòng thủ")
    indexer.sync()
    document.subject = "Về việc phòng cháy chữa cháy rừng"
    document.save()
    document_saved(document)  # as the editing action does
    indexer.sync()
    assert ids(search.search(tree.clerk_a, "dien tap")) == []
    assert ids(search.search(tree.clerk_a, "chay rung")) == [document.pk]
    Document.objects.filter(pk=document.pk).delete()
    search_index.on_document_changed(document.pk)  # whatever removes one queues it
    indexer.sync()
    assert search_index.open_index().searcher().num_docs == 0


def test_a_lagging_index_never_shows_what_the_person_may_no_longer_see(
    tree: Any, indexer: search_index.Indexer
) -> None:
    document = make(tree, "Về việc bố trí trận địa")
    indexer.sync()
    # Made secret; the indexer has not run: the index still says ordinary.
    document.secrecy = Secrecy.MAT
    document.save(update_fields=["secrecy"])
    assert ids(search.search(tree.clerk_a, "bo tri")) == []
    # Moved to another unit behind the ORM (no queue row): the index still says commune A.
    document.secrecy = Secrecy.NONE
    document.save(update_fields=["secrecy"])
    indexer.sync()
    assert ids(search.search(tree.clerk_a, "bo tri")) == [document.pk]
    Document.objects.filter(pk=document.pk).update(issuing_unit=tree.commune_b)
    assert not SearchQueueItem.objects.exists()
    assert ids(search.search(tree.clerk_a, "bo tri")) == []


def test_one_indexer_at_a_time(tree: Any, indexer: search_index.Indexer) -> None:
    with pytest.raises(search_index.IndexBusy):
        search_index.Indexer()
    with pytest.raises(CommandError, match="another indexer holds the search index"):
        call_command("documents", "search-index")


def test_the_command_builds_the_index_then_applies_the_queue(
    tree: Any, index_folder: Path, capsys: Any
) -> None:
    first = make(tree, "Về việc tuyển quân năm 2027")
    # Before its first build the node searches its database: an empty index would hide all.
    assert not search_index.is_built()
    assert ids(search.search(tree.clerk_a, "tuyen quan")) == [first.pk]
    call_command("documents", "search-index")
    assert "search index rebuilt: 1 documents" in capsys.readouterr().out
    assert search_index.is_built()
    second = make(tree, "Về việc tuyển quân đợt hai")
    call_command("documents", "search-index")
    assert "1 queued changes applied (1 documents)" in capsys.readouterr().out
    search_index.open_index().reload()
    assert set(ids(search.search(tree.clerk_a, "tuyen quan"))) == {first.pk, second.pk}


def test_the_command_refuses_without_an_index_folder(tree: Any, settings: Any) -> None:
    settings.TIENDON_SEARCH_INDEX = ""
    with pytest.raises(CommandError, match="TIENDON_SEARCH_INDEX is not set"):
        call_command("documents", "search-index", "--rebuild")
    make(tree, "Về việc tuyển quân")
    assert not SearchQueueItem.objects.exists()  # no index, no queue


def test_an_index_of_another_schema_is_refused(tree: Any, index_folder: Path) -> None:
    index_folder.mkdir(parents=True)
    (index_folder / search_index.MARKER).write_text("0")
    with pytest.raises(RuntimeError, match="rebuild it into an empty folder"):
        search_index.open_index()


def test_stats_show_the_index_and_its_queue(tree: Any, indexer: search_index.Indexer) -> None:
    make(tree, "Về việc tuyển quân")
    out = io.StringIO()
    call_command("stats", "--json", stdout=out)
    figures = json.loads(out.getvalue())["search_index"]
    assert figures["documents"] == 0
    assert figures["queued"] >= 1
    assert figures["oldest_queued_s"] is not None
    indexer.sync()
    call_command("stats", "--json", stdout=(out := io.StringIO()))
    assert json.loads(out.getvalue())["search_index"] == {
        "documents": 1,
        "queued": 0,
        "oldest_queued_s": None,
    }


def test_stats_without_an_index(tree: Any) -> None:
    out = io.StringIO()
    call_command("stats", "--json", stdout=out)
    assert json.loads(out.getvalue())["search_index"] == {
        "documents": None,
        "queued": 0,
        "oldest_queued_s": None,
    }


@pytest.mark.django_db(transaction=True)
def test_the_follower_makes_a_new_document_searchable_within_moments(
    tree: Any, index_folder: Path
) -> None:
    """The loop of `search-index --follow` (as `node start` runs it), in a thread with its
    own database connection: it builds the index first, then follows the queue."""
    old = make(tree, "Về việc tuyển quân năm 2027")
    stop = threading.Event()
    follower = threading.Thread(target=_follow_then_close, args=(stop,))
    follower.start()
    try:
        new = make(tree, "Về việc tuyển quân đợt hai")
        deadline = time.monotonic() + 30
        found: set[Any] = set()
        while time.monotonic() < deadline and found != {old.pk, new.pk}:
            time.sleep(0.2)
            if search_index.is_built():
                search_index.open_index().reload()
                found = set(ids(search.search(tree.clerk_a, "tuyen quan")))
        assert found == {old.pk, new.pk}
        assert not SearchQueueItem.objects.exists()
    finally:
        stop.set()
        follower.join(timeout=30)
    assert not follower.is_alive()


def _follow_then_close(stop: threading.Event) -> None:
    try:
        search_index.follow(0.1, stop)
    finally:
        connection.close()


def test_node_start_runs_the_indexer_only_where_the_index_is_on(settings: Any) -> None:
    from tiendon.exchange.supervisor import node_children

    settings.TIENDON_SEARCH_INDEX = ""
    names = [c.name for c in node_children(host="127.0.0.1", port=8000, web_workers=1, pull=False)]
    assert names == ["web", "worker", "dispatch", "reminders"]
    settings.TIENDON_SEARCH_INDEX = "/var/lib/tiendon/search"
    with_index = node_children(host="127.0.0.1", port=8000, web_workers=1, pull=False)
    assert [c.name for c in with_index] == [
        "web",
        "worker",
        "dispatch",
        "reminders",
        "search-index",
    ]
    assert with_index[-1].argv[-3:] == ["documents", "search-index", "--follow"]


def test_a_change_made_during_a_rebuild_stays_queued(
    tree: Any, indexer: search_index.Indexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = make(tree, "Về việc diễn tập phòng thủ")
    read_rows = search_index._rows

    def rows_then_an_edit(entries: Any) -> Iterator[Any]:
        yield from read_rows(entries)
        # Saved after the rebuild has read the entries: its queue row must survive.
        document.subject = "Về việc phòng cháy chữa cháy rừng"
        document.save()
        document_saved(document)

    monkeypatch.setattr(search_index, "_rows", rows_then_an_edit)
    assert indexer.rebuild() == 1
    monkeypatch.undo()
    assert SearchQueueItem.objects.filter(document_id=document.pk).exists()
    indexer.sync()
    assert ids(search.search(tree.clerk_a, "chay rung")) == [document.pk]
    assert ids(search.search(tree.clerk_a, "dien tap")) == []


def test_a_database_failure_mid_batch_leaves_nothing_half_applied(
    tree: Any, indexer: search_index.Indexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = make(tree, "Về việc tuần tra biên giới")
    indexer.sync()
    kept.subject = "Về việc phòng chống lụt bão"
    kept.save()
    document_saved(kept)

    def lost_connection(entries: Any) -> Iterator[Any]:
        raise OSError("connection lost")
        yield  # a generator, as the real one

    monkeypatch.setattr(search_index, "_rows", lost_connection)
    with pytest.raises(OSError, match="connection lost"):
        indexer.sync()
    monkeypatch.undo()
    # The deletion of the old version was rolled back with the batch: still found, once.
    assert ids(search.search(tree.clerk_a, "tuan tra")) == [kept.pk]
    indexer.sync()
    assert ids(search.search(tree.clerk_a, "lut bao")) == [kept.pk]
    assert search_index.open_index().searcher().num_docs == 1
