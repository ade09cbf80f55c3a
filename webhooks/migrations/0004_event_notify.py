"""PostgreSQL: every INSERT into the inbox issues `NOTIFY webhook_events` inside its own transaction, so the
webhook dispatcher (`manage.py webhook_dispatcher`, LISTEN) wakes the moment a delivery commits and not before
(a rolled-back INSERT notifies nobody). A trigger rather than a second statement in the request: the INSERT
stays one autocommit round trip, and every writer of the table (receipt, a queue poller, a script) wakes the
dispatcher alike. Per statement, with an empty payload: the dispatcher claims whatever is due, it needs no
ids. SQLite has no LISTEN (`make run` processes deliveries in-process): nothing to create there."""

from django.db import migrations

CREATE = (
    "CREATE OR REPLACE FUNCTION webhooks_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN PERFORM pg_notify('webhook_events', ''); RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS webhooks_event_notify ON webhooks_webhookevent",
    "CREATE TRIGGER webhooks_event_notify AFTER INSERT ON webhooks_webhookevent "
    "FOR EACH STATEMENT EXECUTE FUNCTION webhooks_event_notify()",
)
DROP = (
    "DROP TRIGGER IF EXISTS webhooks_event_notify ON webhooks_webhookevent",
    "DROP FUNCTION IF EXISTS webhooks_event_notify()",
)


def _on_postgresql(statements: tuple[str, ...]):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0003_endpoint_carrier_account"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP), elidable=False),
    ]
