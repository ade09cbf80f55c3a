"""Manual orders (phone, wholesale): checked whole before anything is written, then all or nothing.

`manual_order_check` names every problem where it belongs: the address field (by the country's rule in
core/address.py), the email, and each line (unknown SKU, over the stock available). The page shows
them on their fields and lines; `order_create_manual` (page and API) raises the first kind as before:
invalid_address / invalid_email 400, unknown_sku 400, out_of_stock 409, each with `details.lines`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.utils import timezone

from accounts.models import Merchant
from core.db import retry_transaction
from core.errors import ValidationFailed
from core.parsing import parse_money
from inventory import selectors as inventory_selectors
from inventory.errors import OutOfStock, UnknownSku
from orders.addresses import address_problems
from orders.channels import MANUAL
from orders.models import Order, OrderEvent, OrderLine, OrderTag
from orders.services import notifications
from orders.services.orders import _clean_tags
from orders.services.reservations import order_flags_refresh, reconcile_events, reservations_reconcile
from orders.services.ship_by import ship_by_for


@dataclass(frozen=True)
class ManualLine:
    sku: str
    quantity: int
    unit_price: Decimal | None = None  # None: the product's own price (a bundle's too), 0 when it has none


@dataclass
class ManualOrderCheck:
    """What manual_order_check found: the cleaned address, each line's product, and every problem."""

    address: dict[str, str] | None = None
    products: list = field(default_factory=list)  # one Product (or None) per line
    address_errors: dict[str, str] = field(default_factory=dict)
    email_error: str = ""
    line_errors: dict[int, dict[str, str]] = field(default_factory=dict)  # line index → {field: message}
    unknown: list[int] = field(default_factory=list)
    short: list[tuple[int, str, int, int]] = field(default_factory=list)  # (index, sku, requested, available)

    def __bool__(self) -> bool:
        return bool(self.address_errors or self.email_error or self.line_errors)

    def _lines(self) -> list[dict]:
        return [{"index": i, "row": i + 1, "field": f, "message": m}
                for i, errors in sorted(self.line_errors.items()) for f, m in errors.items()]

    def raise_first(self, lines: Sequence[ManualLine]) -> None:
        """The API's errors, one kind at a time, each naming every line it concerns."""
        if self.address_errors:
            raise ValidationFailed("Check the shipping address: " + " ".join(self.address_errors.values()),
                                   code="invalid_address", details={"fields": self.address_errors})
        if self.email_error:
            raise ValidationFailed(self.email_error, code="invalid_email", details={"field": "customer_email"})
        bad_quantity = [i for i, line in enumerate(lines) if line.quantity <= 0]
        if bad_quantity:
            raise ValidationFailed("Quantities must be positive.", details={"sku": lines[bad_quantity[0]].sku,
                                                                            "lines": self._lines()})
        if self.unknown:
            names = list(dict.fromkeys(lines[i].sku for i in self.unknown))
            first = self.unknown[0]
            raise UnknownSku(lines[first].sku, f"Unknown SKU: {', '.join(names)}.", skus=names, index=first,
                             row=first + 1)
        if self.short:
            index, sku, requested, available = self.short[0]
            raise OutOfStock(sku=sku, requested=requested, available=available, lines=self._lines())


def email_problem(value: str) -> str:
    """The one check of a manual order's customer e-mail (page, API, service): "" when it will do."""
    # Phone and wholesale customers give whatever address they have: its shape is checked, no more.
    if value and ("@" not in value or value.startswith("@") or value.endswith("@") or " " in value
                  or len(value) > 254):
        return "Enter an email address."
    return ""


