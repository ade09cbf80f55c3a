"""Integrations' reads: a merchant's stores, their listings, and what the connection doctor can tell
from our own tables."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.models import Merchant
from core.errors import NotFound
from integrations.models import Integration, Listing
from integrations.registry import channel_packages
from inventory.models import Product
from inventory.registry import ProductListing, ReferenceLink
from jobs.models import WorkerJob
from jobs.registry import JobSummary
from orders.channels import StoreAlert
from orders.models import Order, OrderStatus

SYNC_LAG_WARNING = timedelta(hours=24)
SYNC_STALE = timedelta(minutes=30)  # polls run every few minutes: this long without one is a problem
EXAMPLES = 5


def integration_list(*, merchant: Merchant) -> QuerySet[Integration]:
    return Integration.objects.filter(merchant=merchant).order_by("id")


def integration_get(*, merchant: Merchant, pk: int) -> Integration:
    try:
        return Integration.objects.get(merchant=merchant, pk=pk)
    except Integration.DoesNotExist:
        raise NotFound("No such integration.") from None


def integration_choices(merchant: Merchant) -> list[tuple[int, str]]:
    """The merchant's stores as (id, name) for the order list's store filter (orders.channels)."""
    choices = []
    for pk, name, channel, status in integration_list(merchant=merchant).values_list("pk", "name", "channel", "status"):
        label = getattr(channel_packages.get(channel), "label", channel)
        gone = ", disconnected" if status == Integration.Status.DISCONNECTED else ""
        choices.append((pk, f"{name} ({label}{gone})"))
    return choices


def listing_list(*, merchant: Merchant, integration: Integration, matched: bool | None = None) -> QuerySet[Listing]:
    qs = Listing.objects.filter(merchant=merchant, integration=integration).select_related("product")
    if matched is not None:
        qs = qs.filter(product__isnull=not matched)
    return qs.order_by("id")


def listing_first_push_changes(*, merchant: Merchant, integration: Integration, limit: int = 100) -> list[Listing]:
    """Listings whose first push changed the store's quantity (from -> to), newest first: what connecting
    did at the store, for the integration page."""
    return list(Listing.objects.filter(merchant=merchant, integration=integration, first_pushed_at__isnull=False)
                .exclude(first_push_from=F("first_push_to")).select_related("product")
                .order_by("-first_pushed_at", "-id")[:limit])


def product_listings(merchant: Merchant, product_id: int) -> list[ProductListing]:
    """Each store's listing of a product with the last quantity pushed and when: the product page's
    "In your stores" (inventory.registry.product_listing_sources)."""
    rows = (Listing.objects.filter(merchant=merchant, product_id=product_id).select_related("integration")
            .order_by("integration__name", "integration_id", "id")[:100])
    return [ProductListing(store=row.integration.name, title=row.title, sku=row.sku,
                           last_pushed_quantity=row.last_pushed_quantity, last_pushed_at=row.last_pushed_at,
                           channel_quantity=row.channel_quantity, error=row.error,
                           url=reverse("integration-detail", args=[row.integration_id]))
            for row in rows]


def listings_import_summary(job: WorkerJob) -> JobSummary:
    """The job page's words for "Import unmatched listings as products"."""
    r = job.result or {}
    created, mapped = r.get("created", 0), r.get("mapped", 0)
    units, matched = r.get("opened_units", 0), r.get("orders_matched", 0)
    lines = [ngettext("%(n)s product created", "%(n)s products created", created) % {"n": f"{created:,}"} + ", "
             + ngettext("%(n)s listing mapped to a product that had its SKU",
                        "%(n)s listings mapped to a product that had their SKU", mapped) % {"n": f"{mapped:,}"}
             + f", {r.get('skipped', 0):,} skipped (no SKU or already matched).",
             "Opening stock from the store: " + ngettext("%(n)s unit", "%(n)s units", units) % {"n": f"{units:,}"}
             + "; " + ngettext("%(n)s waiting order matched and reserved.", "%(n)s waiting orders matched and reserved.",
                               matched) % {"n": f"{matched:,}"}]
    if r.get("failed"):
        lines.append(f"{r['failed']:,} failed: " + "; ".join(
            f"{e.get('sku') or e.get('listing_id')}: {e.get('error')}" for e in r.get("errors") or []))
    integration_id = (job.params or {}).get("integration_id")
    links = [("The store", reverse("integration-detail", args=[integration_id]))] if integration_id else []
    return JobSummary(lines=lines, links=links)


