"""The fake's bulk operations (bulk.py) through its HTTP API: Shopify's JSONL format, the lifecycle, one
bulk query at a time, the signed file URL with Range, the finish webhook, the failure modes."""

from __future__ import annotations

import json
import threading
import time

import requests

from .bulk import seed_generated_orders
from .fixtures import graphql
from .seed import seed_catalog, seed_orders
from .webhooks import sign_webhook_body

RUN = """mutation Run($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: true) {
  bulkOperation { id status } userErrors { field message code } } }"""
STATUS = """query S($id: ID!) { bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount url
  partialDataUrl fileSize } }"""
ORDERS = """{ orders(sortKey: CREATED_AT) { edges { node { id name
  lineItems { edges { node { id sku quantity } } } } } } }"""


def _run(fake, shop, token, query=ORDERS) -> dict:
    return graphql(fake, shop.domain, token, RUN, {"q": query}).json()["data"]["bulkOperationRunQuery"]


def _wait(fake, shop, token, gid: str) -> dict:
    for _ in range(500):
        op = graphql(fake, shop.domain, token, STATUS, {"id": gid}).json()["data"]["bulkOperation"]
        if op["status"] not in ("CREATED", "RUNNING"):
            return op
        time.sleep(0.01)
    raise AssertionError("the operation never finished")


def test_orders_with_line_items_come_as_jsonl_children_after_their_parent(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop)
    orders = seed_orders(shopify_shop, 3, lines=2)
    seed_generated_orders(shopify_shop, 2, lines=3)
    started = _run(shopify_fake, shopify_shop, shopify_token)
    assert started["userErrors"] == [] and started["bulkOperation"]["status"] in ("CREATED", "RUNNING")  # the fake may have started it already
    op = _wait(shopify_fake, shopify_shop, shopify_token, started["bulkOperation"]["id"])
    assert (op["status"], op["objectCount"], op["rootObjectCount"]) == ("COMPLETED", "17", "5")
    body = requests.get(op["url"], timeout=10)
    assert body.status_code == 200 and int(op["fileSize"]) == len(body.content)
    lines = [json.loads(line) for line in body.text.splitlines()]
    assert len(lines) == 17
    first = lines[0]
    assert first["id"] == f"gid://shopify/Order/{orders[0].id}" and "__parentId" not in first
    assert "lineItems" not in first  # a nested connection's nodes are lines of their own
    assert [line["__parentId"] for line in lines[1:3]] == [first["id"]] * 2
    assert lines[1]["id"] == f"gid://shopify/LineItem/{orders[0].line_items[0].id}"
    parents = [line for line in lines if "__parentId" not in line]
    assert [p["name"] for p in parents][-2:] == ["#G1", "#G2"]


def test_a_second_bulk_query_while_one_runs_is_refused(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop)
    seed_orders(shopify_shop, 2)
    shopify_fake.bulk_gate = gate = threading.Event()
    first = _run(shopify_fake, shopify_shop, shopify_token)["bulkOperation"]
    second = _run(shopify_fake, shopify_shop, shopify_token)
    assert second["bulkOperation"] is None
    assert second["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS" and first["id"] in second["userErrors"][0]["message"]
    gate.set()
    assert _wait(shopify_fake, shopify_shop, shopify_token, first["id"])["status"] == "COMPLETED"
    assert _run(shopify_fake, shopify_shop, shopify_token)["userErrors"] == []


def test_an_invalid_or_connectionless_query_is_a_user_error(shopify_fake, shopify_shop, shopify_token):
    bad = _run(shopify_fake, shopify_shop, shopify_token, "{ orders { edges { node { nosuchfield } } } }")
    assert bad["bulkOperation"] is None and bad["userErrors"][0]["code"] == "INVALID"
    flat = _run(shopify_fake, shopify_shop, shopify_token, "{ shop { name } }")
    assert flat["userErrors"][0]["code"] == "INVALID"


def test_the_file_url_is_signed_and_honours_range(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop)
    seed_orders(shopify_shop, 4)
    op = _wait(shopify_fake, shopify_shop, shopify_token, _run(shopify_fake, shopify_shop, shopify_token)["bulkOperation"]["id"])
    whole = requests.get(op["url"], timeout=10).content
    tail = requests.get(op["url"], headers={"Range": "bytes=100-"}, timeout=10)
    assert tail.status_code == 206 and tail.content == whole[100:]
    assert requests.get(op["url"], headers={"Range": f"bytes={len(whole)}-"}, timeout=10).status_code == 416
    forged = op["url"].rsplit("X-Goog-Signature=", 1)[0] + "X-Goog-Signature=" + "0" * 64
    assert requests.get(forged, timeout=10).status_code == 403


def test_the_finish_webhook_goes_to_each_subscription_signed(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop)
    seed_orders(shopify_shop, 1)
    shopify_fake.webhook_secret = "s3cret"
    subscribe = """mutation W($sub: WebhookSubscriptionInput!) { webhookSubscriptionCreate(
      topic: BULK_OPERATIONS_FINISH, webhookSubscription: $sub) { userErrors { message } } }"""
    graphql(shopify_fake, shopify_shop.domain, shopify_token, subscribe, {"sub": {"uri": "https://app.example/hook"}})
    gid = _run(shopify_fake, shopify_shop, shopify_token)["bulkOperation"]["id"]
    _wait(shopify_fake, shopify_shop, shopify_token, gid)
    for _ in range(100):
        if shopify_fake.webhooks_sent:
            break
        time.sleep(0.01)
    ((url, raw, headers),) = shopify_fake.webhooks_sent
    body = json.loads(raw)
    assert url == "https://app.example/hook" and headers["X-Shopify-Topic"] == "bulk_operations/finish"
    assert headers["X-Shopify-Hmac-Sha256"] == sign_webhook_body(raw, "s3cret")
    assert (body["admin_graphql_api_id"], body["status"], body["type"], body["error_code"]) == (
        gid, "completed", "query", None)


def test_failed_canceled_and_expired_modes(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop)
    seed_orders(shopify_shop, 10)
    shopify_fake.bulk_mode = "failed"
    failed = _wait(shopify_fake, shopify_shop, shopify_token, _run(shopify_fake, shopify_shop, shopify_token)["bulkOperation"]["id"])
    assert (failed["status"], failed["errorCode"], failed["url"]) == ("FAILED", "INTERNAL_SERVER_ERROR", None)
    partial = requests.get(failed["partialDataUrl"], timeout=10).text.splitlines()
    assert 0 < len([line for line in partial if "__parentId" not in line]) < 10
    for mode, status in (("canceled", "CANCELED"), ("expired", "EXPIRED")):
        shopify_fake.bulk_mode = mode
        op = _wait(shopify_fake, shopify_shop, shopify_token, _run(shopify_fake, shopify_shop, shopify_token)["bulkOperation"]["id"])
        assert (op["status"], op["url"]) == (status, None)


def test_orders_count_counts_stored_and_generated_orders_in_the_window(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop)
    seed_orders(shopify_shop, 3)
    seed_generated_orders(shopify_shop, 1000)
    query = "query C($q: String) { ordersCount(query: $q, limit: null) { count precision } }"
    found = graphql(shopify_fake, shopify_shop.domain, shopify_token, query, {"q": None}).json()["data"]["ordersCount"]
    assert found == {"count": 1003, "precision": "EXACT"}
    capped = graphql(shopify_fake, shopify_shop.domain, shopify_token,
                     "{ ordersCount { count precision } }").json()["data"]["ordersCount"]
    assert capped == {"count": 1003, "precision": "EXACT"}
