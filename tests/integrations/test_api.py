"""The integrations API: connect, read, change, disconnect; credentials accepted and never returned."""

from __future__ import annotations

import logging

import pytest

from accounts.tenancy import tenant_scope, unscoped
from integrations.models import Integration, Listing
from jobs.models import WorkerJob
from tests.inventory.helpers import make_product
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

SECRETS = ("shpat_very_secret_token_123", "shpss_client_secret_456")
BODY = {"channel": "shopify", "name": "Main shop",
        "credentials": {"shop_domain": "main-shop.myshopify.com", "access_token": SECRETS[0],
                        "client_secret": SECRETS[1]}}


def _walk(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    else:
        yield str(value)


def _no_secret_in(payload) -> bool:
    return not any(secret in text for text in _walk(payload) for secret in SECRETS)


def _create(tenant, **changes):
    return tenant.api.post("/api/v1/integrations/", {**BODY, **changes}, format="json")


def test_create_returns_the_integration_and_its_connect_job_never_the_credentials(merchant_a, caplog, settings):
    settings.WEBHOOK_BASE_URL = "https://hooks.example.com/"
    caplog.set_level(logging.DEBUG)

    response = _create(merchant_a)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["channel"], body["name"], body["status"]) == ("shopify", "Main shop", "active")
    with unscoped("test"):
        row = Integration.objects.get(pk=body["id"])
        job = WorkerJob.objects.get(pk=body["job"])
        endpoint = WebhookEndpoint.objects.get(integration=row)
    assert body["webhook_url"] == f"https://hooks.example.com/webhooks/shopify/{endpoint.token}/"
    assert (endpoint.merchant_id, endpoint.kind, endpoint.slug) == (merchant_a.merchant.pk, "channel", "shopify")
    assert (job.merchant_id, job.kind, job.params) == (merchant_a.merchant.pk, "integrations.connect",
                                                       {"integration_id": row.pk})
    assert row.credentials == {"shop_domain": "main-shop.myshopify.com", "access_token": SECRETS[0],
                               "client_secret": SECRETS[1]}
    assert "credentials" not in body and _no_secret_in(body)
    assert all(s not in caplog.text for s in SECRETS)
    assert all(s not in repr(row.credentials) for s in SECRETS)


def test_webhook_url_falls_back_to_the_request_host(merchant_a, settings):
    settings.WEBHOOK_BASE_URL = ""
    body = _create(merchant_a).json()
    assert body["webhook_url"].startswith("http://testserver/webhooks/shopify/")


@pytest.mark.parametrize("credentials,bad_field", [
    ({"shop_domain": "evil.example.com", "access_token": "t", "client_secret": "s"}, "shop_domain"),
    ({"shop_domain": "x.myshopify.com", "client_secret": "s"}, "access_token"),
    ({"shop_domain": "x.myshopify.com", "access_token": "t"}, "client_secret"),
    ({"shop_domain": "-x.myshopify.com", "access_token": "t", "client_secret": "s"}, "shop_domain"),
])
def test_bad_credential_forms_are_400_with_the_field_named(merchant_a, credentials, bad_field):
    response = _create(merchant_a, credentials=credentials)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert list(error["details"]["fields"]["credentials"]) == [bad_field]
    with tenant_scope(merchant_a.merchant):
        assert Integration.objects.count() == 0 and WorkerJob.objects.count() == 0


def test_unknown_channel_is_400(merchant_a):
    response = _create(merchant_a, channel="myspace")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]["fields"]) == ["channel"]


