"""PostgreSQL: the inbox's INSERT notifies nobody any more. The dispatcher reads the new rows by id
(webhooks.dispatcher.NewRows) instead of LISTENing for the NOTIFY of 0004-0005, which cost every delivery's
transaction the notification (~70 µs of its backend's CPU; PostgreSQL serializes the commits of notifying
transactions) and the dispatcher's backend a wake-up per delivery (BENCHMARKS.md "Webhook inbox"). Reversed,
0005's per-row trigger comes back (a dispatcher of that release LISTENs for it). SQLite: nothing there."""

import importlib

from django.db import migrations

DROP = (
    "DROP TRIGGER IF EXISTS webhooks_event_notify ON webhooks_webhookevent",
    "DROP FUNCTION IF EXISTS webhooks_event_notify()",
)
_0005 = importlib.import_module("webhooks.migrations.0005_event_notify_ids")
PREVIOUS, _on_postgresql = _0005.CREATE, _0005._on_postgresql


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0005_event_notify_ids"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(DROP), _on_postgresql(PREVIOUS), elidable=False),
    ]
