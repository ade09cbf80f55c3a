"""Trigram indexes behind the list's text search (number, customer name, email) on PostgreSQL.

The search filters with Django's icontains, which PostgreSQL renders as
UPPER("col"::text) LIKE UPPER('%term%'); these GIN indexes are on that exact expression.
SQLite (make run) has no pg_trgm: the migration does nothing there.
"""

from django.db import migrations

COLUMNS = ("number", "customer_name", "customer_email")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for col in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_order_{col}_trgm ON orders_order "
            f"USING gin ((UPPER({col}::text)) gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for col in COLUMNS:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS orders_order_{col}_trgm")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("orders", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, atomic=False)]
