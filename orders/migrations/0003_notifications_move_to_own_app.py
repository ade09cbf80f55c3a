"""Notification settings and log move to their own app (notifications), with their rows.

The tables are renamed to the new app's names here, while orders still owns them in the
migration state; notifications.0001_initial then takes them over in the state only. No row is
copied and no row is lost. Reversible: backwards renames the tables back.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_search_trigram_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="notificationlog", table="notifications_notificationlog"),
                migrations.AlterModelTable(name="notificationsettings", table="notifications_notificationsettings"),
            ],
            state_operations=[
                migrations.DeleteModel(name="NotificationLog"),
                migrations.DeleteModel(name="NotificationSettings"),
            ],
        ),
    ]