def manual_order_check(*, merchant: Merchant, lines: Sequence[ManualLine], customer_name: str = "",
                       customer_email: str = "", shipping_address: Mapping[str, object] | None = None
                       ) -> ManualOrderCheck:
    """Every problem of a manual order at once, each where it belongs. Reads only. The address, when
    given (None: the order has none), is checked by its country's rule; its name defaults to the
    customer's. A line over the stock available is flagged on that line (every line of that product
    when several share it)."""
    check = ManualOrderCheck()
    if shipping_address is not None:
        given = dict(shipping_address)
        if not str(given.get("name") or "").strip():
            given["name"] = customer_name
        check.address, check.address_errors = address_problems(given)
    check.email_error = email_problem((customer_email or "").strip())
    for i, line in enumerate(lines):
        if line.quantity <= 0:
            check.line_errors.setdefault(i, {})["quantity"] = "Quantities must be positive."
    found = inventory_selectors.product_match_skus(merchant=merchant, skus=[li.sku for li in lines])
    check.products = [found.get(inventory_selectors.sku_key(li.sku)) for li in lines]
    for i, (line, product) in enumerate(zip(lines, check.products, strict=True)):
        if product is None:
            check.unknown.append(i)
            check.line_errors.setdefault(i, {})["sku"] = f"Unknown SKU {line.sku}." if line.sku else "Give the SKU."
    wanted: dict[int, list[int]] = {}
    for i, (line, product) in enumerate(zip(lines, check.products, strict=True)):
        if product is not None and line.quantity > 0:
            wanted.setdefault(product.pk, []).append(i)
    available = inventory_selectors.products_available(merchant=merchant, product_ids=wanted)
    for product_id, indexes in wanted.items():
        requested = sum(lines[i].quantity for i in indexes)
        if requested > available.get(product_id, 0):
            product = check.products[indexes[0]]
            left = available.get(product_id, 0)
            message = (f"Only {left} of {product.sku} available." if len(indexes) == 1 else
                       f"Only {left} of {product.sku} available for {requested} on {len(indexes)} lines.")
            for i in indexes:
                check.line_errors.setdefault(i, {})["quantity"] = message
                check.short.append((i, product.sku, requested, left))
    check.short.sort()
    return check


@retry_transaction
def order_create_manual(
    *, merchant: Merchant, lines: Sequence[ManualLine], actor=None, customer_name: str = "",
    customer_email: str = "", currency: str | None = None, shipping_address: Mapping[str, object] | None = None,
    shipping: Decimal = Decimal("0"), tax: Decimal = Decimal("0"), notes: str = "", tags: Sequence[str] = (),
) -> Order:
    """A phone or wholesale order. Unlike channel orders it is all or nothing: if any line cannot
    be fully reserved, OutOfStock is raised and nothing at all is written. The address, when given,
    must be one a carrier can deliver to (manual_order_check)."""
    if not lines:
        raise ValidationFailed("An order needs at least one line.")
    check = manual_order_check(merchant=merchant, lines=lines, customer_name=customer_name,
                               customer_email=customer_email, shipping_address=shipping_address)
    check.raise_first(lines)
    products = check.products
    # A line without a price takes its product's (a bundle carries its own price, not its components').
    lines = [li if li.unit_price is not None else replace(li, unit_price=product.price or Decimal("0"))
             for li, product in zip(lines, products, strict=True)]
    # Every amount, and the totals made of them, must fit the money columns (whatever the caller checked).
    shipping, tax = parse_money(shipping, field="shipping"), parse_money(tax, field="tax")
    line_totals = [parse_money(li.unit_price, field="unit_price") * li.quantity for li in lines]
    parse_money(sum(line_totals, Decimal("0")) + shipping + tax, field="total")
    subtotal = sum((Decimal(str(li.unit_price)) * li.quantity for li in lines), Decimal("0"))
    placed_at = timezone.now()
    order = Order.objects.create(
        merchant=merchant, channel=MANUAL, external_id="", number="pending", placed_at=placed_at,
        ship_by_at=ship_by_for(merchant=merchant, placed_at=placed_at),
        customer_name=customer_name[:255], customer_email=customer_email.strip().lower()[:254],
        shipping_address=check.address or {}, currency=(currency or merchant.currency).upper()[:3],
        subtotal_amount=subtotal, shipping_amount=shipping, tax_amount=tax, total_amount=subtotal + shipping + tax,
        notes=notes,
    )
    order.number = f"M-{order.pk}"
    order_lines = OrderLine.objects.bulk_create([
        OrderLine(merchant=merchant, order=order, sku=product.sku, title=product.title, product=product,
                  quantity=li.quantity, unit_price_amount=Decimal(str(li.unit_price)), position=i)
        for i, (li, product) in enumerate(zip(lines, products, strict=True))
    ])
    result = reservations_reconcile(merchant=merchant, order=order, lines=order_lines, actor=actor, partial=False)
    order_flags_refresh(order=order, lines=order_lines)
    order.save()
    if tags:
        OrderTag.objects.bulk_create([OrderTag(merchant=merchant, order=order, name=t) for t in _clean_tags(tags)])
    OrderEvent.objects.bulk_create([
        OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.CREATED, actor=actor,
                   message=f"Manual order {order.number} created"),
        *reconcile_events(order=order, result=result, actor=actor),
    ])
    notifications.notification_new_order(merchant=merchant, order=order)
    return order
