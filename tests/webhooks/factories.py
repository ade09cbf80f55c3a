"""Factories for the tenant-isolation guard test: one per model a webhooks endpoint serves."""

from __future__ import annotations

from tests.factories import object_factory
from tests.integrations.helpers import make_integration
from tests.webhooks.helpers import make_event
from webhooks.models import WebhookEvent


@object_factory(WebhookEvent)
def webhook_event(tenant):
    return make_event(make_integration(tenant.merchant, name="Guarded webhooks shop"), status="failed",
                      last_error="boom")
