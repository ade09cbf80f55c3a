"""The queue's search finds an order by any part of what a merchant remembers of it, whatever the case: the
number, the channel's reference, the customer's name or e-mail, the city, the postcode, a line's SKU or
product title. Each order is listed once however many of its lines match, one merchant's orders only; two
stores' orders with the same number are told apart by a store badge wherever the number is shown."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
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


# --- how a search is answered: by how common its term is (orders.selectors.orders.search_plan) ---------------


@pytest.fixture
def widgets(merchant_a):
    """120 orders of merchant A placed an hour apart a month ago (all late), every one with a "… widget" line (SKU WID-<n>), one of
    them also with a rare SKU; the tables ANALYZEd, as autovacuum keeps a real database's statistics."""
    m = merchant_a.merchant
    with tenant_scope(m):
        first = _ingest(m, "w-000", number="#W000", lines=(("L1", "WID-000", 1),), titles={"WID-000": "Blue widget 0"},
                        customer_email="buyer0@shop.example", placed_at=timezone.now() - timedelta(days=30))
        line = first.lines.get()
        # the other 119 as copies of the first (an ingest each would take a minute on a loaded machine)
        orders = Order.objects.bulk_create([
            copy(first, pk=None, number=f"#W{i:03d}", external_id=f"w-{i:03d}", customer_email=f"buyer{i}@shop.example",
                 placed_at=first.placed_at - timedelta(hours=i)) for i in range(1, 120)])
        OrderLine.objects.bulk_create(
            [copy(line, pk=None, order=o, external_id=f"L{i}", sku=f"WID-{i:03d}", title=f"Blue widget {i}")
             for i, o in enumerate(orders, start=1)]
            + [copy(line, pk=None, order=orders[41], external_id="L2", sku="ZEBRA-RARE", title="Zebra", position=1)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")
        cursor.execute("ANALYZE orders_orderline")
    return m


def copy(row, **changes):
    """A copy of a model instance with `changes` (pk=None: a new row when saved)."""
    clone = type(row)(**{f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields})
    for name, value in changes.items():
        setattr(clone, name, value)
    return clone


def _walk(m, term: str, *, sort: str, size: int) -> list[list[str]]:
    """Every page of the queue's search for `term` in `sort`, following the keyset cursor."""
    pages, after = [], ""
    with tenant_scope(m):
        qs = selectors.order_queue(merchant=m, filters=OrderFilters(search=term), sort=sort)
        while True:
            page = selectors.queue_page(qs, sort=sort, after=after, size=size)
            pages.append([o.number for o in page.rows])
            if not (after := page.next_cursor):
                return pages


@pytest.mark.parametrize(("term", "field"), [("WIDGET", "title"), ("wid-", "SKU"), ("shop.EXAMPLE", "e-mail")])
def test_a_term_in_every_order_walks_the_list_and_pages_through_the_newest_first(widgets, term, field):
    with tenant_scope(widgets):
        assert selectors.search_plan(merchant=widgets, term=term) == "walk", field
    newest_first = [f"#W{i:03d}" for i in range(120)]
    pages = _walk(widgets, term, sort="-placed", size=50)
    assert [len(p) for p in pages] == [50, 50, 20]
    assert sum(pages, []) == newest_first
    # the work tab's own order (oldest first) pages through the same matches the other way
    assert sum(_walk(widgets, term, sort="placed", size=50), []) == newest_first[::-1]
    # a sort no index serves (every match sorted, so planned for all of them): each order once, by the sort's keys
    by_customer = sum(_walk(widgets, term, sort="-customer", size=50), [])
    assert sorted(by_customer) == sorted(newest_first) and len(by_customer) == 120


def test_a_short_term_walks_the_list_whatever_its_matches(widgets):
    with tenant_scope(widgets):
        assert selectors.search_plan(merchant=widgets, term="W0") == "walk"
    # "#W0nn" and "WID-0nn": orders 0 to 99, newest first, each once
    assert sum(_walk(widgets, "w0", sort="-placed", size=30), []) == [f"#W{i:03d}" for i in range(100)]


def test_a_rare_term_reads_the_trigram_indexes_among_common_ones(widgets):
    with tenant_scope(widgets):
        assert selectors.search_plan(merchant=widgets, term="zebra-r") == "trigram"
        assert selectors.search_plan(merchant=widgets, term="widget 7") == "trigram"
    assert _walk(widgets, "zebra-r", sort="-placed", size=50) == [["#W042"]]
    assert _walk(widgets, "Widget 7", sort="-placed", size=50) == [["#W007", "#W070", "#W071", "#W072", "#W073",
                                                                    "#W074", "#W075", "#W076", "#W077", "#W078",
                                                                    "#W079"]]


@pytest.mark.parametrize("term", ["buyer42@shop.example", "BUYER42@Shop.Example", " buyer42@shop.example "])
def test_a_whole_e_mail_address_finds_that_customer_exactly_in_any_case(widgets, term):
    with tenant_scope(widgets):
        filters = OrderFilters.from_params({"search": term})
        assert selectors.search_plan(merchant=widgets, term=filters.search) == "email"
        assert [o.number for o in selectors.order_list(merchant=widgets, filters=filters)] == ["#W042"]
        # exactly that address: not buyer142@… nor an address that merely ends with it
        assert [o.number for o in selectors.order_list(merchant=widgets, filters=OrderFilters(
            search="uyer42@shop.example"))] == []


def test_a_searchs_counts_stop_at_the_cap_and_say_so(widgets, merchant_a, monkeypatch):
    from orders.selectors import queue

    monkeypatch.setattr(queue, "SEARCH_COUNT_CAP", 100)
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 100)
    with tenant_scope(widgets), CaptureQueriesContext(connection) as ctx:
        tabs, late = selectors.queue_counts(merchant=widgets, filters=OrderFilters(search="widget"))
    assert all("LIMIT 101" in q["sql"] for q in ctx.captured_queries if "COUNT" in q["sql"].upper())
    counts = {t.slug: (t.count, t.more) for t in tabs}
    assert counts["all"] == (100, True) and counts["cancelled"] == (0, False)
    assert late == 101  # more than the cap: the page says "100+"
    html = merchant_a.web.get("/orders/", {"search": "widget", "tab": "all"}).content.decode()
    assert "100+ open orders late" in html and "100+</span>" in html
    with tenant_scope(widgets):
        tabs, late = selectors.queue_counts(merchant=widgets, filters=OrderFilters(search="zebra"))
    assert {t.slug: (t.count, t.more) for t in tabs}["all"] == (1, False) and late == 1


def test_a_rare_short_term_is_looked_for_among_the_newest_orders_only_and_the_queue_says_so(widgets, merchant_a,
                                                                                            monkeypatch):
    from orders.selectors import orders as order_selectors

    def newest(n: int) -> None:
        monkeypatch.setattr(order_selectors, "SHORT_TERM_WINDOW", n)
        monkeypatch.setattr(selectors, "SHORT_TERM_WINDOW", n)

    with tenant_scope(widgets):
        # "ze" is in one order, #W042 (its ZEBRA-RARE line), the 43rd newest; "w0" in orders #W000 to #W099
        assert selectors.search_plan(merchant=widgets, term="ze") == "window"
        assert selectors.search_plan(merchant=widgets, term="w0") == "walk"
    newest(50)
    assert _walk(widgets, "ZE", sort="-placed", size=50) == [["#W042"]]
    newest(40)
    assert _walk(widgets, "ZE", sort="-placed", size=50) == [[]]
    html = merchant_a.web.get("/orders/", {"search": "ze", "tab": "all"}).content.decode()
    assert re.findall(r'data-order="([^"]+)"', html) == []
    assert "looks through your newest 40 orders only" in html
    assert "looks through" not in merchant_a.web.get("/orders/", {"search": "w0", "tab": "all"}).content.decode()
