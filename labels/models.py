"""Carrier accounts, the rates they quoted for a shipment, and the labels bought (or being bought)."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from accounts.tenancy import TenantOwnedModel
from core.fields import EncryptedJSONField, EncryptedTextField
from labels.registry import carrier_packages
from orders.models import money


def webhook_secret_new() -> str:
    """Our own secret per account: the carrier signs its tracking events with it (EasyPost's HMAC)."""
    return secrets.token_urlsafe(32)


def _registered_carrier(value: str) -> None:
    if value not in carrier_packages:
        raise ValidationError(f"{value!r} is not a registered carrier.")


class CarrierAccount(TenantOwnedModel):
    """One of the merchant's accounts at a carrier platform (EasyPost, ShipStation). The credentials are
    encrypted (core.fields; rotate_encryption_keys finds them by walking the models) and never rendered."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
        DISCONNECTED = "disconnected", "Disconnected"

    carrier = models.CharField(max_length=16, validators=[_registered_carrier],
                               help_text="A registered carrier's slug (labels.registry).")
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.ACTIVE)
    credentials = EncryptedJSONField(default=dict, blank=True,
                                     help_text="Encrypted; decrypted only to build the carrier's client.")
    webhook_secret = EncryptedTextField(default=webhook_secret_new, blank=True,
                                        help_text="Encrypted; the carrier signs tracking events with it.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["merchant", "status", "id"], name="labels_account_status_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.carrier})"


class PackagePreset(TenantOwnedModel):
    """A box or mailer the merchant packs into: its outside dimensions and what it weighs empty. Chosen
    when rating a shipment, it gives the parcel its dimensions and adds its weight to the products'."""

    name = models.CharField(max_length=80)
    length_mm = models.PositiveIntegerField()
    width_mm = models.PositiveIntegerField()
    height_mm = models.PositiveIntegerField()
    empty_weight_grams = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(Lower("name"), "merchant", name="labels_packagepreset_name_ci_uniq")]

    def __str__(self) -> str:
        return f"{self.name} ({self.length_mm}×{self.width_mm}×{self.height_mm} mm)"


class ShippingRule(TenantOwnedModel):
    """How to choose a rate when none is picked (the label API without a rate id, batches): for orders
    from `channel` and/or to `country` (blank: any), take the cheapest, the fastest, or a service
    (`"service:<carrier service>"`). The most specific rule wins: channel and country, then country,
    then channel, then the merchant's default (both blank)."""

    channel = models.CharField(max_length=16, blank=True, help_text="A channel's slug; blank: any channel.")
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2; blank: any destination.")
    rule = models.CharField(max_length=140, help_text='"cheapest", "fastest" or "service:<carrier service>".')
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["merchant", "channel", "country"],
                                               name="labels_shippingrule_match_uniq")]

    def __str__(self) -> str:
        return f"{self.channel or 'any channel'} → {self.country or 'anywhere'}: {self.rule}"


class LabelRate(TenantOwnedModel):
    """A price one account quoted for one shipment, kept so a purchase names it by our id and the adapter
    gets back what it needs to buy it (`carrier_data`: EasyPost's shipment id)."""

    shipment = models.ForeignKey("orders.Shipment", on_delete=models.CASCADE, related_name="+")
    carrier_account = models.ForeignKey(CarrierAccount, on_delete=models.CASCADE, related_name="rates")
    # The package the parcel was rated in (None: the products alone); a purchase by rule re-asks
    # for rates when the package chosen differs; deleting the package deletes its quotes.
    package_preset = models.ForeignKey(PackagePreset, null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="+")
    external_id = models.CharField(max_length=128)
    carrier = models.CharField(max_length=64)
    service = models.CharField(max_length=128)
    amount = money()
    currency = models.CharField(max_length=3)
    delivery_days = models.PositiveIntegerField(null=True, blank=True)
    carrier_data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["amount", "id"]
        indexes = [models.Index(fields=["merchant", "shipment", "id"], name="labels_rate_shipment_idx")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.service} {self.amount} {self.currency}"


