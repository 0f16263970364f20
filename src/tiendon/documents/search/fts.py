"""Full-text search over documents: subject (trích yếu), content and the text of uploaded
PDFs, ignoring diacritics (đ folded to d) but ranking exact-diacritics matches first.

The text lives in `SearchEntry` (kept in step with each document by `index_document`, run
after every save of a document). SQLite searches an FTS5 table over it; PostgreSQL a GIN
index over the issuing unit and a stored `to_tsvector('simple', tiendon_fold(exact))`
(`unaccent` in an IMMUTABLE wrapper; btree_gin for the unit), and where the RUM extension
is installed, RUM indexes that return the matches best first (ADR 0009).
`search` ranks the entries of `queries.search_entries_visible_to` (each entry carries its
document's unit, secrecy and date, so the ranking reads one table) and checks the page
with `queries.is_visible_to`: scope and clearance are the same as everywhere else. Secret
documents are indexed by number and symbol only.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from tiendon.documents import queries
from tiendon.documents.models import Document, DocumentType, SearchEntry, Secrecy, Urgency
from tiendon.documents.search import index as search_index
from tiendon.documents.search.text import (
    INDEXED_FIELDS,
    fold,
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
FILTERS = ("type", "issuer", "date_from", "date_to", "urgency", "status")
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


def on_document_saved(instance: Document, update_fields: Any = None, **_kwargs: Any) -> None:
    """post_save receiver: re-index unless the save touched no indexed field."""
    if update_fields is not None and not INDEXED_FIELDS & set(update_fields):
        return
    index_document(instance)


@dataclass
class SearchResult:
    documents: list[Document]
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
        if name == "status" and value not in Document.State.values:
            raise InvalidInput(_("Unknown status."), code="unknown_status", field=name)
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
    """The query's words; empty or oversized queries are refused."""
    if len(query) > QUERY_MAX_CHARS:
        raise InvalidInput(
            _("The search has at most %(max)s characters.") % {"max": QUERY_MAX_CHARS},
            code="query_too_long",
            field="q",
        )
    found = words(query)
    if not found:
        raise InvalidInput(_("Type what to search for."), code="query_empty", field="q")
    if len(found) > QUERY_MAX_WORDS:
        raise InvalidInput(
            _("The search has at most %(max)s words.") % {"max": QUERY_MAX_WORDS},
            code="query_too_long",
            field="q",
        )
    return found


def apply_filters(qs: QuerySet[Document], cleaned: dict[str, Any]) -> QuerySet[Document]:
    """Filters on the documents' own columns; dates are the issue date (a draft's creation)."""
    if "type" in cleaned:
        qs = qs.filter(doc_type=cleaned["type"])
    if "issuer" in cleaned:
        qs = qs.filter(issuing_unit=cleaned["issuer"])
    if "urgency" in cleaned:
        qs = qs.filter(urgency=cleaned["urgency"])
    if "status" in cleaned:
        qs = qs.filter(state=cleaned["status"])
    if "date_from" in cleaned or "date_to" in cleaned:
        qs = qs.annotate(search_day=Coalesce("issued_at", "created_at"))
        if "date_from" in cleaned:
            qs = qs.filter(search_day__gte=start_of(cleaned["date_from"]))
        if "date_to" in cleaned:
            qs = qs.filter(search_day__lt=start_of(cleaned["date_to"] + dt.timedelta(days=1)))
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
) -> QuerySet[SearchEntry, tuple[uuid.UUID, bool]]:
    """The ranked entries of the documents the person may see (scope and clearance from
    `queries`), as (document id, exact) rows, in one query: the GIN path on PostgreSQL,
    FTS5 on SQLite. Ranking reads the entries alone, which carry their document's unit,
    secrecy and date (docs/adr/0008-search-scope-in-the-index.md)."""
    # search_exact is an extra() column, which the type checker's model of fields cannot see.
    return _matching(_visible_entries(person, cleaned), terms).values_list(  # type: ignore[misc]
        "document_id", "search_exact"
    )


