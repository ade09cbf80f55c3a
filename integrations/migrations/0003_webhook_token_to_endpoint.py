"""`Integration.webhook_token` moved to the store's webhooks.WebhookEndpoint (webhooks 0002 copied it there).

Reversible: undoing this puts each endpoint's token back on its store (a store that never had an endpoint
gets a fresh token) before webhooks 0002 is undone.
"""

import secrets

from django.db import migrations, models


def tokens_from_endpoints(apps, schema_editor):
    Integration = apps.get_model("integrations", "Integration")
    WebhookEndpoint = apps.get_model("webhooks", "WebhookEndpoint")
    tokens = dict(WebhookEndpoint._base_manager.filter(integration__isnull=False)
                  .values_list("integration_id", "token"))
    for pk in Integration._base_manager.order_by("pk").values_list("pk", flat=True).iterator():
        Integration._base_manager.filter(pk=pk).update(webhook_token=tokens.get(pk) or secrets.token_urlsafe(32))


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0002_channel_ref_channel_data_account_ref"),
        ("webhooks", "0002_webhook_endpoint"),
    ]

    operations = [
        migrations.AlterField(
            model_name="integration",
            name="webhook_token",
            field=models.CharField(editable=False, max_length=64, null=True, unique=True),
        ),
        migrations.RunPython(migrations.RunPython.noop, tokens_from_endpoints),
        migrations.RemoveField(
            model_name="integration",
            name="webhook_token",
        ),
    ]
