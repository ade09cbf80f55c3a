"""Channels are plain slugs: a channel registered elsewhere shows everywhere orders shows channels."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from core.errors import ValidationFailed
from orders import services
from orders.channels import ChannelInfo, channels
from orders.models import Order
from tests.inventory.helpers import make_product
from tests.orders.helpers import T0, normalized

pytestmark = pytest.mark.django_db

ETSY = ChannelInfo(slug="etsy", label="Etsy", colour="#f1641e")
RANGE = "?from=2026-10-15&to=2026-11-15"


def test_a_channel_registered_outside_orders_is_ingested_listed_filtered_and_charted(merchant_a):
    m = merchant_a.merchant
    with channels.registered("etsy", ETSY):
        # given an Etsy order and a Shopify one, from a channel orders has never heard of
        with tenant_scope(m):
            make_product(m, "A-1", on_hand=10)
            etsy = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
                "E1", channel="etsy", lines=(("L1", "A-1", 1),))).order
            services.order_ingest(merchant=m, integration_id=None, normalized=normalized("S1"))
        # when the list is filtered by it, then only the Etsy order shows, with the channel's label and colour
        r = merchant_a.web.get("/orders/?channel=etsy")
        assert r.status_code == 200
        assert [o.pk for o in r.context["orders"]] == [etsy.pk]
        assert ("etsy", "Etsy") in r.context["filter_form"].fields["channel"].choices
        assert b'<option value="etsy" selected>Etsy</option>' in r.content
        assert b'fill="#f1641e"' in r.content
        # and the analytics charts stack it under its label and colour, beside Shopify's
        r = merchant_a.web.get("/orders/analytics/" + RANGE)
        assert r.status_code == 200
        assert r.content.count(b'fill="#f1641e"') >= 2 and b">Etsy</text>" in r.content
        rev = merchant_a.api.get("/api/v1/analytics/revenue/" + RANGE).json()
        assert rev["channels"] == ["shopify", "etsy"]
        assert merchant_a.api.get("/api/v1/orders/?channel=etsy").json()["results"][0]["id"] == etsy.pk


def test_an_unregistered_channel_is_refused_at_ingest_and_as_a_filter(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m), pytest.raises(ValidationFailed) as err:
        services.order_ingest(merchant=m, integration_id=None, normalized=normalized("E1", channel="etsy"))
    assert err.value.code == "unknown_channel"
    with tenant_scope(m):
        assert Order.objects.filter(merchant=m).count() == 0
    r = merchant_a.api.get("/api/v1/orders/?channel=etsy")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "validation_failed")
    assert r.json()["error"]["details"]["allowed"] == ["shopify", "woocommerce", "amazon", "manual"]


def test_orders_of_a_channel_no_longer_registered_still_show_under_their_slug(merchant_a):
    # given an Etsy order taken while the Etsy package was installed
    m = merchant_a.merchant
    with channels.registered("etsy", ETSY), tenant_scope(m):
        services.order_ingest(merchant=m, integration_id=None, normalized=normalized("E1", channel="etsy",
                                                                                  placed_at=T0))
    # when the package is gone, then the list and charts still show the order, by its slug
    r = merchant_a.web.get("/orders/?tab=all")
    assert r.status_code == 200 and b"etsy</span>" in r.content
    r = merchant_a.web.get("/orders/analytics/" + RANGE)
    assert r.status_code == 200 and b">etsy</text>" in r.content
