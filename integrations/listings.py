"""Listings meet products: what mapping a store's listing to a product does beyond the mapping.

- Opening stock (issue 14, §3.1): a product with no stock history has no truth of ours yet, so the
  first match of a listing to it takes the store's quantity as opening stock (inventory's
  `stock_opening`, reason `opening`, reference the store), plus the units the store's open orders
  still need from it: the channel's own count leaves those out (they are committed there), and they are
  reserved here right after, so our available equals the channel's and the first push changes nothing.
- The store's SKU becomes an alias of the product (inventory's SkuAlias, one system for listings and
  order lines), and the store's orders waiting on that SKU are matched and reserved at once.
- "Import unmatched listings as products" (all or chosen) runs as a WorkerJob doing the same per listing.

Inventory knows no store and orders no channel: this module names the store to both by
`orders.channels.store_key`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import ngettext

from accounts.models import Merchant, User
from core.enqueue import enqueue_on_commit
from core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from integrations.models import Integration, Listing
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from jobs.models import WorkerJob
from jobs.services import JobRun, JobStopped, job_create, job_run
from orders import selectors as orders_selectors
from orders import services as orders_services
from orders.channels import store_key

logger = logging.getLogger(__name__)

IMPORT_KIND = "integrations.listings_import"
IMPORT_TASK = "integrations.listings_import"
IMPORT_MAX_IDS = 10_000


def integration_location_ids(integration: Integration) -> list[int] | None:
    """Our locations that feed this store (settings["location_ids"]), or None for all of them."""
    ids = (integration.settings or {}).get("location_ids")
    return [int(i) for i in ids] if ids else None


@dataclass(frozen=True)
class Matched:
    """What matching one listing did: the opening stock written (0: the product had a history, or the
    channel's quantity is unknown), the alias remembered, the orders matched."""

    listing: Listing
    opened: int = 0
    alias: bool = False
    orders: int = 0


def listing_opening(*, merchant: Merchant, integration: Integration, listing: Listing, sku: str,
                    actor: User | None = None) -> int:
    """Write the opening stock of the listing's product when it has no stock history and the store's
    quantity is known: the channel's quantity plus what this store's open orders still need (waiting on
    `sku`, or short of this product). Returns the units written."""
    if listing.product_id is None or listing.channel_quantity is None or listing.channel_quantity < 0:
        return 0
    if inventory_services.product_has_stock_history(merchant=merchant, product_id=listing.product_id):
        return 0
    waiting = orders_selectors.store_units_waiting(merchant=merchant, integration_id=integration.pk, sku=sku,
                                                   product_id=listing.product_id)
    locations = integration_location_ids(integration)
    return inventory_services.stock_opening(
        merchant=merchant, product_id=listing.product_id, quantity=listing.channel_quantity + waiting,
        location_id=locations[0] if locations else None, reference=store_key(integration.pk), actor=actor,
        note=f"Opening stock from {integration.name}: {listing.channel_quantity} on the store"
             + (f" + {waiting} for its open orders" if waiting else ""))


def listing_matched(*, merchant: Merchant, integration: Integration, listing: Listing,
                    actor: User | None = None) -> Matched:
    """After a listing was mapped to its product (committed): opening stock, the store's alias of the
    listing's SKU, and the store's orders waiting on it matched and reserved. Each step commits on its own,
    the opening first, so the orders' reservations find the units the channel had already promised them."""
    product = listing.product
    sku = (listing.sku or "").strip()
    opened = listing_opening(merchant=merchant, integration=integration, listing=listing, sku=sku, actor=actor)
    alias = False
    if sku and sku.lower() != product.sku.lower() and not inventory_selectors.product_map_by_sku(
            merchant=merchant, skus=[sku]):
        try:
            inventory_services.sku_alias_remember(merchant=merchant, sku=sku, product=product, actor=actor,
                                                  store_key=store_key(integration.pk))
            alias = True
        except ValidationFailed:  # a SKU too long to remember: the mapping stands, its orders still match below
            logger.info("integrations.listing.alias_refused",
                        extra={"merchant_id": merchant.pk, "listing_id": listing.pk})
    orders = orders_services.order_lines_map_store_sku(merchant=merchant, integration_id=integration.pk, sku=sku,
                                                        product=product, actor=actor) if sku else []
    logger.info("integrations.listing.matched", extra={
        "merchant_id": merchant.pk, "integration_id": integration.pk, "listing_id": listing.pk,
        "product_id": product.pk, "opened": opened, "alias": alias, "orders": len(orders)})
    return Matched(listing=listing, opened=opened, alias=alias, orders=len(orders))


@transaction.atomic
def listing_push_retry(*, merchant: Merchant, actor: User | None, listing: Listing) -> Listing:
    """"Push again": the merchant fixed what the channel refused, so the refused quantity may be sent again;
    the store's push runs after commit (it sends this listing whatever it shows, and anything else due).
    Conflict for a listing the channel has not refused, or one that cannot be pushed."""
    row = Listing.objects.select_for_update(of=("self",)).select_related("integration").get(
        merchant=merchant, pk=listing.pk)
    if row.integration.status != Integration.Status.ACTIVE:
        raise Conflict("This store is not syncing.", code="integration_not_active")
    if row.product_id is None or row.is_push_disabled:
        raise Conflict("This listing is not pushed (map it to a product, or turn its pushes on).",
                       code="listing_not_pushed")
    if row.refused_quantity is None:
        raise Conflict("The channel has not refused this listing's last push.", code="listing_not_refused")
    row.refused_quantity = None
    row.save(update_fields=["refused_quantity", "updated_at"])
    enqueue_on_commit("integrations.listings_push", merchant_id=merchant.pk, integration_id=row.integration_id)
    logger.info("integrations.listing.push_retried",
                extra={"merchant_id": merchant.pk, "listing_id": row.pk, "actor_id": getattr(actor, "pk", None)})
    return row


def _fields_error(message: str, errors: dict[str, list[str]]) -> ValidationFailed:
    return ValidationFailed(message, details={"fields": errors})


def listing_map(*, merchant: Merchant, actor: User | None, listing: Listing, sku: str) -> Matched:
    """Point a listing at one of our products by SKU (case-insensitive, a remembered alias counts: the
    listing's store's own before the merchant-wide one, as the listing import matches); an
    unknown SKU is a 400 `unknown_sku`. Then listing_matched: opening stock, alias, waiting orders."""
    if not isinstance(sku, str) or not sku.strip() or "\x00" in sku:
        raise _fields_error("The SKU is not valid.", {"sku": ["Give one of your products' SKUs."]})
    product = inventory_selectors.product_resolve_skus(merchant=merchant, skus=[sku.strip()],
                                                       store_key=store_key(listing.integration_id))[0]
    with transaction.atomic():
        row = Listing.objects.select_for_update(of=("self",)).select_related("integration").get(
            merchant=merchant, pk=listing.pk)
        row.product = product
        row.save(update_fields=["product", "updated_at"])
    return listing_matched(merchant=merchant, integration=row.integration, listing=row, actor=actor)


def listing_create_product(*, merchant: Merchant, actor: User | None, listing: Listing) -> Matched:
    """"Create product" on an unmatched listing: a product with the listing's SKU and title, the listing
    mapped to it (one transaction), then listing_matched: the store's quantity becomes the new product's
    opening stock, so the first push leaves the store's count as it is. A listing without a SKU cannot
    become a product (400); a SKU we already have is inventory's `duplicate_sku` (map the listing instead)."""
    with transaction.atomic():
        row = Listing.objects.select_for_update(of=("self",)).select_related("integration").get(
            merchant=merchant, pk=listing.pk)
        if row.product_id is not None:
            raise Conflict("This listing is already mapped to a product.", code="listing_already_mapped")
        if not row.sku.strip():
            raise _fields_error("This listing has no SKU.",
                                {"sku": ["Give the variant a SKU on the channel, or map the listing to a product."]})
        product = inventory_services.product_create(merchant=merchant, sku=row.sku.strip(),
                                                    title=(row.title or row.sku)[:255])
        row.product = product
        row.save(update_fields=["product", "updated_at"])
    logger.info("integrations.listing.product_created",
                extra={"merchant_id": merchant.pk, "listing_id": row.pk, "product_id": product.pk})
    return listing_matched(merchant=merchant, integration=row.integration, listing=row, actor=actor)


def listings_auto_matched(*, merchant: Merchant, integration: Integration, external_ids: Sequence[str],
                          quantities: dict[str, int]) -> int:
    """Listings an import matched by SKU for the first time: each product without stock history opens with
    the store's quantity (`quantities` by external id, as the page listed them). Returns the products opened."""
    opened = 0
    rows = list(Listing.objects.filter(merchant=merchant, integration=integration, external_id__in=list(external_ids),
                                       product__isnull=False).select_related("product").order_by("id"))
    # One query finds the products with no truth of ours; a product with a history (the usual case) costs nothing.
    no_truth = inventory_selectors.products_without_stock_history(merchant=merchant,
                                                                  product_ids={row.product_id for row in rows})
    for row in (row for row in rows if row.product_id in no_truth):
        if row.channel_quantity is None and row.external_id in quantities:
            row.channel_quantity = quantities[row.external_id]
        if listing_opening(merchant=merchant, integration=integration, listing=row, sku=row.sku.strip()):
            opened += 1
    return opened


# ---------------------------------------------------------------- the import job


def _listing_ids(value: Any) -> list[int]:
    if not isinstance(value, list) or not value:
        raise _fields_error("Choose listings to import.", {"listing_ids": ["Send a non-empty list of listing ids."]})
    if len(value) > IMPORT_MAX_IDS:
        raise _fields_error("Too many listings.", {"listing_ids": [f"At most {IMPORT_MAX_IDS:,} ids at once."]})
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in value):
        raise _fields_error("The listing ids are not valid.", {"listing_ids": ["Listing ids are positive integers."]})
    return sorted(set(value))


