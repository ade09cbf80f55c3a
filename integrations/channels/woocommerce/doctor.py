"""The connection doctor's WooCommerce findings (issue 15 §7), from our own tables: the REST API not found at
/wp-json/ (the last sync's error code: WordPress with "Plain" permalinks has no /wp-json/ route), keys that
may only read (the connection test's write probe refused: WooCommerce answers a read-only key with 401
`woocommerce_rest_authentication_error`, a user who may not edit with 403 `woocommerce_rest_cannot_edit`;
both count), listed products whose stock WooCommerce does not manage (our first push turns `manage_stock`
on; until then the store sells without counting) and a store reached over plain http. The generic doctor
adds the rest (refused keys, webhooks missing, disabled or deleted, unmatched SKUs, SKUs listed twice, sync
lag)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import ngettext

EXAMPLES = 5


def woocommerce_doctor(integration: Any, listings: Any) -> list[tuple[str, str, str, str]]:
    findings: list[tuple[str, str, str, str]] = []
    checkpoints = integration.checkpoints or {}
    if checkpoints.get("last_error_code") == "wp_json_missing":
        findings.append(("rest_api_not_found", "error",
                         "The store's REST API answered 404 at /wp-json/: WordPress serves it only with pretty "
                         "permalinks, so nothing syncs.",
                         "In WordPress → Settings → Permalinks choose anything but \"Plain\" and save, then run "
                         "the connection test."))
    unmanaged = list(listings.filter(channel_data__manage_stock=False, last_pushed_quantity__isnull=True)
                     .order_by("id").values_list("sku", "title"))
    if unmanaged:
        names = [sku or title for sku, title in unmanaged]
        shown = ", ".join(names[:EXAMPLES]) + (f" and {len(names) - EXAMPLES} more" if len(names) > EXAMPLES else "")
        findings.append(("stock_not_managed", "warning",
                         ngettext("%(n)s listed product has \"Manage stock\" off in WooCommerce, so the store sells it "
                                  "without counting: %(shown)s.",
                                  "%(n)s listed products have \"Manage stock\" off in WooCommerce, so the store "
                                  "sells them without counting: %(shown)s.", len(names)) % {"n": len(names), "shown": shown},
                         "Nothing to do: our first stock push turns \"Manage stock\" on with our quantity. Map "
                         "them to products if they are unmatched."))
    if urlsplit(str((integration.credentials or {}).get("store_url") or "")).scheme == "http":
        findings.append(("store_not_https", "warning",
                         "The store is reached over plain http (allowed only for this server's private hosts).",
                         "Serve the store over https and reconnect it with its https:// address."))
    if "write" in (checkpoints.get("missing_scopes") or []):
        findings.append(("keys_read_only", "error",
                         "The REST API key may only read: stock and tracking cannot be written to the store.",
                         "In WooCommerce → Settings → Advanced → REST API, give the key Read/Write permissions "
                         "(or make a new one) and reconnect."))
    return findings
