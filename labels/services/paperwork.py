"""What goes on the warehouse's paper: packing slips of orders and a pick list of their lines. Neither
needs a carrier account (manual tracking keeps working without one)."""

from __future__ import annotations

from collections import defaultdict

from django.utils.translation import ngettext

from accounts.models import Merchant
from core.errors import NotFound, ValidationFailed
from inventory.models import StockLevel
from labels.pdf import PackingSlip, PickRow, SlipLine, packing_slips_pdf, pick_list_pdf
from orders.models import Order, OrderLine

ORDERS_MAX = 500


def _orders(merchant: Merchant, order_ids: list[int]) -> list[Order]:
    ids = list(dict.fromkeys(order_ids))
    if not ids or len(ids) > ORDERS_MAX:
        raise ValidationFailed(f"Give between 1 and {ORDERS_MAX} orders.",
                               details={"fields": {"order_ids": f"1 to {ORDERS_MAX} ids."}})
    by_pk = {o.pk: o for o in Order.objects.filter(merchant=merchant, pk__in=ids)}
    missing = [i for i in ids if i not in by_pk]
    if missing:
        raise NotFound("Some of these orders do not exist.", details={"order_ids": missing[:50]})
    return [by_pk[i] for i in ids]


def _ship_to(order: Order) -> list[str]:
    a = order.shipping_address or {}
    city = " ".join(p for p in (a.get("city", ""), a.get("region", ""), a.get("postal_code", "")) if p)
    return [p for p in (a.get("name") or order.customer_name, a.get("company", ""), a.get("line1", ""),
                        a.get("line2", ""), city, a.get("country", "")) if p]


def packing_slips(*, merchant: Merchant, order_ids: list[int]) -> bytes:
    """One page per order, in the order asked: what is still to ship on each (everything, once shipped)."""
    orders = _orders(merchant, order_ids)
    lines = defaultdict(list)
    for line in OrderLine.objects.filter(merchant=merchant, order__in=orders).order_by("id"):
        lines[line.order_id].append(line)
    slips = [PackingSlip(merchant_name=merchant.name, order_number=o.number or str(o.pk),
                         placed_on=o.placed_at.date().isoformat() if o.placed_at else "", ship_to=_ship_to(o),
                         lines=[SlipLine(sku=li.sku, title=li.title, quantity=li.quantity_outstanding or li.quantity)
                                for li in lines[o.pk]]) for o in orders]
    return packing_slips_pdf(slips)


def pick_list(*, merchant: Merchant, order_ids: list[int]) -> bytes:
    """Every unit still to ship on the chosen orders, summed by SKU and location and sorted by location
    then SKU, for one walk along the shelves. A product is picked where most of it is on hand (its
    default location when it has none); a line matching no product is listed under "?"."""
    orders = _orders(merchant, order_ids)
    lines = [li for li in OrderLine.objects.filter(merchant=merchant, order__in=orders).order_by("id")
             if li.quantity_outstanding > 0]
    product_ids = {li.product_id for li in lines if li.product_id}
    where: dict[int, tuple[int, str]] = {}
    for level in (StockLevel.objects.filter(merchant=merchant, product_id__in=product_ids)
                  .select_related("location").order_by("id")):
        best = where.get(level.product_id)
        if best is None or level.on_hand > best[0]:
            where[level.product_id] = (level.on_hand, level.location.code)
    totals: dict[tuple[str, str], list] = {}
    for li in lines:
        location = where.get(li.product_id, (0, "?"))[1] if li.product_id else "?"
        key = (location, li.sku.upper())
        row = totals.setdefault(key, [li.sku, li.title, 0])
        row[2] += li.quantity_outstanding
    rows = [PickRow(location=loc, sku=sku, title=title, quantity=qty)
            for (loc, _), (sku, title, qty) in sorted(totals.items())]
    units = sum(r.quantity for r in rows)
    return pick_list_pdf(rows, title="Pick list: " + ngettext("%(n)s order", "%(n)s orders", len(orders)) % {"n": len(orders)}
                         + ", " + ngettext("%(n)s unit", "%(n)s units", units) % {"n": units})
