"""Staff admin for notifications. The admin runs unscoped (TenantScopeMiddleware leaves scope for /admin/)."""

from django.contrib import admin

from notifications.models import NotificationLog, NotificationSettings


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["id", "merchant", "new_order_mode", "notify_channel_cancellation", "notify_sync_failure",
                    "notify_customer_shipped", "notify_low_stock", "updated_at"]
    list_filter = ["new_order_mode"]
    search_fields = ["merchant__name", "recipients"]
    raw_id_fields = ["merchant"]


@admin.register(NotificationLog)
class NotificationLogAdmin(admin.ModelAdmin):
    list_display = ["id", "key", "kind", "reference", "merchant", "status", "attempts", "sent_at", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["key", "reference", "subject", "merchant__name"]
    raw_id_fields = ["merchant"]
    readonly_fields = ["claimed_at", "sent_at", "created_at"]
