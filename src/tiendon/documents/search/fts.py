"""Full-text search over documents sent and received: subject (trích yếu), content, symbol,
issuer and the text of their PDFs, ignoring diacritics (đ folded to d) but ranking
exact-diacritics matches first; or, without words, by filters alone, newest first.

The text lives in `SearchEntry` (kept in step with each document by `index_document`, run
after every save of a document, and with each received one by `index_incoming`, run by the
receiving actions). SQLite searches an FTS5 table over it; PostgreSQL a GIN
index over the issuing unit and a stored `to_tsvector('simple', tiendon_fold(exact))`
(`unaccent` in an IMMUTABLE wrapper; btree_gin for the unit), and where the RUM extension
is installed, RUM indexes that return the matches best first (ADR 0009).
`search` ranks the entries of `queries.search_entries_visible_to` (each entry carries its
document's unit, secrecy and date, so the ranking reads one table) and loads the page
through `queries.is_visible_to` and `queries.incoming_found_by`: scope and clearance are
the same as everywhere else. Secret documents are indexed by number, symbol (and issuer)
only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import subprocess
import tempfile
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext as _

from tiendon.documents import queries
from tiendon.documents.models import (
    Document,
    DocumentType,
    IncomingDocument,
    SearchEntry,
    Secrecy,
    Urgency,
)
from tiendon.documents.search import index as search_index
from tiendon.documents.search.text import (
    INDEXED_FIELDS,
    Key,
    fold,
    key_of,
    newest_first_on_ties,
    start_of,
)
from tiendon.errors import InvalidInput
from tiendon.units.models import Person, Unit

logger = logging.getLogger(__name__)

QUERY_MAX_CHARS = 200
QUERY_MAX_WORDS = 16
LIMIT_MAX = 100
PDFTOTEXT_TIMEOUT_S = 30
FILTERS = ("type", "issuer", "date_from", "date_to", "urgency", "status", "direction")
SENT, RECEIVED = "sent", "received"  # the `direction` filter: văn bản đi, văn bản đến
STATUSES = frozenset(Document.State.values) | frozenset(IncomingDocument.State.values)
# Fields whose change must re-index a document (the rest are left alone on partial saves).
_WORD = re.compile(r"\w+")
# What a page of results shows (and `queries.is_visible_to` reads): loading the body,
# the PDFs or the signer for twenty rows would cost more than the ranking.
RESULT_FIELDS = (
    "issuing_unit",
    "doc_type",
    "subject",
    "urgency",
    "secrecy",
    "state",
    "number",
    "symbol",
    "created_at",
    "issued_at",
)


def words(text: str) -> list[str]:
    """The words of a text, NFC and lower case, diacritics kept."""
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


def extract_pdf_text(data: bytes) -> str:
    """The text of a PDF by poppler's `pdftotext` (empty, and logged, when it cannot)."""
    with tempfile.TemporaryDirectory(prefix="tiendon-pdf-") as folder:
        path = Path(folder) / "in.pdf"
        path.write_bytes(data)
        try:
            result = subprocess.run(
                ["pdftotext", "-q", "-enc", "UTF-8", str(path), "-"],
                capture_output=True,
                timeout=PDFTOTEXT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            logger.warning("pdftotext failed: %s", exc)
            return ""
    if result.returncode != 0:
        logger.warning("pdftotext exit %s", result.returncode)
    return unicodedata.normalize("NFC", result.stdout.decode("utf-8", "replace"))


def index_document(document: Document) -> SearchEntry:
    """Write the document's search entry (creating it on first use)."""
    entry = SearchEntry.objects.filter(document=document).first() or SearchEntry(document=document)
    if document.uploaded_pdf is not None:
        data = bytes(document.uploaded_pdf)
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry.pdf_sha256:
            entry.pdf_text, entry.pdf_sha256 = extract_pdf_text(data), digest
    else:
        entry.pdf_text, entry.pdf_sha256 = "", ""
    parts = [document.number_and_symbol, document.symbol]
    if document.secrecy == Secrecy.NONE:
        parts += [document.get_doc_type_display(), document.subject, document.body, entry.pdf_text]
    text = " ".join(words(" ".join(p for p in parts if p)))
    entry.exact, entry.folded = text, fold(text)
    entry.issuing_unit_id = document.issuing_unit_id
    entry.secrecy = document.secrecy
    entry.document_created_at = document.created_at
    entry.save()
    return entry


def index_incoming(rows: Iterable[IncomingDocument], pdf: bytes | None = None) -> None:
    """Write the search entries of received documents and queue them for the node's index;
    a recalled copy's entry goes. Each is found by its number and symbol, issuer and số
    đến and, below Mật, its type, subject and the words of `pdf` (the PDF just opened: its
    text extracted once for all the rows, one envelope delivered to every unit here). A
    secret document's text is never extracted, stored or indexed."""
    rows = list(rows)
    live = [r for r in rows if r.state != IncomingDocument.State.RECALLED]
    if len(live) < len(rows):
        gone = [r.pk for r in rows if r.state == IncomingDocument.State.RECALLED]
        SearchEntry.objects.filter(incoming__in=gone).delete()
    open_rows = [r for r in live if r.secrecy == Secrecy.NONE]
    pdf_text = extract_pdf_text(pdf) if pdf is not None and open_rows else None
    entries = {e.incoming_id: e for e in SearchEntry.objects.filter(incoming__in=live)}
    new: list[SearchEntry] = []
    texts: dict[tuple[str, ...], tuple[str, str]] = {}  # an envelope's rows share their words
    for row in live:
        entry = entries.get(row.pk) or SearchEntry(incoming=row)
        shown = row.secrecy == Secrecy.NONE
        if not shown or pdf_text is not None:  # else an entry keeps the text it has
            entry.pdf_text = pdf_text if shown and pdf_text is not None else ""
        key: tuple[str, ...] = (
            row.number_and_symbol,
            row.notation,
            row.issuer_name,
            row.arrival_text,
        )
        if shown:
            key += (row.doc_type, row.subject, entry.pdf_text)
        if key not in texts:
            parts = [*key[:4], row.get_doc_type_display(), *key[5:]] if shown else key
            text = " ".join(words(" ".join(p for p in parts if p)))
            texts[key] = (text, fold(text))
        entry.exact, entry.folded = texts[key]
        entry.issuing_unit_id, entry.secrecy = row.unit_id, row.secrecy
        entry.document_created_at = row.arrived_at
        if entry.pk is None:
            new.append(entry)
        else:
            entry.save()
    SearchEntry.objects.bulk_create(new)
    search_index.on_incoming_changed(r.pk for r in rows)


def on_document_saved(instance: Document, update_fields: Any = None, **_kwargs: Any) -> None:
    """post_save receiver: re-index unless the save touched no indexed field."""
    if update_fields is not None and not INDEXED_FIELDS & set(update_fields):
        return
    index_document(instance)


@dataclass
class SearchResult:
    # Documents sent (Document) and received (IncomingDocument), each with `search_direction`
    # (SENT or RECEIVED), `search_exact`, `search_issuer` and `search_day` for the page.
    documents: list[Any]
    exact: set[str] = field(default_factory=set)  # ids of exact-diacritics matches
    query: str = ""
    filters: dict[str, Any] = field(default_factory=dict)
    # The person's unit's documents changed but not yet in the node's Tantivy index.
    waiting: int = 0


def _parse_date(value: str, name: str) -> dt.date:
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
    raise InvalidInput(
        _("Write the date as dd/mm/yyyy: %(value)s.") % {"value": value[:20]},
        code="bad_date",
        field=name,
    )


def clean_filters(filters: dict[str, str] | None) -> dict[str, Any]:
    """Check the filters: unknown names, unknown values and bad dates are refused."""
    cleaned: dict[str, Any] = {}
    for name, raw in (filters or {}).items():
        value = str(raw).strip()
        if name not in FILTERS:
            raise InvalidInput(
                _("Unknown filter: %(name)s.") % {"name": name[:40]},
                code="unknown_filter",
                field=name[:40],
            )
        if not value:
            continue
        if name == "type" and value not in DocumentType.values:
            raise InvalidInput(_("Unknown document type."), code="unknown_type", field=name)
        if name == "urgency" and value not in Urgency.values:
            raise InvalidInput(_("Unknown urgency."), code="unknown_urgency", field=name)
        if name == "status" and value not in STATUSES:
            raise InvalidInput(_("Unknown status."), code="unknown_status", field=name)
        if name == "direction" and value not in (SENT, RECEIVED):
            raise InvalidInput(_("Unknown direction."), code="unknown_direction", field=name)
        if name == "issuer":
            unit = Unit.objects.filter(code=value).first()
            if unit is None:
                raise InvalidInput(_("Unknown issuer."), code="unknown_issuer", field=name)
            cleaned[name] = unit
            continue
        cleaned[name] = _parse_date(value, name) if name.startswith("date_") else value
    if (
        "date_from" in cleaned
        and "date_to" in cleaned
        and cleaned["date_from"] > cleaned["date_to"]
    ):
        raise InvalidInput(
            _("The start date is after the end date."), code="bad_date_range", field="date_from"
        )
    return cleaned


def clean_query(query: str) -> list[str]:
    """The query's words (none: a search by filters alone); oversized queries are refused."""
    if len(query) > QUERY_MAX_CHARS:
        raise InvalidInput(
            _("The search has at most %(max)s characters.") % {"max": QUERY_MAX_CHARS},
            code="query_too_long",
            field="q",
        )
    found = words(query)
    if len(found) > QUERY_MAX_WORDS:
        raise InvalidInput(
            _("The search has at most %(max)s words.") % {"max": QUERY_MAX_WORDS},
            code="query_too_long",
            field="q",
        )
    return found


def apply_filters(qs: QuerySet[Any], cleaned: dict[str, Any], *, received: bool = False) -> Any:
    """Filters on the columns of documents sent, or received (`received`: the issuer by its
    unit code, the status the received copy's state). The day is a sent document's issue
    date (a draft's creation), a received one's date (its arrival without one)."""
    for name, column in (("type", "doc_type"), ("urgency", "urgency"), ("status", "state")):
        if name in cleaned:
            qs = qs.filter(**{column: cleaned[name]})
    if "issuer" in cleaned:
        issuer = cleaned["issuer"]
        qs = qs.filter(issuer_code=issuer.code) if received else qs.filter(issuing_unit=issuer)
    if "date_from" in cleaned or "date_to" in cleaned:
        if received:  # dates compared with dates
            bound: Any = lambda day: day  # noqa: E731
            qs = qs.annotate(search_day=Coalesce("issue_date", TruncDate("arrived_at")))
        else:  # times, from the start of the day
            bound = start_of
            qs = qs.annotate(search_day=Coalesce("issued_at", "created_at"))
        if "date_from" in cleaned:
            qs = qs.filter(search_day__gte=bound(cleaned["date_from"]))
        if "date_to" in cleaned:
            qs = qs.filter(search_day__lt=bound(cleaned["date_to"] + dt.timedelta(days=1)))
    return qs


def fts5_query(terms: list[str], column: str) -> str:
    """An FTS5 query that ANDs each term, quoted, in one column (no user syntax passes)."""
    return " ".join(f'{column}:"{term}"' for term in terms)


def _matching(qs: QuerySet[SearchEntry], terms: list[str]) -> QuerySet[SearchEntry]:
    """The entries matching every term, exact diacritics first, then by relevance, then
    the newest document; `search_exact` tells which match with their diacritics."""
    if connection.vendor == "postgresql":
        # folded_tsv / exact_tsv: stored columns generated by migration 0003 (PostgreSQL),
        # searched through the GIN index over (issuing_unit_id, folded_tsv) of 0005.
        tsquery = "plainto_tsquery('simple'::regconfig, tiendon_fold(%s))"
        text = " ".join(terms)
        # Constant SQL; the user's words travel as bound parameters only.
        return qs.extra(  # noqa: S610
            where=[f"documents_searchentry.folded_tsv @@ {tsquery}"],
            params=[text],
            select={
                "search_exact": "documents_searchentry.exact_tsv"
                " @@ plainto_tsquery('simple'::regconfig, %s)",
                "search_score": f"-ts_rank(documents_searchentry.folded_tsv, {tsquery})",
            },
            select_params=[text, text],
        ).order_by("-search_exact", "search_score", "-document_created_at")
    return qs.extra(
        tables=["documents_search_fts"],
        where=[
            "documents_search_fts.rowid = documents_searchentry.id",
            "documents_search_fts MATCH %s",
        ],
        params=[fts5_query([fold(t) for t in terms], "folded")],
        select={
            "search_exact": "documents_searchentry.id IN (SELECT rowid FROM documents_search_fts"
            " WHERE documents_search_fts MATCH %s)",
            "search_score": "bm25(documents_search_fts)",
        },
        select_params=[fts5_query(terms, "exact")],
    ).order_by("-search_exact", "search_score", "-document_created_at")


def ranking(
    person: Person, terms: list[str], cleaned: dict[str, Any]
) -> QuerySet[SearchEntry, tuple[uuid.UUID | None, int | None, bool]]:
    """The ranked entries of the documents the person may see (scope and clearance from
    `queries`), as (document id, received document id, exact) rows, in one query: the GIN
    path on PostgreSQL, FTS5 on SQLite. Ranking reads the entries alone, which carry their
    document's unit, secrecy and date (docs/adr/0008-search-scope-in-the-index.md)."""
    # search_exact is an extra() column, which the type checker's model of fields cannot see.
    return _matching(_visible_entries(person, cleaned), terms).values_list(  # type: ignore[misc]
        "document_id", "incoming_id", "search_exact"
    )


def _visible_entries(person: Person, cleaned: dict[str, Any]) -> QuerySet[SearchEntry]:
    """The person's entries (scope and clearance from `queries`), of one direction when
    asked; filters on the documents' other columns come in as semi-joins only when asked
    for, on the documents sent and on those received."""
    entries = queries.search_entries_visible_to(person)
    direction = cleaned.get("direction")
    if direction == SENT:
        entries = entries.filter(incoming__isnull=True)
    elif direction == RECEIVED:
        entries = entries.filter(document__isnull=True)
    if cleaned.keys() - {"direction"}:
        wanted = Q(pk__in=[])
        if direction != RECEIVED:
            sent = apply_filters(queries.documents_visible_to(person), cleaned)
            wanted |= Q(document__in=sent.order_by().values("pk"))
        if direction != SENT:
            received = apply_filters(queries.incoming_found_by(person), cleaned, received=True)
            wanted |= Q(incoming__in=received.order_by().values("pk"))
        entries = entries.filter(wanted)
    return entries


def listed(person: Person, cleaned: dict[str, Any], offset: int, limit: int) -> list[Key]:
    """A search by filters alone: the person's matching documents, newest first (from the
    node's Tantivy index where it has one: a large unit's entries are many to sort)."""
    if search_index.is_built():
        return search_index.listed(person, cleaned, offset, limit)
    rows = (
        _visible_entries(person, cleaned)
        .order_by("-document_created_at")
        .values_list("document_id", "incoming_id")[offset : offset + limit]
    )
    return [key_of(document_id, incoming_id) for document_id, incoming_id in rows]


RUM_INDEXES = ("documents_searchentry_exact_rum", "documents_searchentry_fold_rum")


def uses_rum() -> bool:
    """Whether this database has the RUM indexes of migration 0007 (PostgreSQL with the
    extension installed); asked once per database connection."""
    if connection.vendor != "postgresql":
        return False
    connection.ensure_connection()
    raw = connection.connection
    cached = getattr(connection, "_tiendon_uses_rum", None)
    if cached is not None and cached[0] is raw:
        return bool(cached[1])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'documents_searchentry' "
            "AND indexname = ANY(%s)",
            [list(RUM_INDEXES)],
        )
        found = cursor.fetchone()[0] == len(RUM_INDEXES)
    connection._tiendon_uses_rum = (raw, found)  # type: ignore[attr-defined]
    return found


