"""A Tantivy index beside the database, for ranked search at the ministry's scale (ADR 0011).

PostgreSQL's full-text search scores every match before it returns the first one (with RUM
too), and a common word matches tens of thousands of a ministry's million documents. A
Tantivy index (BM25, compact postings, fast fields) ranks them in milliseconds. It is
switched on per node by `TIENDON_SEARCH_INDEX` (a folder); without it the database's own
paths of `search` stay in use (FTS5 on SQLite, RUM or GIN on PostgreSQL).

The database stays the truth. Every save of a document writes its `SearchEntry` as before
and, in the same transaction, a row of `SearchQueueItem` naming it (a transactional
outbox). One indexer per node (`tiendon documents search-index --follow`, started by
`tiendon node start`) takes the queue in order, replaces those documents in the index,
commits the index and only then deletes the rows it applied; a crash in between applies
them again, which changes nothing. Tantivy's lock file keeps a second indexer out.

A search reads the index for one page of document ids; `search.search` loads that page
from the database and checks each document against `queries.is_visible_to`, so an index
that lags can miss a document for a moment but never show one it should not. The page
says how many of the person's documents are still waiting in the queue.

What is indexed is what the search entry holds (a secret document's number and symbol
only), with the document's unit, secrecy, dates and filter fields, for the documents sent
and received alike (a received one is keyed `incoming:ID`, its id in the fast field
`incoming`; the receiving actions queue it by that id).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import tantivy
from django.conf import settings
from django.db import connection
from django.db.models import Q

from tiendon.documents import queries
from tiendon.documents.models import Document, IncomingDocument, SearchEntry, SearchQueueItem
from tiendon.documents.search.text import (
    INDEXED_FIELDS,
    Key,
    fold,
    key_of,
    newest_first_on_ties,
    start_of,
)
from tiendon.units.models import Person

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "3"  # 3: received documents, the issuer's code and the direction
# A document's unit and secrecy level (0–3) in one number, so that a person's scope is one
# range: unit × 8 + 0 … unit × 8 + clearance.
SCOPE_LEVELS = 8
ANALYZER = "tiendon_words"
# Longest word kept, in bytes (a Vietnamese syllable is at most about 20): longer runs of
# letters are noise, and Tantivy refuses tokens over 65,530 bytes.
WORD_MAX_BYTES = 255
QUEUE_BATCH = 2_000
WRITER_HEAP_BYTES = 64_000_000
REBUILD_HEAP_BYTES = 512_000_000
# Fields of a document whose change must reach the index: the text and scope of the search
# entry (`search.INDEXED_FIELDS`) and the filters.
FILTER_FIELDS = frozenset({"doc_type", "urgency", "state", "issued_at", "created_at"})
# The columns an index row is built from: the entry's keys and text, then a sent document's
# own fields or a received one's, in the same order (unit, secrecy, creation or arrival,
# type, urgency, state, issue time or date, issuer's code).
SENT = "issuing_unit_id secrecy created_at doc_type urgency state issued_at issuing_unit__code"
RECEIVED = "unit_id secrecy arrived_at doc_type urgency state issue_date issuer_code"
ROW_FIELDS = (
    *("document_id", "incoming_id", "exact", "folded"),
    *(f"document__{name}" for name in SENT.split()),
    *(f"incoming__{name}" for name in RECEIVED.split()),
)


def configured_path() -> Path | None:
    """The index folder of this node, or None when the index is off."""
    value = getattr(settings, "TIENDON_SEARCH_INDEX", "")
    return Path(value) if value else None


def enabled() -> bool:
    return configured_path() is not None


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("doc", tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field("doc_hi", fast=True)
    builder.add_unsigned_field("doc_lo", fast=True)
    builder.add_unsigned_field("incoming", fast=True)  # a received document's id, else 0
    builder.add_integer_field("scope", fast=True)  # unit × SCOPE_LEVELS + secrecy
    builder.add_integer_field("created", fast=True)  # microseconds, for ties: newest first
    builder.add_integer_field("day", indexed=True, fast=True)  # issue (or creation) time, s
    for name in ("doc_type", "urgency", "state", "issuer", "direction"):
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
    # Words without positions: a search ANDs words, it does not match phrases.
    builder.add_text_field("exact", tokenizer_name=ANALYZER, index_option="freq")
    builder.add_text_field("folded", tokenizer_name=ANALYZER, index_option="freq")
    return builder.build()


SCHEMA = _schema()


def _analyzer() -> tantivy.TextAnalyzer:
    # The entries' text is already words in lower case joined by single spaces.
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
        .filter(tantivy.Filter.remove_long(WORD_MAX_BYTES))
        .build()
    )


class IndexBusy(Exception):
    """Another process holds the index's writer lock (an indexer is already running)."""


