"""Bad query parameters on every list endpoint are a 4xx (in the error shape for the API), never a 500.

The endpoints are found from the URL resolver (every GET route of the API and of the dashboard that
takes no path argument), so a new list page is covered the day it is added. Each gets, one parameter
at a time and then all at once, the values a review found crashing views: a NUL character, a
Unicode digit that passes str.isdigit() but not int(), a number no bigint holds, days at the edges
of the calendar, a malformed keyset cursor.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.tenancy import tenant_scope
from tests.factories import load_all

PARAMS = ["status", "channel", "integration", "location", "product", "sku", "tag", "search", "q", "reference",
          "reason", "kind", "before", "after", "cursor", "from", "to", "placed_from", "placed_to", "page_size",
          "sort", "bundle", "low", "needs_attention", "short"]
BAD_VALUES = ["a\x00b", "\u00b2", "9" * 30, "0001-01-01", "9999-12-31", "eyJ4Ijp9"]
EACH_PARAM = BAD_VALUES[:3]  # the values every kind of parameter (text, id, integer) must survive
SKIP = {"healthz", "readyz", "api/schema/", "api/docs/", "api/v1/auth/token/"}


def _walk(patterns, prefix=""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            if not route.startswith(("admin/", "accounts/")):
                yield from _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route, p.callback, p.name


def _is_list(route: str, callback, name: str | None) -> bool:
    """API: list actions and the analytics reports; dashboard: list pages, exports and analytics."""
    actions = getattr(callback, "actions", None)
    if actions is not None:
        return actions.get("get") == "list"
    if route.startswith("api/"):
        return route.startswith("api/v1/analytics/")
    return (name or "").endswith(("-list", "-export", "-analytics", "-locations"))


LIST_ROUTES = sorted(
    "/" + route for route, callback, name in _walk(get_resolver().url_patterns)
    if "<" not in route and route not in SKIP and _is_list(route, callback, name)
)


def test_the_walk_finds_list_endpoints():
    """The guard must not pass vacuously."""
    assert {"/api/v1/orders/", "/api/v1/stock-levels/", "/api/v1/analytics/revenue/", "/orders/",
            "/orders/export.csv", "/inventory/", "/inventory/export.csv", "/jobs/", "/shipments/"} <= set(LIST_ROUTES)


def _get(tenant, path: str, params: dict[str, str]):
    client = tenant.api if path.startswith("/api/") else tenant.web
    response = client.get(path, params)
    if response.streaming:  # an export fails while it streams, after the status line: read it all
        b"".join(response.streaming_content)
    return response


@pytest.mark.parametrize("path", LIST_ROUTES)
def test_bad_values_are_refused_not_crashed_on(merchant_a, path):
    with tenant_scope(merchant_a.merchant):
        for factory in load_all().values():
            factory(merchant_a)
    queries = [{name: value} for name in PARAMS for value in EACH_PARAM]
    queries += [dict.fromkeys(PARAMS, value) for value in BAD_VALUES]
    for query in queries:
        response = _get(merchant_a, path, query)
        assert response.status_code < 500, (path, query, response.status_code)
        if path.startswith("/api/") and response.status_code >= 400:
            body = response.json()
            assert set(body["error"]) == {"code", "message", "details"}, (path, query, body)
