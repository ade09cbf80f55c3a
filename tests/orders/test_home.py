"""The home page: today's work in counts, each a link into the list that holds it; one merchant's only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tenancy import tenant_scope
from integrations.models import Integration
from jobs.models import WorkerJob
from orders import selectors, services
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


def _seed(m):
    """2 ready to ship (one late, one not yet due), 1 unknown SKU, 1 short, 1 on hold, 1 unpaid; stock: 1 out,
    1 low."""
    now = timezone.now()
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=100)
        make_product(m, "LOW", on_hand=3, low_stock_threshold=5)
        make_product(m, "GONE", on_hand=0, low_stock_threshold=5)
        ingest = lambda ext, sku, **kw: services.order_ingest(  # noqa: E731
            merchant=m, integration_id=None, normalized=normalized(ext, lines=(("L1", sku, 1),), **kw)).order
        late = ingest("late", "A-1", placed_at=now - timedelta(days=6))
        due = ingest("due", "A-1", placed_at=now - timedelta(hours=2), ship_by=now + timedelta(days=2))
        ingest("unknown", "NOPE")
        ingest("short", "GONE")
        services.order_hold(merchant=m, order=ingest("held", "A-1"))
        ingest("unpaid", "A-1", placed_at=now - timedelta(days=6), awaiting_payment=True)
        broken = make_integration(m, name="Outlet shop")
        Integration.objects.filter(pk=broken.pk).update(status=Integration.Status.NEEDS_RECONNECT)
        make_integration(m, name="Fine shop")
        WorkerJob.objects.create(merchant=m, kind="inventory.stock_import", status=WorkerJob.Status.RUNNING)
        WorkerJob.objects.create(merchant=m, kind="inventory.stock_import", status=WorkerJob.Status.FAILED)
    return late, due, broken


def _n(html: str, key: str) -> int:
    """The number beside the link marked data-home=key."""
    match = re.search(rf'data-home="{key}"[^>]*>[^<]*</a><span class="n[^"]*">([0-9,]+)<', html)
    assert match, key
    return int(match.group(1).replace(",", ""))


def test_home_counts_what_today_needs_and_links_into_the_filtered_lists(merchant_a, merchant_b):
    late, due, broken = _seed(merchant_a.merchant)
    r = merchant_a.web.get("/")
    assert r.status_code == 200
    html = r.content.decode()
    assert {k: _n(html, k) for k in ("awaiting", "late", "attention", "short", "on_hold", "awaiting_payment", "out",
                                     "low", "jobs-running", "jobs-failed")} == {
        "awaiting": 2, "late": 4, "attention": 1, "short": 1, "on_hold": 1, "awaiting_payment": 1, "out": 1,
        "low": 1, "jobs-running": 1, "jobs-failed": 1}
    # The late order is due first; the store that refused our credentials is named, the fine one is not
    assert html.index(late.number) < html.index(due.number)
    assert f'href="/integrations/{broken.pk}/" data-home="store">Outlet shop' in html and "Fine shop" not in html
    # Each count's link opens the list that holds exactly those orders
    # (late: every open order past its ship-by, the unknown SKU's, the short one's and the held one's included)
    for key, numbers in (("late", {late.number, "#unknown", "#short", "#held"}), ("attention", {"#unknown"}),
                         ("short", {"#short"}), ("on_hold", {"#held"}), ("awaiting_payment", {"#unpaid"})):
        href = re.search(rf'href="([^"]+)" data-home="{key}"', html).group(1).replace("&amp;", "&")
        listed = merchant_a.web.get(href).content.decode()
        assert set(re.findall(r'data-order="([^"]+)"', listed)) == numbers, key
    # Another merchant's home counts nothing of A's
    other = merchant_b.web.get("/").content.decode()
    assert _n(other, "awaiting") == 0 and "Outlet shop" not in other


def test_home_summary_puts_out_of_stock_apart_from_low(merchant_a):
    _seed(merchant_a.merchant)
    with tenant_scope(merchant_a.merchant):
        summary = selectors.home_summary(merchant=merchant_a.merchant)
    assert summary.stock == {"out": 1, "low": 1}
    assert [a.store for a in summary.stores] == ["Outlet shop"]


def test_a_stranger_at_home_is_sent_to_sign_in(client):
    r = client.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_home_never_says_stores_are_syncing_when_none_is_connected(merchant_a):
    # Given: a merchant whose only store was disconnected
    with tenant_scope(merchant_a.merchant):
        gone = make_integration(merchant_a.merchant, name="Old shop")
        Integration.objects.filter(pk=gone.pk).update(status=Integration.Status.DISCONNECTED)
    # When: they open the home page
    page = merchant_a.web.get("/").content.decode()
    # Then: it says no store is connected and links to the stores, instead of "every store is syncing"
    assert "Every connected store is syncing" not in page
    assert "No store connected" in page and "Connect a store to bring its orders in" in page
    # And once a store is connected and healthy, the reassurance is back
    with tenant_scope(merchant_a.merchant):
        fine = make_integration(merchant_a.merchant, name="Fine shop")
        Integration.objects.filter(pk=fine.pk).update(last_success_at=timezone.now(),
                                                      last_order_seen_at=timezone.now())
    assert "No store connected" not in merchant_a.web.get("/").content.decode()
