"""Shopify's bulk operations for a big backfill: one `bulkOperationRunQuery` over orders with their line
items instead of thousands of pages, then the JSONL file Shopify writes, read as a stream.

Why: paging is bounded by the cost bucket (a Standard plan restores 100 points/s; an order with its lines
costs ~17 actual points), so a 200,000-order history takes about ten hours to page; a bulk query is not
charged against the bucket and Shopify writes the file as fast as it can.

The file (shopify.dev "Perform bulk operations with the GraphQL Admin API"): one JSON object per line; a
node of a nested connection (a line item) is a line of its own carrying `__parentId`, the id of its order.
We ask for `groupObjects: true`, so each order's line items follow it before the next order starts: an
order is complete when the next order's line (or the end of the file) is read, and the reader holds one
order at a time. The offset handed out with each order is the first byte of the next order's line, so a
reader that stopped (a crash, a retry) starts again there with an HTTP Range request.

Completion: Shopify posts `bulk_operations/finish` (subscribed for the duration of the backfill) and the
operation can be polled by id (`bulkOperation(id:)`). Statuses: CREATED and RUNNING (and CANCELING) are
still running; COMPLETED has `url`; FAILED, CANCELED and EXPIRED (the file's URL lapsed after 7 days)
end it, the engine then pages instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import requests

from core.http import Rejected, Transient, raise_for_status, url_check
from integrations.channels.base import BulkExport, BulkFileGone, BulkOrder
from integrations.channels.shopify.fields import LINE_FIELDS, ORDER_HEAD_FIELDS
from integrations.channels.shopify.mapping import MappingError, gid_number, order_from_graphql

if TYPE_CHECKING:
    from integrations.channels.shopify.adapter import ShopifyAdapter

logger = logging.getLogger("integrations.shopify")

FINISH_TOPIC = "bulk_operations/finish"
# The paged queries' order fields, with the line items as a nested connection of the bulk query
# (no `first`: a bulk query reads every node).
BULK_ORDER_FIELDS = f"""{ORDER_HEAD_FIELDS}      lineItems {{ edges {{ node {{ {LINE_FIELDS} }} }} }}
"""
RUN_QUERY = """mutation SwitchboardBulkOrders($q: String!) {
  bulkOperationRunQuery(query: $q, groupObjects: true) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}"""
STATUS_QUERY = """query SwitchboardBulkStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url partialDataUrl }
}"""
COUNT_QUERY = """query SwitchboardCountOrders($q: String) {
  ordersCount(query: $q, limit: null) { count precision }
}"""
_STATES = {"CREATED": "running", "RUNNING": "running", "CANCELING": "running", "COMPLETED": "completed",
           "FAILED": "failed", "CANCELED": "canceled", "EXPIRED": "expired"}
READ_CHUNK = 64 * 1024
# One decoder for every line, fed text: json.loads on bytes detects the encoding of each of a big file's
# million lines first (the file is UTF-8, Shopify's JSONL).
_decode = json.JSONDecoder().decode


def bulk_orders_query(search: str | None) -> str:
    """The document bulkOperationRunQuery runs: every order matching `search`, oldest update first."""
    arguments = f"query: {json.dumps(search)}, sortKey: UPDATED_AT" if search else "sortKey: UPDATED_AT"
    return f"{{\n  orders({arguments}) {{\n    edges {{ node {{{BULK_ORDER_FIELDS}    }} }}\n  }}\n}}"


def export_from_node(node: dict) -> BulkExport:
    return BulkExport(id=str(node.get("id") or ""), state=_STATES.get(str(node.get("status") or ""), "failed"),
                      url=str(node.get("url") or ""), partial_url=str(node.get("partialDataUrl") or ""),
                      object_count=int(node.get("objectCount") or 0), error=str(node.get("errorCode") or ""))


def orders_count(adapter: ShopifyAdapter, search: str | None) -> int | None:
    data = adapter._data(COUNT_QUERY, {"q": search}, operation="orders")
    found = data.get("ordersCount")
    return int(found["count"]) if found else None


def bulk_start(adapter: ShopifyAdapter, search: str | None, notify_url: str | None) -> BulkExport:
    """Subscribe `bulk_operations/finish` at `notify_url` (when there is one; Shopify delivers to https
    only), then start the operation. An operation already running for this app and shop (Shopify runs one
    bulk query at a time) or a refused query comes back failed: the engine pages instead."""
    if notify_url:
        adapter.webhooks_register(notify_url, [FINISH_TOPIC])
    result = adapter._data(RUN_QUERY, {"q": bulk_orders_query(search)}, operation="orders")["bulkOperationRunQuery"]
    errors = result.get("userErrors") or []
    if errors or not result.get("bulkOperation"):
        reason = "; ".join(f"{e.get('code') or ''} {e.get('message')}".strip() for e in errors) or "no operation"
        logger.warning("integrations.shopify.bulk_refused", extra={"reason": reason})
        return BulkExport(id="", state="failed", error=reason)
    return export_from_node(result["bulkOperation"])


def bulk_status(adapter: ShopifyAdapter, export_id: str) -> BulkExport:
    node = adapter._data(STATUS_QUERY, {"id": export_id}, operation="orders").get("bulkOperation")
    if node is None:
        return BulkExport(id=export_id, state="expired", error="Shopify no longer knows the operation")
    return export_from_node(node)


def _lines(chunks: Iterator[bytes], skip: int) -> Iterator[bytes]:
    """The file's lines, newline kept, from a stream of chunks; the first `skip` bytes dropped. Only the
    chunk being split and a partial line are held."""
    rest = b""
    for chunk in chunks:
        if skip:
            dropped = min(skip, len(chunk))
            chunk, skip = chunk[dropped:], skip - dropped
        if not chunk:
            continue
        rest += chunk
        start = 0
        while (end := rest.find(b"\n", start)) >= 0:
            yield rest[start:end + 1]
            start = end + 1
        rest = rest[start:]
    if rest:
        yield rest


def _open(adapter: ShopifyAdapter, url: str, offset: int) -> Iterator[bytes]:
    """The file's lines from byte `offset`: a Range request, and when the server sends the whole file anyway
    (200, not 206), the bytes before `offset` skipped as they stream by. The URL is Shopify's signed storage
    URL: no access token goes with it."""
    url_check(url, resolve=False)
    http = adapter.client.http
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = http.session.get(url, headers=headers, stream=True, timeout=http.timeout, allow_redirects=False)
    except Rejected:
        raise
    except requests.RequestException as exc:
        raise Transient(f"the bulk file could not be fetched: {type(exc).__name__}") from exc
    if response.status_code == 416 and offset:  # nothing after the offset: the file was read to its end
        response.close()
        return (line for line in ())
    if response.status_code in (401, 403, 404, 410):  # the storage's signed URL lapsed: not our token
        response.close()
        raise BulkFileGone(f"the bulk file answered {response.status_code}", status=response.status_code)
    raise_for_status(response, "GET bulk file")
    skip = offset if offset and response.status_code != 206 else 0

    def lines() -> Iterator[bytes]:
        try:
            yield from _lines(response.iter_content(READ_CHUNK), skip)
        except requests.RequestException as exc:
            raise Transient(f"the bulk file's download broke off: {type(exc).__name__}") from exc
        finally:
            response.close()

    return lines()


def bulk_orders(adapter: ShopifyAdapter, export: BulkExport, offset: int = 0) -> Iterator[BulkOrder]:
    """The orders of a finished operation's file from byte `offset`, each with its line items (the lines
    after it whose `__parentId` is its id), one order held at a time. An order our mapping refuses is
    logged and skipped (as a refused order of a page is); a line whose parent is not the order being read
    means the file is not grouped as asked, and raises (the engine then pages)."""
    url = export.url or export.partial_url
    if not url:
        raise Rejected(f"bulk operation {export.id} has no file")
    lines_in = _open(adapter, url, offset)
    position = offset
    current: dict | None = None
    lines: list[dict] = []

    def finish(resume_at: int) -> Iterator[BulkOrder]:
        try:
            yield BulkOrder(order=order_from_graphql(current, lines), resume_offset=resume_at)
        except (MappingError, ValueError, TypeError, ArithmeticError) as exc:
            logger.warning("integrations.shopify.bulk_order_skipped",
                           extra={"order": str(current.get("id")), "error": str(exc)})

    try:
        for raw in lines_in:
            start = position
            position += len(raw)
            if not raw.strip():
                continue
            try:
                obj = _decode(raw.decode("utf-8"))
            except ValueError as exc:  # UnicodeDecodeError is one
                raise Transient(f"bulk file line at byte {start} is not JSON") from exc
            parent = obj.pop("__parentId", None)
            if parent is None:
                if current is not None:
                    yield from finish(start)
                current, lines = obj, []
            elif current is not None and parent == current.get("id"):
                lines.append(obj)
            else:
                raise Transient(f"bulk file line at byte {start} names parent {parent}, not the order being read")
    finally:
        lines_in.close()  # type: ignore[attr-defined]
    if current is not None:
        yield from finish(position)


def bulk_webhook_export_id(payload: dict) -> tuple[str, str]:
    """(operation id, our state word) from a bulk_operations/finish body: `admin_graphql_api_id` and a
    lower-case `status` ("completed", "failed", "canceled", ...)."""
    gid = str(payload.get("admin_graphql_api_id") or "")
    gid_number(gid)  # MappingError when it is not a Shopify id
    return gid, _STATES.get(str(payload.get("status") or "").upper(), "failed")

