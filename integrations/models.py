"""A merchant's connected stores (Integration) and the channel's sellable items in them (Listing)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from accounts.tenancy import TenantOwnedModel
from core.fields import EncryptedJSONField
from integrations.registry import channel_packages


def webhook_token_new() -> str:
    """Migration 0001's default for the former `Integration.webhook_token` (the token now lives on the
    store's webhooks.WebhookEndpoint); kept because that migration names it."""
    return secrets.token_urlsafe(32)


def settings_default() -> dict:
    return {"backfill_days": 60}


def checkpoints_default() -> dict:
    return {}


def _registered_channel(value: str) -> None:
    if value not in channel_packages:
        raise ValidationError(f"{value!r} is not a registered channel.")


class Integration(TenantOwnedModel):
    """One connected store. A merchant may connect several stores of one channel."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
        DISCONNECTED = "disconnected", "Disconnected"

    channel = models.CharField(max_length=16, validators=[_registered_channel],
                               help_text="A registered channel's slug (integrations.registry).")
    # The store's account on its channel (a shop domain, a seller id, a store URL), as its package's
    # connect form gives it: a delivery or a queue message names it, and is routed to its store by this
    # column without decrypting every row's credentials. Not a secret.
    account_ref = models.CharField(max_length=255, blank=True, db_index=True)
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.ACTIVE)
    credentials = EncryptedJSONField(default=dict, blank=True,
                                     help_text="Encrypted; decrypted only to build the channel's client.")
    settings = models.JSONField(default=settings_default, blank=True,
                                help_text="backfill_days, location_external_id and the push rules.")
    checkpoints = models.JSONField(default=checkpoints_default, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_order_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["merchant", "channel", "id"], name="integrations_channel_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel})"


class Listing(TenantOwnedModel):
    """A sellable item on a channel, matched to one of our products by SKU. `channel_ref` and
    `channel_data` are what the channel's adapter needs to find its stock again; the engine stores them
    and hands them back on every push, never reads them."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="listings")
    external_id = models.CharField(max_length=64, help_text="The channel's variant/listing id.")
    channel_ref = models.CharField(max_length=64, blank=True)
    channel_data = models.JSONField(default=dict, blank=True)
    sku = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=512, blank=True)
    product = models.ForeignKey("inventory.Product", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    override_quantity = models.IntegerField(null=True, blank=True,
                                            help_text="Push this quantity instead of the rule's.")
    is_push_disabled = models.BooleanField(default=False)
    last_pushed_quantity = models.IntegerField(null=True, blank=True)
    last_pushed_at = models.DateTimeField(null=True, blank=True)
    channel_quantity = models.IntegerField(null=True, blank=True, help_text="Last seen from the channel.")
    # What our first push changed at the store (the integration page lists it): the channel's quantity
    # before, ours after, and when. Empty until the listing's first push.
    first_push_from = models.IntegerField(null=True, blank=True)
    first_push_to = models.IntegerField(null=True, blank=True)
    first_pushed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="The channel's reason for a refused push.")
    # A push the channel accepted but decides later (a feed): its reference and the quantity sent, until
    # the engine reads the outcome back (integrations.sync.stock.pushes_pending_read).
    push_pending_ref = models.CharField(max_length=128, blank=True)
    push_pending_quantity = models.IntegerField(null=True, blank=True)
    # The quantity the channel last refused for this listing alone (its answer, or its feed's report): not
    # sent again until the quantity to push changes or the merchant retries (listing_push_retry).
    refused_quantity = models.IntegerField(null=True, blank=True)
    error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "integration", "external_id"],
                                    name="integrations_listing_external_uniq"),
        ]
        indexes = [
            models.Index(fields=["merchant", "integration", "id"], name="integrations_listing_list_idx"),
            models.Index(fields=["merchant", "product"], name="integrations_listing_prod_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku or self.external_id} on {self.integration_id}"


class PendingInstall(TenantOwnedModel):
    """An install a merchant started whose credentials the channel sends us server to server, with no
    session (a store POSTs an API key to our keys URL, naming the install by the opaque id we gave it).
    The id is a random token handed to the channel once and stored here only as its SHA-256; the row says
    who started it, for which channel and store (`data`: the install form's cleaned values, no secrets),
    until when it may complete, when it did (`used_at`: a second delivery is refused) and what it made
    (`integration`), or why it was refused (`error`), for the merchant's browser coming back. Any
    package's install flow may use it (integrations.installs)."""

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    channel = models.CharField(max_length=16, validators=[_registered_channel])
    data = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["expires_at"], name="integrations_install_exp_idx")]

    def __str__(self) -> str:
        return f"{self.channel} install {self.pk}"