@transaction.atomic
def listings_import_start(*, merchant: Merchant, actor: User | None, integration: Integration,
                          listing_ids: Any = None, all_unmatched: Any = None) -> WorkerJob:
    """"Import unmatched listings as products", all of them (`all_unmatched=True`) or those chosen
    (`listing_ids`): a job the merchant can watch. A chosen id that is not one of this store's listings is
    a 404, as another merchant's would be; a listing already matched is skipped by the job."""
    if integration.status == Integration.Status.DISCONNECTED:
        raise Conflict("This store is disconnected.", code="integration_disconnected")
    if (listing_ids is None) == (all_unmatched is None):
        raise _fields_error("Send either listing_ids or all_unmatched.",
                            {"listing_ids": ["Send either listing_ids or all_unmatched: true."]})
    if all_unmatched is not None:
        if all_unmatched is not True:
            raise _fields_error("all_unmatched must be true.", {"all_unmatched": ["Send true, or listing_ids."]})
        total = Listing.objects.filter(merchant=merchant, integration=integration, product__isnull=True).count()
        params: dict[str, Any] = {"integration_id": integration.pk, "all_unmatched": True}
    else:
        ids = _listing_ids(listing_ids)
        found = set(Listing.objects.filter(merchant=merchant, integration=integration, pk__in=ids)
                    .values_list("pk", flat=True))
        if len(found) != len(ids):
            raise NotFound("No such listing.", details={"listing_ids": [i for i in ids if i not in found][:20]})
        total = len(ids)
        params = {"integration_id": integration.pk, "listing_ids": ids}
    return job_create(merchant=merchant, kind=IMPORT_KIND, total=total, created_by=actor, max_attempts=3,
                      description=ngettext("Import %(n)s listing of %(store)s as a product",
                                           "Import %(n)s listings of %(store)s as products", total)
                      % {"n": total, "store": integration.name}, params=params,
                      task_name=IMPORT_TASK)


