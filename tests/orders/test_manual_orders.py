"""Manual orders worth shipping: an address checked by its country's rule (page and API alike), as many lines
as needed, each problem on the line it belongs to, a SKU search that gives the product's price."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from accounts.tenancy import tenant_scope
from core.iso_codes import COUNTRIES
from inventory.models import Product
from orders.addresses import address_problems
from orders.models import Order
from orders.services import ManualLine, order_create_manual
from tests.inventory.helpers import make_bundle, make_product

pytestmark = pytest.mark.django_db

BASE = {"name": "Ada", "line1": "1 Main St", "city": "Springfield"}


@pytest.mark.parametrize(("country", "extra", "problems"), [
    ("US", {"region": "CA", "postal_code": "94103"}, {}),
    ("US", {"region": "CA", "postal_code": "94103-1234"}, {}),
    ("US", {"postal_code": "94103"}, {"region": "State is required for United States."}),
    ("US", {"region": "CA", "postal_code": "9410"},
     {"postal_code": "ZIP code should look like 94103 or 94103-1234."}),
    ("CA", {"region": "ON", "postal_code": "k1a0b1"}, {}),
    ("CA", {"region": "ON", "postal_code": "123 456"}, {"postal_code": "Postal code should look like K1A 0B1."}),
    ("AU", {}, {"region": "State is required for Australia.", "postal_code": "Postcode is required for Australia."}),
    ("AU", {"region": "NSW", "postal_code": "2000"}, {}),
    ("GB", {"postal_code": "sw1a 1aa"}, {}),
    ("GB", {"postal_code": "12345"}, {"postal_code": "Postcode should look like SW1A 1AA."}),
    ("GB", {}, {"postal_code": "Postcode is required for United Kingdom."}),
    ("DE", {"postal_code": "10115"}, {}),
    ("DE", {"postal_code": "1011"}, {"postal_code": "Postcode should look like 75001."}),
    ("FR", {"postal_code": "75001"}, {}),
    ("NL", {"postal_code": "1012ab"}, {}),
    ("NL", {"postal_code": "1012"}, {"postal_code": "Postcode should look like 1012 AB."}),
    ("KE", {}, {}),  # no rule: line 1, city and country are enough
    ("KE", {"postal_code": "00100"}, {}),
    ("KE", {"postal_code": "<b>"}, {"postal_code": "Letters, digits, spaces and dashes only."}),
    ("", {}, {"country": "Country is required."}),
    ("XX", {}, {"country": "Choose a country from the list (ISO 3166-1 two-letter code)."}),
])
def test_address_rules_per_country(country, extra, problems):
    clean, found = address_problems({**BASE, "country": country.lower(), **extra})
    assert found == problems
    assert clean["country"] == country.upper()


def test_the_country_list_is_iso_3166_alpha_2():
    assert len(COUNTRIES) == 249 and COUNTRIES["GB"] == "United Kingdom" and all(len(c) == 2 for c in COUNTRIES)


def test_line1_and_city_are_always_required():
    assert address_problems({"country": "KE"})[1] == {"line1": "Address line 1 is required.",
                                                      "city": "City is required."}


def _form(lines, **extra) -> dict:
    data = {"form-TOTAL_FORMS": str(len(lines)), "form-INITIAL_FORMS": "0", "form-MIN_NUM_FORMS": "1",
            "form-MAX_NUM_FORMS": "200", "currency": "USD", "customer_name": "Grace Hopper",
            "customer_email": "grace@example.com", "address-line1": "1 Main St", "address-city": "Springfield",
            "address-region": "IL", "address-postal_code": "62701", "address-country": "US",
            "address-phone": "+1 217 555 0100"}
    for i, (sku, qty, price) in enumerate(lines):
        data.update({f"form-{i}-sku": sku, f"form-{i}-quantity": str(qty), f"form-{i}-unit_price": price})
    data.update(extra)
    return data


def _rows(html: str) -> list[str]:
    rows = re.findall(r'<tr class="manual-line">(.*?)</tr>', html, re.S)
    return [row for row in rows if "__prefix__" not in row]  # not the script's template row


@pytest.fixture
def shop(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "MUG", on_hand=5)
        make_product(m, "BOWL", on_hand=2)
        Product.objects.filter(merchant=m, sku="MUG").update(price=Decimal("12.50"))
    return merchant_a


def test_a_manual_order_with_an_address_and_three_lines_is_saved_and_shown(shop):
    r = shop.web.post("/orders/new/", _form([("mug", 2, "12.50"), ("BOWL", 1, "8.00"), ("MUG", 1, "12.50")]))
    assert r.status_code == 302
    with tenant_scope(shop.merchant):
        order = Order.objects.get(merchant=shop.merchant, channel="manual")
        assert order.shipping_address == {
            "name": "Grace Hopper", "company": "", "line1": "1 Main St", "line2": "", "city": "Springfield",
            "region": "IL", "postal_code": "62701", "country": "US", "phone": "+1 217 555 0100"}
        assert [(li.sku, li.quantity) for li in order.lines.all()] == [("MUG", 2), ("BOWL", 1), ("MUG", 1)]
        assert order.total_amount == Decimal("45.50")
    page = shop.web.get(r["Location"]).content.decode()
    assert "1 Main St" in page and "Springfield, IL 62701" in page and "+1 217 555 0100" in page


def test_each_problem_is_shown_on_its_line_and_field_and_nothing_is_created(shop):
    r = shop.web.post("/orders/new/", _form([("MUG", 1, ""), ("NOPE", 1, ""), ("BOWL", 3, "")],
                                            **{"address-region": "", "address-postal_code": "ABC"}))
    assert r.status_code == 400
    html = r.content.decode()
    rows = _rows(html)
    assert len(rows) == 3
    assert "errorlist" not in rows[0]
    assert "Unknown SKU NOPE." in rows[1] and "available" not in rows[1]
    assert "Only 2 of BOWL available." in rows[2] and "Unknown" not in rows[2]
    region = html.split('id="id_address-region"')[1].split("</p>")[0]
    postcode = html.split('id="id_address-postal_code"')[1].split("</p>")[0]
    assert "State is required for United States." in region
    assert "ZIP code should look like 94103 or 94103-1234." in postcode
    with tenant_scope(shop.merchant):
        assert Order.objects.filter(merchant=shop.merchant).count() == 0


def test_two_lines_of_one_product_over_its_stock_are_both_flagged(shop):
    html = shop.web.post("/orders/new/", _form([("BOWL", 1, ""), ("bowl", 2, "")])).content.decode()
    rows = _rows(html)
    assert all("Only 2 of BOWL available for 3 on 2 lines." in row for row in rows)


def test_a_removed_line_is_left_out(shop):
    data = _form([("MUG", 1, "1.00"), ("NOPE", 1, "")], **{"form-1-DELETE": "on"})
    assert shop.web.post("/orders/new/", data).status_code == 302
    with tenant_scope(shop.merchant):
        assert [li.sku for li in Order.objects.get(merchant=shop.merchant).lines.all()] == ["MUG"]


def test_add_a_line_without_javascript_posts_back_one_row_more(shop):
    r = shop.web.post("/orders/new/", _form([("MUG", 1, "")], add_line="1"))
    assert r.status_code == 200 and len(_rows(r.content.decode())) == 2
    with tenant_scope(shop.merchant):
        assert Order.objects.filter(merchant=shop.merchant).count() == 0


def test_the_api_applies_the_same_address_rules(shop):
    body = {"lines": [{"sku": "MUG", "quantity": 1, "unit_price": "12.50"}], "customer_name": "Grace",
            "shipping_address": {"line1": "1 Main St", "city": "Springfield", "country": "US", "postal_code": "9"}}
    r = shop.api.post("/api/v1/orders/", body, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_address"
    assert r.json()["error"]["details"] == {"fields": {
        "region": "State is required for United States.",
        "postal_code": "ZIP code should look like 94103 or 94103-1234."}}
    body["shipping_address"].update(region="IL", postal_code="62701")
    r = shop.api.post("/api/v1/orders/", body, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["shipping_address"]["name"] == "Grace"  # the customer's name when none is given


def test_the_api_names_every_line_over_stock(shop):
    r = shop.api.post("/api/v1/orders/", {"lines": [{"sku": "MUG", "quantity": 1}, {"sku": "BOWL", "quantity": 9}]},
                      format="json")
    assert r.status_code == 409
    assert r.json()["error"]["details"]["lines"] == [
        {"index": 1, "row": 2, "field": "quantity", "message": "Only 2 of BOWL available."}]


def test_sku_search_gives_price_and_availability_and_only_the_merchants_products(shop, merchant_b):
    r = shop.web.get("/inventory/products.json?q=mu")
    assert [{k: p[k] for k in ("sku", "price", "available")} for p in r.json()["results"]] == [
        {"sku": "MUG", "price": "12.50", "available": 5}]
    assert [(p["sku"], p["price"]) for p in shop.web.get("/inventory/products.json?q=bo").json()["results"]] == [
        ("BOWL", "")]
    assert merchant_b.web.get("/inventory/products.json?q=mu").json() == {"results": []}
    assert shop.web.get("/inventory/products.json?q=a%00b").status_code == 400


@pytest.mark.parametrize(("country", "region", "stored", "problem"), [
    ("US", "or", "OR", None), ("US", "Oregon", "OR", None), ("CA", "ontario", "ON", None),
    ("US", "Narnia", None, "State should be one of United States's, from the list."),
    ("GB", "Kent", "Kent", None),  # no list: any text
])
def test_a_region_of_a_country_with_a_list_is_one_of_its_own(country, region, stored, problem):
    postcode = {"US": "97205", "CA": "K1A 0B1", "GB": "CT1 1AA"}[country]
    clean, problems = address_problems({**BASE, "country": country, "region": region, "postal_code": postcode})
    assert problems.get("region") == problem
    if stored:
        assert clean["region"] == stored


def test_the_new_order_page_offers_the_states_and_this_merchants_customers(merchant_a, merchant_b):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "MUG", on_hand=5)
        order_create_manual(merchant=merchant_a.merchant, lines=[ManualLine(sku="MUG", quantity=1)],
                            customer_name="Ada Lovelace", customer_email="Ada@Example.com",
                            shipping_address={**BASE, "country": "US", "region": "OR", "postal_code": "97205"})
    with tenant_scope(merchant_b.merchant):
        make_product(merchant_b.merchant, "MUG", on_hand=5)
        order_create_manual(merchant=merchant_b.merchant, lines=[ManualLine(sku="MUG", quantity=1)],
                            customer_email="adam@b.example")
    # a bound form for the US renders its states as a select
    r = merchant_a.web.post("/orders/new/", {"address-country": "US", "form-TOTAL_FORMS": "1",
                                             "form-INITIAL_FORMS": "0", "add_line": "1"})
    assert re.search(r'<select name="address-region"[^>]*>.*<option value="OR">Oregon</option>', r.content.decode(), re.S)
    found = merchant_a.web.get("/orders/customers.json?q=AD").json()["results"]
    assert [(c["value"], c["help"], c["address"]["region"]) for c in found] == [
        ("ada@example.com", "Ada Lovelace · Springfield", "OR")]
    assert merchant_a.web.get("/orders/customers.json?q=").json() == {"results": []}
    assert merchant_a.web.get("/orders/customers.json?q=a&limit=0").status_code == 400


def test_a_bundle_carries_its_own_price_onto_a_manual_order(merchant_a):
    m, web = merchant_a.merchant, merchant_a.web
    with tenant_scope(m):
        mug = make_product(m, "MUG", on_hand=10, price=Decimal("12.00"))
        bundle = make_bundle(m, "MUG-PAIR", [(mug, 2)], title="Two mugs")
    # the bundle's edit page takes a price, and its page shows it
    edit = web.get(f"/inventory/products/{bundle.pk}/edit/").content.decode()
    assert 'name="price"' in edit and 'name="components-0-sku"' in edit
    r = web.post(f"/inventory/products/{bundle.pk}/edit/", {"title": "Two mugs", "price": "21.50",
                                                           "low_stock_threshold": "0", "is_active": "on"})
    assert r.status_code == 302
    assert "21.50" in web.get(f"/inventory/products/{bundle.pk}/").content.decode()
    # a bundle line left without a price takes the bundle's, not its components' sum
    r = web.post("/orders/new/", {
        "form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "0", "form-0-sku": "MUG-PAIR", "form-0-quantity": "2",
        "form-0-unit_price": "", "form-1-sku": "MUG", "form-1-quantity": "1", "form-1-unit_price": "10.00",
        "customer_name": "Ada", "address-country": "GB", "address-line1": "1 High St", "address-city": "London",
        "address-postal_code": "SW1A 1AA"})
    assert r.status_code == 302, r.content.decode()[-2000:]
    with tenant_scope(m):
        order = Order.objects.get(merchant=m, channel="manual")
        assert [(li.sku, li.unit_price_amount) for li in order.lines.order_by("position")] == [
            ("MUG-PAIR", Decimal("21.50")), ("MUG", Decimal("10.00"))]
        assert order.subtotal_amount == Decimal("53.00")
    # the API alike: no unit_price, the bundle's price
    r = merchant_a.api.post("/api/v1/orders/", {"lines": [{"sku": "MUG-PAIR", "quantity": 1}]}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["lines"][0]["unit_price"] == "21.50"