def integration_jobs(*, merchant: Merchant, integration: Integration, limit: int = 10) -> list[WorkerJob]:
    """The newest jobs of one store: every integrations job (connect, sync, and whatever kinds the sync
    engine adds) carries the store's id in its params."""
    return list(WorkerJob.objects.filter(merchant=merchant, kind__startswith="integrations.",
                                         params__integration_id=integration.pk).order_by("-id")[:limit])


def listing_get(*, merchant: Merchant, integration: Integration, pk: int) -> Listing:
    try:
        return Listing.objects.get(merchant=merchant, integration=integration, pk=pk)
    except Listing.DoesNotExist:
        raise NotFound("No such listing.") from None


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str  # "error" | "warning" | "info"
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def integration_doctor(*, merchant: Merchant, integration: Integration) -> list[Finding]:
    """What is wrong with a connection, as far as our own tables tell (the live checks of credentials,
    scopes and webhook subscriptions are the sync engine's). Each finding says how to fix it."""
    findings: list[Finding] = _status_findings(integration)
    package = channel_packages.get(integration.channel)
    if package is not None and package.doctor is not None:
        findings += [Finding(*found) for found in package.doctor(
            integration, Listing.objects.filter(merchant=merchant, integration=integration))]
    if (package is None or package.has_locations) and not integration.settings.get("location_external_id"):
        findings.append(Finding("location_not_mapped", "error",
                                "No channel location is mapped, so stock cannot be pushed.",
                                "Choose the store location that ships your stock in the integration's settings."))

    listings = Listing.objects.filter(merchant=merchant, integration=integration)
    products = Product.objects.filter(merchant=merchant)
    unknown = list(
        listings.exclude(sku="").filter(product__isnull=True)
        .annotate(known=Exists(products.annotate(lsku=Lower("sku")).filter(lsku=Lower(OuterRef("sku")))))
        .filter(known=False).order_by("id").values_list("sku", flat=True)
    )
    if unknown:
        findings.append(Finding("listing_sku_unknown", "warning",
                                ngettext("%(n)s listing has a SKU that matches no product: %(ex)s.",
                                         "%(n)s listings have a SKU that matches no product: %(ex)s.",
                                         len(unknown)) % {"n": len(unknown), "ex": _examples(unknown)},
                                "Create the products, or map each listing to a product."))
    no_sku = listings.filter(sku="").count()
    if no_sku:
        findings.append(Finding("listing_without_sku", "warning", ngettext("%(n)s listing has no SKU.", "%(n)s listings have no SKU.", no_sku) % {"n": no_sku},
                                "Give the variants a SKU on the channel, or map each listing to a product."))
    twice = list(listings.exclude(sku="").annotate(lsku=Lower("sku")).values("lsku")
                 .annotate(n=Count("id")).filter(n__gt=1).order_by("lsku").values_list("lsku", flat=True))
    if twice:
        findings.append(Finding("sku_listed_twice", "warning",
                                ngettext("%(n)s SKU is listed more than once: %(ex)s.", "%(n)s SKUs are listed more than once: %(ex)s.",
                                         len(twice)) % {"n": len(twice), "ex": _examples(twice)},
                                "Keep one listing per SKU on the channel, or give the duplicates their own SKUs."))
    unlisted = list(
        products.filter(is_active=True).exclude(Exists(listings.filter(product=OuterRef("pk"))))
        .exclude(Exists(listings.filter(product__isnull=True).annotate(lsku=Lower("sku"))
                        .filter(lsku=Lower(OuterRef("sku")))))
        .order_by("id").values_list("sku", flat=True)
    ) if listings.exists() else []
    if unlisted:
        findings.append(Finding("product_not_listed", "info",
                                ngettext("%(n)s active product has no listing on this store: %(ex)s.",
                                         "%(n)s active products have no listing on this store: %(ex)s.",
                                         len(unlisted)) % {"n": len(unlisted), "ex": _examples(unlisted)},
                                "List them on the channel if you sell them there; otherwise nothing to do."))

    findings += _refusal_findings(merchant, integration, listings)
    findings += _lag_findings(integration)
    findings += _sync_findings(integration)
    return findings


