"""Staff admin for integrations. The admin runs unscoped (TenantScopeMiddleware leaves scope for /admin/).

Credentials are never shown: the change form has no credentials field at all (only which keys are
stored, as a read-only line), so neither the form nor the list renders a secret.
"""

from django.contrib import admin

from integrations.models import Integration, Listing


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["id", "merchant", "channel", "name", "status", "last_success_at", "last_error_at", "created_at"]
    list_filter = ["channel", "status"]
    search_fields = ["name", "merchant__name"]
    raw_id_fields = ["merchant"]
    exclude = ["credentials"]
    readonly_fields = ["credentials_masked", "last_success_at", "last_error", "last_error_at",
                       "last_order_seen_at", "created_at", "updated_at"]

    @admin.display(description="credentials")
    def credentials_masked(self, obj: Integration) -> str:
        keys = sorted(obj.credentials or {})
        return ", ".join(f"{k}: ********" for k in keys) or "(none)"


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ["id", "merchant", "integration", "external_id", "sku", "product", "last_pushed_quantity", "error_at"]
    search_fields = ["sku", "external_id", "title"]
    raw_id_fields = ["merchant", "integration", "product"]
    readonly_fields = ["created_at", "updated_at", "last_pushed_at", "error_at"]
