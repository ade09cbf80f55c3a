"""The webhook inbox: the addresses sources deliver to (endpoints) and every verified delivery, stored
before we answer 200."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.tenancy import TenantOwnedModel


def endpoint_token_new() -> str:
    """The secret part of /webhooks/<slug>/<token>/: unguessable, so the URL itself says whose it is."""
    return secrets.token_urlsafe(32)


class WebhookEndpoint(TenantOwnedModel):
    """One address a source delivers to: the token in its URL, whose receiver verifies it (kind + slug), and
    its owner (the store's Integration for a channel; the CarrierAccount for a carrier).

    The token is unique on its own, not per merchant: receipt finds the endpoint (and so the merchant) by
    the token alone, before any scope exists. Endpoints made from a store's former `webhook_token` keep it,
    so the subscriptions a channel already holds still arrive."""

    class Kind(models.TextChoices):
        CHANNEL = "channel", "Channel"
        CARRIER = "carrier", "Carrier"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    slug = models.CharField(max_length=16, help_text="The channel's or carrier's slug: which receiver verifies.")
    token = models.CharField(max_length=64, unique=True, default=endpoint_token_new, editable=False)
    integration = models.OneToOneField("integrations.Integration", null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="webhook_endpoint")
    carrier_account = models.OneToOneField("labels.CarrierAccount", null=True, blank=True, on_delete=models.CASCADE,
                                           related_name="webhook_endpoint")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="channel") | Q(integration__isnull=False),
                                   name="webhooks_endpoint_channel_owner"),
            models.CheckConstraint(condition=~Q(kind="carrier") | Q(carrier_account__isnull=False),
                                   name="webhooks_endpoint_carrier_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.slug} endpoint {self.pk}"


class WebhookEvent(TenantOwnedModel):
    """One verified delivery. The row is the acknowledgement: no row, no 200.

    `delivery_id` is the source's identity of the delivery (its receiver's `identify` reads it, e.g.
    from an event-id header); unique per endpoint, so a duplicate races into the constraint
    instead of a second row. `integration` is the endpoint's store for a channel's delivery (the pages
    filter and count by store), NULL for other sources; `channel` is the receiver's slug. `body` is the raw bytes exactly as signed (NULL once pruned; the
    row itself stays longer so late duplicates are still refused).
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        DEAD = "dead", "Dead"

    # No index of their own (one less to write per delivery: BENCHMARKS.md "Webhook inbox"): the merchant-first
    # indexes below lead with `merchant`, the unique (endpoint, delivery_id) constraint with `endpoint`.
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+", db_index=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="events", db_index=False)
    integration = models.ForeignKey("integrations.Integration", null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="webhook_events")
    kind = models.CharField(max_length=16, choices=WebhookEndpoint.Kind.choices, default=WebhookEndpoint.Kind.CHANNEL)
    channel = models.CharField(max_length=16, help_text="The receiver's slug (a channel's or a carrier's).")
    topic = models.CharField(max_length=128)
    delivery_id = models.CharField(max_length=255, help_text="The channel's identity of this delivery.")
    headers = models.JSONField(default=dict, blank=True, help_text="Chosen headers only, never secrets.")
    body = models.BinaryField(null=True, blank=True, help_text="Raw bytes as signed; NULL once pruned.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0, help_text="Processing attempts claimed so far.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="What processing did.")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    body_pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "delivery_id"], name="webhooks_event_delivery_uniq"),
        ]
        indexes = [
            models.Index(fields=["merchant", "-received_at", "-id"], name="webhooks_event_list_idx"),
            models.Index(fields=["merchant", "status", "-received_at"], name="webhooks_event_status_idx"),
            models.Index(fields=["merchant", "integration", "-received_at"], name="webhooks_event_integ_idx"),
            models.Index(fields=["next_attempt_at"], name="webhooks_event_due_idx",
                         condition=Q(status__in=["received", "processing", "failed"])),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.topic} {self.delivery_id} ({self.status})"