def _refusal_findings(merchant: Merchant, integration: Integration, listings: QuerySet[Listing]) -> list[Finding]:
    """What the channel refused or withheld, whatever the channel: listings whose last push it refused (an
    answer, or a bulk feed's report, read back later), and open orders that came without a ship-to address
    (a channel that hands addresses only to apps with a customer-data permission)."""
    findings: list[Finding] = []
    refused = list(listings.exclude(error="").order_by("id").values_list("sku", "error")[:EXAMPLES + 1])
    if refused:
        count = listings.exclude(error="").count()
        shown = "; ".join(f"{sku or '(no SKU)'}: {error[:120]}" for sku, error in refused[:EXAMPLES])
        findings.append(Finding("listing_push_refused", "warning",
                                ngettext("The channel refused the last push of %(n)s listing: %(shown)s.",
                                         "The channel refused the last push of %(n)s listings: %(shown)s.",
                                         count) % {"n": count, "shown": shown},
                                "Fix each listing on the channel as its error says, then push it again."))
    no_address = (Order.objects.filter(merchant=merchant, integration=integration,
                                       status__in=(OrderStatus.UNFULFILLED, OrderStatus.PARTIALLY_FULFILLED))
                  .filter(Q(shipping_address={}) | Q(shipping_address__line1="")).count())
    if no_address:
        findings.append(Finding("orders_without_address", "warning",
                                ngettext("%(n)s open order arrived without a ship-to address.",
                                         "%(n)s open orders arrived without a ship-to address.", no_address)
                                % {"n": no_address},
                                "The channel withheld the address: give the app its permission (role) for "
                                "customers' addresses, reconnect, then run \"sync now\"."))
    return findings


def _status_findings(integration: Integration) -> list[Finding]:
    """What the store row itself says: refused credentials, disconnected, the last sync's error."""
    findings: list[Finding] = []
    if integration.status == Integration.Status.NEEDS_RECONNECT:
        findings.append(Finding("needs_reconnect", "error", "The store refused our credentials.",
                                "Reconnect the store (OAuth, or enter a new access token)."))
    elif integration.status == Integration.Status.DISCONNECTED:
        findings.append(Finding("disconnected", "info", "The store is disconnected: nothing syncs.",
                                "Connect the store again to resume syncing."))
    if integration.last_error:
        findings.append(Finding("last_error", "warning", f"The last sync failed: {integration.last_error[:300]}",
                                "Run the connection test; if it fails, reconnect the store."))
    return findings


def _lag_findings(integration: Integration) -> list[Finding]:
    if integration.last_order_seen_at is None:
        return [Finding("no_orders_seen", "info", "No order has arrived from this store yet.",
                        "Wait for the first sync; if orders exist on the channel, run \"sync now\".")]
    lag = timezone.now() - integration.last_order_seen_at
    if lag > SYNC_LAG_WARNING:
        return [Finding("sync_lag", "warning", f"The last order arrived {int(lag.total_seconds() // 3600)} hours ago.",
                        "If the store has newer orders, run \"sync now\" and check the last error.")]
    return []


def integration_alerts(merchant: Merchant) -> list[StoreAlert]:
    """The home page's stores with sync problems or lag (orders.channels.store_alert_sources): the doctor's
    findings that need no query beyond the store rows (status, last error, lag, the sync checkpoints), errors
    and warnings only, one alert per store naming its worst finding. One query, whatever the stores hold.
    No connected store at all is an alert too: the page must never say the stores are syncing when there
    are none."""
    alerts = []
    connected = list(integration_list(merchant=merchant).exclude(status=Integration.Status.DISCONNECTED))
    if not connected:
        return [StoreAlert(store="No store connected",
                           message="Connect a store to bring its orders in and keep its stock in step.",
                           severity="warning", url=reverse("integration-list"))]
    for integration in connected:
        findings = [f for f in (*_status_findings(integration), *_lag_findings(integration),
                                *_sync_findings(integration)) if f.severity in ("error", "warning")]
        if findings:
            worst = min(findings, key=lambda f: f.severity != "error")
            more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
            alerts.append(StoreAlert(store=integration.name, message=worst.message + more, severity=worst.severity,
                                     url=reverse("integration-detail", args=[integration.pk])))
    return alerts


