"""Workflow actions on one order, manual orders, tags and notes, SKU mapping and bulk actions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Merchant
from core.db import retry_transaction
from core.errors import ValidationFailed
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.selectors import sku_key
from orders.channels import store_key
from orders.models import Order, OrderEvent, OrderLine, OrderStatus, OrderTag
from orders.services.reservations import order_flags_refresh, reconcile_events, reservations_reconcile
from orders.workflow import (
    INACTIVE,
    cancel_remaining,
    check_transition,
    order_lock_with_lines,
    status_after_fulfillment,
    status_change_words,
    units_words,
    unstocked_quantities,
)

MAX_TAGS = 20


def _status_event(order: Order, previous: str, actor, message: str = "") -> OrderEvent:
    return OrderEvent(merchant_id=order.merchant_id, order=order, kind=OrderEvent.Kind.STATUS, actor=actor,
                      message=message or status_change_words(previous, order.status), data={"from": previous, "to": order.status})


@retry_transaction
def order_cancel(*, merchant: Merchant, order: Order, actor=None, reason: str = "") -> Order:
    """Cancel what is not shipped yet: its reservations go back to stock, pending shipments go away."""
    order, lines = order_lock_with_lines(merchant=merchant, order_id=order.pk)
    check_transition(order.status, OrderStatus.CANCELLED)
    previous = order.status
    cancel_remaining(merchant=merchant, order=order, lines=lines)
    order.status, order.cancelled_at = OrderStatus.CANCELLED, timezone.now()
    result = reservations_reconcile(merchant=merchant, order=order, lines=lines, actor=actor)
    order_flags_refresh(order=order, lines=lines)
    order.save()
    OrderEvent.objects.bulk_create([
        OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.CANCELLED, actor=actor,
                   message=reason[:500] or "Cancelled"),
        _status_event(order, previous, actor),
        *reconcile_events(order=order, result=result, actor=actor),
    ])
    return order


@retry_transaction
def order_hold(*, merchant: Merchant, order: Order, actor=None, reason: str = "") -> Order:
    """Stop an order from being shipped; it keeps its reservations."""
    order, _lines = order_lock_with_lines(merchant=merchant, order_id=order.pk)
    check_transition(order.status, OrderStatus.ON_HOLD)
    previous = order.status
    order.status, order.hold_reason = OrderStatus.ON_HOLD, reason[:255]
    order.save(update_fields=["status", "hold_reason", "updated_at"])
    OrderEvent.objects.create(merchant=merchant, order=order, kind=OrderEvent.Kind.STATUS, actor=actor,
                              message=f"Put on hold{': ' + reason if reason else ''}",
                              data={"from": previous, "to": order.status})
    return order


@retry_transaction
def order_release_hold(*, merchant: Merchant, order: Order, actor=None) -> Order:
    """Back from hold to whatever its shipments make it (unfulfilled or partially fulfilled)."""
    order, lines = order_lock_with_lines(merchant=merchant, order_id=order.pk)
    target = status_after_fulfillment(lines)
    check_transition(order.status, target)
    if order.status != OrderStatus.ON_HOLD:
        return order
    previous = order.status
    order.status, order.hold_reason = target, ""
    order.save(update_fields=["status", "hold_reason", "updated_at"])
    OrderEvent.objects.bulk_create([_status_event(order, previous, actor, "Hold released")])
    return order


@retry_transaction
def order_return(*, merchant: Merchant, order: Order, actor=None, restock: bool = True, reason: str = "") -> Order:
    """The customer sent the shipped units back: restock them (or not) and release the rest, in one
    inventory call. `reason` (why, when not the merchant's own action) goes on the timeline.

    Only units that left stock here come back to it: those the channel shipped beyond our stock
    (ShipmentLine.quantity_unstocked) never left it, and restocking them would count units nobody has
    (pushed to every channel and sold twice). The timeline names them."""
    order, lines = order_lock_with_lines(merchant=merchant, order_id=order.pk)
    check_transition(order.status, OrderStatus.RETURNED)
    previous = order.status
    unstocked = unstocked_quantities(merchant=merchant, order=order)
    returns = [inventory_services.ReturnRequest(reference=line.reference, product_id=line.product_id,
                                                quantity=line.quantity_fulfilled - unstocked.get(line.pk, 0),
                                                restock=restock)
               for line in lines if line.product_id and line.quantity_fulfilled > unstocked.get(line.pk, 0)]
    not_in_stock = [{"line": line.pk, "sku": line.sku, "units": unstocked[line.pk]}
                    for line in lines if unstocked.get(line.pk)]
    # What never shipped never will: cancelled, as order_cancel does (analytics and the page count on it).
    cancel_remaining(merchant=merchant, order=order, lines=lines)
    order.status = OrderStatus.RETURNED
    result = reservations_reconcile(merchant=merchant, order=order, lines=lines, actor=actor, returns=returns)
    order_flags_refresh(order=order, lines=lines)
    order.save()
    OrderEvent.objects.bulk_create([
        OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.RETURNED, actor=actor,
                   message=("Returned" + (" and restocked" if restock else " (not restocked)")
                            + (f": {reason}" if reason else "")
                            + (f" ({units_words(not_in_stock)} not restocked: they never left stock here)"
                               if restock and not_in_stock else ""))[:500],
                   data={"not_in_stock": not_in_stock} if not_in_stock else {}),
        _status_event(order, previous, actor),
        *reconcile_events(order=order, result=result, actor=actor),
    ])
    return order


def _clean_tags(tags: Iterable[str]) -> list[str]:
    clean = sorted({t.strip().lower()[:64] for t in tags if t and t.strip()})
    if len(clean) > MAX_TAGS:
        raise ValidationFailed(f"At most {MAX_TAGS} tags per order.")
    return clean


@retry_transaction
def order_update(*, merchant: Merchant, order: Order, actor=None, tags: Sequence[str] | None = None,
                 notes: str | None = None) -> Order:
    """Tags and internal notes: the only fields of an order the merchant edits directly."""
    order, _lines = order_lock_with_lines(merchant=merchant, order_id=order.pk)
    changed = []
    if notes is not None and notes != order.notes:
        order.notes = notes
        order.save(update_fields=["notes", "updated_at"])
        changed.append("notes")
    if tags is not None:
        wanted = set(_clean_tags(tags))
        have = set(OrderTag.objects.filter(merchant=merchant, order=order).values_list("name", flat=True))
        if wanted != have:
            OrderTag.objects.filter(merchant=merchant, order=order, name__in=have - wanted).delete()
            OrderTag.objects.bulk_create([OrderTag(merchant=merchant, order=order, name=t) for t in wanted - have])
            changed.append("tags")
    if changed:
        OrderEvent.objects.create(merchant=merchant, order=order, kind=OrderEvent.Kind.EDITED, actor=actor,
                                  message=" and ".join(changed) + " edited")
    return order


def order_tag_add(*, merchant: Merchant, order: Order, tag: str, actor=None) -> Order:
    tags = _clean_tags([tag])
    if not tags:
        raise ValidationFailed("A tag cannot be empty.")
    with transaction.atomic():
        OrderTag.objects.bulk_create([OrderTag(merchant=merchant, order=order, name=tags[0])], ignore_conflicts=True)
    return order


def order_line_map_sku(*, merchant: Merchant, line: OrderLine, product_sku: str, actor=None,
                       all_open_lines: bool = True, remember: bool = False,
                       remember_store_only: bool = False) -> list[Order]:
    """Tell us which product an unmatched SKU is; reserve stock for it now.

    With all_open_lines, every open line with the same SKU (case-insensitive) is mapped too,
    so one answer clears every order waiting on that SKU. With remember, the SKU becomes an alias of
    the product (inventory's SkuAlias) so later orders with it match on arrival: for the line's own
    store with remember_store_only, else for every store. Returns the orders changed.
    Each order is mapped and reserved in its own transaction (oldest first gets the stock first):
    holding every order's lock and stock rows at once would deadlock against a shipment of one of them.
    """
    product = inventory_selectors.product_resolve_skus(merchant=merchant, skus=[product_sku])[0]
    if remember and not inventory_selectors.product_map_by_sku(merchant=merchant, skus=[line.sku]):
        order = Order.objects.filter(merchant=merchant, pk=line.order_id).only("integration_id").get()
        inventory_services.sku_alias_remember(
            merchant=merchant, sku=line.sku, product=product, actor=actor,
            store_key=store_key(order.integration_id) if remember_store_only else "")
    order_ids = {line.order_id}
    if all_open_lines:
        order_ids |= set(
            OrderLine.objects.filter(merchant=merchant, product__isnull=True)
            .alias(sku_l=Lower("sku")).filter(sku_l=line.sku.lower())
            .exclude(order__status__in=INACTIVE)
            .values_list("order_id", flat=True).distinct()
        )
    oldest_first = Order.objects.filter(merchant=merchant, pk__in=order_ids).order_by("placed_at", "pk")
    changed = []
    for order_id in oldest_first.values_list("pk", flat=True):
        order = _map_sku_on_order(merchant=merchant, order_id=order_id, line=line, product=product,
                                  all_open_lines=all_open_lines, actor=actor)
        if order is not None:
            changed.append(order)
    return changed


def order_lines_map_store_sku(*, merchant: Merchant, integration_id: int, sku: str, product, actor=None) -> list[Order]:
    """A store's listing was just mapped to `product`: every open line of that store's orders still waiting
    on `sku` (case-insensitive) is matched to it and reserved now, each order in its own transaction,
    oldest first (as order_line_map_sku). Returns the orders changed."""
    sku = (sku or "").strip()
    if not sku:
        return []
    waiting = (OrderLine.objects.filter(merchant=merchant, product__isnull=True, order__integration_id=integration_id)
               .alias(sku_l=Lower("sku")).filter(sku_l=sku.lower()).exclude(order__status__in=INACTIVE))
    order_ids = set(waiting.values_list("order_id", flat=True).distinct())
    oldest_first = Order.objects.filter(merchant=merchant, pk__in=order_ids).order_by("placed_at", "pk")
    changed = []
    for order_id in oldest_first.values_list("pk", flat=True):
        order = _map_sku_on_order(merchant=merchant, order_id=order_id, line=None, sku=sku, product=product,
                                  all_open_lines=True, actor=actor)
        if order is not None:
            changed.append(order)
    return changed


@retry_transaction
def _map_sku_on_order(*, merchant: Merchant, order_id: int, line: OrderLine | None, product, all_open_lines: bool,
                      actor, sku: str = "") -> Order | None:
    sku = line.sku if line is not None else sku
    order, lines = order_lock_with_lines(merchant=merchant, order_id=order_id)
    mapped = [li for li in lines if li.product_id is None and
              ((line is not None and li.pk == line.pk) or (all_open_lines and sku_key(li.sku) == sku_key(sku)))]
    if not mapped:
        return None
    for li in mapped:
        li.product = product
    OrderLine.objects.bulk_update(mapped, ["product", "updated_at"])
    result = reservations_reconcile(merchant=merchant, order=order, lines=lines, actor=actor)
    order_flags_refresh(order=order, lines=lines)
    order.save()
    OrderEvent.objects.bulk_create([
        OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.SKU_MAPPED, actor=actor,
                   message=f"SKU {sku} mapped to {product.sku}", data={"product": product.pk}),
        *reconcile_events(order=order, result=result, actor=actor),
    ])
    return order
