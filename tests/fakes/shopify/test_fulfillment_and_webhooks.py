"""Fulfillment orders, fulfillmentCreate with tracking and its update, webhook subscriptions, and signed
webhook deliveries in the REST shape."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes.shopify import gid, seed_catalog, seed_orders, send_webhook, webhook_request
from tests.fakes.shopify.fixtures import graphql

FULFILLMENT_ORDERS = """query($id: ID!) { order(id: $id) { displayFulfillmentStatus fulfillmentOrders(first: 5) {
  nodes { id status assignedLocation { location { id } }
          lineItems(first: 50) { nodes { id remainingQuantity totalQuantity lineItem { id sku } } } } } } }"""
CREATE = """mutation Ship($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
  fulfillment { id status trackingInfo { company number url } } userErrors { field message } } }"""
UPDATE = """mutation Track($id: ID!, $t: FulfillmentTrackingInput!) {
  fulfillmentTrackingInfoUpdate(fulfillmentId: $id, trackingInfoInput: $t, notifyCustomer: false) {
    fulfillment { id trackingInfo { company number } } userErrors { field message } } }"""


def fulfillment_orders(fake, shop, token, order):
    return graphql(fake, shop.domain, token, FULFILLMENT_ORDERS,
                   {"id": gid("Order", order.id)}).json()["data"]["order"]


def test_fulfillment_with_tracking_closes_the_fulfillment_order(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop)
    (order,) = seed_orders(shopify_shop, 1, lines=2, quantity=2)
    before = fulfillment_orders(shopify_fake, shopify_shop, shopify_token, order)
    (fo,) = before["fulfillmentOrders"]["nodes"]
    first_line, second_line = fo["lineItems"]["nodes"]

    partial = graphql(shopify_fake, shopify_shop.domain, shopify_token, CREATE, {"f": {
        "notifyCustomer": True,
        "trackingInfo": {"company": "UPS", "number": "1Z999AA10123456784", "url": "https://carrier.example.test/1Z"},
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": [
            {"id": first_line["id"], "quantity": 2}]}]}}).json()["data"]["fulfillmentCreate"]
    middle = fulfillment_orders(shopify_fake, shopify_shop, shopify_token, order)
    rest = graphql(shopify_fake, shopify_shop.domain, shopify_token, CREATE, {"f": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}]}}).json()["data"]["fulfillmentCreate"]
    after = fulfillment_orders(shopify_fake, shopify_shop, shopify_token, order)

    assert before["displayFulfillmentStatus"] == "UNFULFILLED"
    assert fo["assignedLocation"]["location"]["id"] == gid("Location", shopify_shop.primary_location().id)
    assert partial["userErrors"] == []
    assert partial["fulfillment"]["trackingInfo"] == [{"company": "UPS", "number": "1Z999AA10123456784",
                                                       "url": "https://carrier.example.test/1Z"}]
    assert middle["displayFulfillmentStatus"] == "PARTIALLY_FULFILLED"
    assert [n["remainingQuantity"] for n in middle["fulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"]] == [0, 2]
    assert rest["userErrors"] == []
    assert after["displayFulfillmentStatus"] == "FULFILLED"
    assert after["fulfillmentOrders"]["nodes"][0]["status"] == "CLOSED"
    assert second_line["lineItem"]["sku"] == order.line_items[1].sku


def test_fulfilling_more_than_remains_is_a_user_error_and_changes_nothing(shopify_fake, shopify_shop,
                                                                          shopify_token):
    seed_catalog(shopify_shop)
    (order,) = seed_orders(shopify_shop, 1, lines=1, quantity=1)
    (fo,) = fulfillment_orders(shopify_fake, shopify_shop, shopify_token, order)["fulfillmentOrders"]["nodes"]
    line = fo["lineItems"]["nodes"][0]

    result = graphql(shopify_fake, shopify_shop.domain, shopify_token, CREATE, {"f": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": [
            {"id": line["id"], "quantity": 3}]}]}}).json()["data"]["fulfillmentCreate"]
    unknown = graphql(shopify_fake, shopify_shop.domain, shopify_token, CREATE, {"f": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1"}]}}).json()

    assert result["fulfillment"] is None
    assert result["userErrors"][0]["field"] == ["fulfillment", "lineItemsByFulfillmentOrder", "0",
                                                "fulfillmentOrderLineItems", "0", "quantity"]
    assert unknown["data"]["fulfillmentCreate"]["userErrors"] == [{
        "field": ["fulfillment", "lineItemsByFulfillmentOrder", "0", "fulfillmentOrderId"],
        "message": "Fulfillment order does not exist."}]
    assert shopify_shop.fulfillments == {}


def test_tracking_update_replaces_the_number(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop)
    (order,) = seed_orders(shopify_shop, 1)
    (fo,) = fulfillment_orders(shopify_fake, shopify_shop, shopify_token, order)["fulfillmentOrders"]["nodes"]
    created = graphql(shopify_fake, shopify_shop.domain, shopify_token, CREATE, {"f": {
        "trackingInfo": {"company": "UPS", "number": "1ZOLD"},
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}]}}).json()["data"]["fulfillmentCreate"]

    updated = graphql(shopify_fake, shopify_shop.domain, shopify_token, UPDATE, {
        "id": created["fulfillment"]["id"], "t": {"company": "UPS", "number": "1ZNEW"}}).json()
    missing = graphql(shopify_fake, shopify_shop.domain, shopify_token, UPDATE, {
        "id": "gid://shopify/Fulfillment/1", "t": {"number": "X"}}).json()

    assert updated["data"]["fulfillmentTrackingInfoUpdate"] == {
        "fulfillment": {"id": created["fulfillment"]["id"], "trackingInfo": [{"company": "UPS", "number": "1ZNEW"}]},
        "userErrors": []}
    assert missing["data"]["fulfillmentTrackingInfoUpdate"]["userErrors"] == [
        {"field": ["fulfillmentId"], "message": "Fulfillment does not exist."}]
    (stored,) = shopify_shop.fulfillments.values()
    assert stored.tracking == [{"company": "UPS", "number": "1ZNEW", "url": None}]
    (rest,) = shopify_shop.order_rest(order.id)["fulfillments"]
    assert (rest["tracking_company"], rest["tracking_number"], rest["status"]) == ("UPS", "1ZNEW", "success")
    assert rest["line_items"] == [{"id": order.line_items[0].id, "quantity": 1},
                                  {"id": order.line_items[1].id, "quantity": 1}]


def test_webhook_subscriptions_create_list_and_delete(shopify_fake, shopify_shop, shopify_token):
    create = """mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
        webhookSubscription { id topic uri } userErrors { field message } } }"""
    listing = """query { webhookSubscriptions(first: 250) { pageInfo { hasNextPage endCursor }
      edges { node { id topic includeFields endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } } } } }"""
    delete = """mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId
      userErrors { field message } } }"""
    url = "https://switchboard.example.test/webhooks/shopify/tok/"

    made = [graphql(shopify_fake, shopify_shop.domain, shopify_token, create, {"topic": topic, "sub": sub}).json()
            ["data"]["webhookSubscriptionCreate"] for topic, sub in [
                ("ORDERS_CREATE", {"uri": url, "format": "JSON"}),
                ("ORDERS_UPDATED", {"callbackUrl": url, "includeFields": ["id", "updated_at"]}),
                ("ORDERS_CREATE", {"uri": url}),
                ("APP_UNINSTALLED", {"uri": "http://switchboard.example.test/plain-http"})]]
    listed = graphql(shopify_fake, shopify_shop.domain, shopify_token, listing).json()["data"]["webhookSubscriptions"]
    deleted = graphql(shopify_fake, shopify_shop.domain, shopify_token, delete,
                      {"id": made[0]["webhookSubscription"]["id"]}).json()["data"]["webhookSubscriptionDelete"]

    assert [m["userErrors"] for m in made] == [
        [], [], [{"field": ["webhookSubscription", "uri"], "message": "Address for this topic has already been taken"}],
        [{"field": ["webhookSubscription", "uri"], "message": "Address protocol http:// is not supported"}]]
    assert [(e["node"]["topic"], e["node"]["endpoint"], e["node"]["includeFields"]) for e in listed["edges"]] == [
        ("ORDERS_CREATE", {"__typename": "WebhookHttpEndpoint", "callbackUrl": url}, []),
        ("ORDERS_UPDATED", {"__typename": "WebhookHttpEndpoint", "callbackUrl": url}, ["id", "updated_at"])]
    assert deleted == {"deletedWebhookSubscriptionId": made[0]["webhookSubscription"]["id"], "userErrors": []}
    assert [s.topic for s in shopify_shop.webhooks.values()] == ["ORDERS_UPDATED"]


def test_webhook_delivery_is_signed_over_the_raw_rest_body(shopify_shop):
    seed_catalog(shopify_shop)
    (order,) = seed_orders(shopify_shop, 1)
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        response = send_webhook(f"http://127.0.0.1:{server.server_address[1]}/hook", topic="orders/create",
                                body=order.to_rest(), secret="shpss_secret", shop_domain=shopify_shop.domain,
                                event_id="evt-1")
    finally:
        server.shutdown()
        server.server_close()

    headers, raw = received[0]
    expected = base64.b64encode(hmac.new(b"shpss_secret", raw, hashlib.sha256).digest()).decode()
    assert response.status_code == 200
    assert headers["X-Shopify-Hmac-Sha256"] == expected
    assert (headers["X-Shopify-Topic"], headers["X-Shopify-Shop-Domain"], headers["X-Shopify-Event-Id"],
            headers["X-Shopify-API-Version"]) == ("orders/create", "demo-store.myshopify.com", "evt-1", "2026-10")
    body = json.loads(raw)
    assert body["id"] == order.id
    assert [li["id"] for li in body["line_items"]] == [li.id for li in order.line_items]


def test_a_retry_keeps_the_event_id_and_gets_a_new_webhook_id():
    first_raw, first = webhook_request(topic="orders/updated", body={"id": 1}, secret="s", shop_domain="a.myshopify.com")
    retry_raw, retry = webhook_request(topic="orders/updated", body={"id": 1}, secret="s", shop_domain="a.myshopify.com",
                                       event_id=first["X-Shopify-Event-Id"])

    assert first_raw == retry_raw
    assert retry["X-Shopify-Event-Id"] == first["X-Shopify-Event-Id"]
    assert retry["X-Shopify-Webhook-Id"] != first["X-Shopify-Webhook-Id"]
    assert retry["X-Shopify-Hmac-Sha256"] == first["X-Shopify-Hmac-Sha256"]


def test_fulfillment_orders_of_two_locations_in_one_fulfillment_are_refused(shopify_fake, shopify_shop,
                                                                            shopify_token):
    seed_catalog(shopify_shop)
    overflow = shopify_shop.add_location("Overflow")
    (order,) = seed_orders(shopify_shop, 1, lines=2, quantity=1)
    shopify_shop.assign_lines(order.id, overflow.id, [order.line_items[1].id])
    nodes = fulfillment_orders(shopify_fake, shopify_shop, shopify_token, order)["fulfillmentOrders"]["nodes"]
    open_ids = [fo["id"] for fo in nodes if fo["status"] == "OPEN"]

    both = graphql(shopify_fake, shopify_shop.domain, shopify_token, CREATE, {"f": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo_id} for fo_id in open_ids]}}).json()

    assert sorted(fo["assignedLocation"]["location"]["id"] for fo in nodes if fo["status"] == "OPEN") == sorted(
        [gid("Location", shopify_shop.primary_location().id), gid("Location", overflow.id)])
    assert both["data"]["fulfillmentCreate"]["userErrors"] == [
        {"field": ["fulfillment", "lineItemsByFulfillmentOrder"],
         "message": "All fulfillment orders must be assigned to the same location."}]
    assert shopify_shop.fulfillments == {}
