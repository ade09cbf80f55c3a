"""Take over the notification tables that orders.0003 renamed, in the migration state only.

The models are declared exactly as they were in orders (the order foreign key included); the
next migration changes them. A fresh database gets the tables from orders.0001 and the rename.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        ("orders", "0003_notifications_move_to_own_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="NotificationSettings",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("new_order_mode", models.CharField(choices=[("each", "An email for each new order"),
                                                                     ("digest", "One daily digest"),
                                                                     ("off", "No email")],
                                                            default="each", max_length=8)),
                        ("notify_channel_cancellation", models.BooleanField(default=True)),
                        ("notify_sync_failure", models.BooleanField(
                            default=True, help_text="Failed syncs and webhooks that gave up.")),
                        ("notify_customer_shipped", models.BooleanField(
                            default=False, help_text="Email the customer the tracking.")),
                        ("recipients", models.TextField(
                            blank=True, help_text="Comma-separated emails; empty means the owners.")),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("merchant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                                       to="accounts.merchant")),
                    ],
                    options={
                        "verbose_name_plural": "notification settings",
                        "constraints": [models.UniqueConstraint(fields=("merchant",),
                                                                name="orders_notificationsettings_uniq")],
                    },
                ),
                migrations.CreateModel(
                    name="NotificationLog",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("key", models.CharField(help_text="e.g. 'new_order:123', 'digest:2026-11-25'",
                                                 max_length=200)),
                        ("kind", models.CharField(max_length=32)),
                        ("recipients", models.JSONField(default=list)),
                        ("subject", models.CharField(blank=True, max_length=255)),
                        ("context", models.JSONField(blank=True, default=dict)),
                        ("status", models.CharField(choices=[("pending", "Pending"), ("sending", "Sending"),
                                                             ("sent", "Sent"), ("failed", "Failed (will retry)"),
                                                             ("skipped", "Skipped")],
                                                    default="pending", max_length=10)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("merchant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                                       to="accounts.merchant")),
                        ("order", models.ForeignKey(blank=True, null=True,
                                                    on_delete=django.db.models.deletion.CASCADE,
                                                    related_name="notifications", to="orders.order")),
                    ],
                    options={
                        "ordering": ["-id"],
                        "indexes": [models.Index(fields=["merchant", "status", "id"],
                                                 name="orders_notiflog_status_idx")],
                        "constraints": [models.UniqueConstraint(fields=("merchant", "key"),
                                                                name="orders_notificationlog_key_uniq")],
                    },
                ),
            ],
        ),
    ]
