"""The home page and the order queue in a real browser: counts, links, tabs, sorting, laptop and phone."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.tenancy import tenant_scope
from orders import services
from orders.normalized import NormalizedAddress
from tests.browser.conftest import LAPTOP, PHONE, assert_fits_width
from tests.orders.helpers import normalized
from tests.orders.test_home import _seed


def _rows(page) -> list[str]:
    return page.locator("tr.order-row").evaluate_all("rows => rows.map(r => r.dataset.order)")


def _count(page, key: str) -> int:
    return int(page.locator(f'[data-home="{key}"] + .n').inner_text().replace(",", ""))


def test_home_counts_match_the_data_and_lead_to_the_filtered_list(signed_in, merchant_a):
    late, due, _ = _seed(merchant_a.merchant)
    page = signed_in(merchant_a)
    page.goto("/")
    assert {k: _count(page, k) for k in ("awaiting", "late", "attention", "short", "on_hold", "out", "low")} == {
        "awaiting": 2, "late": 4, "attention": 1, "short": 1, "on_hold": 1, "out": 1, "low": 1}
    assert page.locator('[data-home="store"]').all_inner_texts() == ["Outlet shop"]
    page.click('[data-home="attention"]')
    page.wait_for_url("**/orders/?tab=attention")
    assert _rows(page) == ["#unknown"]
    assert page.locator(".queue-tab.active").inner_text().startswith("Needs attention")
    page.goto("/")
    page.click('[data-home="late"]')
    page.wait_for_url("**late=true**")
    # late in any tab: the unknown SKU's, the short one's and the held one's ship-by passed too
    assert sorted(_rows(page)) == sorted([late.number, "#unknown", "#short", "#held"])
    assert page.locator("tr.order-row .late").count() == 4


def test_tabs_show_counts_and_switching_tabs_filters(signed_in, merchant_a):
    late, due, _ = _seed(merchant_a.merchant)
    page = signed_in(merchant_a)
    page.goto("/orders/")
    counts = dict(zip(page.locator(".queue-tab").evaluate_all("a => a.map(e => e.dataset.tab)"),
                      [int(t) for t in page.locator(".queue-tab .count").all_inner_texts()], strict=True))
    assert counts == {"awaiting": 2, "on_hold": 1, "attention": 1, "short": 1, "awaiting_payment": 1, "shipped": 0,
                      "cancelled": 0, "all": 6}
    # The queue opens on "awaiting shipment", oldest first
    assert page.locator(".queue-tab.active").get_attribute("data-tab") == "awaiting"
    assert _rows(page) == [late.number, due.number]
    page.click('.queue-tab[data-tab="on_hold"]')
    page.wait_for_url("**tab=on_hold")
    assert _rows(page) == ["#held"]
    page.click('.queue-tab[data-tab="all"]')
    page.wait_for_url("**tab=all")
    assert len(_rows(page)) == 6


def _sortable(m):
    now = timezone.now()
    people = [("Cleo Long-Surname-That-Goes-On-And-On", "US", "30.00"), ("Ada", "GB", "10.00"), ("Bea", "DE", "20.00")]
    with tenant_scope(m):
        for i, (name, country, total) in enumerate(people):
            order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
                f"S{i}", lines=(("L1", "NOPE", 1), ("L2", "ANOTHER-VERY-LONG-SKU-NAME", 3)), customer_name=name,
                total=Decimal(total), placed_at=now - timedelta(hours=10 - i),
                requested_service="Royal Mail Tracked 48 with signature",
                shipping_address=NormalizedAddress(country=country))).order
            services.order_update(merchant=m, order=order, tags=["wholesale", "priority", "gift-wrap"])


def test_sorting_by_a_column_changes_the_order_and_rows_stay_on_one_line(signed_in, merchant_a):
    _sortable(merchant_a.merchant)
    page = signed_in(merchant_a, viewport=LAPTOP)
    page.goto("/orders/?tab=all")
    assert _rows(page) == ["#S2", "#S1", "#S0"]  # newest first
    page.click('th a[data-sort="customer"]')
    page.wait_for_url("**sort=customer**")
    assert _rows(page) == ["#S1", "#S2", "#S0"]
    assert page.locator("th.c-customer").get_attribute("aria-sort") == "ascending"
    page.click('th a[data-sort="customer"]')
    page.wait_for_url("**sort=-customer**")
    assert _rows(page) == ["#S0", "#S2", "#S1"]
    page.click('th a[data-sort="total"]')
    page.wait_for_url("**sort=total**")
    assert _rows(page) == ["#S1", "#S2", "#S0"]
    # At a laptop's width every order is one line, long text cut with its whole value in the title
    heights = page.locator("tr.order-row").evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    line = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('tr.order-row td')).lineHeight)")
    assert max(heights) < 2 * line + 20, (heights, line)
    assert page.locator("tr.order-row .c-customer[title^='Cleo Long']").count() == 1
    assert_fits_width(page)


def test_at_phone_width_the_queue_is_cards_and_fits(signed_in, merchant_a):
    _sortable(merchant_a.merchant)
    page = signed_in(merchant_a, viewport=PHONE)
    page.goto("/orders/?tab=all")
    assert_fits_width(page)
    assert page.locator("table.queue thead").is_hidden()
    assert page.locator("tr.order-row").first.evaluate("r => getComputedStyle(r).display") == "block"
    card = page.locator("tr.order-row").first.bounding_box()
    assert card["width"] <= PHONE["width"] and card["height"] > 100  # label beside value, one per line
    page.goto("/")
    assert_fits_width(page)
