"""A cancelled shipment has its own timeline kind ("Shipment cancelled"), not "Shipment created".

Events recorded before are relabelled: a shipment event whose data says `cancelled` (what
orders.services.fulfillment.shipment_cancel wrote) becomes the new kind. The choices change is no
schema change; the update touches only those rows.
"""

from django.db import migrations, models


def relabel(apps, schema_editor):
    OrderEvent = apps.get_model("orders", "OrderEvent")
    OrderEvent.objects.filter(kind="shipment", data__cancelled=True).update(kind="shipment_cancelled")


def unlabel(apps, schema_editor):
    OrderEvent = apps.get_model("orders", "OrderEvent")
    OrderEvent.objects.filter(kind="shipment_cancelled").update(kind="shipment")


class Migration(migrations.Migration):
    dependencies = [("orders", "0012_search_trigram_more_fields")]

    operations = [
        migrations.AlterField(
            model_name="orderevent",
            name="kind",
            field=models.CharField(max_length=24, choices=[
                ("received", "Received"), ("created", "Created manually"), ("updated", "Updated by channel"),
                ("stale_ignored", "Out-of-date update ignored"), ("reserved", "Stock reserved"),
                ("released", "Stock released"), ("short", "Short of stock"), ("allocated", "Stock allocated"),
                ("needs_attention", "SKU matches no product"), ("sku_mapped", "SKU mapped"),
                ("status", "Status changed"), ("cancelled", "Cancelled"), ("shipment", "Shipment created"),
                ("shipment_cancelled", "Shipment cancelled"), ("shipped", "Shipped"), ("tracking", "Tracking update"),
                ("returned", "Returned"), ("notified", "Notification sent"), ("edited", "Tags or notes edited"),
            ]),
        ),
        migrations.RunPython(relabel, unlabel),
    ]
