"""Amazon payloads → our normalized shapes, pure functions (channels-and-carriers.md §3.4.2, §3.7).

Orders come from Orders API v2026-01-01 (`searchOrders`, `getOrder`): camelCase, no `payload` wrapper, and
only the datasets asked for (`includedData`); we always ask for FULFILLMENT and PROCEEDS (without them there
is neither a fulfilment status nor a total) and RECIPIENT and BUYER (present only when the app has the role).
- external id and number: `orderId` (3-7-7); line external id: `orderItemId`; SKU: `product.sellerSku`;
- money: `{amount: decimal string, currencyCode}`; a line's price is `product.price.unitPrice` (a unit price,
  unlike v0's ItemPrice, which was the line total); subtotal is the lines' sum, shipping and tax the order's
  proceeds breakdowns `SHIPPING` and `TAX`, total `proceeds.grandTotal`;
- statuses (issue 16 §3): PENDING and PENDING_AVAILABILITY (payment not authorised, no prices yet) →
  `awaiting_payment` (reserves nothing); UNSHIPPED → "unfulfilled"; PARTIALLY_SHIPPED → "partially_fulfilled";
  SHIPPED → "fulfilled"; CANCELLED → cancelled; UNFULFILLABLE (Amazon-fulfilled orders only) → cancelled.
- Orders fulfilled by Amazon (AFN, `fulfilledBy: AMAZON`) are skipped (`order_from_amazon` answers None): they
  reserve and ship nothing of ours, and importing them as fulfilled would put Amazon's warehouse stock into
  our analytics as if it were the merchant's. (Analytics of AFN sales, if wanted, is a report of its own.)
- The ship-to address is `recipient.deliveryAddress`; without the role it is absent and the order arrives
  without an address (the doctor says why).
- `channel_data` keeps the marketplace id (confirmShipment needs it).

Listings (`searchListingsItems` with summaries, fulfillmentAvailability and issues): one listing per seller
SKU across the store's marketplaces (listing_merged); the SKU is its external id and its channel ref;
`channel_data` keeps the listing's `productType` per marketplace (a patchListingsItem must name the
listing's real one), and Amazon's ERROR issues on it (the doctor lists them).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.channels.base import ChannelListing
from orders.normalized import NormalizedAddress, NormalizedLine, NormalizedOrder

CHANNEL = "amazon"
FULFILLMENT_WORDS = {"UNSHIPPED": "unfulfilled", "PARTIALLY_SHIPPED": "partially_fulfilled", "SHIPPED": "fulfilled",
                     "PENDING": "pending", "PENDING_AVAILABILITY": "pending", "CANCELLED": "cancelled",
                     "UNFULFILLABLE": "unfulfillable"}
UNPAID = frozenset({"PENDING", "PENDING_AVAILABILITY"})
CANCELLING = frozenset({"CANCELLED", "UNFULFILLABLE"})
# The currency of an order that carries no money yet (a Pending order), by marketplace (§3.1).
MARKETPLACE_CURRENCY = {
    "ATVPDKIKX0DER": "USD", "A2EUQ1WTGCTBG2": "CAD", "A1AM78C64UM0Y8": "MXN", "A2Q3Y263D00KWC": "BRL",
    "A1F83G8C2ARO7P": "GBP", "A1PA6795UKMFR9": "EUR", "A13V1IB3VIYZZH": "EUR", "APJ6JRA9NG5V4": "EUR",
    "A1RKKUPIHCS9HS": "EUR", "A1805IZSGTT6HS": "EUR", "A2NODRKZP88ZB9": "SEK", "A1C3SOZRARQ6R3": "PLN",
    "AMEN7PMS3EDWL": "EUR", "A28R8C7NBKEWEA": "EUR", "A33AVAJ2PDY3EV": "TRY", "A2VIGQ35RCS4UG": "AED",
    "A17E79C6D8DWNP": "SAR", "ARBP9OOSHTCHU": "EGP", "A21TJRUUN4KGV": "INR", "AE08WJ6YKNBMC": "ZAR",
    "A1VC38T7YXB528": "JPY", "A39IBJ37TRP1C6": "AUD", "A19VAU5U5O7RUS": "SGD",
}
# The datasets every order read asks for.
INCLUDED_DATA = ["FULFILLMENT", "PROCEEDS", "RECIPIENT", "BUYER"]


class MappingError(ValueError):
    """A payload without what an order or a listing needs (id, times, a readable amount, its status)."""


def amount(money: Any, what: str) -> Decimal:
    """A Money object's amount ({"amount": "12.34", "currencyCode": ...}); absent is zero."""
    if not isinstance(money, Mapping) or money.get("amount") in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(money["amount"]))
    except InvalidOperation as exc:
        raise MappingError(f"{what} is not an amount: {money.get('amount')!r}") from exc


