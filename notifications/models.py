"""Which emails a merchant wants, and the log that sends each of them exactly once.

This app sits below orders and inventory (DESIGN.md): it knows no order and no product. What a
notification is about is a plain reference string ("order:12", "product:7"), as the stock ledger
stores "order_line:123".
"""

from __future__ import annotations

from django.db import models

from accounts.tenancy import TenantOwnedModel


class NotificationSettings(TenantOwnedModel):
    """Which emails a merchant wants and who receives them. Created by an onboarding step."""

    class NewOrderMode(models.TextChoices):
        EACH = "each", "An email for each new order"
        DIGEST = "digest", "One daily digest"
        OFF = "off", "No email"

    new_order_mode = models.CharField(max_length=8, choices=NewOrderMode.choices, default=NewOrderMode.EACH)
    notify_channel_cancellation = models.BooleanField(default=True)
    notify_sync_failure = models.BooleanField(default=True, help_text="Failed syncs and webhooks that gave up.")
    notify_customer_shipped = models.BooleanField(default=False, help_text="Email the customer the tracking.")
    # Tracking news for the customer, each on its own, under notify_customer_shipped (the customer emails'
    # main switch): on by default, so turning customer emails on sends them until one is turned off.
    notify_customer_out_for_delivery = models.BooleanField(default=True, help_text="Out for delivery.")
    notify_customer_delivered = models.BooleanField(default=True, help_text="Delivered.")
    notify_customer_exception = models.BooleanField(default=True, help_text="A delivery problem.")
    notify_low_stock = models.BooleanField(default=True, help_text="A product dropped to its low-stock threshold.")
    recipients = models.TextField(blank=True, help_text="Comma-separated emails; empty means the owners.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"
        constraints = [models.UniqueConstraint(fields=["merchant"], name="notifications_settings_merchant_uniq")]

    def __str__(self) -> str:
        return f"notifications of merchant {self.merchant_id}"

    def wants_customer_tracking(self, status: str) -> bool:
        """Whether the customer hears that the parcel is `status` (out_for_delivery, delivered, exception)."""
        return self.notify_customer_shipped and bool(getattr(self, f"notify_customer_{status}", False))


class NotificationLog(TenantOwnedModel):
    """One row per notification, keyed so that it is sent once: the key is claimed before sending."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will retry)"
        SKIPPED = "skipped", "Skipped"

    key = models.CharField(max_length=200, help_text="e.g. 'new_order:123', 'digest:2026-11-25'")
    kind = models.CharField(max_length=32)
    reference = models.CharField(max_length=100, blank=True, help_text="What it is about, e.g. 'order:123'.")
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=255, blank=True)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["merchant", "key"], name="notifications_log_key_uniq")]
        indexes = [models.Index(fields=["merchant", "status", "id"], name="notifications_log_status_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
