"""Migration operations that keep a live shop writing while the schema changes.

An index added to a table that already holds rows is built with CREATE INDEX CONCURRENTLY on PostgreSQL:
a plain CREATE INDEX holds a lock that makes every INSERT and UPDATE of the table wait until the build
ends (minutes on a large orders table). Concurrent builds cannot run in a transaction, so the migration
sets `atomic = False`. SQLite (`make run`) has no such option and no such problem: a plain index there.
tests/core/test_migrations_online.py fails for a migration that adds an index to a tenant table any other way.
"""

from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently as PostgresAddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrently(PostgresAddIndexConcurrently):
    """Django's AddIndexConcurrently on PostgreSQL, a plain AddIndex on any other database."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
