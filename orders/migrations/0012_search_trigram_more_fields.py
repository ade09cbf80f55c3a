"""Trigram indexes behind the rest of the queue's search: the channel reference, the shipping address's
city and postcode, and the lines' SKU and product title (orders.selectors.orders.search_condition).

As in 0002, each GIN index is on the exact expression Django's icontains renders on PostgreSQL,
UPPER(<expr>::text), so `LIKE UPPER('%term%')` can use it. The tables already hold rows, so every index is
built CONCURRENTLY, outside a transaction (atomic = False). SQLite (make run) has no pg_trgm: nothing there.
"""

from django.db import migrations

from core.migration_ops import create_trigram_indexes_concurrently, drop_indexes_concurrently

INDEXES = (  # (name, table, expression)
    ("orders_order_external_id_trgm", "orders_order", "external_id"),
    ("orders_order_city_trgm", "orders_order", "(shipping_address ->> 'city')"),
    ("orders_order_postcode_trgm", "orders_order", "(shipping_address ->> 'postal_code')"),
    ("orders_orderline_sku_trgm", "orders_orderline", "sku"),
    ("orders_orderline_title_trgm", "orders_orderline", "title"),
)


def forwards(apps, schema_editor):
    create_trigram_indexes_concurrently(schema_editor, INDEXES)


def backwards(apps, schema_editor):
    drop_indexes_concurrently(schema_editor, [name for name, _table, _expression in INDEXES])


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("orders", "0011_shipment_delivery_days")]
    operations = [migrations.RunPython(forwards, backwards, atomic=False)]