_EXACT_TSQUERY = "plainto_tsquery('simple'::regconfig, %s)"
_FOLDED_TSQUERY = "plainto_tsquery('simple'::regconfig, tiendon_fold(%s))"


def rum_rankings(
    person: Person, terms: list[str], cleaned: dict[str, Any], exclude: list[Key]
) -> tuple[QuerySet[SearchEntry, Any], QuerySet[SearchEntry, Any]]:
    """The two index-ordered queries of the RUM path (ADR 0009), as (document id, received
    document id, distance, date) rows best first: the person's entries matching with their
    diacritics,
    ordered by RUM's distance on the exact `tsvector`; and those matching without, ordered
    on the folded one, less the documents in `exclude` (the exact ones already found).
    RUM's `<=>` is smaller for better matches. The order is the distance alone: a second
    key (the newest first) would make PostgreSQL sort every match instead of reading the
    index in order, so `ranked` breaks ties on the rows it read."""
    text = " ".join(terms)
    entries = _visible_entries(person, cleaned)

    def ordered(qs: QuerySet[SearchEntry], column: str, tsquery: str) -> Any:
        # Constant SQL; the user's words travel as bound parameters only.
        return (
            qs.extra(  # noqa: S610
                where=[f"documents_searchentry.{column} @@ {tsquery}"],
                params=[text],
            )
            .annotate(
                search_distance=RawSQL(  # noqa: S611 (constant SQL, the words bound)
                    f"documents_searchentry.{column} <=> {tsquery}", [text]
                )
            )
            .order_by("search_distance")
            .values_list("document_id", "incoming_id", "search_distance", "document_created_at")
        )

    exact = ordered(entries, "exact_tsv", _EXACT_TSQUERY)
    folded_entries = entries
    if exclude:
        folded_entries = entries.exclude(
            Q(document_id__in=[k for k in exclude if isinstance(k, uuid.UUID)])
            | Q(incoming_id__in=[k for k in exclude if isinstance(k, int)])
        )
    folded = ordered(folded_entries, "folded_tsv", _FOLDED_TSQUERY)
    return exact, folded