_lock = threading.Lock()
_opened: dict[Path, tantivy.Index] = {}
MARKER = "tiendon-index"  # written once a rebuild has filled the index: the schema version


def is_built(path: Path | None = None) -> bool:
    """Whether the index has been filled by a rebuild (until then, search uses the
    database's own paths: an empty index would hide every document)."""
    path = path or configured_path()
    return path is not None and (path / MARKER).exists()


def open_index(path: Path | None = None) -> tantivy.Index:
    """The node's index, opened once per process (created empty the first time). Readers
    follow commits made by other processes (Tantivy watches its meta file)."""
    path = path or configured_path()
    if path is None:
        raise RuntimeError("TIENDON_SEARCH_INDEX is not set")
    with _lock:
        index = _opened.get(path)
        if index is None:
            marker = path / MARKER
            if marker.exists() and marker.read_text().strip() != SCHEMA_VERSION:
                raise RuntimeError(
                    f"the search index in {path} has schema {marker.read_text().strip()}; "
                    f"this version writes {SCHEMA_VERSION}: rebuild it into an empty folder "
                    "(tiendon documents search-index --rebuild)"
                )
            path.mkdir(parents=True, exist_ok=True)
            index = tantivy.Index(SCHEMA, path=str(path), reuse=True)
            index.register_tokenizer(ANALYZER, _analyzer())
            index.config_reader(reload_policy="OnCommit")
            _opened[path] = index
        return index


def forget_opened() -> None:
    """Drop the indexes opened by this process (tests switch folders)."""
    with _lock:
        _opened.clear()


def on_incoming_changed(incoming_ids: Iterable[int]) -> None:
    """Queue received documents for the index (in the caller's transaction), when the index
    is on: after any change of their words, scope or filter fields (state included)."""
    if enabled():
        SearchQueueItem.objects.bulk_create(SearchQueueItem(incoming_id=pk) for pk in incoming_ids)


def on_document_changed(document_id: uuid.UUID, update_fields: Any = None) -> None:
    """Queue the document for the index (in the caller's transaction), when the index is on
    and the save touched something the index holds."""
    if not enabled():
        return
    if update_fields is not None and not (INDEXED_FIELDS | FILTER_FIELDS) & set(update_fields):
        return
    SearchQueueItem.objects.create(document_id=document_id)


# --- writing -------------------------------------------------------------------------


def _rows(entries: Any) -> Iterator[tuple[Any, ...]]:
    return cast(Iterator[tuple[Any, ...]], entries.values_list(*ROW_FIELDS).iterator(5_000))


def term_of(key: Key) -> str:
    """The `doc` term of a document in the index: its UUID, or `incoming:ID`."""
    return str(key) if isinstance(key, uuid.UUID) else f"incoming:{key}"


