"""The product page's stock ledger names what each movement was for, linked to its page: an order's
reservation to the order, an import to the import, a transfer to the locations, a store's opening stock to
the store; a reference nobody knows is shown as it is."""

from __future__ import annotations

import io
import re

import pytest

from accounts.tenancy import tenant_scope
from integrations.models import Integration
from inventory import services
from inventory.models import StockImport
from orders.channels import store_key
from orders.services import ManualLine, order_create_manual
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db


def _references(html: str) -> list[str]:
    """The ledger's reference cells, newest first, as '<text> -> <href>' (or the text alone)."""
    table = html.split("Movement history", 1)[1]
    cells = re.findall(r'<td>(?:<a href="([^"]+)">([^<]+)</a>|<span class="mono">([^<]*)</span>)', table)
    return [f"{text} -> {href}" if href else raw for href, text, raw in cells]


def test_ledger_references_link_to_their_order_import_transfer_and_store(merchant_a, merchant_b):
    m, web = merchant_a.merchant, merchant_a.web
    with tenant_scope(m):
        p = make_product(m, "MUG-1", on_hand=5)
        main = services.location_create_default(merchant=m)
        shop = services.location_create(merchant=m, name="Shop", code="SHOP")
        services.stock_transfer(merchant=m, product_id=p.pk, from_location_id=main.pk, to_location_id=shop.pk,
                                quantity=1)
        order = order_create_manual(merchant=m, lines=[ManualLine(sku="MUG-1", quantity=2)])
        line_ref = f"order_line:{order.lines.get().pk}"
        store = Integration.objects.create(merchant=m, channel="shopify", name="Corner shop")
        services.stock_adjust(merchant=m, product_id=p.pk, delta=1, reference=store_key(store.pk))
        services.stock_adjust(merchant=m, product_id=p.pk, delta=1, reference="supplier:PO-88")
    r = web.post("/inventory/import/", {"kind": "stock", "file": _file(b"sku,location,on_hand\nMUG-1,SHOP,4\n")})
    web.post(r.url, {"rows": "all"})
    with tenant_scope(m):
        imp = StockImport.objects.get(merchant=m)

    page = web.get(f"/inventory/products/{p.pk}/").content.decode()

    refs = _references(page)
    assert refs == [
        f"Import of stock.csv -> /inventory/import/{imp.pk}/",
        "supplier:PO-88",
        f"Corner shop -> /integrations/{store.pk}/",
        f"Order {order.number} -> /orders/{order.pk}/",
        "Transfer MAIN → SHOP -> /inventory/locations/",
        "Transfer MAIN → SHOP -> /inventory/locations/",
        "—",
    ]
    # another merchant's page of the same ids links nothing of A's
    with tenant_scope(merchant_b.merchant):
        other = make_product(merchant_b.merchant, "MUG-1", on_hand=1)
        services.stock_adjust(merchant=merchant_b.merchant, product_id=other.pk, delta=1, reference=line_ref)
    assert _references(merchant_b.web.get(f"/inventory/products/{other.pk}/").content.decode())[0] == line_ref


def _file(body: bytes) -> io.BytesIO:
    f = io.BytesIO(body)
    f.name = "stock.csv"
    return f
