"""Staff admin for orders. The admin runs unscoped (TenantScopeMiddleware leaves scope for /admin/)."""

from django.contrib import admin

from orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderTag,
    Shipment,
    ShipmentLine,
    TrackingOutbox,
)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product", "merchant"]
    fields = ["sku", "title", "product", "quantity", "unit_price_amount", "quantity_reserved", "quantity_fulfilled",
              "quantity_cancelled"]
    readonly_fields = ["quantity_reserved"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "number", "merchant", "channel", "status", "total_amount", "currency", "is_short",
                    "needs_attention", "placed_at"]
    list_filter = ["status", "channel", "is_short", "needs_attention", "currency"]
    search_fields = ["number", "external_id", "customer_name", "customer_email", "merchant__name"]
    raw_id_fields = ["merchant"]
    date_hierarchy = "placed_at"
    readonly_fields = ["payload_fingerprint", "created_at", "updated_at", "raw_payload"]
    inlines = [OrderLineInline]
    list_select_related = ["merchant"]


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "sku", "product", "quantity", "quantity_reserved", "quantity_fulfilled",
                    "quantity_cancelled"]
    search_fields = ["sku", "title", "order__number"]
    raw_id_fields = ["merchant", "order", "product"]


@admin.register(OrderTag)
class OrderTagAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "order", "merchant"]
    search_fields = ["name", "order__number"]
    raw_id_fields = ["merchant", "order"]


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0
    raw_id_fields = ["order_line", "merchant"]


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "merchant", "status", "carrier", "tracking_number", "label_cost_amount",
                    "shipped_at"]
    list_filter = ["status", "carrier"]
    search_fields = ["tracking_number", "order__number"]
    raw_id_fields = ["merchant", "order", "created_by"]
    inlines = [ShipmentLineInline]


@admin.register(ShipmentLine)
class ShipmentLineAdmin(admin.ModelAdmin):
    list_display = ["id", "shipment", "order_line", "quantity"]
    raw_id_fields = ["merchant", "shipment", "order_line"]


@admin.register(OrderEvent)
class OrderEventAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "kind", "message", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["message", "order__number"]
    raw_id_fields = ["merchant", "order", "actor"]


@admin.register(TrackingOutbox)
class TrackingOutboxAdmin(admin.ModelAdmin):
    list_display = ["id", "shipment", "order", "channel", "integration_id", "attempts", "processed_at", "created_at"]
    list_filter = ["channel", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["order__number", "last_error"]
    raw_id_fields = ["merchant", "order", "shipment"]
