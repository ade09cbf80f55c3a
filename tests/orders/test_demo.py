"""The demo seeder: a few hundred orders in every state, through the services, safe to run twice."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from accounts.models import Merchant
from accounts.tenancy import tenant_scope
from inventory.models import Product
from orders.models import Order, OrderLine, OrderStatus, Shipment

pytestmark = pytest.mark.django_db


def test_demo_seed_is_alive_and_idempotent(merchant_a):
    import inventory.demo
    import orders.demo

    m = merchant_a.merchant
    with tenant_scope(m):
        inventory.demo.seed(merchant=m, user=merchant_a.user)
        orders.demo.seed(merchant=m, user=merchant_a.user)
        count = Order.objects.filter(merchant=m).count()
        statuses = set(Order.objects.filter(merchant=m).values_list("status", flat=True))
        channels = set(Order.objects.filter(merchant=m).values_list("channel", flat=True))
        shipments = Shipment.objects.filter(merchant=m).count()
        orders.demo.seed(merchant=m, user=merchant_a.user)
        assert Order.objects.filter(merchant=m).count() == count
        assert Shipment.objects.filter(merchant=m).count() == shipments
        assert Order.objects.filter(merchant=m, is_short=True).exists()
        assert Order.objects.filter(merchant=m, needs_attention=True).exists()
        # lines are titled as the products they sell, US addresses name their state, every order its service
        products = dict(Product.objects.filter(merchant=m).values_list("pk", "title"))
        sold = list(OrderLine.objects.filter(merchant=m, product__isnull=False).values_list("product_id", "title"))
        assert sold and all(title == products[pk] for pk, title in sold)
        us = [o.shipping_address for o in Order.objects.filter(merchant=m) if o.shipping_address.get("country") == "US"]
        assert us and all(a.get("region") in {"NY", "TX", "OR", "IL"} for a in us)
        assert not Order.objects.filter(merchant=m, requested_service="").exists()
        assert Order.objects.filter(merchant=m, channel="manual").exclude(shipping_address={}).exists()
    assert 250 <= count <= 320
    assert {OrderStatus.UNFULFILLED, OrderStatus.PARTIALLY_FULFILLED, OrderStatus.FULFILLED,
            OrderStatus.CANCELLED} <= statuses
    assert channels == {"shopify", "woocommerce", "amazon", "manual"}
    r = merchant_a.web.get("/orders/analytics/")
    assert r.status_code == 200 and r.content.count(b"<svg") == 7  # 5 charts; the two per-day ones drawn for laptop and phone


@pytest.mark.django_db(transaction=True)
def test_seed_demo_prints_a_short_summary_not_the_mails_it_would_send(settings, capsys):
    # Given: mail printed to the console, as under make run
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    # When: the demo is seeded
    call_command("seed_demo")
    out = capsys.readouterr().out
    # Then: no e-mail reached the console; the summary counts what was held back, and the login is there
    assert "Subject:" not in out and "Content-Type" not in out
    assert re.search(r"E-mails seeding would have sent, held back: .*\d+ × Low stock", out)
    assert "Email  demo@switchboard.local" in out and re.search(r"\d+ products, \d+ orders", out)
    assert len(out.splitlines()) < 15
    # and the demo merchant has somewhere to ship from, so labels can be bought at once
    merchant = Merchant.objects.get(name="Northwind Goods")
    assert (merchant.address["city"], merchant.address["region"], merchant.address["country"]) == ("Portland", "OR", "US")
