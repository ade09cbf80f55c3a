"""Migration operations that keep a live shop writing while the schema changes.

An index added to a table that already holds rows is built with CREATE INDEX CONCURRENTLY on PostgreSQL:
a plain CREATE INDEX holds a lock that makes every INSERT and UPDATE of the table wait until the build
ends (minutes on a large orders table). Concurrent builds cannot run in a transaction, so the migration
sets `atomic = False`. SQLite (`make run`) has no such option and no such problem: a plain index there.
tests/core/test_migrations_online.py fails for a migration that adds an index to a tenant table any other way.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import OpClass
from django.contrib.postgres.operations import AddIndexConcurrently as PostgresAddIndexConcurrently
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import Index


class AddIndexConcurrently(PostgresAddIndexConcurrently):
    """Django's AddIndexConcurrently on PostgreSQL, a plain index on any other database (without PostgreSQL's
    operator classes, which SQLite cannot parse)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, _portable(self.index))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index)


def _portable(index: Index) -> Index:
    """The index without PostgreSQL's operator classes (`text_pattern_ops`), which SQLite cannot parse:
    the same columns and expressions, the same name, a plain index."""
    if not index.expressions or not any(isinstance(e, OpClass) for e in index.expressions):
        return index
    expressions = [e.get_source_expressions()[0] if isinstance(e, OpClass) else e for e in index.expressions]
    return Index(*expressions, name=index.name, condition=index.condition)


def create_trigram_indexes_concurrently(schema_editor: BaseDatabaseSchemaEditor, indexes: tuple[tuple[str, str, str], ...]) -> None:
    """For a text search by icontains: a GIN trigram index per (name, table, expression), on the exact
    expression icontains renders on PostgreSQL, UPPER(<expression>::text), so `LIKE UPPER('%term%')` reads it.
    Built concurrently (the migration sets atomic = False). SQLite has no pg_trgm: nothing there."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in indexes:
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} "
                              f"USING gin ((UPPER({expression}::text)) gin_trgm_ops)")


def drop_indexes_concurrently(schema_editor: BaseDatabaseSchemaEditor, names: list[str]) -> None:
    """The way back from create_trigram_indexes_concurrently."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in names:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
