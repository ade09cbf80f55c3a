"""Orders: WordPress's collection rules (per_page, pages, headers), the modified window in the store's own
zone unless dates_are_gmt, sorting, status updates, notes and the Shipment Tracking extension."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests

from .client_for_tests import oauth_call
from .realworld import realworld
from .server import WooCommerceFake


def test_per_page_over_100_is_wordpress_core_invalid_param(woo_fake, woo_key):
    response = oauth_call(woo_fake, woo_key, "GET", "/orders", {"per_page": 101})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == "Invalid parameter(s): per_page"
    assert body["data"]["status"] == 400
    assert body["data"]["params"] == {"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"}


def test_pages_carry_totals_and_a_page_past_the_last_is_empty(woo_fake, woo_key):
    for _ in range(5):
        woo_fake.place_order()

    first = oauth_call(woo_fake, woo_key, "GET", "/orders", {"per_page": 2, "page": 1})
    last = oauth_call(woo_fake, woo_key, "GET", "/orders", {"per_page": 2, "page": 3})
    past = oauth_call(woo_fake, woo_key, "GET", "/orders", {"per_page": 2, "page": 4})

    assert (first.headers["X-WP-Total"], first.headers["X-WP-TotalPages"]) == ("5", "3")
    assert len(first.json()) == 2
    assert 'rel="next"' in first.headers["Link"]
    assert len(last.json()) == 1
    assert 'rel="next"' not in last.headers["Link"]
    assert past.status_code == 200
    assert past.json() == []
    assert past.headers["X-WP-TotalPages"] == "3"


def test_modified_after_is_local_time_unless_dates_are_gmt():
    # The store is in New York (UTC-5 in January): 10:00 UTC is 05:00 there.
    with WooCommerceFake(timezone="America/New_York") as fake:
        key = fake.add_key()
        early = fake.store.add_order(modified_gmt=datetime(2026, 1, 10, 8, 0))   # 03:00 local
        late = fake.store.add_order(modified_gmt=datetime(2026, 1, 10, 12, 0))   # 07:00 local

        gmt = oauth_call(fake, key, "GET", "/orders", {"modified_after": "2026-01-10T10:00:00", "dates_are_gmt": "true"})
        local = oauth_call(fake, key, "GET", "/orders", {"modified_after": "2026-01-10T10:00:00"})
        local_early = oauth_call(fake, key, "GET", "/orders", {"modified_after": "2026-01-10T02:00:00"})

    assert late["date_modified"] == "2026-01-10T07:00:00"
    assert late["date_modified_gmt"] == "2026-01-10T12:00:00"
    assert [o["id"] for o in gmt.json()] == [late["id"]]
    assert local.json() == []  # no order was modified after 10:00 New York time
    assert sorted(o["id"] for o in local_early.json()) == sorted([early["id"], late["id"]])


def test_orderby_modified_ascending(woo_fake, woo_key):
    a = woo_fake.store.add_order(created_gmt=datetime(2026, 1, 1), modified_gmt=datetime(2026, 1, 5))
    b = woo_fake.store.add_order(created_gmt=datetime(2026, 1, 2), modified_gmt=datetime(2026, 1, 3))
    c = woo_fake.store.add_order(created_gmt=datetime(2026, 1, 3), modified_gmt=datetime(2026, 1, 4))

    by_modified = oauth_call(woo_fake, woo_key, "GET", "/orders", {"orderby": "modified", "order": "asc"})
    by_default = oauth_call(woo_fake, woo_key, "GET", "/orders")
    bad = oauth_call(woo_fake, woo_key, "GET", "/orders", {"orderby": "price"})

    assert [o["id"] for o in by_modified.json()] == [b["id"], c["id"], a["id"]]
    assert [o["id"] for o in by_default.json()] == [c["id"], b["id"], a["id"]]  # date created, newest first
    assert bad.status_code == 400
    assert bad.json()["message"] == "Invalid parameter(s): orderby"


def test_a_malformed_date_is_invalid_param(woo_fake, woo_key):
    response = oauth_call(woo_fake, woo_key, "GET", "/orders", {"modified_after": "yesterday"})

    assert response.status_code == 400
    assert response.json()["data"]["params"] == {"modified_after": "Invalid date."}


def test_status_filter_and_any_hides_trash_and_checkout_drafts(woo_fake, woo_key):
    paid = woo_fake.place_order(status="processing")
    pending = woo_fake.place_order(status="pending")
    woo_fake.place_order(status="checkout-draft")
    binned = woo_fake.place_order()
    woo_fake.trash_order(binned["id"])

    everything = oauth_call(woo_fake, woo_key, "GET", "/orders")
    only_pending = oauth_call(woo_fake, woo_key, "GET", "/orders", {"status": "pending"})

    assert sorted(o["id"] for o in everything.json()) == sorted([paid["id"], pending["id"]])
    assert [o["id"] for o in only_pending.json()] == [pending["id"]]


def test_completing_an_order_sets_its_dates(woo_fake, woo_key):
    order = woo_fake.place_order(status="processing")

    response = oauth_call(woo_fake, woo_key, "PUT", f"/orders/{order['id']}", json={"status": "completed"})

    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response.json()["date_completed_gmt"] is not None
    assert woo_fake.store.orders[order["id"]]["status"] == "completed"


def test_an_unknown_status_and_an_unknown_order_are_refused(woo_fake, woo_key):
    order = woo_fake.place_order()

    bad_status = oauth_call(woo_fake, woo_key, "PUT", f"/orders/{order['id']}", json={"status": "shipped"})
    missing = oauth_call(woo_fake, woo_key, "GET", "/orders/999999")

    assert bad_status.status_code == 400
    assert bad_status.json()["code"] == "rest_invalid_param"
    assert missing.status_code == 404
    assert missing.json() == {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.",
                              "data": {"status": 404}}


def test_a_customer_note_is_created_and_listed(woo_fake, woo_key):
    order = woo_fake.place_order()

    created = oauth_call(woo_fake, woo_key, "POST", f"/orders/{order['id']}/notes",
                         json={"note": "Shipped via UPS, tracking 1Z999", "customer_note": True})
    listed = oauth_call(woo_fake, woo_key, "GET", f"/orders/{order['id']}/notes", {"type": "customer"})

    assert created.status_code == 201
    assert created.json()["note"] == "Shipped via UPS, tracking 1Z999"
    assert created.json()["customer_note"] is True
    assert [n["id"] for n in listed.json()] == [created.json()["id"]]


def test_shipment_tracking_exists_only_when_the_extension_is_installed(woo_fake, woo_key):
    order = woo_fake.place_order()
    without = requests.get(f"{woo_fake.base_url}/wp-json/", timeout=10).json()["namespaces"]

    with WooCommerceFake(shipment_tracking=True) as fake:
        key = fake.add_key()
        tracked = fake.place_order()
        index = requests.get(f"{fake.base_url}/wp-json/", timeout=10).json()["namespaces"]
        url = f"/wp-json/wc-shipment-tracking/v3/orders/{tracked['id']}/shipment-trackings"
        created = oauth_call(fake, key, "POST", url, json={
            "custom_tracking_provider": "UPS", "custom_tracking_link": "https://ups.example/1Z9",
            "tracking_number": "1Z9", "date_shipped": "2026-01-10"})
        listed = oauth_call(fake, key, "GET", url)

    missing = oauth_call(woo_fake, woo_key, "POST", f"/wp-json/wc-shipment-tracking/v3/orders/{order['id']}/shipment-trackings",
                         json={"tracking_number": "1Z9"})
    assert "wc-shipment-tracking/v3" not in without
    assert "wc-shipment-tracking/v3" in index
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("tracking_provider", "tracking_link", "tracking_number", "date_shipped")} == {
        "tracking_provider": "UPS", "tracking_link": "https://ups.example/1Z9", "tracking_number": "1Z9",
        "date_shipped": "2026-01-10"}
    assert listed.json() == [created.json()]
    assert missing.status_code == 404
    assert missing.json()["code"] == "rest_no_route"


@pytest.mark.parametrize("name", ["order_retrieve_wc-v3.json", "order_update_completed_wc-v3.json"])
def test_a_recorded_order_is_served_as_recorded(woo_fake, woo_key, name):
    recorded = realworld(name)
    woo_fake.store.add_order_payload(recorded)

    response = oauth_call(woo_fake, woo_key, "GET", f"/orders/{recorded['id']}")

    assert response.json() == recorded