def _visible_entries(person: Person, cleaned: dict[str, Any]) -> QuerySet[SearchEntry]:
    """The person's entries (scope and clearance from `queries`); filters on the documents'
    other columns come in as a semi-join only when asked for."""
    entries = queries.search_entries_visible_to(person)
    if cleaned:
        wanted = apply_filters(queries.documents_visible_to(person), cleaned)
        entries = entries.filter(document__in=wanted.order_by().values("pk"))
    return entries


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
    person: Person, terms: list[str], cleaned: dict[str, Any], exclude: list[uuid.UUID]
) -> tuple[QuerySet[SearchEntry, Any], QuerySet[SearchEntry, Any]]:
    """The two index-ordered queries of the RUM path (ADR 0009), as (document id, distance,
    document date) rows best first: the person's entries matching with their diacritics,
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
            .values_list("document_id", "search_distance", "document_created_at")
        )

    exact = ordered(entries, "exact_tsv", _EXACT_TSQUERY)
    folded_entries = entries.exclude(document_id__in=exclude) if exclude else entries
    folded = ordered(folded_entries, "folded_tsv", _FOLDED_TSQUERY)
    return exact, folded


def ranked(
    person: Person, terms: list[str], cleaned: dict[str, Any], offset: int, limit: int
) -> list[tuple[uuid.UUID, bool]]:
    """One page of (document id, exact) rows, exact diacritics first, then by relevance,
    then newest. With the node's Tantivy index (ADR 0011), from it; with RUM (PostgreSQL,
    ADR 0009): the exact matches straight from their index, and only when they do not fill
    the page, the other matches from the folded index, the exact ones left out; otherwise
    the one ranking query of `ranking`."""
    if search_index.is_built():
        return search_index.ranked(person, terms, cleaned, offset, limit)
    if not uses_rum():
        return list(ranking(person, terms, cleaned)[offset : offset + limit])
    wanted = offset + limit
    exact_q, _ = rum_rankings(person, terms, cleaned, [])
    exact = newest_first_on_ties(list(exact_q[:wanted]))
    rows = [(pk, True) for pk in exact]
    if len(exact) < wanted:
        # Fewer exact matches than the page needs: they are all of them.
        _, folded_q = rum_rankings(person, terms, cleaned, exact)
        folded = newest_first_on_ties(list(folded_q[: wanted - len(exact)]))
        rows += [(pk, False) for pk in folded]
    return rows[offset:wanted]


def _load_page(keys: list[uuid.UUID]) -> dict[uuid.UUID, Document]:
    """The documents of a page of results, with the columns the page shows, by primary key.
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
    """The documents the person may see that match every word of the query, exact
    diacritics first, then by relevance, then newest; `filters` narrow them."""
    terms = clean_query(query)
    cleaned = clean_filters(filters)
    limit = max(1, min(limit, LIMIT_MAX))
    # Rank on narrow rows (id and exactness only), then load the page of documents: sorting
    # every match with its body and joined people would cost more than the search itself.
    page = ranked(person, terms, cleaned, offset, limit)
    # The page is loaded by primary key (a scope condition in this query made SQLite walk
    # the unit's whole index) and checked against the documents' own scope and clearance
    # rule, so an entry that ever disagreed with its document could hide a result, never
    # show one.
    loaded = _load_page([pk for pk, _exact in page])
    page = [
        (pk, is_exact)
        for pk, is_exact in page
        if pk in loaded and queries.is_visible_to(person, loaded[pk])
    ]
    found = []
    for pk, is_exact in page:
        document = loaded[pk]
        document.search_exact = bool(is_exact)  # type: ignore[attr-defined]
        found.append(document)
    exact = {str(pk) for pk, is_exact in page if is_exact}
    waiting = search_index.waiting_for(person) if search_index.is_built() else 0
    return SearchResult(documents=found, exact=exact, query=query, filters=cleaned, waiting=waiting)
