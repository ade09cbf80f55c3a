"""The inbox becomes source-agnostic: a WebhookEndpoint row owns the token (and points to its owner, a
store's Integration for now), and every event names its endpoint.

Each store's former `Integration.webhook_token` becomes its endpoint's token, under the slug of its
channel, so /webhooks/shopify/<token>/ (the address Shopify's subscriptions hold) keeps arriving; its
events are attached to that endpoint. Reversible: integrations' 0003 puts the tokens back before this one
is undone, and undoing this drops the endpoints and the events' link to them.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

import webhooks.models


def endpoints_from_tokens(apps, schema_editor):
    Integration = apps.get_model("integrations", "Integration")
    WebhookEndpoint = apps.get_model("webhooks", "WebhookEndpoint")
    WebhookEvent = apps.get_model("webhooks", "WebhookEvent")
    stores = Integration._base_manager.order_by("pk").values_list("pk", "merchant_id", "channel", "webhook_token")
    WebhookEndpoint._base_manager.bulk_create(
        [WebhookEndpoint(merchant_id=merchant_id, kind="channel", slug=channel, token=token, integration_id=pk)
         for pk, merchant_id, channel, token in stores.iterator()], batch_size=1000)
    WebhookEvent._base_manager.update(endpoint_id=Subquery(
        WebhookEndpoint._base_manager.filter(integration_id=OuterRef("integration_id")).values("pk")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_invitation"),
        ("integrations", "0001_integrations_and_listings"),
        ("webhooks", "0001_webhook_event"),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookEndpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("channel", "Channel"), ("carrier", "Carrier")], max_length=16)),
                ("slug", models.CharField(help_text="The channel's or carrier's slug: which receiver verifies.",
                                          max_length=16)),
                ("token", models.CharField(default=webhooks.models.endpoint_token_new, editable=False, max_length=64,
                                           unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("integration", models.OneToOneField(blank=True, null=True,
                                                     on_delete=django.db.models.deletion.CASCADE,
                                                     related_name="webhook_endpoint", to="integrations.integration")),
                ("merchant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                               to="accounts.merchant")),
            ],
            options={
                "ordering": ["id"],
                "constraints": [models.CheckConstraint(
                    condition=models.Q(models.Q(("kind", "channel"), _negated=True), ("integration__isnull", False),
                                       _connector="OR"),
                    name="webhooks_endpoint_channel_owner")],
            },
        ),
        migrations.AddField(
            model_name="webhookevent",
            name="kind",
            field=models.CharField(choices=[("channel", "Channel"), ("carrier", "Carrier")], default="channel",
                                   max_length=16),
        ),
        migrations.AlterField(
            model_name="webhookevent",
            name="channel",
            field=models.CharField(help_text="The receiver's slug (a channel's or a carrier's).", max_length=16),
        ),
        migrations.AlterField(
            model_name="webhookevent",
            name="integration",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="webhook_events", to="integrations.integration"),
        ),
        migrations.AddField(
            model_name="webhookevent",
            name="endpoint",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name="events",
                                    to="webhooks.webhookendpoint"),
        ),
        migrations.RunPython(endpoints_from_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="webhookevent",
            name="endpoint",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="events",
                                    to="webhooks.webhookendpoint"),
        ),
        migrations.RemoveConstraint(
            model_name="webhookevent",
            name="webhooks_event_delivery_uniq",
        ),
        migrations.AddConstraint(
            model_name="webhookevent",
            constraint=models.UniqueConstraint(fields=("endpoint", "delivery_id"), name="webhooks_event_delivery_uniq"),
        ),
    ]
