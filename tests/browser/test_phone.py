"""The daily queue and the order page on a 390 × 844 phone: the first order above the fold with the filters
and bulk bar folded behind one button, a sort control for the cards, order lines as cards, badges that
never clip."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.tenancy import tenant_scope
from orders import services
from tests.browser.conftest import PHONE, assert_fits_width, clipped_badges
from tests.browser.test_home_and_queue import _rows, _sortable
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

TOOLS = "#queue-tools > summary"


def test_on_a_phone_the_first_order_is_above_the_fold_and_one_button_opens_filters_and_bulk_bar(
        signed_in, merchant_a):
    _sortable(merchant_a.merchant)
    page = signed_in(merchant_a, viewport=PHONE)
    page.goto("/orders/?tab=all")

    first = page.locator("tr.order-row").first.bounding_box()
    toggle = page.locator(TOOLS)
    assert first["y"] < PHONE["height"], first  # the first order's top is on the first screen
    expect(page.locator("input[name=search]")).to_be_hidden()
    expect(page.locator("select[name=action]")).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_text("Filters and bulk actions")

    toggle.focus()
    page.keyboard.press("Enter")  # a native disclosure: the keyboard opens it

    expect(page.locator("input[name=search]")).to_be_visible()
    expect(page.locator("select[name=action]")).to_be_visible()
    expect(page.get_by_label("Saved view name")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert_fits_width(page)
    page.get_by_label("Tick every order on this page").check()  # the table's header box is hidden on a phone
    assert page.locator(".order-check:checked").count() == 3
    toggle.focus()
    page.keyboard.press("Enter")
    expect(page.locator("input[name=search]")).to_be_hidden()


def test_the_folded_button_says_how_many_filters_are_on_and_a_laptop_shows_them_open(signed_in, merchant_a):
    _sortable(merchant_a.merchant)
    page = signed_in(merchant_a, viewport=PHONE)
    page.goto("/orders/?tab=all&search=Ada&sku=NOPE")
    expect(page.locator(TOOLS)).to_contain_text("filters on")
    laptop = signed_in(merchant_a)
    laptop.goto("/orders/?tab=all")
    expect(laptop.locator("input[name=search]")).to_be_visible()
    expect(laptop.locator(TOOLS)).to_be_hidden()
    expect(laptop.locator("#card-sort")).to_be_hidden()  # the column headers sort on a laptop


def test_the_card_view_sorts_with_the_same_sorts_as_the_column_headers(signed_in, merchant_a):
    _sortable(merchant_a.merchant)
    page = signed_in(merchant_a, viewport=PHONE)
    page.goto("/orders/?tab=all")
    sort = page.get_by_label("Sort", exact=True)
    headers = page.locator("th a[data-sort]").evaluate_all("links => links.map(a => a.dataset.sort)")
    values = sort.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert sorted(values) == sorted(headers + ["-" + h for h in headers])
    assert _rows(page) == ["#S2", "#S1", "#S0"]  # newest first

    sort.select_option("customer")

    page.wait_for_url("**sort=customer**")
    assert _rows(page) == ["#S1", "#S2", "#S0"]
    expect(page.get_by_label("Sort", exact=True)).to_have_value("customer")
    page.get_by_label("Sort", exact=True).select_option("-total")
    page.wait_for_url("**sort=-total**")
    assert _rows(page) == ["#S0", "#S2", "#S1"]
    assert "tab=all" in page.url


def test_the_sort_control_works_without_javascript(browser, live_server, merchant_a):
    """The card sort's own button submits it when no script runs."""
    from django.conf import settings
    from django.test import Client

    _sortable(merchant_a.merchant)
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, java_script_enabled=False)
    client = Client()
    client.force_login(merchant_a.user)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                          "url": live_server.url}])
    try:
        page = context.new_page()
        page.goto("/orders/?tab=all")
        page.get_by_label("Sort", exact=True).select_option("customer")
        page.locator(".card-sort button").click()
        page.wait_for_url("**sort=customer**")
        assert _rows(page) == ["#S1", "#S2", "#S0"]
        page.locator(TOOLS).click()  # <details> opens without JavaScript
        expect(page.locator("input[name=search]")).to_be_visible()
    finally:
        context.close()


_SCROLLED = """rows => rows.map(r => {
  for (let a = r; a && a !== document.body; a = a.parentElement) {
    const x = getComputedStyle(a).overflowX;
    if (x === 'auto' || x === 'scroll' || a.scrollWidth > a.clientWidth + 1) return a.tagName + '.' + a.className;
  }
  return null;
})"""


def test_on_a_phone_the_order_lines_are_cards_with_every_column_in_view(signed_in, merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "MUG-1", on_hand=1, title="Enamel mug")
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "L1", lines=(("A", "MUG-1", 3), ("B", "A-SKU-NOBODY-KNOWS-WITH-A-VERY-LONG-NAME", 1)))).order
    page = signed_in(merchant_a, viewport=PHONE)
    page.goto(f"/orders/{order.pk}/")

    lines = page.locator("tr.order-line")
    expect(lines).to_have_count(2)
    assert lines.evaluate_all(_SCROLLED) == [None, None]  # no container scrolls them sideways
    assert lines.first.evaluate("r => getComputedStyle(r).display") == "block"
    first = lines.first
    for label in ("Title", "Qty", "Unit", "Reserved", "Short", "Shipped", "Cancelled"):
        cell = first.locator(f'td[data-label="{label}"]')
        box = cell.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (label, box)
    assert first.locator('td[data-label="Short"]').inner_text() == "2"
    assert_fits_width(page)
    assert clipped_badges(page) == []


def test_badges_never_clip_on_a_phone(signed_in, merchant_a):
    """Every badge style on the pages that show most of them: the queue, an order, the stock list and a product."""
    m = merchant_a.merchant
    with tenant_scope(m):
        product = make_product(m, "CAP-OUT-OF-STOCK-WITH-A-LONG-SKU", on_hand=0,
                               title="Cap with a very long name that takes the whole width of a phone")
        make_product(m, "LOW-1", on_hand=1, low_stock_threshold=5)
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "B1", lines=(("A", "CAP-OUT-OF-STOCK-WITH-A-LONG-SKU", 2), ("B", "NOPE", 1)))).order
        services.order_update(merchant=m, order=order, tags=["a-very-long-tag-name-that-will-not-fit-a-phone"])
    page = signed_in(merchant_a, viewport=PHONE)
    for path in ("/orders/?tab=all", f"/orders/{order.pk}/", "/inventory/", f"/inventory/products/{product.pk}/"):
        page.goto(path)
        assert page.locator(".badge").count() > 0, path
        assert clipped_badges(page) == [], path
        assert_fits_width(page)
    page.goto("/inventory/")
    expect(page.locator(".badge", has_text="out of stock").first).to_be_visible()
