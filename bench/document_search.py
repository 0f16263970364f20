"""Document search as the ministry's clerk, beside the bare full-text query of the engine.

    python bench/document_search.py [--documents 20000] [--runs 5]   # SQLite, temporary folder
    DATABASE_URL=postgresql://… python bench/document_search.py

Seeds a ministry, a province and eight communes and N issued documents spread over them
(half are the ministry's, the widest scope a clerk has; one in twenty is secret, indexed
by number only) with Vietnamese subjects and 60–150-word bodies from a fixed vocabulary,
dated over two years, with their search entries as `index_document` writes them (set-up,
not timed; skipped when the database already holds documents; `--seed-only` stops after
it). The rows are made one at a time and streamed: SQLite through the ORM's bulk
inserts, PostgreSQL through `COPY` with the full-text GIN and RUM indexes built once at
the end (1,000,000 documents: 12–14 minutes here, about 2 more for RUM). Progress is
printed every 100,000. Then 30 queries, half typed without diacritics, each run `--runs`
times, the paths interleaved:

  ours    `search.search(clerk, q)`: scope and clearance from queries, exact-diacritics
          ranking, the top 20 documents loaded (without their PDFs).
  engine  the bare full-text query on the same connection, top 20, row ids only: SQLite
          `fts5 MATCH … ORDER BY bm25 LIMIT 20`; PostgreSQL with RUM (ADR 0009)
          `folded_tsv @@ q ORDER BY folded_tsv <=> q LIMIT 20` on the same RUM index,
          without it `ORDER BY ts_rank` on the same GIN index.
  scoped  our own ranking SQL (scope, exact-first order) executed bare on the
          connection, to show what is the engine's and what is Django's.
  gin     with RUM only: the GIN + `ts_rank` query of before, for reference.

With `--index DIR` (ADR 0011) the search ranks in a Tantivy index in DIR, built from the
search entries first (timed) unless it already holds every document; then `engine` is
Tantivy's own BM25 query over the folded words (no scope), top 20, ids from fast fields;
`scoped` our two index queries (scope, exact diacritics first) run bare; and `database`
our search with the index switched off (RUM or GIN), for reference.

Goal (issue 5, set for 1,000,000 documents on PostgreSQL): p95 under 50 ms, and under 1.5×
the engine's own query. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

GOAL = {"p95_ms_max": 50, "ratio_to_engine_max": 1.5}
VERBS = [
    "tổ chức",
    "triển khai",
    "tăng cường",
    "kiểm tra",
    "báo cáo",
    "hướng dẫn",
    "chỉ đạo",
    "đào tạo",
    "huấn luyện",
    "bổ sung",
    "điều chỉnh",
    "phê duyệt",
    "tổng kết",
    "rà soát",
]
NOUNS = [
    "dân quân tự vệ",
    "lực lượng dự bị động viên",
    "tuyển quân",
    "đăng ký nghĩa vụ quân sự",
    "phòng chống lụt bão",
    "tìm kiếm cứu nạn",
    "diễn tập khu vực phòng thủ",
    "giáo dục quốc phòng và an ninh",
    "công tác hậu cần",
    "quân y",
    "xây dựng cơ sở vững mạnh",
    "bảo vệ biên giới",
    "phòng cháy chữa cháy rừng",
    "trực sẵn sàng chiến đấu",
    "chuyển đổi số",
    "chữ ký số",
    "văn thư lưu trữ",
    "kế hoạch ngân sách",
]
_FILLER_TEXT = (
    "căn cứ luật nghị định thông tư của bộ quốc phòng ban chỉ huy quân sự xã phường đặc khu "
    "thực hiện nhiệm vụ năm kế hoạch các đơn vị cơ quan địa phương theo quy định đảm bảo an "
    "toàn hiệu quả chất lượng tiến độ thời gian báo cáo kết quả về cấp trên trước ngày tháng "
    "đồng chí chỉ huy trưởng phó chính trị viên tham mưu cán bộ chiến sĩ nhân dân"
)
FILLER = _FILLER_TEXT.split()
QUERIES = [
    "huấn luyện dân quân",
    "huan luyen dan quan",
    "đào tạo",
    "dao tao",
    "tuyển quân",
    "tuyen quan",
    "phòng chống lụt bão",
    "phong chong lut bao",
    "chuyển đổi số",
    "chuyen doi so",
    "chữ ký số",
    "chu ky so",
    "bảo vệ biên giới",
    "bao ve bien gioi",
    "diễn tập khu vực phòng thủ",
    "dien tap khu vuc phong thu",
    "quân y",
    "quan y",
    "hậu cần",
    "hau can",
    "tìm kiếm cứu nạn",
    "tim kiem cuu nan",
    "văn thư lưu trữ",
    "van thu luu tru",
    "kế hoạch ngân sách",
    "ke hoach ngan sach",
    "dự bị động viên",
    "du bi dong vien",
    "kiểm tra",
    "kiem tra",
]


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


PROGRESS_EVERY = 100_000
BATCH = 2_000


def _documents(rng: random.Random, count: int, units: list[Any], clerk: Any) -> Iterator[Any]:
    """`count` issued documents (half the ministry's, one in twenty secret), each with the
    text its search entry gets from `search.index_document`, made one at a time so memory
    stays flat at any size."""
    import datetime as dt

    from tiendon.documents.issuing import numbering
    from tiendon.documents.models import Document, DocumentType, Secrecy, Urgency
    from tiendon.documents.search import fts as search

    types = [t for t in DocumentType.values if t != DocumentType.CONG_VAN]
    type_names = dict(DocumentType.choices)
    urgencies = [Urgency.NORMAL] * 8 + [Urgency.KHAN, Urgency.HOA_TOC]
    folded: dict[str, str] = {}  # fold() per distinct word: the vocabulary is small
    numbers: dict[tuple[int, int, str], int] = {}
    first_day = dt.datetime(2025, 1, 1, 7, 30, tzinfo=dt.UTC)
    span_s = int((dt.datetime(2026, 11, 20, tzinfo=dt.UTC) - first_day).total_seconds())
    for n in range(count):
        unit = rng.choice(units)
        doc_type = rng.choice(types)
        secrecy = Secrecy.MAT if n % 20 == 0 else Secrecy.NONE
        created = first_day + dt.timedelta(seconds=rng.randrange(span_s))
        series = numbering.series_for(secrecy)
        key = (unit.pk, created.year, series)
        numbers[key] = numbers.get(key, 0) + 1
        subject = f"Về việc {rng.choice(VERBS)} {rng.choice(NOUNS)} năm {rng.choice([2026, 2027])}"
        body_words = rng.choices(FILLER, k=rng.randint(60, 150))
        body_words.insert(rng.randint(0, 50), rng.choice(NOUNS))
        document = Document(
            issuing_unit=unit,
            doc_type=doc_type,
            subject=subject,
            body=" ".join(body_words).capitalize() + ".",
            urgency=rng.choice(urgencies),
            secrecy=secrecy,
            place="Hà Nội",
            drafter=clerk,
            signer=clerk,
            signer_title="Chánh Văn phòng",
            state=Document.State.ISSUED,
            series=series,
            year=created.year,
            number=numbers[key],
            symbol=numbering.symbol_for(doc_type, unit.abbreviation),
            signed_at=created,
            issued_at=created,
            created_at=created,
            updated_at=created,
        )
        # What index_document writes (number and symbol; the rest only when not secret).
        parts = [document.number_and_symbol, document.symbol]
        if secrecy == Secrecy.NONE:
            parts += [type_names[doc_type], subject, document.body]
        exact = search.words(" ".join(parts))
        for word in exact:
            if word not in folded:
                folded[word] = search.fold(word)
        yield document, " ".join(exact), " ".join(folded[w] for w in exact)


def _entry(document: Any, exact: str, folded: str) -> Any:
    """The document's search entry, with the copies of its scope `index_document` writes."""
    from tiendon.documents.models import SearchEntry

    return SearchEntry(
        document=document,
        exact=exact,
        folded=folded,
        issuing_unit_id=document.issuing_unit_id,
        secrecy=document.secrecy,
        document_created_at=document.created_at,
        updated_at=document.updated_at,
    )


def _bulk_create(rows: Iterator[Any], count: int) -> None:
    """SQLite: the ORM's bulk inserts, in batches (the FTS5 triggers index each entry)."""
    from tiendon.documents.models import Document, SearchEntry

    documents: list[Any] = []
    entries: list[Any] = []
    for n, (document, exact, folded) in enumerate(rows, 1):
        documents.append(document)
        entries.append(_entry(document, exact, folded))
        if len(documents) == BATCH or n == count:
            Document.objects.bulk_create(documents)
            SearchEntry.objects.bulk_create(entries)
            documents, entries = [], []
        if n % PROGRESS_EVERY == 0:
            print(f"  {n:,} documents", flush=True)


def _copy_postgresql(connection: Any, rows: Iterator[Any], count: int) -> None:
    """PostgreSQL: COPY both tables from one stream of rows. Every column of the model is
    written (defaults from the model itself), so columns added later need no change here.
    The full-text GIN and RUM indexes are dropped during the load and built once at the
    end, which is how a bulk import should be done (index_document is the path for single
    saves)."""
    from django.db.models import JSONField

    from tiendon.documents.models import Document, SearchEntry

    def columns(model: Any) -> list[Any]:
        return list(model._meta.concrete_fields)

    def values(obj: Any, fields: list[Any]) -> tuple[Any, ...]:
        out = []
        for f in fields:
            value = getattr(obj, f.attname)
            if isinstance(f, JSONField):
                value = json.dumps(value)
            out.append(value)
        return tuple(out)

    doc_fields, entry_fields = columns(Document), columns(SearchEntry)
    entry_fields = [f for f in entry_fields if f.attname != "id"]
    doc_sql = "COPY documents_document ({}) FROM STDIN".format(
        ", ".join(f.column for f in doc_fields)
    )
    entry_sql = "COPY documents_searchentry ({}) FROM STDIN".format(
        ", ".join(f.column for f in entry_fields)
    )
    # The entries are spooled to a file and copied after the documents (foreign key).
    spool = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115
    raw = connection.connection  # psycopg 3
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'documents_searchentry'"
            " AND indexdef ~* ' USING (gin|rum) '"
        )
        gin_indexes = [row[0] for row in cursor.fetchall()]
        for definition in gin_indexes:
            name = definition.split(" INDEX ", 1)[1].split(" ", 1)[0]
            cursor.execute(f"DROP INDEX {name}")
    began = time.perf_counter()
    with raw.cursor() as cursor:
        with cursor.copy(doc_sql) as copy:
            for n, (document, exact, folded) in enumerate(rows, 1):
                copy.write_row(values(document, doc_fields))
                entry = _entry(document, exact, folded)
                line = "\t".join(_copy_text(v) for v in values(entry, entry_fields))
                spool.write(line.encode() + b"\n")
                if n % PROGRESS_EVERY == 0:
                    rate = n / (time.perf_counter() - began)
                    print(f"  {n:,} documents copied ({rate:,.0f}/s)", flush=True)
        print("  documents copied; search entries next", flush=True)
        spool.seek(0)
        with cursor.copy(entry_sql) as copy:
            while chunk := spool.read(1 << 20):
                copy.write(chunk)
    spool.close()
    print(f"  search entries copied at {time.perf_counter() - began:.0f} s", flush=True)
    with connection.cursor() as cursor:
        for definition in gin_indexes:
            cursor.execute(definition)
    print(f"  full-text indexes built at {time.perf_counter() - began:.0f} s", flush=True)


