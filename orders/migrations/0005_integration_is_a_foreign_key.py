"""Order.integration_id and TrackingOutbox.integration_id become foreign keys to Integration, same column.

Until now the column held a bare number nothing checked. Before the constraint is added, rows whose
number names no Integration (demo stores, ids of stores that never existed) are set to NULL: the order
stays, as an order without a store. Then the field is renamed in the state only (db_column keeps the
column) and altered to a ForeignKey, which adds the constraint and nothing else. Backwards, the
constraint is dropped and the column is a bare number again (the NULLs stay NULL).
"""

import django.db.models.deletion
from django.db import migrations, models

ORPHANS_TO_NULL = """
UPDATE {table} SET integration_id = NULL
WHERE integration_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM integrations_integration i WHERE i.id = {table}.integration_id)
"""


def _to_foreign_key(model_name, help_text):
    extra = {"help_text": help_text} if help_text else {}
    return [
        migrations.AlterField(
            model_name=model_name, name="integration_id",
            field=models.BigIntegerField(blank=True, null=True, db_column="integration_id", **extra),
        ),
        migrations.RenameField(model_name=model_name, old_name="integration_id", new_name="integration"),
        migrations.AlterField(
            model_name=model_name, name="integration",
            field=models.ForeignKey(blank=True, db_column="integration_id", db_index=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="integrations.integration", **extra),
        ),
        migrations.AlterField(
            model_name=model_name, name="integration",
            field=models.ForeignKey(blank=True, db_index=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="integrations.integration", **extra),
        ),
    ]


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0001_integrations_and_listings"),
        ("orders", "0004_channel_is_a_plain_slug"),
    ]

    operations = [
        migrations.RunSQL(ORPHANS_TO_NULL.format(table="orders_order"), migrations.RunSQL.noop),
        migrations.RunSQL(ORPHANS_TO_NULL.format(table="orders_trackingoutbox"), migrations.RunSQL.noop),
        *_to_foreign_key("order", "Empty for manual orders."),
        *_to_foreign_key("trackingoutbox", ""),
    ]
