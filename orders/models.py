"""Orders from every channel in one model, their lines, shipments, timeline and outboxes.

Every row carries its own merchant; every unique constraint includes it (STYLE.md 1).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Lower

from accounts.tenancy import TenantOwnedModel
from orders.channels import channel_colour, channel_label

ZERO = Decimal("0.00")


class OrderStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled", "Unfulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled"
    FULFILLED = "fulfilled", "Fulfilled"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"
    RETURNED = "returned", "Returned"
    # Placed but not paid (a channel's pending or failed payment): holds no stock, is in no shipping tab,
    # and becomes unfulfilled when the channel reports it paid (orders.services.ingest).
    AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"


def money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, default=ZERO, **kwargs)


class Order(TenantOwnedModel):
    """One order from any channel (or typed in by the merchant), in our own workflow."""

    Status = OrderStatus

    # The store the order came from. Referenced by name: orders imports nothing of integrations
    # (DESIGN.md); PROTECT because disconnecting a store keeps its orders, and deleting one that has
    # orders is a mistake the database refuses.
    integration = models.ForeignKey("integrations.Integration", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", db_index=False, help_text="Empty for manual orders.")
    # A plain slug: channels register themselves in orders.channels (labels, colours); orders lists none.
    channel = models.CharField(max_length=16, help_text='A registered channel\'s slug, or "manual".')
    external_id = models.CharField(max_length=255, blank=True, help_text="The channel's id; empty for manual.")
    number = models.CharField(max_length=64, help_text="Display number, as the channel shows it.")
    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.UNFULFILLED)
    channel_payment_status = models.CharField(max_length=64, blank=True)
    channel_fulfillment_status = models.CharField(max_length=64, blank=True)
    customer_name = models.CharField(max_length=255, blank=True)
    customer_email = models.EmailField(max_length=254, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    subtotal_amount = money()
    shipping_amount = money()
    tax_amount = money()
    total_amount = money()
    placed_at = models.DateTimeField()
    channel_updated_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True, help_text="Internal notes; never sent to the channel.")
    raw_payload = models.JSONField(default=dict, blank=True)
    # Opaque to us: what the channel's adapter gave at ingest to act on this order later (tracking back).
    channel_data = models.JSONField(default=dict, blank=True)
    payload_fingerprint = models.CharField(max_length=64, blank=True)
    is_short = models.BooleanField(default=False, help_text="Some line could not be fully reserved.")
    needs_attention = models.BooleanField(default=False, help_text="Some line's SKU matches no product.")
    went_short_at = models.DateTimeField(null=True, blank=True, help_text="First time the order was short.")
    hold_reason = models.CharField(max_length=255, blank=True)
    # When it should leave: the channel's promise, else the merchant's default business days
    # (orders.services.ship_by). Empty only for rows written around the services.
    ship_by_at = models.DateTimeField(null=True, blank=True)
    requested_service = models.CharField(max_length=128, blank=True,
                                         help_text="The shipping the buyer chose, in the channel's words.")
    first_shipped_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            # Unique external id per integration. integration_id is NULL for channels without an
            # integration row (yet): two partial constraints instead of nulls_distinct=False, so the
            # rule holds on SQLite (make run) as well as PostgreSQL. Manual orders have no external id.
            models.UniqueConstraint(
                fields=["merchant", "channel", "integration_id", "external_id"],
                condition=Q(integration_id__isnull=False),
                name="orders_order_external_uniq",
            ),
            models.UniqueConstraint(
                fields=["merchant", "channel", "external_id"],
                condition=Q(integration_id__isnull=True) & ~Q(external_id=""),
                name="orders_order_external_noint_uniq",
            ),
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="orders_order_total_gte_0"),
        ]
        indexes = [
            # One index behind every filter, each ending in the list's sort (placed_at desc, id desc).
            models.Index(fields=["merchant", "-placed_at", "-id"], name="orders_order_list_idx"),
            models.Index(fields=["merchant", "status", "-placed_at", "-id"], name="orders_order_status_idx"),
            models.Index(fields=["merchant", "channel", "-placed_at", "-id"], name="orders_order_channel_idx"),
            models.Index(fields=["merchant", "integration_id", "-placed_at", "-id"], name="orders_order_integ_idx"),
            models.Index(
                fields=["merchant", "-placed_at", "-id"], condition=Q(is_short=True), name="orders_order_short_idx"
            ),
            models.Index(
                fields=["merchant", "-placed_at", "-id"], condition=Q(needs_attention=True),
                name="orders_order_attention_idx",
            ),
            models.Index(fields=["merchant", "number"], name="orders_order_number_idx"),
            # The work queue (orders.selectors.queue): its tab counts are one aggregate answered from this
            # index alone; "awaiting shipment" oldest first and the ship-by sort are index scans.
            models.Index(fields=["merchant", "status", "needs_attention", "is_short", "ship_by_at"],
                         name="orders_order_queue_idx"),
            models.Index(
                fields=["merchant", "placed_at", "id"], name="orders_order_awaiting_idx",
                condition=Q(status__in=["unfulfilled", "partially_fulfilled"], needs_attention=False, is_short=False),
            ),
            models.Index(F("merchant"), Coalesce("ship_by_at", "placed_at"), F("id"), name="orders_order_shipby_idx"),
            models.Index(F("merchant"), Lower("customer_email"), name="orders_order_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.channel})"

    def get_channel_display(self) -> str:
        return channel_label(self.channel)

    @property
    def channel_colour(self) -> str:
        return channel_colour(self.channel)

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.UNFULFILLED, OrderStatus.PARTIALLY_FULFILLED, OrderStatus.ON_HOLD)


class OrderLine(TenantOwnedModel):
    """A line as sold: SKU and title are the channel's; product is ours (empty when nothing matches)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    external_id = models.CharField(max_length=255, blank=True, help_text="The channel's line id.")
    product = models.ForeignKey("inventory.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=128)
    title = models.CharField(max_length=500, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price_amount = money()
    quantity_fulfilled = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    # What inventory holds for this line under "order_line:<id>", as its services reported it.
    quantity_reserved = models.PositiveIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_fulfilled__lte=F("quantity") - F("quantity_cancelled")),
                name="orders_orderline_done_lte_qty",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "order"], name="orders_orderline_order_idx"),
            models.Index(F("merchant"), Lower("sku"), name="orders_orderline_sku_idx"),
            models.Index(fields=["merchant", "product"], name="orders_orderline_product_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"

    @property
    def reference(self) -> str:
        return f"order_line:{self.pk}"

    @property
    def quantity_outstanding(self) -> int:
        """Still to ship: ordered less shipped less cancelled."""
        return self.quantity - self.quantity_fulfilled - self.quantity_cancelled

    @property
    def quantity_short(self) -> int:
        if self.product_id is None:
            return self.quantity_outstanding
        return max(0, self.quantity_outstanding - self.quantity_reserved)

    @property
    def line_total_amount(self) -> Decimal:
        return self.unit_price_amount * self.quantity


class OrderTag(TenantOwnedModel):
    """Tags live in their own table so that filtering by tag is an index lookup on any database."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tag_rows")
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["merchant", "order", "name"], name="orders_ordertag_uniq")]
        indexes = [models.Index(fields=["merchant", "name", "order"], name="orders_ordertag_name_idx")]

    def __str__(self) -> str:
        return self.name


class Shipment(TenantOwnedModel):
    """A parcel: some quantities of some lines, a carrier and a tracking number."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SHIPPED = "shipped", "Shipped"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    carrier = models.CharField(max_length=64, blank=True)
    service = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=128, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    class TrackingStatus(models.TextChoices):
        UNKNOWN = "", "Not known yet"
        PRE_TRANSIT = "pre_transit", "Label created"
        IN_TRANSIT = "in_transit", "In transit"
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        DELIVERED = "delivered", "Delivered"
        EXCEPTION = "exception", "Delivery problem"
        RETURNED = "returned", "Returned to sender"

    # Filled by the labels issue when a label is bought; 0 for manual tracking.
    label_cost_amount = money()
    # The bought service's promise (the rate's delivery days), counted from shipped_at: analytics' on-time
    # delivery. Empty for manual tracking.
    delivery_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Where the parcel is, as the carrier last told us (labels: tracker webhooks, polling).
    tracking_status = models.CharField(max_length=24, choices=TrackingStatus.choices, blank=True, default="")
    tracking_status_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["merchant", "order"], name="orders_shipment_order_idx"),
            models.Index(fields=["merchant", "shipped_at"], name="orders_shipment_shipped_idx"),
        ]

    def __str__(self) -> str:
        return f"Shipment {self.pk} of order {self.order_id}"


