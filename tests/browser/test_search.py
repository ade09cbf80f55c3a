"""In a real browser, at laptop and phone widths: the queue's search box finds an order by part of a line's SKU,
of its city or of a product title, in any case, or by a whole e-mail address, each order listed once with its store's badge beside the
number."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.tenancy import tenant_scope
from orders import services
from orders.normalized import NormalizedAddress
from tests.browser.conftest import LAPTOP, PHONE, assert_fits_width
from tests.integrations.helpers import make_integration
from tests.orders.helpers import normalized


def _seed(m) -> None:
    with tenant_scope(m):
        shop = make_integration(m, name="Harbour shop")
        for ext, city, lines, titles in (
            ("2001", "Portsmouth", (("L1", "LAMP-BRASS-01", 1), ("L2", "LAMP-BRASS-02", 1)),
             ("Ship's brass lamp", "Ship's brass lamp, small")),
            ("2002", "Inverness", (("L1", "ROPE-HEMP", 1),), ("Hemp mooring rope",)),
            ("2003", "Falmouth", (("L1", "FLAG-SIGNAL", 1),), ("Signal flag set",)),
        ):
            order = services.order_ingest(merchant=m, integration_id=shop.pk, normalized=normalized(
                ext, lines=lines, shipping_address=NormalizedAddress(line1="1 Quay", city=city, country="GB"),
                customer_email=f"skipper{ext}@harbour.example")).order
            for line, title in zip(order.lines.order_by("position", "id"), titles, strict=True):
                line.title = title
                line.save(update_fields=["title"])


def test_the_search_box_finds_by_partial_sku_city_and_title_at_both_widths(signed_in, merchant_a):
    _seed(merchant_a.merchant)
    for viewport in (LAPTOP, PHONE):
        page = signed_in(merchant_a, viewport=viewport)
        for term, number in (("brass-0", "#2001"), ("VERNE", "#2002"), ("signal fl", "#2003"),
                             ("mooring", "#2002"), ("Skipper2003@Harbour.example", "#2003")):
            page.goto("/orders/?tab=all")
            if viewport is PHONE:  # a phone folds the filters behind one button
                page.locator("#queue-tools > summary").click()
            box = page.locator("input[name=search]")
            box.fill(term)
            box.press("Enter")
            rows = page.locator("tr.order-row")
            expect(rows).to_have_count(1)  # two of #2001's lines match "brass-0": still one row
            expect(rows.first).to_have_attribute("data-order", number)
            expect(rows.first.locator(".store-badge")).to_have_text("Harbour shop (Shopify)")
            expect(box).to_have_value(term)
        assert_fits_width(page)