def _copy_text(value: Any) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _build_index(total: int) -> dict[str, Any]:
    """Fill the Tantivy index from the search entries (timed), unless it already holds
    every document; the figures of the build, for the JSON line."""
    from tiendon.documents.search import index as search_index

    path = search_index.configured_path()
    assert path is not None
    if search_index.is_built() and search_index.open_index().searcher().num_docs == total:
        print(f"index in {path} already holds the {total} documents")
        return {}
    start = time.perf_counter()
    with search_index.Indexer(heap_bytes=search_index.REBUILD_HEAP_BYTES) as indexer:
        count = indexer.rebuild()
    seconds = time.perf_counter() - start
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"index built: {count} documents in {seconds:.1f} s, {size / 2**20:.0f} MiB on disk")
    return {"index_build_s": round(seconds, 1), "index_mib": round(size / 2**20)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed-only", action="store_true", help="seed, then stop")
    parser.add_argument(
        "--index",
        type=Path,
        help="search through a Tantivy index in this folder (ADR 0011), built first if needed",
    )
    args = parser.parse_args()
    if args.index:
        os.environ["TIENDON_SEARCH_INDEX"] = str(args.index)
    if not os.environ.get("TIENDON_DATA_DIR"):
        os.environ["TIENDON_DATA_DIR"] = tempfile.mkdtemp(prefix="tiendon-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiendon.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings

    from tiendon.documents.models import Document, Secrecy
    from tiendon.documents.search import fts as search
    from tiendon.documents.search import index as search_index
    from tiendon.documents.search.index import SCHEMA
    from tiendon.units.actions import do_create_person, do_create_unit
    from tiendon.units.models import CommuneType, Person, Role, Unit, UnitKind

    call_command("migrate", verbosity=0)
    rng = random.Random(5)
    ministry = Unit.objects.filter(code="BQP").first() or do_create_unit(
        code="BQP", name="Bộ Quốc phòng", kind=UnitKind.MINISTRY, parent=None, abbreviation="BQP"
    )
    clerk = Person.objects.filter(username="bench.vt.bqp").first() or do_create_person(
        username="bench.vt.bqp",
        full_name="Trần Thị Thư",
        unit=ministry,
        role=Role.CLERK,
        password=None,
        check_password=False,
    )
    if not Document.objects.exists():
        province = do_create_unit(
            code="38",
            name="Bộ Chỉ huy Quân sự tỉnh Thanh Hóa",
            kind=UnitKind.PROVINCIAL_COMMAND,
            parent=ministry,
            abbreviation="BCHQS",
        )
        units = [ministry] * 10 + [province] * 2
        for i in range(8):
            units.append(
                do_create_unit(
                    code=f"9{i:04d}",
                    name=f"Ban Chỉ huy Quân sự xã thử {i}",
                    kind=UnitKind.COMMUNE_BOARD,
                    commune_type=CommuneType.XA,
                    parent=province,
                    abbreviation="BCHQS",
                )
            )
        start = time.perf_counter()
        rows = _documents(rng, args.documents, units, clerk)
        if connection.vendor == "postgresql":
            _copy_postgresql(connection, rows, args.documents)
        else:
            _bulk_create(rows, args.documents)
        print(f"seeded {args.documents} documents in {time.perf_counter() - start:.1f} s")
    if args.seed_only:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    total = Document.objects.count()
    visible = Document.objects.filter(issuing_unit=ministry, secrecy=Secrecy.NONE).count()
    build = _build_index(total) if args.index else {}

    def run_ours(query: str) -> float:
        begin = time.perf_counter()
        found = search.search(clerk, query)
        hits.append(len(found.documents))
        return (time.perf_counter() - begin) * 1000

    rum = search.uses_rum()
    tsquery = "plainto_tsquery('simple'::regconfig, tiendon_fold(%s))"

    def run_sql(sql: str, params: list[Any]) -> float:
        with connection.cursor() as cursor:
            begin = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            return (time.perf_counter() - begin) * 1000

    def run_engine(query: str) -> float:
        # The engine's own ranked full-text query, top 20, row ids only: with the Tantivy
        # index, its BM25 query over the folded words (no scope); with RUM ordered by its
        # index (<=>), otherwise by ts_rank over the GIN matches.
        if args.index:
            return run_tantivy_bare(query)
        text = " ".join(search.words(query))
        if connection.vendor == "postgresql" and rum:
            sql = (  # constant SQL: the words are bound parameters
                f"SELECT document_id FROM documents_searchentry WHERE folded_tsv @@ {tsquery} "  # noqa: S608
                f"ORDER BY folded_tsv <=> {tsquery} LIMIT 20"
            )
            return run_sql(sql, [text, text])
        if connection.vendor == "postgresql":
            return run_gin(query)
        sql = (
            "SELECT rowid FROM documents_search_fts WHERE documents_search_fts "
            "MATCH %s ORDER BY bm25(documents_search_fts) LIMIT 20"
        )
        return run_sql(
            sql, [search.fts5_query([search.fold(t) for t in search.words(query)], "folded")]
        )

    def run_gin(query: str) -> float:
        # PostgreSQL's built-in ranking: every GIN match fetched and ranked by ts_rank.
        text = " ".join(search.words(query))
        sql = (  # constant SQL: the words are bound parameters
            f"SELECT document_id FROM documents_searchentry WHERE folded_tsv @@ {tsquery} "  # noqa: S608
            f"ORDER BY ts_rank(folded_tsv, {tsquery}) DESC LIMIT 20"
        )
        return run_sql(sql, [text, text])

    def run_tantivy_bare(query: str) -> float:
        import tantivy

        searcher = search_index.open_index().searcher()
        folded = [search.fold(t) for t in search.words(query)]
        begin = time.perf_counter()
        words = [
            (tantivy.Occur.Must, tantivy.Query.term_query(SCHEMA, "folded", w, index_option="freq"))
            for w in folded
        ]
        hits = searcher.search(tantivy.Query.boolean_query(words), 20, count=False).hits
        addresses = [address for _score, address in hits]
        searcher.fast_field_values("doc_hi", addresses)
        searcher.fast_field_values("doc_lo", addresses)
        return (time.perf_counter() - begin) * 1000

    def run_database(query: str) -> float:
        # Our search with the index switched off: the database's own path (RUM or GIN).
        with override_settings(TIENDON_SEARCH_INDEX=""):
            return run_ours(query)

    def run_scoped(query: str) -> float:
        # Our ranking itself (scope, exact-first order), run bare: what Django adds.
        terms = search.words(query)
        if args.index:
            begin = time.perf_counter()
            search_index.ranked(clerk, terms, {}, 0, 20)
            return (time.perf_counter() - begin) * 1000
        if not rum:
            sql, params = search.ranking(clerk, terms, {})[:20].query.sql_with_params()
            return run_sql(sql, list(params))
        exact_q, _ = search.rum_rankings(clerk, terms, {}, [])
        sql, params = exact_q[:20].query.sql_with_params()
        with connection.cursor() as cursor:
            begin = time.perf_counter()
            cursor.execute(sql, params)
            found = [row[0] for row in cursor.fetchall()]  # (id, distance, date)
            elapsed = time.perf_counter() - begin
        if len(found) < 20:
            _, folded_q = search.rum_rankings(clerk, terms, {}, found)
            sql, params = folded_q[: 20 - len(found)].query.sql_with_params()
            elapsed += run_sql(sql, list(params)) / 1000
        return elapsed * 1000

    for query in QUERIES[:3]:  # warm caches and the plan
        search.search(clerk, query)
    ours: list[float] = []
    engine: list[float] = []
    scoped: list[float] = []
    gin: list[float] = []
    database: list[float] = []
    hits: list[int] = []
    # Interleaved, the order turning with each query: whichever runs first for a query
    # warms the cache for the others, and on a large table that is worth seconds.
    paths = [(run_ours, ours), (run_engine, engine), (run_scoped, scoped)]
    if args.index:  # our search on the database's own path, for reference
        paths.append((run_database, database))
    elif rum:  # the built-in GIN + ts_rank query too, for reference
        paths.append((run_gin, gin))
    for _ in range(args.runs):
        for n, query in enumerate(QUERIES):
            for k in range(len(paths)):
                run, samples = paths[(n + k) % len(paths)]
                samples.append(run(query))

    ratio = _p95(ours) / _p95(engine) if _p95(engine) else float("inf")
    path = "RUM" if rum else ("GIN" if connection.vendor == "postgresql" else "FTS5")
    if args.index:
        path = f"Tantivy {version('tantivy')} (database path: {path})"
    print(f"engine: {connection.vendor} ({path}), {total} documents, {visible} in the scope")
    print(f"{len(QUERIES)} queries x {args.runs} runs, mean {statistics.mean(hits):.1f} hits")
    print(f"{'search(), top 20, p50':<44}{statistics.median(ours):>9.2f} ms")
    print(f"{'search(), top 20, p95':<44}{_p95(ours):>9.2f} ms")
    print(f"{'bare full-text query, top 20, p50':<44}{statistics.median(engine):>9.2f} ms")
    print(f"{'bare full-text query, top 20, p95':<44}{_p95(engine):>9.2f} ms")
    bare_label = "our index queries run bare" if args.index else "our ranking SQL run bare"
    print(f"{bare_label + ', p95':<44}{_p95(scoped):>9.2f} ms")
    print(f"{'ratio of p95s (ours / bare full-text)':<44}{ratio:>9.2f}")
    if database:
        print(f"{'search() on the database path, p50':<44}{statistics.median(database):>9.2f} ms")
        print(f"{'search() on the database path, p95':<44}{_p95(database):>9.2f} ms")
    if gin:
        print(f"{'GIN + ts_rank query (before RUM), p50':<44}{statistics.median(gin):>9.2f} ms")
        print(f"{'GIN + ts_rank query (before RUM), p95':<44}{_p95(gin):>9.2f} ms")
    print(
        json.dumps(
            {
                "bench": "document_search",
                "engine": connection.vendor,
                "path": path,
                "documents": total,
                "in_scope": visible,
                "queries": len(QUERIES),
                "runs": args.runs,
                "ours_p50_ms": round(statistics.median(ours), 2),
                "ours_p95_ms": round(_p95(ours), 2),
                "engine_p50_ms": round(statistics.median(engine), 2),
                "engine_p95_ms": round(_p95(engine), 2),
                "scoped_sql_p95_ms": round(_p95(scoped), 2),
                "ratio_p95": round(ratio, 2),
                **(
                    {
                        "gin_ts_rank_p50_ms": round(statistics.median(gin), 2),
                        "gin_ts_rank_p95_ms": round(_p95(gin), 2),
                    }
                    if gin
                    else {}
                ),
                **(
                    {
                        "database_path_p50_ms": round(statistics.median(database), 2),
                        "database_path_p95_ms": round(_p95(database), 2),
                    }
                    if database
                    else {}
                ),
                **build,
                "goal": GOAL,
            }
        )
    )


if __name__ == "__main__":
    main()
