"""Catalog, locations, stock levels, the stock ledger, reservations and the availability outbox.

Levels are the fast answer to "how many"; the ledger (StockMovement) is the proof. Every write goes
through inventory.services, which changes a level and appends a movement in one transaction, so a
level always equals the sum of its movements (checked by `manage.py inventory_audit`).
"""

from __future__ import annotations

from django.contrib.postgres.indexes import OpClass
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Upper

from accounts.tenancy import TenantOwnedModel


class Product(TenantOwnedModel):
    """A sellable item. A bundle (kit) has components and no stock of its own."""

    sku = models.CharField(max_length=64, help_text="Unique per merchant, case-insensitively.")
    title = models.CharField(max_length=255)
    barcode = models.CharField(max_length=64, blank=True, help_text="EAN/UPC/GTIN.")
    # Money is in the merchant's currency (Merchant.currency); empty means "not known yet", not zero.
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                validators=[MinValueValidator(0)], help_text="Selling price, for manual orders.")
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                               validators=[MinValueValidator(0)], help_text="Unit cost, for stock value and margin.")
    image_url = models.URLField(max_length=500, blank=True)
    supplier = models.CharField(max_length=255, blank=True)
    supplier_sku = models.CharField(max_length=128, blank=True)
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    length_mm = models.PositiveIntegerField(null=True, blank=True)
    width_mm = models.PositiveIntegerField(null=True, blank=True)
    height_mm = models.PositiveIntegerField(null=True, blank=True)
    # Customs lines of international parcels (labels): value from `price`, weight from `weight_grams`.
    customs_description = models.CharField(max_length=255, blank=True,
                                           help_text="What customs read the item as; empty: the title.")
    hs_code = models.CharField(max_length=16, blank=True, help_text="Harmonized System tariff code, e.g. 6109.10.")
    origin_country = models.CharField(max_length=2, blank=True, help_text="Where it was made (ISO 3166-1 alpha-2).")
    low_stock_threshold = models.PositiveIntegerField(
        default=0, help_text="At or under this many available units the product is low on stock (0: never)."
    )
    is_active = models.BooleanField(default=True)
    is_bundle = models.BooleanField(default=False, help_text="Made of components; holds no stock itself.")
    allows_backorder = models.BooleanField(default=False, help_text="May be reserved beyond what is on hand.")
    # Debounce of the low-stock email: set when the product goes low, cleared when it recovers.
    low_stock_since = models.DateTimeField(null=True, blank=True)
    low_stock_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(Lower("sku"), "merchant", name="inventory_product_sku_ci_uniq"),
        ]
        indexes = [
            models.Index(fields=["merchant", "sku", "id"], name="inventory_product_sku_idx"),
            models.Index(fields=["merchant", "barcode"], name="inventory_product_barcode_idx"),
            # The SKU picker's type-ahead (selectors.product_suggest): sku__istartswith is UPPER(sku) LIKE 'X%',
            # which the plain (merchant, sku) index cannot serve.
            models.Index(F("merchant"), OpClass(Upper("sku"), name="text_pattern_ops"),
                         name="inv_product_sku_prefix_idx"),
            # The low-stock sweeper's read: only episodes still open, a handful of rows whatever the catalog.
            models.Index(fields=["low_stock_since"], name="inventory_product_low_open_idx",
                         condition=models.Q(low_stock_since__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.sku} · {self.title}"


class BundleComponent(TenantOwnedModel):
    """One line of a bundle's bill of materials: `quantity` units of `component` per bundle."""

    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="components")
    component = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="used_in")
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "bundle", "component"], name="inventory_bundlecomponent_uniq"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inventory_bundlecomponent_qty_pos"),
            models.CheckConstraint(condition=~Q(bundle=F("component")), name="inventory_bundlecomponent_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× {self.component_id} in {self.bundle_id}"


class Location(TenantOwnedModel):
    """A place stock is kept (a warehouse, a shop's back room). Exactly one is the default."""

    name = models.CharField(max_length=100)
    code = models.CharField(max_length=32, help_text="Short name used in CSV files, e.g. 'MAIN'.")
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    ship_from = models.JSONField(
        default=dict, blank=True,
        help_text="Where parcels of this location leave from (core.address's shape with phone); empty: the "
        "merchant's ship-from.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "id"]
        constraints = [
            models.UniqueConstraint(Lower("code"), "merchant", name="inventory_location_code_ci_uniq"),
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(is_default=True), name="inventory_location_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StockLevel(TenantOwnedModel):
    """How many units of a product are at a location (`on_hand`) and how many are promised (`reserved`)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    # A copy of product.allows_backorder, so the CHECK below can read it from this row.
    allows_backorder = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "product", "location"], name="inventory_stocklevel_uniq"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="inventory_stocklevel_on_hand_nonneg"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="inventory_stocklevel_reserved_nonneg"),
            models.CheckConstraint(
                condition=Q(allows_backorder=True) | Q(reserved__lte=F("on_hand")),
                name="inventory_stocklevel_reserved_le_on_hand",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "location", "product"], name="inventory_level_loc_idx")]

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id}: {self.on_hand}/{self.reserved}"


class StockMovement(TenantOwnedModel):
    """Append-only ledger: one row per change of a level. Never updated, never deleted."""

    class Reason(models.TextChoices):
        RECEIVED = "received", "Received"
        DAMAGED = "damaged", "Damaged"
        LOST = "lost", "Lost"
        FOUND = "found", "Found"
        CORRECTION = "correction", "Correction"  # was "adjustment" (migration 0004)
        STOCKTAKE = "stocktake", "Stocktake"
        TRANSFER = "transfer", "Transfer"
        RESERVED = "reserved", "Reserved"
        RELEASED = "released", "Released"
        SHIPPED = "shipped", "Shipped"
        RETURNED = "returned", "Returned"
        IMPORT = "import", "Import"
        OPENING = "opening", "Opening stock"  # a channel's quantity taken as a new product's first truth

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="movements")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="movements")
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    reference = models.CharField(max_length=128, blank=True, help_text="Order line, shipment, import batch, user.")
    note = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "product", "-id"], name="inventory_movement_product_idx"),
            models.Index(fields=["merchant", "reference"], name="inventory_movement_ref_idx"),
            models.Index(fields=["merchant", "-id"], name="inventory_movement_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.on_hand_delta:+}/{self.reserved_delta:+} {self.product_id}@{self.location_id}"


class Reservation(TenantOwnedModel):
    """What is held under one caller reference, per stock-holding product and location.

    `unit_product` is the product the caller reserved (a bundle or the product itself) and
    `per_unit` how many of `product` one unit of it takes, so releases and shipments in the
    caller's units can be translated back. The sum of quantities per level equals its `reserved`.
    """

    reference = models.CharField(max_length=128)
    unit_product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    per_unit = models.PositiveIntegerField(default=1)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reservations")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "reference", "product", "location"], name="inventory_reservation_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.quantity} of {self.product_id}@{self.location_id}"


class AvailabilityMark(TenantOwnedModel):
    """Outbox: the product's availability changed and consumer `consumer` has not taken it yet.

    One pending row per (consumer, product); re-marking bumps `marked_at`, so a consumer that
    acknowledges what it took never deletes a change made after it read. A consumer claims marks
    through core.outbox (`claimed_until` is its lease), so two runs never take the same mark.
    """

    consumer = models.CharField(max_length=32)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    marked_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["marked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "consumer", "product"], name="inventory_mark_uniq"),
        ]
        indexes = [models.Index(fields=["merchant", "consumer", "marked_at"], name="inventory_mark_take_idx")]

    def __str__(self) -> str:
        return f"{self.consumer}:{self.product_id}"


class StockImport(TenantOwnedModel):
    """An uploaded stock CSV (stored with Django's default storage), its preview and its outcome."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", "Previewed"
        QUEUED = "queued", "Queued"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        STOCK = "stock", "Stock levels"
        CATALOG = "catalog", "Catalog"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STOCK)
    file = models.FileField(upload_to="inventory/imports/%Y/%m/")
    filename = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREVIEWED)
    row_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey("jobs.WorkerJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} import #{self.pk} ({self.status})"


class SkuAlias(TenantOwnedModel):
    """Another name of a product: a channel's SKU the merchant mapped once and asked us to remember, so
    later orders with it match on arrival (`inventory.selectors.product_match_skus`).

    `store_key` says which store the name is used by, as an opaque string the caller chooses (orders
    uses "integration:<id>"; inventory knows no store); empty means every store. Empty rather than
    NULL so that one case-insensitive unique constraint (merchant, lower(sku), store_key) holds on
    PostgreSQL and SQLite alike. A product's own SKU always wins over an alias.
    """

    sku = models.CharField(max_length=128, help_text="The SKU as the channel sends it (matched case-insensitively).")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="aliases")
    store_key = models.CharField(max_length=64, blank=True, default="",
                                 help_text='The store it applies to ("integration:<id>"); empty: every store.')
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sku", "store_key", "id"]
        constraints = [
            models.UniqueConstraint(Lower("sku"), "merchant", "store_key", name="inventory_skualias_ci_uniq"),
        ]
        indexes = [models.Index(fields=["merchant", "product"], name="inventory_skualias_product_idx")]

    def __str__(self) -> str:
        return f"{self.sku} → product {self.product_id}"