class ShipmentLine(TenantOwnedModel):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="shipment_lines")
    quantity = models.PositiveIntegerField()
    # Of `quantity`, the units the channel said shipped that were not in stock here, so never left it: taking
    # the shipment back or a return gives stock back only the rest (0 whenever the shipment shipped from stock).
    # db_default too: rows inserted by code that predates the column (a process still running the last release).
    quantity_unstocked = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "shipment", "order_line"], name="orders_shipmentline_uniq"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_shipmentline_qty_gt_0"),
            models.CheckConstraint(condition=Q(quantity_unstocked__lte=F("quantity")),
                                   name="orders_shipmentline_unstocked_lte_qty"),
        ]
        indexes = [models.Index(fields=["merchant", "order_line"], name="orders_shipmentline_line_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"


class OrderEvent(TenantOwnedModel):
    """The order's timeline: received, updated, reserved, short, shipped, notified... Append only."""

    class Kind(models.TextChoices):
        RECEIVED = "received", "Received"
        CREATED = "created", "Created manually"
        UPDATED = "updated", "Updated by channel"
        STALE_IGNORED = "stale_ignored", "Out-of-date update ignored"
        RESERVED = "reserved", "Stock reserved"
        RELEASED = "released", "Stock released"
        SHORT = "short", "Short of stock"
        ALLOCATED = "allocated", "Stock allocated"
        NEEDS_ATTENTION = "needs_attention", "SKU matches no product"
        SKU_MAPPED = "sku_mapped", "SKU mapped"
        STATUS = "status", "Status changed"
        CANCELLED = "cancelled", "Cancelled"
        SHIPMENT = "shipment", "Shipment created"
        SHIPMENT_CANCELLED = "shipment_cancelled", "Shipment cancelled"
        SHIPPED = "shipped", "Shipped"
        TRACKING = "tracking", "Tracking update"
        RETURNED = "returned", "Returned"
        NOTIFIED = "notified", "Notification sent"
        EDITED = "edited", "Tags or notes edited"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["merchant", "order", "id"], name="orders_orderevent_order_idx")]

    @property
    def words(self) -> str:
        """The message as the timeline shows it. A status change recorded before messages said labels
        ("on_hold → unfulfilled") reads in labels ("On hold → Unfulfilled"); any other message as written."""
        data = self.data if isinstance(self.data, dict) else {}
        if self.kind == self.Kind.STATUS and data.get("from") and data.get("to"):
            raw = f"{data['from']} → {data['to']}"
            if self.message.startswith(raw):
                from orders.workflow import status_change_words  # workflow imports the models

                return status_change_words(data["from"], data["to"]) + self.message[len(raw):]
        return self.message

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class TrackingOutbox(TenantOwnedModel):
    """"Tell the channel this shipment left": written with the shipment, consumed by the channel sync.

    It carries no channel knowledge beyond the order's own channel/integration columns; the
    integrations app reads pending rows, pushes tracking, and stamps processed_at.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey("integrations.Integration", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", db_index=False)
    channel = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The channel's fulfillment made from this shipment: a later push of the same shipment (new tracking
    # after a re-ship) updates it instead of fulfilling again.
    # Opaque (the adapter may join several, e.g. one fulfillment per location).
    channel_fulfillment_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "shipment"], name="orders_trackingoutbox_shipment_uniq"),
        ]
        indexes = [
            models.Index(fields=["merchant", "id"], condition=Q(processed_at__isnull=True), name="orders_tracking_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"tracking for shipment {self.shipment_id}"


class SavedView(TenantOwnedModel):
    """A named set of order-list filters (the list's query string), one user's own: colleagues keep theirs."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True, help_text="The list's query string, without a page cursor.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "user", "name"], name="orders_savedview_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name