def by_key(rows: Iterable[tuple[Any, ...]]) -> list[Key]:
    """(document id, received id, distance, date) rows as keys, newest first on ties."""
    return newest_first_on_ties([(key_of(d, i), distance, day) for d, i, distance, day in rows])


def ranked(
    person: Person, terms: list[str], cleaned: dict[str, Any], offset: int, limit: int
) -> list[tuple[Key, bool]]:
    """One page of (key, exact) rows, exact diacritics first, then by relevance,
    then newest. With the node's Tantivy index (ADR 0011), from it; with RUM (PostgreSQL,
    ADR 0009): the exact matches straight from their index, and only when they do not fill
    the page, the other matches from the folded index, the exact ones left out; otherwise
    the one ranking query of `ranking`."""
    if search_index.is_built():
        return search_index.ranked(person, terms, cleaned, offset, limit)
    if not uses_rum():
        page = ranking(person, terms, cleaned)[offset : offset + limit]
        return [(key_of(d, i), exact) for d, i, exact in page]
    wanted = offset + limit
    exact_q, _ = rum_rankings(person, terms, cleaned, [])
    exact = by_key(exact_q[:wanted])
    rows = [(pk, True) for pk in exact]
    if len(exact) < wanted:
        # Fewer exact matches than the page needs: they are all of them.
        _, folded_q = rum_rankings(person, terms, cleaned, exact)
        folded = by_key(folded_q[: wanted - len(exact)])
        rows += [(pk, False) for pk in folded]
    return rows[offset:wanted]


