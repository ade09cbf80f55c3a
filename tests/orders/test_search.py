"""The queue's search finds an order by any part of what a merchant remembers of it, whatever the case: the
number, the channel's reference, the customer's name or e-mail, the city, the postcode, a line's SKU or
product title. Each order is listed once however many of its lines match, one merchant's orders only; two
stores' orders with the same number are told apart by a store badge wherever the number is shown."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tenancy import tenant_scope, unscoped
from orders import selectors, services
from orders.models import Order, OrderLine
from orders.normalized import NormalizedAddress
from orders.selectors import OrderFilters
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


def _ingest(m, ext, *, integration=None, lines=(("L1", "A-1", 1),), titles=None, **extra):
    order = services.order_ingest(merchant=m, integration_id=integration.pk if integration else None,
                                  normalized=normalized(ext, lines=lines, **extra)).order
    for sku, title in (titles or {}).items():  # the product title as the channel sent it
        order.lines.filter(sku=sku).update(title=title)
    return order


@pytest.fixture
def seeded(merchant_a, merchant_b):
    """Three orders of merchant A that differ in every searched field, and one of B that matches them all."""
    m = merchant_a.merchant
    with tenant_scope(m):
        _ingest(m, "ch-5550001", number="#1001", customer_name="Ada Lovelace", customer_email="ada@analytical.example",
                shipping_address=NormalizedAddress(line1="1 Main St", city="Manchester", postal_code="M1 4BT",
                                                   country="GB"),
                lines=(("L1", "MUG-BLUE-L", 1), ("L2", "MUG-BLUE-S", 2), ("L3", "TEE-RED", 1)),
                titles={"MUG-BLUE-L": "Enamel camping mug, large", "MUG-BLUE-S": "Enamel camping mug, small",
                        "TEE-RED": "Organic cotton tee"})
        _ingest(m, "ch-7770002", number="#1002", customer_name="Grace Hopper", customer_email="grace@navy.example",
                shipping_address=NormalizedAddress(line1="2 Pier Rd", city="Arlington", postal_code="22201",
                                                   country="US"),
                lines=(("L1", "CAP-GRN", 1),), titles={"CAP-GRN": "Wool beanie"}, placed_at=timezone.now())
        _ingest(m, "ch-9990003", number="#1003", customer_name="Alan Turing", customer_email="alan@bletchley.example",
                shipping_address=NormalizedAddress(line1="3 Park", city="Wilmslow", postal_code="SK9 1AA",
                                                   country="GB"),
                lines=(("L1", "SOCK-WOOL", 1),), titles={"SOCK-WOOL": "Merino hiking socks"},
                placed_at=timezone.now() - timedelta(days=1))
    with tenant_scope(merchant_b.merchant):
        _ingest(merchant_b.merchant, "ch-5550001", number="#1001", customer_name="Ada Lovelace",
                shipping_address=NormalizedAddress(line1="1 Main St", city="Manchester", postal_code="M1 4BT",
                                                   country="GB"),
                lines=(("L1", "MUG-BLUE-L", 1),), titles={"MUG-BLUE-L": "Enamel camping mug, large"})
    return m


def _numbers(m, term: str) -> list[str]:
    with tenant_scope(m):
        return [o.number for o in selectors.order_list(merchant=m, filters=OrderFilters(search=term))]


@pytest.mark.parametrize(("field", "term", "expected"), [
    ("number", "00", ["#1002", "#1003", "#1001"]),
    ("number", "#1003", ["#1003"]),
    ("channel reference", "CH-777", ["#1002"]),
    ("customer name", "lovel", ["#1001"]),
    ("customer name", "HOPPER", ["#1002"]),
    ("customer e-mail", "BLETCHLEY.ex", ["#1003"]),
    ("customer e-mail", "grace@navy.example", ["#1002"]),
    ("city", "chest", ["#1001"]),
    ("city", "WILMS", ["#1003"]),
    ("postcode", "m1 4", ["#1001"]),
    ("postcode", "2220", ["#1002"]),
    ("SKU", "blue", ["#1001"]),  # two of its lines match: still one row
    ("SKU", "sock-w", ["#1003"]),
    ("title", "CAMPING MUG", ["#1001"]),  # two lines again
    ("title", "beani", ["#1002"]),
    ("title", "merino hik", ["#1003"]),
    ("nothing", "zzz-not-there", []),
])
def test_search_is_partial_and_case_insensitive_on_every_field_and_lists_each_order_once(seeded, field, term,
                                                                                         expected):
    assert _numbers(seeded, term) == expected, field


def test_a_search_term_of_several_fields_at_once_lists_the_order_once_and_counts_it_once(seeded):
    # "l" is in every order's name, e-mail, SKUs and titles: three orders, never one per matching line
    with tenant_scope(seeded):
        qs = selectors.order_filter(merchant=seeded, filters=OrderFilters(search="L"))
        assert qs.count() == 3
        tabs, _ = selectors.queue_counts(merchant=seeded, filters=OrderFilters(search="mug"))
    assert {t.slug: t.count for t in tabs}["all"] == 1
    assert _numbers(seeded, "l") == ["#1002", "#1003", "#1001"]


def test_the_queue_page_finds_by_partial_sku_city_and_title_and_api_agrees(merchant_a, seeded):
    for term, number in (("bLuE-s", "#1001"), ("arlingt", "#1002"), ("hiking", "#1003")):
        html = merchant_a.web.get("/orders/", {"search": term, "tab": "all"}).content.decode()
        assert re.findall(r'data-order="([^"]+)"', html) == [number], term
        api = merchant_a.api.get("/api/v1/orders/", {"search": term}).json()["results"]
        assert [o["number"] for o in api] == [number], term


def test_search_reads_only_this_merchants_orders(merchant_b, seeded):
    with tenant_scope(merchant_b.merchant):
        found = selectors.order_list(merchant=merchant_b.merchant, filters=OrderFilters(search="mug"))
        assert [o.customer_name for o in found] == ["Ada Lovelace"]


@pytest.mark.parametrize(("model", "field", "term", "index"), [
    (Order, "external_id", "ch-555", "orders_order_external_id_trgm"),
    (Order, "shipping_address__city", "chest", "orders_order_city_trgm"),
    (Order, "shipping_address__postal_code", "m1 4", "orders_order_postcode_trgm"),
    (OrderLine, "sku", "blue-l", "orders_orderline_sku_trgm"),
    (OrderLine, "title", "camping", "orders_orderline_title_trgm"),
])
def test_each_searched_field_can_be_served_by_its_trigram_index_on_postgresql(seeded, model, field, term, index):
    # Given: a field the search reads, and a planner told not to scan tables (test tables are tiny)
    assert field in (selectors.SEARCH_FIELDS if model is Order else selectors.SEARCH_LINE_FIELDS)
    with unscoped("a query plan over every merchant's rows"), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        # Then: the lookup the search renders (icontains) can read the index built on its exact expression
        plan = model.objects.filter(**{f"{field}__icontains": term}).explain()
    assert index in plan


def test_orders_of_two_stores_with_the_same_number_carry_their_store_badge_everywhere(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=10)
        north = make_integration(m, name="North shop")
        south = make_integration(m, name="South outlet", channel="woocommerce")
        a = _ingest(m, "n-1", integration=north, number="#5000", placed_at=timezone.now() - timedelta(days=6))
        b = _ingest(m, "s-1", integration=south, number="#5000", channel="woocommerce",
                    placed_at=timezone.now() - timedelta(days=5))

    def badges(html: str) -> list[str]:
        return re.findall(r'class="badge store-badge"[^>]*>([^<]+)<', html)

    queue = merchant_a.web.get("/orders/", {"search": "5000"}).content.decode()
    north_name, south_name = "North shop (Shopify)", "South outlet (WooCommerce)"  # as the store filter names them
    assert badges(queue) == [south_name, north_name]  # newest placed first
    home = merchant_a.web.get("/").content.decode()
    assert badges(home) == [north_name, south_name]  # due first
    assert badges(merchant_a.web.get(f"/orders/{a.pk}/").content.decode()) == [north_name]
    assert badges(merchant_a.web.get(f"/orders/{b.pk}/").content.decode()) == [south_name]
