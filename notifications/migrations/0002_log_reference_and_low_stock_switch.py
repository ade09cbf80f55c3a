"""The log forgets the orders table: what a notification is about becomes a reference string
("order:<id>", copied from the old foreign key), so this app sits below orders. Adds the
merchant's low-stock switch (on, as low-stock emails were until now) and gives the constraints
and the index this app's names (the new constraint is added before the old one goes, so the key
is never unguarded). Reversible: backwards puts the foreign key back for orders that still exist.
"""

from django.db import migrations, models
from django.db.models import BigIntegerField, CharField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat, Substr

ORDER_REFERENCE = r"^order:[0-9]{1,18}$"


def order_to_reference(apps, schema_editor):
    log = apps.get_model("notifications", "NotificationLog")
    log.objects.filter(order__isnull=False).update(
        reference=Concat(Value("order:"), Cast("order_id", CharField()), output_field=CharField())
    )


def reference_to_order(apps, schema_editor):
    log = apps.get_model("notifications", "NotificationLog")
    order = apps.get_model("orders", "Order")
    order_id = Cast(Substr(OuterRef("reference"), len("order:") + 1), BigIntegerField())
    log.objects.filter(reference__regex=ORDER_REFERENCE).update(
        order_id=Subquery(order.objects.filter(pk=order_id, merchant_id=OuterRef("merchant_id")).values("pk")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="notificationlog",
            name="reference",
            field=models.CharField(blank=True, help_text="What it is about, e.g. 'order:123'.", max_length=100),
        ),
        migrations.RunPython(order_to_reference, reference_to_order),
        migrations.RemoveField(model_name="notificationlog", name="order"),
        migrations.AddField(
            model_name="notificationsettings",
            name="notify_low_stock",
            field=models.BooleanField(default=True, help_text="A product dropped to its low-stock threshold."),
        ),
        migrations.AddConstraint(
            model_name="notificationlog",
            constraint=models.UniqueConstraint(fields=("merchant", "key"), name="notifications_log_key_uniq"),
        ),
        migrations.RemoveConstraint(model_name="notificationlog", name="orders_notificationlog_key_uniq"),
        migrations.AddConstraint(
            model_name="notificationsettings",
            constraint=models.UniqueConstraint(fields=("merchant",), name="notifications_settings_merchant_uniq"),
        ),
        migrations.RemoveConstraint(model_name="notificationsettings", name="orders_notificationsettings_uniq"),
        migrations.RenameIndex(
            model_name="notificationlog",
            new_name="notifications_log_status_idx",
            old_name="orders_notiflog_status_idx",
        ),
    ]
