"""Received documents in the search: a search entry is an outgoing document's or a received
one's (exactly one), and the Tantivy queue names either.

docs/adr/0012-received-documents-in-the-search-entries.md says why one table. Existing
received documents get their entry here (subject, symbol, issuer, số đến; a secret one its
number, symbol, issuer and số đến only). The text of their PDFs is not in it: it stays
encrypted in its envelope, which a migration cannot open; documents received from now on
are indexed with it at arrival. A node with a Tantivy index rebuilds it (schema 3:
`tiendon documents search-index --rebuild`, into an empty folder).

SQLite: making `document` nullable and adding the check rebuild the table, which drops its
triggers; the FTS5 ones are created again afterwards (as in 0005).
"""

import re
import unicodedata

import django.db.models.deletion
from django.db import migrations, models

SQLITE_TRIGGERS = [
    "DROP TRIGGER IF EXISTS documents_search_ai",
    "DROP TRIGGER IF EXISTS documents_search_ad",
    "DROP TRIGGER IF EXISTS documents_search_au",
    "CREATE TRIGGER documents_search_ai AFTER INSERT ON documents_searchentry BEGIN "
    "INSERT INTO documents_search_fts(rowid, exact, folded) "
    "VALUES (new.id, new.exact, new.folded); END",
    "CREATE TRIGGER documents_search_ad AFTER DELETE ON documents_searchentry BEGIN "
    "INSERT INTO documents_search_fts(documents_search_fts, rowid, exact, folded) "
    "VALUES ('delete', old.id, old.exact, old.folded); END",
    "CREATE TRIGGER documents_search_au AFTER UPDATE OF exact, folded ON documents_searchentry "
    "BEGIN "
    "INSERT INTO documents_search_fts(documents_search_fts, rowid, exact, folded) "
    "VALUES ('delete', old.id, old.exact, old.folded); "
    "INSERT INTO documents_search_fts(rowid, exact, folded) "
    "VALUES (new.id, new.exact, new.folded); END",
]


def sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            for statement in SQLITE_TRIGGERS:
                cursor.execute(statement)


def _fold(text):
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare).lower()


def index_received(apps, schema_editor):
    """The words `search.index_incoming` writes, PDF text aside."""
    sqlite_triggers(apps, schema_editor)
    IncomingDocument = apps.get_model("documents", "IncomingDocument")
    SearchEntry = apps.get_model("documents", "SearchEntry")
    type_names = dict(IncomingDocument._meta.get_field("doc_type").choices)
    batch = []
    for row in IncomingDocument.objects.exclude(state="recalled").iterator(chunk_size=2000):
        numbered = f"{row.number:02d}/{row.notation}" if row.number is not None else ""
        arrival = f"{row.arrival_number:02d}" if row.arrival_number is not None else ""
        parts = [numbered, row.notation, row.issuer_name, arrival]
        if row.secrecy == 0:
            parts += [type_names.get(row.doc_type, ""), row.subject]
        text = " ".join(re.findall(r"\w+", unicodedata.normalize("NFC", " ".join(parts)).lower()))
        batch.append(
            SearchEntry(
                incoming_id=row.pk,
                exact=text,
                folded=_fold(text),
                issuing_unit_id=row.unit_id,
                secrecy=row.secrecy,
                document_created_at=row.arrived_at,
            )
        )
        if len(batch) >= 2000:
            SearchEntry.objects.bulk_create(batch)
            batch = []
    SearchEntry.objects.bulk_create(batch)


def unindex_received(apps, schema_editor):
    # Undoing: entries and queue rows of received documents have no place in the old shape.
    apps.get_model("documents", "SearchEntry").objects.filter(document__isnull=True).delete()
    apps.get_model("documents", "SearchQueueItem").objects.filter(document_id__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0012_incoming_page_count"),
        ("units", "0002_person_totp_last_step"),
    ]

    operations = [
        # First, so last when undoing: the triggers again once the table is rebuilt back.
        migrations.RunPython(migrations.RunPython.noop, sqlite_triggers),
        migrations.AddField(
            model_name="searchentry",
            name="incoming",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="search_entry",
                to="documents.incomingdocument",
            ),
        ),
        migrations.AlterField(
            model_name="searchentry",
            name="document",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="search_entry",
                to="documents.document",
            ),
        ),
        migrations.AddConstraint(
            model_name="searchentry",
            constraint=models.CheckConstraint(
                condition=models.Q(document__isnull=False, incoming__isnull=True)
                | models.Q(document__isnull=True, incoming__isnull=False),
                name="searchentry_document_or_incoming",
            ),
        ),
        migrations.AddField(
            model_name="searchqueueitem",
            name="incoming_id",
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.AlterField(
            model_name="searchqueueitem",
            name="document_id",
            field=models.UUIDField(null=True),
        ),
        migrations.RunPython(index_received, unindex_received),
    ]
