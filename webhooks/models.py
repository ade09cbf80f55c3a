"""The webhook inbox: every verified delivery from a channel, stored before we answer 200."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.tenancy import TenantOwnedModel


class WebhookEvent(TenantOwnedModel):
    """One verified delivery. The row is the acknowledgement: no row, no 200.

    `delivery_id` is the channel's identity of the delivery (its receiver's `identify` reads it, e.g.
    from an event-id header); unique per integration, so a duplicate races into the constraint
    instead of a second row. `body` is the raw bytes exactly as signed (NULL once pruned; the
    row itself stays longer so late duplicates are still refused).
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        DEAD = "dead", "Dead"

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE,
                                    related_name="webhook_events")
    channel = models.CharField(max_length=16)
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
            models.UniqueConstraint(fields=["integration", "delivery_id"], name="webhooks_event_delivery_uniq"),
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