def _epoch_us(value: dt.datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def _index_doc(row: tuple[Any, ...]) -> tantivy.Document:
    document_id, incoming_id, exact, folded = row[:4]
    received = document_id is None
    fields = row[12:] if received else row[4:12]
    unit, secrecy, created, doc_type, urgency, state, dated, issuer = fields
    # Sent: the issue time, a draft's creation; received: the document's date, else its
    # arrival.
    day = (start_of(dated) if received and dated is not None else dated) or created
    key = uuid.UUID(str(document_id)) if not received else None
    doc = tantivy.Document()
    doc.add_text("doc", term_of(key or int(incoming_id)))
    # Added one by one: the keyword form would take the halves above 2**63 for floats.
    doc.add_unsigned("doc_hi", key.int >> 64 if key else 0)
    doc.add_unsigned("doc_lo", key.int & ((1 << 64) - 1) if key else 0)
    doc.add_unsigned("incoming", int(incoming_id or 0))
    doc.add_integer("scope", unit * SCOPE_LEVELS + secrecy)
    doc.add_integer("created", _epoch_us(created))
    doc.add_integer("day", int(day.timestamp()))
    doc.add_text("doc_type", doc_type)
    doc.add_text("urgency", urgency)
    doc.add_text("state", state)
    doc.add_text("issuer", issuer or "")
    doc.add_text("direction", "received" if received else "sent")
    doc.add_text("exact", exact)
    doc.add_text("folded", folded)
    return doc


@dataclass
class SyncResult:
    applied: int  # queue rows taken
    documents: int  # documents written (the others were gone: removed from the index)


class Indexer:
    """The node's one writer: applies the queue to the index (`sync`), or writes the index
    anew from every search entry (`rebuild`)."""

    def __init__(self, path: Path | None = None, heap_bytes: int = WRITER_HEAP_BYTES) -> None:
        self.path = path or configured_path()
        self.index = open_index(self.path)
        try:
            self.writer = self.index.writer(heap_size=heap_bytes, num_threads=1)
        except ValueError as exc:
            raise IndexBusy(str(exc)) from exc

    def close(self) -> None:
        self.writer.wait_merging_threads()

    def __enter__(self) -> Indexer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sync(self, batch: int = QUEUE_BATCH) -> SyncResult:
        """Apply the queue, oldest first, until it is empty; each batch is committed to the
        index before its rows leave the queue."""
        applied = documents = 0
        while True:
            items = list(
                SearchQueueItem.objects.order_by("id").values_list(
                    "id", "document_id", "incoming_id"
                )[:batch]
            )
            if not items:
                break
            keys = {key_of(document_id, incoming_id) for _, document_id, incoming_id in items}
            sent = [k for k in keys if isinstance(k, uuid.UUID)]
            received = [k for k in keys if isinstance(k, int)]
            try:
                for key in keys:
                    self.writer.delete_documents_by_term("doc", term_of(key))
                changed = SearchEntry.objects.filter(
                    Q(document_id__in=sent) | Q(incoming_id__in=received)
                )
                for row in _rows(changed):
                    self.writer.add_document(_index_doc(row))
                    documents += 1
                self.writer.commit()
            except BaseException:
                self.writer.rollback()  # nothing half-applied waits in the writer
                raise
            SearchQueueItem.objects.filter(id__in=[pk for pk, *_ in items]).delete()
            applied += len(items)
        if applied:
            self.index.reload()
        return SyncResult(applied=applied, documents=documents)

    def rebuild(self) -> int:
        """Write the index anew from every search entry. The queue rows present at the start
        are then done (their changes were committed before the entries are read); rows
        written later, even with lower ids from transactions that were still open, stay
        for `sync` (applying one twice changes nothing)."""
        seen = list(SearchQueueItem.objects.values_list("id", flat=True))
        self.writer.delete_all_documents()
        count = 0
        for row in _rows(SearchEntry.objects.order_by()):
            self.writer.add_document(_index_doc(row))
            count += 1
        self.writer.commit()
        for start in range(0, len(seen), QUEUE_BATCH):
            SearchQueueItem.objects.filter(id__in=seen[start : start + QUEUE_BATCH]).delete()
        assert self.path is not None
        (self.path / MARKER).write_text(SCHEMA_VERSION)
        self.index.reload()
        return count


def follow(interval_s: float = 0.5, stop: threading.Event | None = None) -> None:
    """Apply the queue as it fills, until `stop` is set (the indexer of `node start`)."""
    stop = stop or threading.Event()
    with Indexer() as indexer:
        if not is_built(indexer.path):
            logger.info("search index: first build")
            indexer.rebuild()
        while not stop.is_set():
            try:
                result = indexer.sync()
            except Exception:  # a database hiccup: keep the indexer alive, try again
                logger.exception("search index: sync failed; retrying")
                connection.close()
                result = SyncResult(0, 0)
            if result.applied:
                logger.info(
                    "search index: %s queued changes applied (%s documents)",
                    result.applied,
                    result.documents,
                )
            stop.wait(interval_s)


# --- reading -------------------------------------------------------------------------


def _term(field: str, value: Any, option: str = "basic") -> tantivy.Query:
    return tantivy.Query.term_query(SCHEMA, field, value, index_option=option)


def _all(queries: Iterable[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def _filter(query: tantivy.Query) -> tantivy.Query:
    # Scope and filters select; they do not score.
    return tantivy.Query.const_score_query(query, 0.0)


def _scope_range(unit_id: int, max_secrecy: int) -> tantivy.Query:
    """Documents of one unit with a secrecy level up to `max_secrecy`."""
    return tantivy.Query.range_query(
        SCHEMA,
        "scope",
        tantivy.FieldType.Integer,
        lower_bound=unit_id * SCOPE_LEVELS,
        upper_bound=unit_id * SCOPE_LEVELS + max(0, min(max_secrecy, SCOPE_LEVELS - 1)),
    )


def _day_range(lower: int | None, upper: int | None) -> tantivy.Query:
    return tantivy.Query.range_query(
        SCHEMA,
        "day",
        tantivy.FieldType.Integer,
        lower_bound=lower,
        upper_bound=upper,
        include_upper=upper is None,
    )


def scope_and_filters(person: Person, cleaned: dict[str, Any]) -> list[tantivy.Query]:
    """The person's scope and clearance (`queries.search_scope`, as for the search entries:
    one unit, secrecy up to the person's clearance) and the search's filters, as
    non-scoring clauses. The scope is one range over the `scope` fast field, checked only
    for documents whose words match: cheaper than intersecting the unit's postings."""
    scope = queries.search_scope(person)
    clauses = [_scope_range(scope.unit_id, scope.max_secrecy)]
    if "type" in cleaned:
        clauses.append(_term("doc_type", cleaned["type"]))
    if "issuer" in cleaned:
        clauses.append(_term("issuer", cleaned["issuer"].code))
    if "direction" in cleaned:
        clauses.append(_term("direction", cleaned["direction"]))
    if "urgency" in cleaned:
        clauses.append(_term("urgency", cleaned["urgency"]))
    if "status" in cleaned:
        clauses.append(_term("state", cleaned["status"]))
    if "date_from" in cleaned or "date_to" in cleaned:
        lower = upper = None
        if "date_from" in cleaned:
            lower = int(start_of(cleaned["date_from"]).timestamp())
        if "date_to" in cleaned:
            upper = int(start_of(cleaned["date_to"] + dt.timedelta(days=1)).timestamp())
        clauses.append(_day_range(lower, upper))
    return [_filter(clause) for clause in clauses]


def text_queries(
    terms: list[str], scope: list[tantivy.Query]
) -> tuple[tantivy.Query, tantivy.Query]:
    """(exact, folded): the scope with every word matched with its diacritics; and with
    every word matched without them, the exact matches left out."""
    exact_words = _all(_term("exact", term, "freq") for term in terms)
    exact = _all([*scope, exact_words])
    folded = tantivy.Query.boolean_query(
        [
            *[(tantivy.Occur.Must, q) for q in scope],
            *[(tantivy.Occur.Must, _term("folded", fold(term), "freq")) for term in terms],
            (tantivy.Occur.MustNot, exact_words),
        ]
    )
    return exact, folded


def _hits(
    searcher: tantivy.Searcher, query: tantivy.Query, limit: int, **order: Any
) -> list[tuple[Any, ...]]:
    """The top `limit` hits as (key, score, created) rows, best first (or in `order`)."""
    if limit <= 0:
        return []
    hits = searcher.search(query, limit, count=False, **order).hits
    if not hits:
        return []
    addresses = [address for _score, address in hits]
    # Every indexed document has these fields, so no value is None.
    his = cast(list[int], searcher.fast_field_values("doc_hi", addresses))
    los = cast(list[int], searcher.fast_field_values("doc_lo", addresses))
    received = cast(list[int], searcher.fast_field_values("incoming", addresses))
    created = searcher.fast_field_values("created", addresses)
    return [
        (incoming or uuid.UUID(int=(hi << 64) | lo), -score, when)
        for (score, _address), hi, lo, incoming, when in zip(
            hits, his, los, received, created, strict=True
        )
    ]


def ranked(
    person: Person, terms: list[str], cleaned: dict[str, Any], offset: int, limit: int
) -> list[tuple[Key, bool]]:
    """One page of (key, exact) rows from the index, in the order of the database
    paths: exact-diacritics matches first, then by BM25, then newest; the folded matches
    are asked for only when the exact ones do not fill the page."""
    searcher = open_index().searcher()
    exact_q, folded_q = text_queries(terms, scope_and_filters(person, cleaned))
    wanted = offset + limit
    exact = newest_first_on_ties(_hits(searcher, exact_q, wanted))
    rows = [(pk, True) for pk in exact]
    if len(exact) < wanted:
        folded = newest_first_on_ties(_hits(searcher, folded_q, wanted - len(exact)))
        rows += [(pk, False) for pk in folded]
    return rows[offset:wanted]


def listed(person: Person, cleaned: dict[str, Any], offset: int, limit: int) -> list[Key]:
    """A search by filters alone: the person's documents the filters select, newest first."""
    query = _all(scope_and_filters(person, cleaned))
    hits = _hits(open_index().searcher(), query, limit, order_by_field="created", offset=offset)
    return [key for key, _score, _created in hits]


def waiting_for(person: Person) -> int:
    """How many of the person's unit's documents (sent or received) are queued and not yet
    in the index."""
    with connection.cursor() as cursor:  # the usual answer, an empty queue, at once
        cursor.execute("SELECT 1 FROM documents_searchqueueitem LIMIT 1")
        if cursor.fetchone() is None:
            return 0
    sent = Document.objects.filter(issuing_unit=person.unit_id).values("pk")
    received = IncomingDocument.objects.filter(unit=person.unit_id).values("pk")
    return (
        SearchQueueItem.objects.filter(Q(document_id__in=sent) | Q(incoming_id__in=received))
        .values("document_id", "incoming_id")
        .distinct()
        .count()
    )


def stats() -> dict[str, int | None]:
    """For `tiendon stats`: documents in the index (None without one, or before its first
    build), changes queued for it, and the age of the oldest, in seconds."""
    oldest = SearchQueueItem.objects.order_by("id").values_list("queued_at", flat=True).first()
    built = is_built()
    return {
        "documents": open_index().searcher().num_docs if built else None,
        "queued": SearchQueueItem.objects.count(),
        "oldest_queued_s": int(time.time() - oldest.timestamp()) if oldest else None,
    }
