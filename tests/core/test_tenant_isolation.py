"""The two guards that keep tenants apart as the code grows.

1. Every API route that takes an object id is walked from the URL resolver (not a hand-kept
   list): merchant B gets 404 on merchant A's object for every method the route serves, the
   object is unchanged, and B's lists never contain it.
2. Every model with a foreign key to Merchant, found through the app registry, is tenant-owned
   and raises outside a scope for .all(), .exists(), .count() and friends.
"""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django_scopes import ScopeError
from rest_framework.request import Request

from accounts.models import Merchant
from accounts.tenancy import TenantOwnedModel, tenant_scope, unscoped
from tests.factories import load_all
from tests.routes import walk_routes

API_PREFIX = "api/v1/"


def _api_routes():
    routes = []
    for route, callback in walk_routes():
        clean = route.lstrip("^")
        if not clean.startswith(API_PREFIX) or "format" in route or not hasattr(callback, "cls"):
            continue
        routes.append((clean, callback))
    return routes


def _path_for(route: str, pk: int | None) -> str:
    path = re.sub(r"\(\?P<pk>[^)]*\)", str(pk), route)
    path = re.sub(r"<(?:int:|str:|id:)?pk>", str(pk), path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\.", ".")


def _methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:  # DRF adds "head" to a viewset's actions once it has served a request: it has no body to check
        return sorted(m.upper() for m in actions if m not in ("head", "options"))
    return sorted(m.upper() for m in callback.cls.http_method_names if hasattr(callback.cls, m) and m not in ("options", "head"))


DETAIL_ROUTES = [(r, c) for r, c in _api_routes() if "pk" in r]
LIST_ROUTES = [(r, c) for r, c in _api_routes() if "pk" not in r and (getattr(c, "actions", None) or {}).get("get") == "list"]


def _model_of(callback, tenant) -> type:
    view = callback.cls()
    django_request = RequestFactory().get("/")
    django_request.merchant = tenant.merchant
    django_request.user = tenant.user
    view.request = Request(django_request)
    view.kwargs, view.args, view.format_kwarg = {}, (), None
    view.action = (getattr(callback, "actions", None) or {}).get("get", "retrieve")
    with tenant_scope(tenant.merchant):
        return view.get_queryset().model


def test_the_walk_finds_object_routes():
    """The guard must not pass vacuously."""
    assert any("api-tokens" in r for r, _ in DETAIL_ROUTES)
    assert any("jobs" in r for r, _ in LIST_ROUTES)


@pytest.mark.django_db
@pytest.mark.parametrize("route,callback", DETAIL_ROUTES, ids=[r for r, _ in DETAIL_ROUTES])
def test_other_merchants_object_is_404_for_every_method(route, callback, merchant_a, merchant_b):
    factories = load_all()
    model = _model_of(callback, merchant_a)
    assert model in factories, f"no factory for {model.__name__}: register one in tests/<app>/factories.py"
    with tenant_scope(merchant_a.merchant):
        obj = factories[model](merchant_a)
    with unscoped("test snapshot"):
        before = model_to_dict(model.objects.get(pk=obj.pk))
    path = _path_for(route, obj.pk)

    for method in _methods(callback):
        response = getattr(merchant_b.api, method.lower())(path, data={}, format="json")
        assert response.status_code == 404, f"{method} {path} as merchant B gave {response.status_code}"
        assert response.json()["error"]["code"] == "not_found"

    with unscoped("test snapshot"):
        assert model_to_dict(model.objects.get(pk=obj.pk)) == before, f"merchant B changed A's {model.__name__}"
    if "GET" in _methods(callback) and (getattr(callback, "actions", None) or {}).get("get") == "retrieve":
        assert merchant_a.api.get(path).status_code == 200, "the owner must see its own object"


@pytest.mark.django_db
@pytest.mark.parametrize("route,callback", LIST_ROUTES, ids=[r for r, _ in LIST_ROUTES])
def test_other_merchants_objects_never_listed(route, callback, merchant_a, merchant_b):
    factories = load_all()
    model = _model_of(callback, merchant_a)
    assert model in factories, f"no factory for {model.__name__}: register one in tests/<app>/factories.py"
    with tenant_scope(merchant_a.merchant):
        obj = factories[model](merchant_a)
    path = _path_for(route, None)

    own = merchant_a.api.get(path)
    theirs = merchant_b.api.get(path)

    assert own.status_code == 200 and theirs.status_code == 200
    assert obj.pk in [row.get("id") for row in own.json()["results"]]
    assert obj.pk not in [row.get("id") for row in theirs.json()["results"]]


def _tenant_models():
    return [
        m for m in apps.get_models()
        if any(getattr(f, "related_model", None) is Merchant and f.many_to_one for f in m._meta.get_fields())
    ]


def test_every_model_pointing_at_a_merchant_is_tenant_owned():
    models = _tenant_models()
    assert len(models) >= 3
    offenders = [m.__name__ for m in models if not issubclass(m, TenantOwnedModel)]
    assert offenders == []


QUERIES = {
    "all": lambda m: list(m.objects.all()),
    "exists": lambda m: m.objects.exists(),
    "filter_exists": lambda m: m.objects.filter(pk=1).exists(),
    "count": lambda m: m.objects.count(),
    "first": lambda m: m.objects.first(),
    "get": lambda m: m.objects.get(pk=1),
    "values": lambda m: list(m.objects.values("pk")),
    "exclude": lambda m: list(m.objects.exclude(pk=1)),
    "aggregate": lambda m: m.objects.aggregate(),
}


@pytest.mark.django_db
@pytest.mark.parametrize("query", QUERIES, ids=list(QUERIES))
@pytest.mark.parametrize("model", _tenant_models(), ids=lambda m: m._meta.label)
def test_tenant_query_outside_a_scope_raises(model, query):
    with pytest.raises(ScopeError):
        QUERIES[query](model)


@pytest.mark.django_db
def test_inside_a_scope_a_merchant_sees_only_its_rows(merchant_a, merchant_b):
    from accounts.models import ApiToken

    with tenant_scope(merchant_b.merchant):
        rows = list(ApiToken.objects.all())

    assert {t.merchant_id for t in rows} == {merchant_b.merchant.pk}


def test_tenant_scope_refuses_none():
    with pytest.raises(ValueError):
        with tenant_scope(None):
            pass
