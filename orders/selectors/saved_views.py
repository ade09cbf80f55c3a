"""A user's saved views of the order list: only their own, only in this merchant."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Merchant
from core.errors import NotFound, ValidationFailed
from core.parsing import parse_id
from orders.models import SavedView


def saved_view_list(*, merchant: Merchant, user) -> QuerySet[SavedView]:
    return SavedView.objects.filter(merchant=merchant, user=user).order_by("name", "id")


def saved_view_get(*, merchant: Merchant, user, pk: int | str) -> SavedView:
    """A colleague's view, or another merchant's, is not found: views are private to their owner."""
    try:
        return SavedView.objects.filter(merchant=merchant, user=user).order_by().get(pk=parse_id(pk, field="id"))
    except (SavedView.DoesNotExist, ValidationFailed):
        raise NotFound("No such saved view.") from None
