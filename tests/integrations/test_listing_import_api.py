"""Issue 14 §3.2's API: a product from a listing (with opening stock), and "import unmatched listings as
products" as a job; another merchant's ids are 404, bad bodies 400, both in the OpenAPI schema."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from integrations.models import Integration, Listing
from inventory.models import Product, StockLevel, StockMovement
from jobs.models import WorkerJob
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db


def _store(tenant) -> Integration:
    with tenant_scope(tenant.merchant):
        return make_integration(tenant.merchant)


def _listing(tenant, integration, external_id: str, sku: str, quantity: int | None = None) -> Listing:
    with tenant_scope(tenant.merchant):
        return Listing.objects.create(merchant=tenant.merchant, integration=integration, external_id=external_id,
                                      sku=sku, title=f"Title {sku}", channel_quantity=quantity)


def test_create_product_from_a_listing_opens_with_the_stores_quantity(merchant_a):
    store = _store(merchant_a)
    listing = _listing(merchant_a, store, "11", "MUG-BLUE", quantity=52)

    response = merchant_a.api.post(f"/api/v1/integrations/{store.pk}/listings/{listing.pk}/create-product/")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["product_sku"], body["opened"], body["orders_matched"]) == ("MUG-BLUE", 52, 0)
    with tenant_scope(merchant_a.merchant):
        assert StockLevel.objects.get(product__sku="MUG-BLUE").on_hand == 52
        assert StockMovement.objects.get(product__sku="MUG-BLUE").reason == "opening"
    again = merchant_a.api.post(f"/api/v1/integrations/{store.pk}/listings/{listing.pk}/create-product/")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "listing_already_mapped")


def test_import_chosen_or_all_unmatched_listings_runs_as_a_job(merchant_a, django_capture_on_commit_callbacks):
    store = _store(merchant_a)
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "CAP", on_hand=3)
    mug = _listing(merchant_a, store, "1", "MUG", quantity=4)
    cap = _listing(merchant_a, store, "2", "cap", quantity=9)  # our CAP exists already: mapped, not created
    nosku = _listing(merchant_a, store, "3", "", quantity=1)
    later = _listing(merchant_a, store, "4", "PLATE", quantity=2)

    with django_capture_on_commit_callbacks(execute=True):
        chosen = merchant_a.api.post(f"/api/v1/integrations/{store.pk}/listings/import/",
                                     {"listing_ids": [mug.pk, cap.pk, nosku.pk]}, format="json")

    assert chosen.status_code == 202, chosen.content
    with tenant_scope(merchant_a.merchant):
        job = WorkerJob.objects.get(pk=chosen.json()["job"])
        assert (job.kind, job.status) == ("integrations.listings_import", WorkerJob.Status.SUCCEEDED)
        assert {k: job.result[k] for k in ("created", "mapped", "skipped", "failed", "opened_units")} == {
            "created": 1, "mapped": 1, "skipped": 1, "failed": 0, "opened_units": 4}
        assert dict(Listing.objects.filter(pk__in=[mug.pk, cap.pk]).values_list("sku", "product__sku")) == {
            "MUG": "MUG", "cap": "CAP"}
        assert StockLevel.objects.get(product__sku="CAP").on_hand == 3  # CAP had a history: ours stands
        assert not Product.objects.filter(sku="PLATE").exists()
    page = merchant_a.web.get(f"/jobs/{job.pk}/").content.decode()
    assert "1 product created, 1 listing mapped" in page and "Opening stock from the store: 4 units" in page

    with django_capture_on_commit_callbacks(execute=True):
        everything = merchant_a.api.post(f"/api/v1/integrations/{store.pk}/listings/import/",
                                         {"all_unmatched": True}, format="json")

    assert everything.status_code == 202
    with tenant_scope(merchant_a.merchant):
        assert Listing.objects.get(pk=later.pk).product.sku == "PLATE"
        assert StockLevel.objects.get(product__sku="PLATE").on_hand == 2


@pytest.mark.parametrize("body", [{}, {"listing_ids": []}, {"listing_ids": ["1"]}, {"listing_ids": [True]},
                                  {"all_unmatched": False}, {"all_unmatched": "yes"},
                                  {"listing_ids": [1], "all_unmatched": True}, {"listings": [1]}, [1, 2]])
def test_import_refuses_a_bad_body_with_400(merchant_a, body):
    store = _store(merchant_a)

    response = merchant_a.api.post(f"/api/v1/integrations/{store.pk}/listings/import/", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_failed"
    with tenant_scope(merchant_a.merchant):
        assert not WorkerJob.objects.filter(kind="integrations.listings_import").exists()


def test_another_merchants_store_and_listings_are_404(merchant_a, merchant_b):
    store_a, store_b = _store(merchant_a), _store(merchant_b)
    theirs = _listing(merchant_a, store_a, "1", "MUG", quantity=4)

    for path, body in [(f"/api/v1/integrations/{store_a.pk}/listings/{theirs.pk}/create-product/", None),
                       (f"/api/v1/integrations/{store_b.pk}/listings/{theirs.pk}/create-product/", None),
                       (f"/api/v1/integrations/{store_a.pk}/listings/import/", {"all_unmatched": True}),
                       (f"/api/v1/integrations/{store_b.pk}/listings/import/", {"listing_ids": [theirs.pk]})]:
        response = merchant_b.api.post(path, body, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found"), path
    with tenant_scope(merchant_a.merchant):
        assert Listing.objects.get(pk=theirs.pk).product_id is None
    with tenant_scope(merchant_b.merchant):
        assert not WorkerJob.objects.filter(kind="integrations.listings_import").exists()


def test_both_endpoints_are_in_the_schema(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]

    assert "post" in paths["/api/v1/integrations/{id}/listings/{listing_id}/create-product/"]
    assert "post" in paths["/api/v1/integrations/{id}/listings/import/"]


def test_the_import_job_runs_once_at_a_time_and_the_sweeper_can_send_it_again(merchant_a,
                                                                              django_capture_on_commit_callbacks):
    from integrations.listings import listings_import_run, listings_import_start
    from jobs import services as job_services

    store = _store(merchant_a)
    mug = _listing(merchant_a, store, "1", "MUG", quantity=4)
    with tenant_scope(merchant_a.merchant):
        # Given: the import job, whose send is remembered for the sweeper, taken by a first worker (lease live)
        with django_capture_on_commit_callbacks(execute=False):
            job = listings_import_start(merchant=merchant_a.merchant, actor=merchant_a.user, integration=store,
                                        listing_ids=[mug.pk])
        assert (job.task_name, job.task_kwargs) == ("integrations.listings_import", {"job_id": job.pk})
        job_services.job_start(job=job)
        # When: a second delivery of the task arrives meanwhile
        second = listings_import_run(merchant=merchant_a.merchant, job_id=job.pk)
        # Then: it leaves the job to the first worker: no product made twice, no listing touched
        assert second == "running"
        assert not Product.objects.filter(sku="MUG").exists()
        assert Listing.objects.get(pk=mug.pk).product_id is None


def test_a_listing_whose_sku_is_the_stores_own_alias_is_mapped_by_the_import_and_by_hand(
        merchant_a, django_capture_on_commit_callbacks):
    from inventory import services as inventory_services
    from orders.channels import store_key

    # Given: the store's SKU "blue-mug-shop" remembered as an alias of our MUG for this store only
    store = _store(merchant_a)
    with tenant_scope(merchant_a.merchant):
        mug = make_product(merchant_a.merchant, "MUG", on_hand=3)
        inventory_services.sku_alias_remember(merchant=merchant_a.merchant, sku="blue-mug-shop", product=mug,
                                              actor=merchant_a.user, store_key=store_key(store.pk))
    imported = _listing(merchant_a, store, "1", "blue-mug-shop", quantity=4)
    by_hand = _listing(merchant_a, store, "2", "other-sku", quantity=4)

    # When: the import takes the first listing, and the merchant maps the second by typing the alias
    with django_capture_on_commit_callbacks(execute=True):
        job = merchant_a.api.post(f"/api/v1/integrations/{store.pk}/listings/import/",
                                  {"listing_ids": [imported.pk]}, format="json")
    mapped = merchant_a.api.post(f"/api/v1/integrations/{store.pk}/listings/{by_hand.pk}/map/",
                                 {"sku": "BLUE-MUG-SHOP"}, format="json")

    # Then: both point at MUG, found through the store's alias as the listing import itself finds it
    assert job.status_code == 202 and mapped.status_code == 200, (job.content, mapped.content)
    with tenant_scope(merchant_a.merchant):
        result = WorkerJob.objects.get(pk=job.json()["job"]).result
        assert (result["mapped"], result["failed"], result["created"]) == (1, 0, 0)
        assert dict(Listing.objects.filter(integration=store).values_list("external_id", "product__sku")) == {
            "1": "MUG", "2": "MUG"}
