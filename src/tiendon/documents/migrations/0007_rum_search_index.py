"""PostgreSQL: RUM indexes that rank, so a search takes its top 20 straight from the index.

docs/adr/0009-rum-ranked-search.md says why. Two RUM indexes, one over the exact
`tsvector` and one over the folded one (both stored columns of 0003): a query ordered by
`tsv <=> tsquery` (RUM's distance, smaller is more relevant) reads the matches best first
and stops at the LIMIT, where GIN must fetch and rank every match.

Only where the database can have the extension: the Debian package `postgresql-15-rum`
(or the build for the server's version) puts it in `pg_available_extensions`, and
creating it needs a role allowed to (RUM is not a trusted extension). Elsewhere nothing
is created and `search` keeps the GIN path of 0005 (it checks for the index itself). The
GIN index over (issuing unit, folded text) stays: the planner uses it for narrow scopes.
Nothing happens on SQLite (FTS5).
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

RUM_INDEXES = [
    "CREATE INDEX IF NOT EXISTS documents_searchentry_exact_rum ON documents_searchentry "
    "USING rum (exact_tsv rum_tsvector_ops)",
    "CREATE INDEX IF NOT EXISTS documents_searchentry_fold_rum ON documents_searchentry "
    "USING rum (folded_tsv rum_tsvector_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS documents_searchentry_exact_rum",
    "DROP INDEX IF EXISTS documents_searchentry_fold_rum",
]


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")
        if cursor.fetchone() is None:
            logger.warning("RUM is not installed on this PostgreSQL: search keeps GIN")
            return
        try:
            with transaction.atomic(using=connection.alias):  # a savepoint
                cursor.execute("CREATE EXTENSION IF NOT EXISTS rum")
        except DatabaseError as exc:
            logger.warning("cannot create the RUM extension (%s): search keeps GIN", exc)
            return
        for statement in RUM_INDEXES:
            cursor.execute(statement)


def backward(apps, schema_editor):
    # The extension itself is left in place (other objects may use it).
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            for statement in BACKWARD:
                cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0006_merge_copies_search_scope"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