def label_upload_to(instance: Label, filename: str) -> str:
    return f"labels/{instance.merchant_id}/{instance.idempotency_key}/{filename}"


class Label(TenantOwnedModel):
    """A purchase: recorded `intended` (with our idempotency key) before the carrier is called, `bought`
    once its answer is kept, `voided` once the carrier accepted a refund (`unshipped_at` when the shipment
    was taken back too: empty means that step is still to do), `failed` when the carrier refused (its words in
    `error`). At most one intended-or-bought label per shipment: the constraint, not a check, makes two
    simultaneous purchases one row."""

    class Status(models.TextChoices):
        INTENDED = "intended", "Being bought"
        BOUGHT = "bought", "Bought"
        VOIDED = "voided", "Voided"
        FAILED = "failed", "Failed"

    shipment = models.ForeignKey("orders.Shipment", on_delete=models.CASCADE, related_name="labels")
    carrier_account = models.ForeignKey(CarrierAccount, on_delete=models.PROTECT, related_name="labels")
    package_preset = models.ForeignKey(PackagePreset, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+", help_text="The package the parcel was rated in.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INTENDED)
    idempotency_key = models.CharField(max_length=64, unique=True)
    # The rate as chosen (copied: a quote row may be replaced by a newer quote).
    rate_external_id = models.CharField(max_length=128)
    carrier = models.CharField(max_length=64)
    service = models.CharField(max_length=128)
    cost_amount = money()
    currency = models.CharField(max_length=3)
    delivery_days = models.PositiveIntegerField(null=True, blank=True, help_text="As the rate promised.")
    carrier_data = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(max_length=128, blank=True, help_text="The carrier's id of what was bought.")
    tracking_number = models.CharField(max_length=128, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    label_format = models.CharField(max_length=8, default="PDF")
    file = models.FileField(upload_to=label_upload_to, blank=True, max_length=300)
    error = models.TextField(blank=True)
    void_status = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    bought_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    tracking_polled_at = models.DateTimeField(null=True, blank=True,
                                              help_text="Last asked the carrier for tracking (polled carriers).")
    unshipped_at = models.DateTimeField(null=True, blank=True,
                                        help_text="When the voided label's shipment was taken back (void's step 2).")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "shipment"], condition=Q(status__in=["intended", "bought"]),
                                    name="labels_label_one_live_per_shipment"),
        ]
        indexes = [models.Index(fields=["merchant", "shipment", "id"], name="labels_label_shipment_idx"),
                   models.Index(fields=["status", "carrier_account", "tracking_polled_at"],
                                condition=Q(status="bought"), name="labels_label_poll_idx")]

    def __str__(self) -> str:
        return f"Label {self.pk} ({self.status}) of shipment {self.shipment_id}"


class LabelBatch(TenantOwnedModel):
    """Labels for many orders in one background job (its WorkerJob has the status and progress): one
    result per order, in order (`{"order_id", "ok", "shipment_id", "tracking_number", "error"}`), one
    merged PDF of every PDF label bought, for one print run, and a zip of the PNG and ZPL ones."""

    job = models.OneToOneField("jobs.WorkerJob", on_delete=models.CASCADE, related_name="label_batch")
    rule = models.CharField(max_length=140, blank=True, default="cheapest",
                            help_text="How each order's rate is chosen; blank: the merchant's shipping rules.")
    order_ids = models.JSONField(default=list)
    results = models.JSONField(default=list, blank=True)
    merged_pdf = models.FileField(upload_to="label-batches/", blank=True, max_length=300)
    # PNG and ZPL labels cannot go into a PDF: they are zipped together, one file per label.
    labels_zip = models.FileField(upload_to="label-batches/", blank=True, max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Label batch {self.pk} ({len(self.order_ids)} orders)"
