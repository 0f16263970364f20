"""Search entries carry their document's scope: issuing unit, secrecy and creation time.

A search then ranks inside documents_searchentry alone instead of joining every full-text
match to its document (docs/adr/0008-search-scope-in-the-index.md). The columns are
filled from the documents here and by `search.index_document` on every save afterwards;
on PostgreSQL also by a trigger on documents_document whenever one of them changes there
(a bulk `update()` included). Not on SQLite: there a trigger on one table that names
another makes every later rebuild of the named table fail ("no such table" when Django
renames the rebuilt table), and the search checks each page of results against the
documents anyway.

SQLite: the FTS5 update trigger now fires only when the text changes (not on these
columns). PostgreSQL: the btree_gin extension and one GIN index over (issuing unit,
folded text), which replaces the text-only one.
"""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = (
    "UPDATE documents_searchentry SET issuing_unit_id = d.issuing_unit_id, "
    "secrecy = d.secrecy, document_created_at = d.created_at "
    "FROM documents_document AS d WHERE d.id = documents_searchentry.document_id"
)
# Django rebuilds a SQLite table to make a column NOT NULL, which drops the table's
# triggers: the FTS5 ones are created again afterwards (the update one now only fires when
# the text changes, not when these columns do).
SQLITE_FORWARD = [
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
# Undoing: the triggers of 0003, created again once the table is back to its old shape.
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS documents_search_ai",
    "DROP TRIGGER IF EXISTS documents_search_ad",
    "DROP TRIGGER IF EXISTS documents_search_au",
    "CREATE TRIGGER documents_search_ai AFTER INSERT ON documents_searchentry BEGIN "
    "INSERT INTO documents_search_fts(rowid, exact, folded) "
    "VALUES (new.id, new.exact, new.folded); END",
    "CREATE TRIGGER documents_search_ad AFTER DELETE ON documents_searchentry BEGIN "
    "INSERT INTO documents_search_fts(documents_search_fts, rowid, exact, folded) "
    "VALUES ('delete', old.id, old.exact, old.folded); END",
    "CREATE TRIGGER documents_search_au AFTER UPDATE ON documents_searchentry BEGIN "
    "INSERT INTO documents_search_fts(documents_search_fts, rowid, exact, folded) "
    "VALUES ('delete', old.id, old.exact, old.folded); "
    "INSERT INTO documents_search_fts(rowid, exact, folded) "
    "VALUES (new.id, new.exact, new.folded); END",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE OR REPLACE FUNCTION documents_search_scope_sync() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE documents_searchentry SET issuing_unit_id = NEW.issuing_unit_id, "
    "secrecy = NEW.secrecy, document_created_at = NEW.created_at "
    "WHERE document_id = NEW.id; RETURN NULL; END $$",
    "CREATE TRIGGER documents_search_scope AFTER UPDATE OF issuing_unit_id, secrecy, created_at "
    "ON documents_document FOR EACH ROW "
    "WHEN (OLD.issuing_unit_id IS DISTINCT FROM NEW.issuing_unit_id "
    "OR OLD.secrecy IS DISTINCT FROM NEW.secrecy "
    "OR OLD.created_at IS DISTINCT FROM NEW.created_at) "
    "EXECUTE FUNCTION documents_search_scope_sync()",
    "DROP INDEX IF EXISTS documents_searchentry_fold_gin",
    "CREATE INDEX documents_searchentry_scope_fold_gin ON documents_searchentry "
    "USING gin (issuing_unit_id, folded_tsv)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS documents_searchentry_scope_fold_gin",
    "CREATE INDEX IF NOT EXISTS documents_searchentry_fold_gin ON documents_searchentry "
    "USING gin (folded_tsv)",
    "DROP TRIGGER IF EXISTS documents_search_scope ON documents_document",
    "DROP FUNCTION IF EXISTS documents_search_scope_sync()",
]


def _run(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def backfill(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        # The new columns are no text: no need to re-index every row on the way.
        _run(schema_editor, ["DROP TRIGGER IF EXISTS documents_search_au"])
    elif vendor == "postgresql":
        # Replaced below anyway; updating it for every row would cost more than building
        # the new one once.
        _run(schema_editor, ["DROP INDEX IF EXISTS documents_searchentry_fold_gin"])
    _run(schema_editor, [BACKFILL])


def engine_forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_FORWARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_FORWARD)


def engine_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _run(schema_editor, POSTGRES_BACKWARD)


def restore_sqlite_triggers(apps, schema_editor):
    # First operation, so last when undoing: after the table has been rebuilt.
    if schema_editor.connection.vendor == "sqlite":
        _run(schema_editor, SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0004_merge_0002_flow_recipients_incoming_0003_search_fts"),
        ("units", "0002_person_totp_last_step"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_triggers),
        migrations.AddField(
            model_name="searchentry",
            name="issuing_unit",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="units.unit",
            ),
        ),
        migrations.AddField(
            model_name="searchentry",
            name="secrecy",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="searchentry",
            name="document_created_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="searchentry",
            name="issuing_unit",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="units.unit",
            ),
        ),
        migrations.AlterField(
            model_name="searchentry",
            name="document_created_at",
            field=models.DateTimeField(),
        ),
        migrations.RunPython(engine_forward, engine_backward),
    ]
