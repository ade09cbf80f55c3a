"""The interface's vocabulary: a listing's `channel_ref` (was Shopify's `inventory_item_id`) and opaque
`channel_data`, a push the channel decides later (`push_pending_ref`), and the store's `account_ref`
(filled for existing Shopify stores from their shop domain; reversible: the reverse empties it)."""

from django.db import migrations, models

# The channel whose stored credentials name the account so far; a migration is a fixed point in time and
# may name it (the package's account_ref fills the column for every store connected from now on).
ACCOUNT_KEYS = {"shopify": "shop_domain"}


def account_ref_fill(apps, schema_editor):
    Integration = apps.get_model("integrations", "Integration")
    for row in Integration._base_manager.filter(channel__in=list(ACCOUNT_KEYS)).only("id", "channel", "credentials"):
        value = str((row.credentials or {}).get(ACCOUNT_KEYS[row.channel]) or "").strip().lower()[:255]
        if value:
            Integration._base_manager.filter(pk=row.pk).update(account_ref=value)


def account_ref_empty(apps, schema_editor):
    apps.get_model("integrations", "Integration")._base_manager.update(account_ref="")


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0001_integrations_and_listings"),
    ]

    operations = [
        migrations.RenameField(model_name="listing", old_name="inventory_item_id", new_name="channel_ref"),
        migrations.AddField(model_name="listing", name="channel_data",
                            field=models.JSONField(blank=True, default=dict)),
        migrations.AddField(model_name="listing", name="push_pending_ref",
                            field=models.CharField(blank=True, max_length=128)),
        migrations.AddField(model_name="listing", name="push_pending_quantity",
                            field=models.IntegerField(blank=True, null=True)),
        migrations.AddField(model_name="integration", name="account_ref",
                            field=models.CharField(blank=True, db_index=True, max_length=255)),
        migrations.RunPython(account_ref_fill, account_ref_empty),
    ]