def _load_page(keys: list[uuid.UUID]) -> dict[uuid.UUID, Document]:
    """The outgoing documents of a page of results, with the columns the page shows, by
    primary key.
    A raw query: the ORM's compiling and row handling cost more than the query itself (1.1
    against 0.85 ms at p50 on a million documents, and 4 against 1 ms at p95)."""
    if not keys:
        return {}
    meta = Document._meta
    columns = ", ".join(
        connection.ops.quote_name(name + "_id" if name == "issuing_unit" else name)
        for name in ("id", *RESULT_FIELDS)
    )
    pk = meta.pk
    assert pk is not None
    params = [pk.get_db_prep_value(key, connection) for key in keys]
    marks = ", ".join(["%s"] * len(keys))
    # Constant SQL from the model's own names; the keys travel as bound parameters.
    sql = f"SELECT {columns} FROM {connection.ops.quote_name(meta.db_table)} WHERE id IN ({marks})"  # noqa: S608
    return {document.pk: document for document in Document.objects.raw(sql, params)}


def search(
    person: Person,
    query: str,
    filters: dict[str, str] | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """The documents sent and received that the person may see, matching every word of the
    query, exact diacritics first, then by relevance, then newest; `filters` narrow them.
    Without words, the documents the filters select, newest first."""
    terms = clean_query(query)
    cleaned = clean_filters(filters)
    if not terms and not cleaned:
        message = (
            _(
                "The search has no letters or digits, only punctuation: type a word, a "
                "number or a symbol, or choose a filter."
            )
            if query.strip()
            else _("Type what to search for, or choose a filter.")
        )
        raise InvalidInput(message, code="query_empty", field="q")
    limit = max(1, min(limit, LIMIT_MAX))
    # Rank on narrow rows (keys and exactness only), then load the page of documents:
    # sorting every match with its body and joined people would cost more than the search.
    if terms:
        page = ranked(person, terms, cleaned, offset, limit)
    else:
        page = [(key, False) for key in listed(person, cleaned, offset, limit)]
    # The page is loaded by primary key (a scope condition in this query made SQLite walk
    # the unit's whole index) and checked against the documents' own scope and clearance
    # rule, so an entry that ever disagreed with its document could hide a result, never
    # show one.
    sent = _load_page([k for k, _exact in page if isinstance(k, uuid.UUID)])
    received_keys = [k for k, _exact in page if isinstance(k, int)]
    received = {  # the unit's, not recalled, within the person's clearance
        row.pk: row
        for row in (
            queries.incoming_found_by(person)
            .filter(pk__in=received_keys)
            .defer("scan", "verification")
            if received_keys
            else []
        )
    }
    found: list[Any] = []
    for key, is_exact in page:
        item: Any = sent.get(key) if isinstance(key, uuid.UUID) else received.get(key)
        if item is None or (isinstance(key, uuid.UUID) and not queries.is_visible_to(person, item)):
            continue
        if isinstance(key, uuid.UUID):
            shown = (SENT, person.unit.name, item.issued_at or item.created_at)
        else:
            shown = (RECEIVED, item.issuer_name, item.issue_date or item.arrived_at)
        # The day: a date, or a time the page shows in Vietnam's time zone.
        item.search_direction, item.search_issuer, item.search_day = shown
        item.search_exact = bool(is_exact)
        found.append(item)
    exact = {str(item.pk) for item in found if item.search_exact}
    waiting = search_index.waiting_for(person) if search_index.is_built() else 0
    return SearchResult(documents=found, exact=exact, query=query, filters=cleaned, waiting=waiting)
