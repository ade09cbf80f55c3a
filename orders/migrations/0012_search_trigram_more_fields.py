"""Trigram indexes behind the rest of the queue's search: the channel reference, the shipping address's
city and postcode, and the lines' SKU and product title (orders.selectors.orders.search_condition).

As in 0002, each GIN index is on the exact expression Django's icontains renders on PostgreSQL,
UPPER(<expr>::text), so `LIKE UPPER('%term%')` can use it. The tables already hold rows, so every index is
built CONCURRENTLY, outside a transaction (atomic = False). SQLite (make run) has no pg_trgm: nothing there.
"""

from django.db import migrations

INDEXES = (  # (name, table, expression)
    ("orders_order_external_id_trgm", "orders_order", "external_id"),
    ("orders_order_city_trgm", "orders_order", "(shipping_address ->> 'city')"),
    ("orders_order_postcode_trgm", "orders_order", "(shipping_address ->> 'postal_code')"),
    ("orders_orderline_sku_trgm", "orders_orderline", "sku"),
    ("orders_orderline_title_trgm", "orders_orderline", "title"),
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} "
            f"USING gin ((UPPER({expression}::text)) gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("orders", "0011_shipment_delivery_days")]
    operations = [migrations.RunPython(forwards, backwards, atomic=False)]
