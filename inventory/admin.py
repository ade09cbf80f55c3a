"""Staff admin for inventory (the middleware leaves tenant scoping for /admin/ explicitly).

Levels and movements are read-only here: stock changes only through inventory.services.
"""

from django.contrib import admin

from inventory.models import (
    AvailabilityMark,
    BundleComponent,
    Location,
    Product,
    Reservation,
    SkuAlias,
    StockImport,
    StockLevel,
    StockMovement,
)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BundleComponentInline(admin.TabularInline):
    model = BundleComponent
    fk_name = "bundle"
    raw_id_fields = ["component", "merchant"]
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "title", "merchant", "is_bundle", "is_active", "low_stock_threshold", "low_stock_since"]
    list_filter = ["is_bundle", "is_active", "allows_backorder"]
    search_fields = ["sku", "title", "barcode", "merchant__name"]
    raw_id_fields = ["merchant"]
    readonly_fields = ["is_bundle", "allows_backorder", "low_stock_since", "low_stock_notified_at"]
    inlines = [BundleComponentInline]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "merchant", "is_default", "is_active"]
    list_filter = ["is_default", "is_active"]
    search_fields = ["name", "code", "merchant__name"]
    raw_id_fields = ["merchant"]


@admin.register(StockLevel)
class StockLevelAdmin(_ReadOnly):
    list_display = ["product", "location", "merchant", "on_hand", "reserved", "allows_backorder", "updated_at"]
    list_filter = ["allows_backorder"]
    search_fields = ["product__sku", "merchant__name"]
    raw_id_fields = ["merchant", "product", "location"]


@admin.register(StockMovement)
class StockMovementAdmin(_ReadOnly):
    list_display = ["created_at", "product", "location", "reason", "on_hand_delta", "reserved_delta", "reference",
                    "actor"]
    list_filter = ["reason"]
    search_fields = ["product__sku", "reference", "merchant__name"]
    raw_id_fields = ["merchant", "product", "location", "actor"]


@admin.register(Reservation)
class ReservationAdmin(_ReadOnly):
    list_display = ["reference", "product", "location", "quantity", "unit_product", "per_unit", "merchant"]
    search_fields = ["reference", "product__sku", "merchant__name"]
    raw_id_fields = ["merchant", "product", "unit_product", "location"]


@admin.register(AvailabilityMark)
class AvailabilityMarkAdmin(_ReadOnly):
    list_display = ["consumer", "product", "merchant", "marked_at"]
    list_filter = ["consumer"]
    search_fields = ["product__sku", "merchant__name"]
    raw_id_fields = ["merchant", "product"]


@admin.register(StockImport)
class StockImportAdmin(_ReadOnly):
    list_display = ["pk", "kind", "filename", "merchant", "status", "row_count", "error_count", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["filename", "merchant__name"]
    raw_id_fields = ["merchant", "job", "created_by"]


@admin.register(SkuAlias)
class SkuAliasAdmin(admin.ModelAdmin):
    list_display = ["sku", "product", "store_key", "merchant", "created_at"]
    search_fields = ["sku", "merchant__name"]
    raw_id_fields = ["merchant", "product", "created_by"]
