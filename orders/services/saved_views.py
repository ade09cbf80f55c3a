"""Saved views: a named query string of the order list, per user and merchant."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db import transaction
from django.http import QueryDict

from accounts.models import Merchant
from core.errors import ValidationFailed
from core.parsing import parse_text
from orders.models import SavedView
from orders.selectors.orders import OrderFilters
from orders.selectors.queue import parse_sort

MAX_VIEWS_PER_USER = 50


def saved_view_query(query: str) -> str:
    """The canonical query string of a list URL's query: known filters and the sort, nothing else (no page
    cursor, no stray parameters). A bad filter is a ValidationFailed, so a view never saves what the list
    would refuse."""
    params = QueryDict(query.lstrip("?"))
    filters = OrderFilters.from_params(params)
    out = filters.as_query()
    sort = params.get("sort", "")
    if sort and parse_sort(sort, tab=filters.tab) == sort:
        out["sort"] = sort
    return urlencode(out)


@transaction.atomic
def saved_view_save(*, merchant: Merchant, user, name: str, query: str) -> SavedView:
    """Save the list's current filters under `name`; the same name again replaces that view's filters."""
    name = parse_text(name, field="name", max_length=80)
    if not name:
        raise ValidationFailed("Give the view a name.", details={"field": "name"})
    canonical = saved_view_query(query)
    if len(canonical) > 2000:
        raise ValidationFailed("Too many filters to save.", details={"field": "query"})
    mine = SavedView.objects.filter(merchant=merchant, user=user)
    if not mine.filter(name=name).exists() and mine.count() >= MAX_VIEWS_PER_USER:
        raise ValidationFailed(f"At most {MAX_VIEWS_PER_USER} saved views; delete one first.")
    view, _ = SavedView.objects.update_or_create(merchant=merchant, user=user, name=name,
                                                 defaults={"query": canonical})
    return view


def saved_view_delete(*, merchant: Merchant, view: SavedView) -> None:
    SavedView.objects.filter(merchant=merchant, pk=view.pk).delete()
