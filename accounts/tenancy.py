"""Tenant scoping that fails closed.

Every tenant-owned model's default manager filters by the merchant of the current
scope, and raises when there is none (django-scopes). One helper enters a scope and
refuses None (which django-scopes would read as "all merchants"); one helper leaves
it, with a reason that is logged. Nothing else should call django_scopes directly.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.db import models
from django_scopes import ScopedManager, get_scope, scope, scopes_disabled

from core.log_context import log_bound

if TYPE_CHECKING:
    from accounts.models import Merchant

logger = logging.getLogger(__name__)


class TenantOwnedModel(models.Model):
    """Abstract base: the merchant foreign key and the scoped default manager."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")

    objects = ScopedManager(merchant="merchant_id")

    class Meta:
        abstract = True


def _merchant_id(merchant: Merchant | int | None) -> int:
    if merchant is None:
        raise ValueError("tenant_scope() needs a merchant; None would mean every merchant")
    return merchant if isinstance(merchant, int) else merchant.pk


@contextlib.contextmanager
def tenant_scope(merchant: Merchant | int) -> Iterator[None]:
    """Scope every tenant query inside the block to one merchant."""
    merchant_id = _merchant_id(merchant)
    with scope(merchant=merchant_id), log_bound(merchant_id=merchant_id):
        yield


@contextlib.contextmanager
def unscoped(reason: str) -> Iterator[None]:
    """Leave tenant scoping for a stated reason (admin, fan-out, token lookup, ops commands)."""
    logger.debug("accounts.tenancy.unscoped", extra={"reason": reason})
    with scopes_disabled():
        yield


def current_merchant_id() -> int | None:
    value = get_scope().get("merchant")
    return value if isinstance(value, int) else None