def listings_import_run(*, merchant: Merchant, job_id: int) -> str:
    """The import job: each chosen listing still unmatched becomes a product (or is mapped to the product
    that has its SKU already), with opening stock, alias and waiting orders as listing_matched does. Each
    listing commits on its own, so a retried job skips the ones done; one listing's refusal is counted and
    named in the result, never stops the others. jobs.services.job_run owns the job's life: one worker at
    a time, its lease kept while it runs, the sweeper's re-send after a lost send or a killed worker."""

    def body(run: JobRun) -> dict[str, Any]:
        job = run.job
        integration = Integration.objects.filter(merchant=merchant, pk=job.params.get("integration_id")).first()
        if integration is None:
            raise JobStopped("The store no longer exists.", outcome="missing")
        return _listings_import(merchant=merchant, run=run, integration=integration)

    return job_run(merchant=merchant, job_id=job_id, body=body, kind=IMPORT_KIND)


def _listings_import(*, merchant: Merchant, run: JobRun, integration: Integration) -> dict[str, Any]:
    job = run.job
    result = {"created": 0, "mapped": 0, "skipped": 0, "failed": 0, "opened_units": 0, "orders_matched": 0,
              "errors": []}
    chosen = Listing.objects.filter(merchant=merchant, integration=integration)
    if job.params.get("all_unmatched"):  # those unmatched when the job runs (a retry skips what it did)
        chosen = chosen.filter(product__isnull=True)
    else:
        chosen = chosen.filter(pk__in=list(job.params.get("listing_ids") or []))
    for done, listing in enumerate(chosen.order_by("id").iterator(), start=1):
        try:
            if listing.product_id is not None or not listing.sku.strip():
                result["skipped"] += 1
                continue
            existing = inventory_selectors.product_match_skus(merchant=merchant, skus=[listing.sku],
                                                              store_key=store_key(integration.pk))
            if existing:
                matched = listing_map(merchant=merchant, actor=job.created_by, listing=listing, sku=listing.sku)
                result["mapped"] += 1
            else:
                matched = listing_create_product(merchant=merchant, actor=job.created_by, listing=listing)
                result["created"] += 1
            result["opened_units"] += matched.opened
            result["orders_matched"] += matched.orders
        except ApplicationError as exc:
            result["failed"] += 1
            if len(result["errors"]) < 50:
                result["errors"].append({"listing_id": listing.pk, "sku": listing.sku, "error": exc.message})
        finally:
            if done % 50 == 0:
                run.progress(done)
    return result