def _sync_findings(integration: Integration) -> list[Finding]:
    """What the sync engine's last runs left in the checkpoints: scopes, webhooks, lag, drift."""
    cp = integration.checkpoints or {}
    # what the last connection test found that only a live call tells (the channel's own words and fix)
    findings: list[Finding] = [Finding(*found) for found in cp.get("connection_findings") or []]
    missing = cp.get("missing_scopes") or []
    if missing:
        findings.append(Finding("scopes_missing", "error",
                                f"The store did not grant: {', '.join(missing)}.",
                                "Reconnect the store and approve every permission the app asks for."))
    webhooks = cp.get("webhooks")
    if webhooks is None:
        findings.append(Finding("webhooks_unknown", "info", "Webhook subscriptions have not been checked yet.",
                                "The sync engine checks and re-registers them on its next poll."))
    elif not webhooks.get("ok"):
        reason = webhooks.get("reason") or f"missing: {', '.join(webhooks.get('missing') or [])}"
        findings.append(Finding("webhooks_missing", "warning",
                                f"Webhooks are not registered ({reason}); orders arrive only by polling.",
                                "Set WEBHOOK_BASE_URL to this server's public https address, then run \"sync now\"."))
    if webhooks and (webhooks.get("reactivated") or webhooks.get("recreated")):
        parts = []
        if webhooks.get("reactivated"):
            parts.append(f"disabled our webhooks for {', '.join(webhooks['reactivated'])}")
        if webhooks.get("recreated"):
            parts.append(f"deleted our webhooks for {', '.join(webhooks['recreated'])}")
        findings.append(Finding("webhooks_restored", "warning",
                                f"The store had {' and '.join(parts)}; the last sync made them work again. Orders "
                                "changed meanwhile arrived by polling.",
                                "A store disables a webhook whose deliveries keep failing: check that "
                                "WEBHOOK_BASE_URL reaches this server from the store (and its firewall)."))
    if integration.status == Integration.Status.ACTIVE:
        if integration.last_success_at is None:
            findings.append(Finding("never_synced", "info", "The store has not completed a sync yet.",
                                    "Wait for the connect job, or run \"sync now\"."))
        else:
            lag = timezone.now() - integration.last_success_at
            if lag > SYNC_STALE:
                findings.append(Finding("sync_stale", "warning",
                                        f"The last successful sync was {int(lag.total_seconds() // 60)} minutes ago.",
                                        "Check the last error; run the connection test and \"sync now\"."))
    drift = int(cp.get("drift_count") or 0)
    if drift:
        findings.append(Finding("quantity_drift", "info",
                                ngettext("The channel's quantity differed from ours once; ours was pushed over it.",
                                         "The channel's quantity differed from ours %(n)s times; ours was pushed over it.",
                                         drift) % {"n": drift},
                                "Change stock in Switchboard, not on the channel, so both stay the same."))
    return findings


def _examples(values: list[str]) -> str:
    shown = ", ".join(values[:EXAMPLES])
    return shown + (f" and {len(values) - EXAMPLES} more" if len(values) > EXAMPLES else "")


def has_store(merchant) -> bool:
    """Setup checklist fact: a store is connected (one disconnected since no longer counts)."""
    return Integration.objects.filter(merchant=merchant).exclude(status=Integration.Status.DISCONNECTED).exists()


def store_reference_links(merchant: Merchant, references: list[str]) -> dict[str, ReferenceLink]:
    """Ledger references "integration:<id>" (orders.channels.store_key: a store's opening stock): the store's
    name and page."""
    ids = {}
    for ref in references:
        tail = ref.split(":", 1)[1]
        if tail.isascii() and tail.isdigit() and 0 < int(tail) < 2**63:
            ids[ref] = int(tail)
    names = dict(Integration.objects.filter(merchant=merchant, pk__in=set(ids.values())).values_list("pk", "name"))
    return {ref: ReferenceLink(label=names[pk], url=reverse("integration-detail", args=[pk]))
            for ref, pk in ids.items() if pk in names}
