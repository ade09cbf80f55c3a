"""The event table's single-column indexes on `merchant_id` and `endpoint_id` go: a composite index leads with each
(the merchant-first list, status and store indexes; the unique (endpoint, delivery_id) constraint), so every
lookup and foreign-key check they served is served still, and each delivery's INSERT writes two index entries
fewer (~50 µs of its backend's 375, BENCHMARKS.md "Webhook inbox"). Dropped and, reversed, built again
CONCURRENTLY on PostgreSQL (the inbox takes writes all the time; atomic=False); plainly on SQLite. The model's
`db_index=False` says the same to Django's state."""

import django.db.models.deletion
from django.db import migrations, models

from core.migration_ops import drop_indexes_concurrently

TABLE = "webhooks_webhookevent"
INDEXES = {  # Django's names for the foreign keys' own indexes (the same on SQLite)
    "webhooks_webhookevent_merchant_id_4434502e": "merchant_id",
    "webhooks_webhookevent_endpoint_id_a612e0ab": "endpoint_id",
}


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        drop_indexes_concurrently(schema_editor, list(INDEXES))
        return
    for name in INDEXES:  # SQLite (make run): no live shop to wait
        schema_editor.execute(schema_editor.sql_delete_index % {"name": schema_editor.quote_name(name), "table": TABLE})


def _create(apps, schema_editor):
    quote = schema_editor.quote_name
    for name, column in INDEXES.items():
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(name)} ON {quote(TABLE)} ({quote(column)})")
        else:  # SQLite: Django's own statement for the index it had made
            schema_editor.execute(schema_editor.sql_create_index % {
                "name": quote(name), "table": quote(TABLE), "columns": quote(column), "include": "", "extra": "",
                "condition": ""})


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("accounts", "0005_audit_event"),
        ("webhooks", "0006_event_notify_drop"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="webhookevent",
                    name="endpoint",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="events", to="webhooks.webhookendpoint"),
                ),
                migrations.AlterField(
                    model_name="webhookevent",
                    name="merchant",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="+", to="accounts.merchant"),
                ),
            ],
            database_operations=[migrations.RunPython(_drop, _create, elidable=False)],
        ),
    ]
