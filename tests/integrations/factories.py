"""Factories for the tenant-isolation guard test: one per model an integrations endpoint serves."""

from __future__ import annotations

from integrations.models import Integration
from tests.factories import object_factory
from tests.integrations.helpers import make_integration


@object_factory(Integration)
def integration(tenant):
    return make_integration(tenant.merchant, name="Guarded shop")
