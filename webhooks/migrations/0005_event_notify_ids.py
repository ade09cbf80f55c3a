"""PostgreSQL: the inbox's NOTIFY carries the new event: one notification per inserted `received` row, payload
"<event id> <merchant id>", where 0004 sent one empty notification per statement. The dispatcher then hands the
events over from the payloads alone, with no claim (the row is inserted a dispatch lease ahead: that is its
claim, and the sweep's if the hand-over is lost), where it used to claim them with SELECT ... FOR UPDATE SKIP
LOCKED and an UPDATE of every row (BENCHMARKS.md "Webhook inbox": 1.7 ms of CPU per delivery between the
dispatcher and its backend). Rows inserted `failed` (not JSON) wait for a person and notify nobody. SQLite has
no LISTEN: nothing to create there. Reversed, 0004's per-statement trigger comes back."""

from django.db import migrations

CREATE = (
    "CREATE OR REPLACE FUNCTION webhooks_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN PERFORM pg_notify('webhook_events', NEW.id || ' ' || NEW.merchant_id); RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS webhooks_event_notify ON webhooks_webhookevent",
    "CREATE TRIGGER webhooks_event_notify AFTER INSERT ON webhooks_webhookevent "
    "FOR EACH ROW WHEN (NEW.status = 'received') EXECUTE FUNCTION webhooks_event_notify()",
)
PREVIOUS = (  # 0004's
    "CREATE OR REPLACE FUNCTION webhooks_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN PERFORM pg_notify('webhook_events', ''); RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS webhooks_event_notify ON webhooks_webhookevent",
    "CREATE TRIGGER webhooks_event_notify AFTER INSERT ON webhooks_webhookevent "
    "FOR EACH STATEMENT EXECUTE FUNCTION webhooks_event_notify()",
)


def _on_postgresql(statements: tuple[str, ...]):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0004_event_notify"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(PREVIOUS), elidable=False),
    ]
