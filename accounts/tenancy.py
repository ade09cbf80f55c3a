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
    with scope(merchant=_merchant_id(merchant)):
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


class TenantScopeMiddleware:
    """Opens the request's scope from the signed-in user's (or API token's) merchant.

    Requests without a merchant get no scope at all, so any tenant query they reach
    raises. Staff pages under /admin/ leave scoping explicitly.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from accounts.services import api_token_authenticate, membership_for_user

        request.merchant = None
        request.membership = None
        request.api_token = None
        user = request.user
        if request.path.startswith("/admin/") and user.is_authenticated and user.is_staff:
            with unscoped("staff admin"):
                return self.get_response(request)

        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            request.api_token = api_token_authenticate(auth[7:].strip())
            if request.api_token is not None:
                user = request.api_token.user
                request.merchant = request.api_token.merchant
        elif user.is_authenticated:
            request.membership = membership_for_user(user)
            request.merchant = request.membership.merchant if request.membership else None

        if request.merchant is None:
            return self.get_response(request)
        with tenant_scope(request.merchant):
            return self.get_response(request)