def when(value: Any, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingError(f"{what} is not a date: {value!r}") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def is_amazon_fulfilled(body: Mapping[str, Any]) -> bool:
    return _text((body.get("fulfillment") or {}).get("fulfilledBy")).upper() == "AMAZON"


def _breakdown(proceeds: Mapping[str, Any], kind: str) -> Decimal:
    return sum((amount(b.get("subtotal"), f"proceeds {kind}") for b in proceeds.get("breakdowns") or []
                if isinstance(b, Mapping) and b.get("type") == kind), Decimal("0"))


def _address(body: Mapping[str, Any]) -> NormalizedAddress:
    address = (body.get("recipient") or {}).get("deliveryAddress") or {}
    line2 = ", ".join(p for p in (_text(address.get("addressLine2")), _text(address.get("addressLine3"))) if p)
    return NormalizedAddress(name=_text(address.get("name")), company=_text(address.get("companyName")),
                             line1=_text(address.get("addressLine1")), line2=line2, city=_text(address.get("city")),
                             region=_text(address.get("stateOrRegion")), postal_code=_text(address.get("postalCode")),
                             country=_text(address.get("countryCode")).upper(), phone=_text(address.get("phone")))


def order_from_amazon(body: Mapping[str, Any]) -> NormalizedOrder | None:
    """A v2026-01-01 order (searchOrders' `orders[]` item or getOrder's `order`) as our order; None for an
    order fulfilled by Amazon (skipped, see the module docstring)."""
    order_id = _text(body.get("orderId"))
    if not order_id:
        raise MappingError("the order has no orderId")
    fulfillment = body.get("fulfillment")
    if not isinstance(fulfillment, Mapping) or not fulfillment.get("fulfillmentStatus"):
        raise MappingError(f"order {order_id} has no fulfillment dataset (ask for includedData=FULFILLMENT)")
    if is_amazon_fulfilled(body):
        return None
    status = _text(fulfillment["fulfillmentStatus"]).upper()
    marketplace = _text((body.get("salesChannel") or {}).get("marketplaceId"))
    proceeds = body.get("proceeds") or {}
    lines: list[NormalizedLine] = []
    currency = _text((proceeds.get("grandTotal") or {}).get("currencyCode"))
    for item in body.get("orderItems") or []:
        product = item.get("product") or {}
        unit = (product.get("price") or {}).get("unitPrice")
        currency = currency or _text((unit or {}).get("currencyCode"))
        item_id = _text(item.get("orderItemId"))
        if not item_id:
            raise MappingError(f"order {order_id} has an item without orderItemId")
        lines.append(NormalizedLine(external_id=item_id, sku=_text(product.get("sellerSku")),
                                    quantity=int(item.get("quantityOrdered") or 0),
                                    unit_price=amount(unit, f"order {order_id} unit price"),
                                    title=_text(product.get("title"))))
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    buyer = body.get("buyer") or {}
    address = _address(body)
    window = fulfillment.get("shipByWindow") or {}
    return NormalizedOrder(
        channel=CHANNEL, external_id=order_id, number=order_id,
        placed_at=when(body.get("createdTime"), "createdTime"),
        channel_updated_at=when(body.get("lastUpdatedTime"), "lastUpdatedTime") if body.get("lastUpdatedTime") else None,
        lines=lines, currency=currency or MARKETPLACE_CURRENCY.get(marketplace, "USD"),
        customer_name=_text(buyer.get("buyerName")) or address.name, customer_email=_text(buyer.get("buyerEmail")),
        shipping_address=address, subtotal=subtotal, shipping=_breakdown(proceeds, "SHIPPING"),
        tax=_breakdown(proceeds, "TAX"), total=amount(proceeds.get("grandTotal"), f"order {order_id} total"),
        payment_status="pending" if status in UNPAID else ("" if status in CANCELLING else "paid"),
        fulfillment_status=FULFILLMENT_WORDS.get(status, status.lower()),
        is_cancelled=status in CANCELLING, awaiting_payment=status in UNPAID,
        requested_service=_text(fulfillment.get("fulfillmentServiceLevel")),
        ship_by=when(window["latestDateTime"], "shipByWindow") if window.get("latestDateTime") else None,
        raw=dict(body), channel_data={"marketplace_id": marketplace})


def listing_from_amazon(item: Mapping[str, Any]) -> ChannelListing:
    """One searchListingsItems item (summaries and fulfillmentAvailability asked for) as a listing."""
    sku = _text(item.get("sku"))
    if not sku:
        raise MappingError("the listing has no sku")
    summary = next(iter(item.get("summaries") or []), {}) or {}
    quantity = next((entry.get("quantity") for entry in item.get("fulfillmentAvailability") or []
                     if entry.get("fulfillmentChannelCode") == "DEFAULT"), None)
    data: dict[str, Any] = {"product_type": _text(summary.get("productType")),
                            "marketplace_id": _text(summary.get("marketplaceId"))}
    issues = [f"{i.get('code')}: {i.get('message')}" for i in item.get("issues") or []
              if isinstance(i, Mapping) and i.get("severity") == "ERROR"]
    if issues:
        data["issues"] = issues
    return ChannelListing(external_id=sku, channel_ref=sku, sku=sku, title=_text(summary.get("itemName")),
                          quantity=int(quantity) if quantity is not None else None, channel_data=data)


def listing_merged(offers: Mapping[str, Mapping[str, Any]]) -> ChannelListing:
    """One SKU as one listing from its items in every marketplace that lists it ({marketplace id: item}, the
    first being where the import met it). `channel_data["marketplaces"]` maps each marketplace to the
    listing's product type there, so a push reaches every marketplace with the same quantity. The quantity
    shown is the highest of the marketplaces': one showing more than we pushed (the overselling case) is
    always seen as drift and pushed over; one showing less is corrected by the next change."""
    listings = {marketplace: listing_from_amazon(item) for marketplace, item in offers.items()}
    first_market, first = next(iter(listings.items()))
    quantities = [lst.quantity for lst in listings.values() if lst.quantity is not None]
    data: dict[str, Any] = {"product_type": first.channel_data["product_type"], "marketplace_id": first_market,
                            "marketplaces": {m: lst.channel_data["product_type"] for m, lst in listings.items()}}
    issues = [(f"{m}: {issue}" if len(listings) > 1 else issue)
              for m, lst in listings.items() for issue in lst.channel_data.get("issues", [])]
    if issues:
        data["issues"] = issues
    return ChannelListing(external_id=first.external_id, channel_ref=first.channel_ref, sku=first.sku,
                          title=first.title, quantity=max(quantities) if quantities else None, channel_data=data)


def listing_marketplaces(channel_data: Mapping[str, Any], default: list[str]) -> dict[str, str]:
    """{marketplace id: product type} a listing is pushed to; a listing imported before listings were read
    from every marketplace knows only its one (or, lacking even that, the store's first)."""
    markets = channel_data.get("marketplaces")
    if isinstance(markets, Mapping) and markets:
        return {str(m): str(t or "") for m, t in markets.items()}
    marketplace = str(channel_data.get("marketplace_id") or (default[0] if default else ""))
    return {marketplace: str(channel_data.get("product_type") or "")}


def submission_errors(answer: Mapping[str, Any]) -> str:
    """A patchListingsItem answer's refusal in words ("" when ACCEPTED/VALID): Amazon's ERROR issues."""
    if answer.get("status") in ("ACCEPTED", "VALID"):
        return ""
    issues = [f"{i.get('code')}: {i.get('message')}" for i in answer.get("issues") or []
              if isinstance(i, Mapping) and i.get("severity") == "ERROR"]
    return "; ".join(issues) or f"Amazon answered {answer.get('status') or 'nothing'}"


def report_errors(report: Mapping[str, Any]) -> dict[str, str]:
    """A listings feed processing report's ERROR issues per SKU, in words."""
    errors: dict[str, list[str]] = {}
    for issue in report.get("issues") or []:
        if isinstance(issue, Mapping) and issue.get("severity") == "ERROR" and issue.get("sku"):
            errors.setdefault(str(issue["sku"]), []).append(f"{issue.get('code')}: {issue.get('message')}")
    return {sku: "; ".join(words) for sku, words in errors.items()}
