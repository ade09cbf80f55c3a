"""The order list as a work queue: ship-by dates, tab counts, sorting with keyset pages, saved views."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, User
from accounts.tenancy import tenant_scope, unscoped
from core.errors import NotFound
from orders import selectors, services
from orders.models import Order
from orders.normalized import NormalizedAddress
from orders.selectors import OrderFilters
from orders.services.ship_by import business_day_after, ship_by_default
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db

FRI = datetime(2026, 11, 6, 15, 0, tzinfo=UTC)  # a Friday afternoon


# -- ship-by ---------------------------------------------------------------------------------------

def test_default_ship_by_counts_business_days_across_the_weekend():
    # Friday + 2 business days is Tuesday, by the end of that day
    assert ship_by_default(placed_at=FRI, days=2, tz_name="UTC") == datetime(2026, 11, 10, 23, 59, 59, tzinfo=UTC)
    # Saturday and Sunday + 2 are Tuesday too; + 0 is the Monday after
    sat, sun = FRI + timedelta(days=1), FRI + timedelta(days=2)
    assert ship_by_default(placed_at=sat, days=2, tz_name="UTC").date().isoformat() == "2026-11-10"
    assert business_day_after(sun.date(), 0).isoformat() == "2026-11-09"
    # Monday + 0 is Monday; Thursday + 1 is Friday
    assert business_day_after(FRI.date() + timedelta(days=3), 0).isoformat() == "2026-11-09"
    assert business_day_after(FRI.date() - timedelta(days=1), 1).isoformat() == "2026-11-06"


def test_default_ship_by_is_counted_in_the_merchants_time_zone():
    # 02:00 UTC on Friday is still Thursday evening in Los Angeles: Thursday + 2 is Monday there
    placed = datetime(2026, 11, 6, 2, 0, tzinfo=UTC)
    la = ZoneInfo("America/Los_Angeles")
    deadline = ship_by_default(placed_at=placed, days=2, tz_name="America/Los_Angeles")
    assert deadline == datetime(2026, 11, 9, 23, 59, 59, tzinfo=la)
    assert ship_by_default(placed_at=placed, days=2, tz_name="UTC").date().isoformat() == "2026-11-10"


def test_ingest_sets_the_default_ship_by_and_the_channels_promise_wins(merchant_a):
    m = merchant_a.merchant
    m.timezone, m.default_ship_by_days = "Europe/London", 3
    m.save()
    promised = datetime(2026, 11, 7, 9, 30, tzinfo=UTC)
    with tenant_scope(m):
        plain = services.order_ingest(merchant=m, integration_id=None,
                                      normalized=normalized("1", placed_at=FRI)).order
        kept = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "2", placed_at=FRI, ship_by=promised, requested_service="Express 24")).order
        # A later update that moves the promise moves the deadline; one without a promise keeps it
        moved = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "2", placed_at=FRI, ship_by=promised + timedelta(days=1), requested_service="Express 24",
            updated_minutes=5)).order
        plain_again = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "1", placed_at=FRI, customer_name="Changed", updated_minutes=5)).order
    london = ZoneInfo("Europe/London")
    assert plain.ship_by_at == datetime(2026, 11, 11, 23, 59, 59, tzinfo=london)  # Fri + 3 = Wed
    assert (kept.ship_by_at, kept.requested_service) == (promised, "Express 24")
    assert moved.ship_by_at == promised + timedelta(days=1)
    assert Order._base_manager.get(pk=plain_again.pk).ship_by_at == plain.ship_by_at


def test_a_normalized_order_without_a_promise_keeps_its_fingerprint_shape():
    # Orders stored before the promise fields existed must not all look changed on their next delivery
    n = normalized("1")
    assert n.fingerprint() == normalized("1", requested_service="", ship_by=None).fingerprint()
    assert n.fingerprint() != normalized("1", requested_service="Express").fingerprint()


def test_manual_orders_get_the_merchants_default_ship_by(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        order = services.order_create_manual(merchant=m, lines=[services.ManualLine(sku="A-1", quantity=1)])
    assert order.ship_by_at == ship_by_default(placed_at=order.placed_at, days=2, tz_name="UTC")


def test_the_backfill_gives_every_old_order_the_default_ship_by(merchant_a, merchant_b):
    # Given orders without a ship-by (as before the migration), in two merchants with different zones
    a, b = merchant_a.merchant, merchant_b.merchant
    b.timezone = "America/Los_Angeles"
    b.save()
    placed = datetime(2026, 11, 6, 2, 0, tzinfo=UTC)
    with tenant_scope(a):
        oa = services.order_ingest(merchant=a, integration_id=None, normalized=normalized("1", placed_at=placed)).order
    with tenant_scope(b):
        ob = services.order_ingest(merchant=b, integration_id=None, normalized=normalized("1", placed_at=placed)).order
    Order._base_manager.filter(pk__in=[oa.pk, ob.pk]).update(ship_by_at=None)
    # When the migration's backfill runs (over every merchant, as migrations do: no scope)
    migration = importlib.import_module("orders.migrations.0007_queue_ship_by_service_saved_views")
    with unscoped("test: the migration's backfill"):
        migration.backfill_ship_by(django_apps, None)
    # Then each has its merchant's default, in its merchant's zone
    got = dict(Order._base_manager.filter(pk__in=[oa.pk, ob.pk]).values_list("pk", "ship_by_at"))
    assert got[oa.pk] == datetime(2026, 11, 10, 23, 59, 59, tzinfo=UTC)
    assert got[ob.pk] == datetime(2026, 11, 9, 23, 59, 59, tzinfo=ZoneInfo("America/Los_Angeles"))


# -- tabs ------------------------------------------------------------------------------------------

def _shop(m, *, now=None):
    """One order in every state the tabs tell apart."""
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=100, weight_grams=250)
        make_product(m, "EMPTY", on_hand=0)
        ingest = lambda ext, **kw: services.order_ingest(merchant=m, integration_id=None,  # noqa: E731
                                                         normalized=normalized(ext, **kw)).order
        ready = ingest("ready", lines=(("L1", "A-1", 2),))
        attention = ingest("attention", lines=(("L1", "NOPE", 1),))
        short = ingest("short", lines=(("L1", "EMPTY", 1),))
        held = services.order_hold(merchant=m, order=ingest("held", lines=(("L1", "A-1", 1),)))
        shipped = ingest("shipped", lines=(("L1", "A-1", 1),))
        services.order_fulfill_all(merchant=m, order=shipped)
        cancelled = services.order_cancel(merchant=m, order=ingest("cancelled", lines=(("L1", "A-1", 1),)))
        unpaid = ingest("unpaid", lines=(("L1", "A-1", 1),), awaiting_payment=True)
    return dict(ready=ready, attention=attention, short=short, held=held, shipped=shipped, cancelled=cancelled,
                unpaid=unpaid)


def test_tab_counts_come_from_four_queries_none_reading_past_the_open_orders_or_the_cap(merchant_a):
    m = merchant_a.merchant
    _shop(m)
    with tenant_scope(m), CaptureQueriesContext(connection) as ctx:
        tabs, late = selectors.queue_counts(merchant=m, filters=OrderFilters())
    assert len(ctx.captured_queries) == 4
    work, *history = [q["sql"] for q in ctx.captured_queries]
    assert "status" in work and "IN" in work  # the work tabs: open orders only
    assert all(f"LIMIT {selectors.HISTORY_COUNT_CAP + 1}" in sql for sql in history)
    assert {t.slug: t.count for t in tabs} == {"awaiting": 1, "on_hold": 1, "attention": 1, "short": 1,
                                               "awaiting_payment": 1, "shipped": 1, "cancelled": 1, "all": 7}
    # Every order was placed in November: the open ones (ready, attention, short, held) are late; an unpaid
    # order is not (its ship-by clock is the merchant's only once it is paid)
    assert late == 4


def test_a_history_tab_past_the_cap_reads_as_the_cap_and_more(merchant_a, monkeypatch):
    from orders.selectors import queue

    m = merchant_a.merchant
    _shop(m)
    monkeypatch.setattr(queue, "HISTORY_COUNT_CAP", 5)
    with tenant_scope(m):
        tabs, _ = selectors.queue_counts(merchant=m, filters=OrderFilters())
    counts = {t.slug: (t.count, t.more) for t in tabs}
    assert counts["all"] == (5, True) and counts["shipped"] == (1, False) and counts["awaiting"] == (1, False)
    assert "5+" in merchant_a.web.get("/orders/").content.decode()


def test_tabs_filter_the_list_and_counts_follow_the_other_filters(merchant_a):
    m = merchant_a.merchant
    orders = _shop(m)
    with tenant_scope(m):
        def numbers(**filters):
            qs = selectors.order_queue(merchant=m, filters=OrderFilters(**filters))
            return {o.number for o in selectors.queue_page(qs, sort="placed").rows}

        assert numbers(tab="awaiting") == {orders["ready"].number}
        assert numbers(tab="on_hold") == {orders["held"].number}
        assert numbers(tab="attention") == {orders["attention"].number}
        assert numbers(tab="short") == {orders["short"].number}
        assert numbers(tab="shipped") == {orders["shipped"].number}
        assert numbers(tab="cancelled") == {orders["cancelled"].number}
        assert numbers(tab="awaiting_payment") == {orders["unpaid"].number}
        assert len(numbers(tab="all")) == 7
        tabs, _ = selectors.queue_counts(merchant=m, filters=OrderFilters(search="#ready"))
        assert {t.slug: t.count for t in tabs}["all"] == 1


def test_queue_columns_country_late_and_parcel_weight(merchant_a):
    m = merchant_a.merchant
    orders = _shop(m)
    with tenant_scope(m):
        qs = selectors.order_queue(merchant=m, filters=OrderFilters(tab="all"))
        rows = {o.pk: o for o in selectors.queue_page(qs, sort="placed").rows}
    ready = rows[orders["ready"].pk]
    assert (ready.dest_country, ready.is_late, ready.parcel_weight_grams) == ("GB", True, 500)
    assert rows[orders["shipped"].pk].is_late is False  # shipped is never late
    assert rows[orders["attention"].pk].parcel_weight_grams is None  # no product, no weight
    assert rows[orders["cancelled"].pk].parcel_weight_grams == 0  # nothing left to ship


# -- sorting ---------------------------------------------------------------------------------------

def _sortable(m):
    people = [("Cleo", "US", "30.00"), ("Ada", "GB", "10.00"), ("Bea", "DE", "20.00"), ("Ada", "FR", "20.00"),
              ("Dan", "", "5.00")]
    with tenant_scope(m):
        for i, (name, country, total) in enumerate(people):
            services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
                f"S{i}", lines=(("L1", "NOPE", 1),), customer_name=name, total=Decimal(total),
                placed_at=FRI + timedelta(hours=i), ship_by=FRI + timedelta(days=5 - i),
                shipping_address=NormalizedAddress(country=country)))


@pytest.mark.parametrize("sort,expected", [
    ("placed", ["#S0", "#S1", "#S2", "#S3", "#S4"]),
    ("-placed", ["#S4", "#S3", "#S2", "#S1", "#S0"]),
    ("ship_by", ["#S4", "#S3", "#S2", "#S1", "#S0"]),
    ("customer", ["#S1", "#S3", "#S2", "#S0", "#S4"]),  # ties (two Adas) by id
    ("-total", ["#S0", "#S3", "#S2", "#S1", "#S4"]),
    ("country", ["#S4", "#S2", "#S3", "#S1", "#S0"]),
    ("number", ["#S0", "#S1", "#S2", "#S3", "#S4"]),
])
def test_each_sort_pages_through_every_order_once_in_order(merchant_a, sort, expected):
    m = merchant_a.merchant
    _sortable(m)
    with tenant_scope(m):
        qs = selectors.order_queue(merchant=m, filters=OrderFilters(tab="all"))
        seen, after = [], ""
        while True:  # pages of two: every tie crosses a page boundary somewhere
            page = selectors.queue_page(qs, sort=sort, after=after, size=2)
            seen += [o.number for o in page.rows]
            after = page.next_cursor
            if not after:
                break
    assert seen == expected


def test_an_unknown_sort_falls_back_to_the_tabs_default():
    assert selectors.parse_sort("password", tab="awaiting") == "placed"
    assert selectors.parse_sort("--total", tab="shipped") == "-placed"
    assert selectors.parse_sort("-total", tab="shipped") == "-total"


def test_the_list_page_sorts_by_a_column_and_refuses_a_cursor_of_another_sort(merchant_a):
    _sortable(merchant_a.merchant)
    html = merchant_a.web.get("/orders/?tab=all&sort=-total").content.decode()
    assert [html.index(f'data-order="#S{i}"') for i in (0, 3, 2, 1, 4)] == sorted(
        html.index(f'data-order="#S{i}"') for i in range(5))
    assert 'aria-sort="descending"' in html
    # A cursor made for the customer sort, replayed on the total sort: the first page and a message, no 500
    with tenant_scope(merchant_a.merchant):
        qs = selectors.order_queue(merchant=merchant_a.merchant, filters=OrderFilters(tab="all"))
        cursor = selectors.queue_page(qs, sort="customer", size=1).next_cursor
    r = merchant_a.web.get(f"/orders/?tab=all&sort=-total&after={cursor}")
    assert r.status_code == 200 and b"Bad page cursor" in r.content


def test_store_filter_by_name_and_manual_orders_as_their_own_store(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        manual = services.order_create_manual(merchant=m, lines=[services.ManualLine(sku="A-1", quantity=1)])
        channel = services.order_ingest(merchant=m, integration_id=None, normalized=normalized("1")).order
        qs = selectors.order_queue(merchant=m, filters=OrderFilters.from_params({"tab": "all", "store": "manual"}))
        assert [o.pk for o in qs] == [manual.pk]
    assert channel.pk != manual.pk
    r = merchant_a.web.get("/orders/?tab=all&store=manual")
    assert b'<option value="manual" selected>Manual orders</option>' in r.content
    assert b'value="%d"' % manual.pk in r.content and b'value="%d" aria' % channel.pk not in r.content


# -- saved views -----------------------------------------------------------------------------------

def _colleague(merchant) -> tuple[User, object]:
    from django.test import Client

    user = User.objects.create_user("carol@a.example", "a-long-enough-password-1")
    with tenant_scope(merchant):
        Membership.objects.create(merchant=merchant, user=user, role=Membership.Role.STAFF)
    client = Client()
    client.force_login(user)
    return user, client


def test_saved_views_belong_to_one_user_of_one_merchant(merchant_a, merchant_b):
    # Given Alice saves a view of merchant A's list (with a page cursor and junk that are not kept)
    r = merchant_a.web.post("/orders/views/", {"name": "Late UK", "query": "tab=awaiting&late=true&sort=ship_by"
                                               "&after=abc&utm=x"})
    assert r.status_code == 302
    with tenant_scope(merchant_a.merchant):
        view = selectors.saved_view_list(merchant=merchant_a.merchant, user=merchant_a.user).get()
    assert (view.name, view.query) == ("Late UK", "tab=awaiting&late=true&sort=ship_by")
    assert r["Location"] == f"/orders/?{view.query}"
    assert b"Late UK" in merchant_a.web.get("/orders/").content
    # Then her colleague of the same merchant does not see it, nor can delete it
    carol, carol_web = _colleague(merchant_a.merchant)
    assert b"Late UK" not in carol_web.get("/orders/").content
    assert carol_web.post(f"/orders/views/{view.pk}/delete/").status_code == 404
    with tenant_scope(merchant_a.merchant), pytest.raises(NotFound):
        selectors.saved_view_get(merchant=merchant_a.merchant, user=carol, pk=view.pk)
    # And another merchant never does
    assert b"Late UK" not in merchant_b.web.get("/orders/").content
    assert merchant_b.web.post(f"/orders/views/{view.pk}/delete/").status_code == 404
    # Saving the same name again replaces its filters; deleting removes it
    merchant_a.web.post("/orders/views/", {"name": "Late UK", "query": "tab=short"})
    with tenant_scope(merchant_a.merchant):
        assert list(selectors.saved_view_list(merchant=merchant_a.merchant, user=merchant_a.user)
                    .values_list("name", "query")) == [("Late UK", "tab=short")]
    assert merchant_a.web.post(f"/orders/views/{view.pk}/delete/").status_code == 302
    with tenant_scope(merchant_a.merchant):
        assert not selectors.saved_view_list(merchant=merchant_a.merchant, user=merchant_a.user).exists()


def test_a_saved_view_with_a_bad_filter_is_refused_with_a_message(merchant_a):
    r = merchant_a.web.post("/orders/views/", {"name": "Bad", "query": "status=lost"}, follow=True)
    assert r.status_code == 200 and b"Unknown status." in r.content
    r = merchant_a.web.post("/orders/views/", {"name": "", "query": "tab=short"}, follow=True)
    assert b"Give the view a name" in r.content
    with tenant_scope(merchant_a.merchant):
        assert not selectors.saved_view_list(merchant=merchant_a.merchant, user=merchant_a.user).exists()


# -- query counts ----------------------------------------------------------------------------------

def _many(m, start: int, n: int) -> None:
    with tenant_scope(m):
        for i in range(start, start + n):
            sku = ("A-1", "NOPE", "EMPTY")[i % 3]
            order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
                f"Q{i}", lines=(("L1", sku, 1), ("L2", "A-1", 2)), customer_name=f"C{i % 7}")).order
            services.order_update(merchant=m, order=order, tags=["vip", f"t{i}"])
            if i % 5 == 4:
                services.order_hold(merchant=m, order=order)


def _count(client, url: str) -> int:
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/", "/orders/", "/orders/?tab=all", "/orders/?tab=all&sort=country",
                                 "/orders/?tab=attention&sort=-total", "/orders/?tab=all&sort=ship_by&store=manual"])
def test_queue_and_home_queries_do_not_grow_with_orders(merchant_a, url):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=1000, weight_grams=100)
        make_product(m, "EMPTY", on_hand=0)
    _many(m, 0, 2)
    few = _count(merchant_a.web, url)
    _many(m, 2, 38)
    many = _count(merchant_a.web, url)
    assert many == few


def test_the_api_lists_a_tab_and_shows_ship_by_and_service(merchant_a, merchant_b):
    orders = _shop(merchant_a.merchant)
    r = merchant_a.api.get("/api/v1/orders/?tab=attention")
    assert r.status_code == 200
    [row] = r.json()["results"]
    assert row["id"] == orders["attention"].pk and row["ship_by_at"] and row["requested_service"] == ""
    assert merchant_a.api.get("/api/v1/orders/?tab=nope").json()["error"]["code"] == "validation_failed"
    assert merchant_b.api.get("/api/v1/orders/?tab=attention").json()["results"] == []


def test_the_late_link_lists_exactly_the_late_orders_it_counts(merchant_a):
    _shop(merchant_a.merchant)
    html = merchant_a.web.get("/orders/?channel=shopify").content.decode()
    link = re.search(r'class="queue-late" href="\?([^"]+)" data-late="(\d+)"', html)
    listed = merchant_a.web.get("/orders/?" + link.group(1).replace("&amp;", "&")).content.decode()
    assert "channel=shopify" in link.group(1)
    assert len(re.findall(r'data-order="', listed)) == int(link.group(2)) == 4


def test_the_order_page_shows_its_ship_by_date_and_marks_it_late(merchant_a):
    orders = _shop(merchant_a.merchant)
    html = merchant_a.web.get(f"/orders/{orders['ready'].pk}/").content.decode()
    assert "3 Nov 2026" in html and '<span class="badge badge-bad">late</span>' in html  # placed Sun 1 Nov + 2
    html = merchant_a.web.get(f"/orders/{orders['shipped'].pk}/").content.decode()
    assert '<span class="badge badge-bad">late</span>' not in html
