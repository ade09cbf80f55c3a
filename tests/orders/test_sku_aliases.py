"""Remembered SKU mapping: mapping an unknown SKU with "remember" makes an alias, and a later order with that SKU
matches on arrival (ingest and manual); the store's alias beats the merchant-wide one; tenants stay apart."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from core.errors import ValidationFailed
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.models import SkuAlias
from orders import services
from orders.models import OrderLine
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized, reserved_for

pytestmark = pytest.mark.django_db


def _ingest(m, external_id, sku, integration_id=None):
    return services.order_ingest(merchant=m, integration_id=integration_id,
                                 normalized=normalized(external_id, lines=(("L1", sku, 1),))).order


def _line(m, order) -> OrderLine:
    return OrderLine.objects.get(merchant=m, order=order)


def test_map_with_remember_then_a_later_order_with_that_sku_matches_on_arrival(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        mug = make_product(m, "MUG-BLUE", on_hand=10)
        first = _ingest(m, "1", "shop-mug-01")
        assert first.needs_attention
        line_id = _line(m, first).pk
    # when: mapped on the order page, remembering it
    r = merchant_a.web.post(f"/orders/{first.pk}/map-sku/", {"line": line_id, "sku": "mug-blue",
                                                             "all_open_lines": "on", "remember": "on"})
    assert r.status_code == 302
    with tenant_scope(m):
        assert list(SkuAlias.objects.filter(merchant=m).values_list("sku", "product_id", "store_key",
                                                                   "created_by_id")) == [
            ("shop-mug-01", mug.pk, "", merchant_a.user.pk)]
        # then: a later channel order with that SKU (any case) arrives matched and reserved
        later = _ingest(m, "2", "SHOP-MUG-01")
        line = _line(m, later)
        assert (later.needs_attention, line.product_id, line.sku, reserved_for(m, line)) == (
            False, mug.pk, "SHOP-MUG-01", 1)
        # and a manual order typed with the alias gets the product
        manual = services.order_create_manual(merchant=m, lines=[services.ManualLine(sku="shop-mug-01", quantity=2)])
        assert [(li.sku, li.product_id) for li in manual.lines.all()] == [("MUG-BLUE", mug.pk)]


def test_map_without_remember_leaves_later_orders_unmatched(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "MUG-BLUE", on_hand=10)
        first = _ingest(m, "1", "shop-mug-01")
        services.order_line_map_sku(merchant=m, line=_line(m, first), product_sku="MUG-BLUE")
        assert SkuAlias.objects.filter(merchant=m).count() == 0
        assert _ingest(m, "2", "shop-mug-01").needs_attention


def test_the_stores_own_alias_beats_the_merchant_wide_one_and_a_products_sku_beats_both(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        blue, red, own = (make_product(m, s, on_hand=10) for s in ("MUG-BLUE", "MUG-RED", "MUG"))
        store_a, store_b = make_integration(m, name="Shop A"), make_integration(m, name="Shop B")
        # merchant-wide: MUG → blue (refused: MUG is a product's own SKU); "X-1" → blue for all, red for store A
        with pytest.raises(ValidationFailed):
            inventory_services.sku_alias_remember(merchant=m, sku="mug", product=blue)
        inventory_services.sku_alias_remember(merchant=m, sku="X-1", product=blue)
        inventory_services.sku_alias_remember(merchant=m, sku="x-1", product=red, store_key=f"integration:{store_a.pk}")
        from_a = _ingest(m, "a1", "X-1", integration_id=store_a.pk)
        from_b = _ingest(m, "b1", "X-1", integration_id=store_b.pk)
        manual = _ingest(m, "n1", "x-1")
        exact = _ingest(m, "e1", "mug", integration_id=store_a.pk)
        assert [_line(m, o).product_id for o in (from_a, from_b, manual, exact)] == [red.pk, blue.pk, blue.pk, own.pk]
        assert inventory_selectors.product_match_skus(
            merchant=m, skus=["X-1", "nope"], store_key=f"integration:{store_a.pk}") == {"x-1": red}
        # remembering the same name for the same store again points it at the new answer
        inventory_services.sku_alias_remember(merchant=m, sku="X-1", product=own)
        assert SkuAlias.objects.filter(merchant=m, store_key="").get().product_id == own.pk


def test_remember_for_this_store_only(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        blue = make_product(m, "MUG-BLUE", on_hand=10)
        store_a, store_b = make_integration(m, name="Shop A"), make_integration(m, name="Shop B")
        first = _ingest(m, "a1", "s-1", integration_id=store_a.pk)
        services.order_line_map_sku(merchant=m, line=_line(m, first), product_sku="MUG-BLUE", remember=True,
                                    remember_store_only=True)
        assert _line(m, _ingest(m, "a2", "s-1", integration_id=store_a.pk)).product_id == blue.pk
        assert _line(m, _ingest(m, "b1", "s-1", integration_id=store_b.pk)).product_id is None
    # the page names the store
    html = merchant_a.web.get("/orders/sku-aliases/").content.decode()
    assert "s-1" in html and "Shop A" in html and "MUG-BLUE" in html


def test_api_map_sku_remembers(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        blue = make_product(m, "MUG-BLUE", on_hand=10)
        first = _ingest(m, "1", "api-sku")
        line_id = _line(m, first).pk
    r = merchant_a.api.post(f"/api/v1/orders/{first.pk}/map-sku/", {"line": line_id, "sku": "MUG-BLUE",
                                                                     "remember": True}, format="json")
    assert r.status_code == 200
    with tenant_scope(m):
        assert _line(m, _ingest(m, "2", "api-sku")).product_id == blue.pk


def test_aliases_are_per_merchant(merchant_a, merchant_b):
    a, b = merchant_a.merchant, merchant_b.merchant
    with tenant_scope(a):
        mug = make_product(a, "MUG", on_hand=5)
        alias = inventory_services.sku_alias_remember(merchant=a, sku="shared-sku", product=mug)
    with tenant_scope(b):
        make_product(b, "OTHER", on_hand=5)
        assert _ingest(b, "1", "shared-sku").needs_attention  # A's alias means nothing to B
        assert inventory_selectors.product_match_skus(merchant=b, skus=["shared-sku"]) == {}
    assert "shared-sku" not in merchant_b.web.get("/orders/sku-aliases/").content.decode()
    assert merchant_b.web.post(f"/orders/sku-aliases/{alias.pk}/delete/").status_code == 404
    with tenant_scope(a):
        assert SkuAlias.objects.filter(merchant=a).count() == 1
    # the owner can forget it; new orders need mapping again
    r = merchant_a.web.post(f"/orders/sku-aliases/{alias.pk}/delete/")
    assert r.status_code == 302
    with tenant_scope(a):
        assert SkuAlias.objects.filter(merchant=a).count() == 0
        assert _ingest(a, "2", "shared-sku").needs_attention


def test_the_sku_alias_api_creates_lists_and_deletes(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        blue = make_product(m, "MUG-BLUE", on_hand=10)
        store = make_integration(m, name="Shop A")
    with tenant_scope(merchant_b.merchant):
        other_store = make_integration(merchant_b.merchant, name="B's shop")
    r = merchant_a.api.post("/api/v1/sku-aliases/", {"sku": "chan-1", "product_sku": "mug-blue",
                                                     "integration": store.pk}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert {k: body[k] for k in ("sku", "product", "product_sku", "integration")} == {
        "sku": "chan-1", "product": blue.pk, "product_sku": "MUG-BLUE", "integration": store.pk}
    with tenant_scope(m):
        assert _line(m, _ingest(m, "1", "CHAN-1", integration_id=store.pk)).product_id == blue.pk
    # another merchant's store is not one of ours
    r = merchant_a.api.post("/api/v1/sku-aliases/", {"sku": "chan-2", "product_sku": "MUG-BLUE",
                                                     "integration": other_store.pk}, format="json")
    assert r.status_code == 404
    assert [a["sku"] for a in merchant_a.api.get("/api/v1/sku-aliases/").json()["results"]] == ["chan-1"]
    assert merchant_b.api.get("/api/v1/sku-aliases/").json()["results"] == []
    assert merchant_b.api.delete(f"/api/v1/sku-aliases/{body['id']}/").status_code == 404
    assert merchant_a.api.delete(f"/api/v1/sku-aliases/{body['id']}/").status_code == 204
    with tenant_scope(m):
        assert SkuAlias.objects.filter(merchant=m).count() == 0


def test_the_aliases_page_is_an_orders_tab_and_a_products_page_lists_its_aliases(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        mug, bowl = make_product(m, "MUG", on_hand=1), make_product(m, "BOWL", on_hand=1)
        store = make_integration(m, name="Shop A")
        inventory_services.sku_alias_remember(merchant=m, sku="ext-mug", product=mug)
        inventory_services.sku_alias_remember(merchant=m, sku="shop-mug", product=mug,
                                              store_key=f"integration:{store.pk}")
        inventory_services.sku_alias_remember(merchant=m, sku="ext-bowl", product=bowl)
    for path in ("/orders/", "/orders/new/", "/orders/sku-aliases/"):
        tabs = merchant_a.web.get(path).content.decode().split('class="toolbar order-tabs"')[1].split("</nav>")[0]
        assert 'href="/orders/sku-aliases/">Remembered SKUs</a>' in tabs
    page = merchant_a.web.get(f"/inventory/products/{mug.pk}/").content.decode()
    section = page.split('class="panel sku-aliases"')[1].split("</div>")[0]
    assert "ext-mug</span> · every store" in section and "shop-mug</span> · one store" in section
    assert "ext-bowl" not in section and 'href="/orders/sku-aliases/"' in section
    with tenant_scope(merchant_b.merchant):  # another merchant's product of the same SKU has none of them
        other = make_product(merchant_b.merchant, "MUG", on_hand=1)
    assert "ext-mug" not in merchant_b.web.get(f"/inventory/products/{other.pk}/").content.decode()
    assert merchant_b.web.get(f"/inventory/products/{mug.pk}/").status_code == 404
