"""Item 9 of issue 18: what cannot be undone is confirmed with a reason. The order page's "Mark returned"
goes through the bulk cancel's confirmation page; the API's single-order cancel refuses without a reason
(400 reason_required, as the bulk does); notification emails write dates in the merchant's zone and the
pages' format and name channels, not slugs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail

from accounts.tenancy import tenant_scope
from inventory.models import Product
from orders import services
from orders.models import Order, OrderEvent
from tests.orders.test_bulk_safe import _orders, _statuses

pytestmark = pytest.mark.django_db


def _shipped(tenant) -> Order:
    order = _orders(tenant, 1)[0]
    with tenant_scope(tenant.merchant):
        services.order_fulfill_all(merchant=tenant.merchant, order=order, reason="test")
    return order


def _on_hand(tenant, sku: str = "A-1") -> int:
    with tenant_scope(tenant.merchant):
        product = Product.objects.get(merchant=tenant.merchant, sku=sku)
        return sum(product.levels.values_list("on_hand", flat=True))


def test_mark_returned_asks_first_with_a_reason_like_the_bulk_cancel(merchant_a, merchant_b):
    order = _shipped(merchant_a)
    url = f"/orders/{order.pk}/return/"
    assert f'action="{url}"' in merchant_a.web.get(f"/orders/{order.pk}/").content.decode()
    before = _on_hand(merchant_a)
    # when: the order page's button is posted → the confirmation page, nothing changed
    r = merchant_a.web.post(url, {"restock": "on"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "Mark returned: 1 order?" in html and "#1" in html and "This cannot be undone." in html
    assert "Marked returned here only: Shopify is not told." in html
    assert "The shipped units go back on hand" in html
    assert f'action="{url}"' in html and 'name="restock" value="on"' in html
    assert _statuses(merchant_a, [order]) == ["fulfilled"]
    # not restocking is said in words and not carried on as a restock
    html = merchant_a.web.post(url, {}).content.decode()
    assert "not restocked" in html and 'name="restock"' not in html
    # when: confirmed without a reason → the page again (400), nothing changed
    r = merchant_a.web.post(url, {"confirmed": "yes", "reason": "  ", "restock": "on"})
    assert r.status_code == 400 and "Give a reason" in r.content.decode()
    assert _statuses(merchant_a, [order]) == ["fulfilled"]
    # another merchant cannot reach it even confirmed
    assert merchant_b.web.post(url, {"confirmed": "yes", "reason": "x", "restock": "on"}).status_code == 404
    assert _statuses(merchant_a, [order]) == ["fulfilled"]
    # when: confirmed with a reason → returned and restocked, the reason on the order's event
    r = merchant_a.web.post(url, {"confirmed": "yes", "reason": "Wrong size", "restock": "on"})
    assert (r.status_code, r["Location"]) == (302, f"/orders/{order.pk}/")
    assert _statuses(merchant_a, [order]) == ["returned"]
    assert (before, _on_hand(merchant_a)) == (9_998, 10_000)  # both units shipped come back
    with tenant_scope(merchant_a.merchant):
        assert list(OrderEvent.objects.filter(merchant=merchant_a.merchant, order=order,
                                              kind=OrderEvent.Kind.RETURNED).values_list("message", flat=True)
                    ) == ["Returned and restocked: Wrong size"]


def test_the_bulk_bar_does_not_take_return(merchant_a):
    order = _shipped(merchant_a)
    r = merchant_a.web.post("/orders/bulk/", {"action": "return", "ids": [order.pk], "confirmed": "yes",
                                              "reason": "x"})
    assert r.status_code == 302
    assert _statuses(merchant_a, [order]) == ["fulfilled"]


def test_the_apis_cancel_needs_a_reason_as_the_bulk_cancel(merchant_a, merchant_b):
    order = _orders(merchant_a, 1)[0]
    url = f"/api/v1/orders/{order.pk}/cancel/"
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        r = merchant_a.api.post(url, body, format="json")
        assert (r.status_code, r.json()["error"]["code"]) == (400, "reason_required"), body
    bulk = merchant_a.api.post("/api/v1/orders/bulk/", {"action": "cancel", "ids": [order.pk]}, format="json")
    assert (bulk.status_code, bulk.json()["error"]["code"]) == (400, "reason_required")
    assert _statuses(merchant_a, [order]) == ["unfulfilled"]
    assert merchant_b.api.post(url, {"reason": "x"}, format="json").status_code == 404
    r = merchant_a.api.post(url, {"reason": "Customer changed their mind"}, format="json")
    assert (r.status_code, r.json()["status"]) == (200, "cancelled")
    with tenant_scope(merchant_a.merchant):
        assert list(OrderEvent.objects.filter(merchant=merchant_a.merchant, order=order,
                                              kind=OrderEvent.Kind.CANCELLED).values_list("message", flat=True)
                    ) == ["Customer changed their mind"]


def test_the_apis_return_records_its_reason(merchant_a):
    order = _shipped(merchant_a)
    r = merchant_a.api.post(f"/api/v1/orders/{order.pk}/return/", {"restock": False, "reason": "Damaged in post"},
                            format="json")
    assert (r.status_code, r.json()["status"]) == (200, "returned")
    with tenant_scope(merchant_a.merchant):
        assert list(OrderEvent.objects.filter(merchant=merchant_a.merchant, order=order,
                                              kind=OrderEvent.Kind.RETURNED).values_list("message", flat=True)
                    ) == ["Returned (not restocked): Damaged in post"]


def test_emails_write_dates_in_the_merchants_zone_and_name_the_channel(merchant_a, django_capture_on_commit_callbacks):
    m = merchant_a.merchant
    m.timezone = "Asia/Tokyo"
    m.save(update_fields=["timezone"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order = _orders(merchant_a, 1)[0]  # placed 12:00 UTC on 1 Nov: 21:00 in Tokyo
    with tenant_scope(m):
        Order.objects.filter(merchant=m, pk=order.pk).update(placed_at=datetime(2026, 11, 30, 20, 5, tzinfo=UTC))
        order.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            services.notification_channel_cancellation(merchant=m, order=order)
    emails = [(msg.subject, msg.body, msg.alternatives[0][0]) for msg in mail.outbox]
    assert [subject for subject, _, _ in emails] == ["New order #1 (Shopify)", "Order #1 was cancelled on Shopify"]
    # 20:05 UTC on 30 Nov is 05:05 on 1 Dec in Tokyo, written as the pages write it
    for (_, text, html), placed in zip(emails, ["1 Nov 2026, 21:00", "1 Dec 2026, 05:05"], strict=True):
        assert placed in text and placed in html
        assert "2026-11" not in text and "shopify" not in text and "shopify" not in html
        assert "Shopify" in text