def test_patch_changes_name_and_push_rules_and_replaces_credentials_write_only(merchant_a):
    pk = _create(merchant_a).json()["id"]

    response = merchant_a.api.patch(f"/api/v1/integrations/{pk}/", {
        "name": "Renamed", "settings": {"buffer_units": 2, "percent": 80, "location_external_id": "gid-1"},
        "credentials": {"shop_domain": "main-shop.myshopify.com", "access_token": "shpat_new_one",
                        "client_secret": SECRETS[1]}}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["settings"] == {"backfill_days": 60, "buffer_units": 2, "percent": 80, "location_external_id": "gid-1"}
    assert _no_secret_in(body) and "shpat_new_one" not in str(body)
    with tenant_scope(merchant_a.merchant):
        assert Integration.objects.get(pk=pk).credentials["access_token"] == "shpat_new_one"


def test_patch_with_bad_push_rules_changes_nothing(merchant_a):
    pk = _create(merchant_a).json()["id"]

    response = merchant_a.api.patch(f"/api/v1/integrations/{pk}/", {"settings": {"percent": 150, "bogus": 1}},
                                    format="json")

    assert response.status_code == 400
    assert sorted(response.json()["error"]["details"]["fields"]) == ["bogus", "percent"]
    with tenant_scope(merchant_a.merchant):
        assert Integration.objects.get(pk=pk).settings == {"backfill_days": 60}


def test_delete_disconnects_and_keeps_the_row(merchant_a):
    pk = _create(merchant_a).json()["id"]

    response = merchant_a.api.delete(f"/api/v1/integrations/{pk}/")

    assert response.status_code == 200
    assert response.json()["status"] == "disconnected"
    assert merchant_a.api.get(f"/api/v1/integrations/{pk}/").json()["status"] == "disconnected"
    assert merchant_a.api.post(f"/api/v1/integrations/{pk}/sync/").json()["error"]["code"] == "integration_disconnected"


def test_every_response_is_free_of_credentials(merchant_a):
    pk = _create(merchant_a).json()["id"]
    for path in ("/api/v1/integrations/", f"/api/v1/integrations/{pk}/", f"/api/v1/integrations/{pk}/doctor/",
                 f"/api/v1/integrations/{pk}/listings/"):
        response = merchant_a.api.get(path)
        assert response.status_code == 200, path
        assert _no_secret_in(response.json()), path


def _listing(tenant, integration_id, external_id, sku):
    with tenant_scope(tenant.merchant):
        return Listing.objects.create(merchant=tenant.merchant, integration_id=integration_id,
                                      external_id=external_id, sku=sku)


def test_listings_filter_by_matched_and_map_to_a_product_by_sku(merchant_a):
    pk = _create(merchant_a).json()["id"]
    with tenant_scope(merchant_a.merchant):
        product = make_product(merchant_a.merchant, "TEE-RED", on_hand=1)
    unmatched = _listing(merchant_a, pk, "111", "tee-red-old")
    matched = _listing(merchant_a, pk, "222", "TEE-RED")
    with tenant_scope(merchant_a.merchant):
        Listing.objects.filter(pk=matched.pk).update(product=product)

    rows = merchant_a.api.get(f"/api/v1/integrations/{pk}/listings/?matched=false").json()["results"]
    assert [r["id"] for r in rows] == [unmatched.pk]

    response = merchant_a.api.post(f"/api/v1/integrations/{pk}/listings/{unmatched.pk}/map/", {"sku": "tee-red"},
                                   format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["product"], response.json()["product_sku"]) == (product.pk, "TEE-RED")
    assert merchant_a.api.get(f"/api/v1/integrations/{pk}/listings/?matched=false").json()["results"] == []

    unknown = merchant_a.api.post(f"/api/v1/integrations/{pk}/listings/{matched.pk}/map/", {"sku": "NOPE"},
                                  format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_sku"


def test_doctor_reports_what_the_tables_show(merchant_a):
    pk = _create(merchant_a).json()["id"]
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "KNOWN", on_hand=1)
        make_product(merchant_a.merchant, "UNLISTED", on_hand=1)
    _listing(merchant_a, pk, "1", "ghost")
    _listing(merchant_a, pk, "2", "KNOWN")
    _listing(merchant_a, pk, "3", "known")

    findings = {f["code"]: f for f in merchant_a.api.get(f"/api/v1/integrations/{pk}/doctor/").json()["findings"]}

    assert set(findings) == {"location_not_mapped", "listing_sku_unknown", "sku_listed_twice", "product_not_listed",
                             "no_orders_seen", "webhooks_unknown", "never_synced"}
    assert "ghost" in findings["listing_sku_unknown"]["message"]
    assert "known" in findings["sku_listed_twice"]["message"]
    assert "UNLISTED" in findings["product_not_listed"]["message"]
    assert all(f["fix"] and f["severity"] in ("error", "warning", "info") for f in findings.values())


def test_another_merchants_integration_listings_doctor_and_map_are_404(merchant_a, merchant_b):
    pk = _create(merchant_a).json()["id"]
    listing = _listing(merchant_a, pk, "9", "X")
    for method, path in [("get", f"/api/v1/integrations/{pk}/"), ("get", f"/api/v1/integrations/{pk}/doctor/"),
                         ("get", f"/api/v1/integrations/{pk}/listings/"),
                         ("post", f"/api/v1/integrations/{pk}/listings/{listing.pk}/map/"),
                         ("post", f"/api/v1/integrations/{pk}/sync/"), ("delete", f"/api/v1/integrations/{pk}/")]:
        response = getattr(merchant_b.api, method)(path, {"sku": "X"}, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
    assert merchant_b.api.get("/api/v1/integrations/").json()["results"] == []
    assert merchant_a.api.get(f"/api/v1/integrations/{pk}/").json()["status"] == "active"


def test_admin_masks_the_credentials(merchant_a, admin_client):
    pk = _create(merchant_a).json()["id"]

    change = admin_client.get(f"/admin/integrations/integration/{pk}/change/")
    listing = admin_client.get("/admin/integrations/integration/")

    assert change.status_code == 200 and listing.status_code == 200
    assert "access_token: ********" in change.content.decode()
    for page in (change, listing):
        assert all(s not in page.content.decode() for s in SECRETS)
