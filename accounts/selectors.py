from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import ApiToken, Membership, Merchant
from core.errors import NotFound


def api_token_list(*, merchant: Merchant) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(merchant=merchant).select_related("user").order_by("-id")


def api_token_get(*, merchant: Merchant, pk: int) -> ApiToken:
    token = api_token_list(merchant=merchant).filter(pk=pk).first()
    if token is None:
        raise NotFound("No such API token.")
    return token


def membership_list(*, merchant: Merchant) -> QuerySet[Membership]:
    return Membership.objects.filter(merchant=merchant).select_related("user").order_by("created_at")
