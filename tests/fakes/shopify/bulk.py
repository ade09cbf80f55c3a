"""Bulk operations on the fake (shopify.dev "Perform bulk operations with the GraphQL Admin API").

- `bulkOperationRunQuery(query:, groupObjects:)` validates the inner query against the schema (a query that
  is not valid, or has no connection, is a userError `INVALID`), refuses a second bulk query of the same app
  and shop while one is CREATED or RUNNING (`OPERATION_IN_PROGRESS`, what Shopify answers in versions that
  allow one at a time), and starts a thread that runs it: CREATED → RUNNING → COMPLETED.
- The file is JSONL: one object per line, each node of a nested connection a line of its own with
  `__parentId` (its parent's id), written right after its parent (grouped). It is written to a temporary
  file and served by the fake at a signed-looking loopback URL (`X-Goog-Signature`, 403 when the signature
  is wrong or the operation expired), with HTTP Range support, streamed in chunks.
- When it finishes, a `bulk_operations/finish` webhook (REST-style body: `admin_graphql_api_id`,
  `completed_at`, `created_at`, `error_code`, `status` lower-case, `type`) is signed and handed to
  `fake.webhook_sink(url, raw, headers)` for every subscription to BULK_OPERATIONS_FINISH (by default kept
  in `fake.webhooks_sent` and POSTed only to a loopback address).
- `fake.bulk_mode` makes the next operations end "completed" (default), "failed" (INTERNAL_SERVER_ERROR,
  a partialDataUrl with the first half), "canceled" or "expired" (completed, and its URL lapsed before
  anyone looked: EXPIRED, url null, the file 403; `expire(op)` does it to a completed one); `fake.bulk_gate` (a threading.Event), when set on the fake, holds every
  operation RUNNING until the event is set.
- Big shops: `seed_generated_orders(shop, n)` adds orders made on the fly (deterministic from their index,
  never stored), seen by bulk queries and ordersCount only (not by the paged `orders` connection): a
  200,000-order history in no memory at all.

Not verified against Shopify: the exact message texts, the webhook's `X-Shopify-Event-Id` format, and the
URL's query parameters (Google Cloud Storage's V4 signature names, what Shopify's URLs have carried).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from graphql import FieldNode, GraphQLError, OperationType, parse, validate
from graphql.utilities import value_from_ast_untyped

from .schema import admin_schema
from .state import FakeOrder, LineItem, ShippingLine, ShopState, gid, new_id

FINISH_TOPIC = "BULK_OPERATIONS_FINISH"
RUNNING = ("CREATED", "RUNNING", "CANCELING")
PAGE = 250
_URL_KEY = secrets.token_bytes(16)


@dataclass
class BulkOperation:
    id: int
    shop: str
    client_id: str
    query: str
    created_at: datetime
    status: str = "CREATED"
    completed_at: datetime | None = None
    error_code: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    path: str | None = None  # the JSONL file on disk
    size: int = 0
    partial_size: int = 0
    token: str = field(default_factory=lambda: secrets.token_hex(12))

    @property
    def gid(self) -> str:
        return gid("BulkOperation", self.id)


# ---------------------------------------------------------------- generated orders


@dataclass
class GeneratedOrders:
    """`count` orders made from their index on demand: ids from `first_id` (the order's id is
    first_id + 16 n, its lines the ids after it), created `step` apart from `start`, lines cycling through
    `variants` (id, sku, title, price)."""

    count: int
    start: datetime
    step: timedelta
    lines: int
    variants: list[tuple[int, int, str, str, Decimal]]
    first_id: int
    currency: str
    customer: dict
    address: dict

    def order(self, n: int) -> FakeOrder:
        order_id = self.first_id + 16 * n
        created = self.start + self.step * n
        items = []
        for k in range(self.lines):
            variant_id, product_id, sku, title, price = self.variants[(n * self.lines + k) % len(self.variants)]
            items.append(LineItem(id=order_id + 1 + k, sku=sku, title=title, variant_title=None, quantity=1,
                                  price=price, variant_id=variant_id, product_id=product_id, grams=200))
        return FakeOrder(id=order_id, name=f"#G{n + 1}", number=1_000_000 + n, email=f"g{n}@mail.example.com",
                         created_at=created, updated_at=created, currency=self.currency, line_items=items,
                         customer=dict(self.customer, id=self.customer.get("id", 1) + n, email=f"g{n}@mail.example.com"),
                         shipping_address=self.address, billing_address=self.address,
                         shipping_lines=[ShippingLine(id=order_id + 15, title="Standard", code="STD",
                                                      price=Decimal("10.00"))])

    def __iter__(self) -> Iterator[FakeOrder]:
        return (self.order(n) for n in range(self.count))

    def __len__(self) -> int:
        return self.count


def seed_generated_orders(shop: ShopState, count: int, *, start: datetime | None = None,
                          step: timedelta = timedelta(seconds=10), lines: int = 3) -> GeneratedOrders:
    """`count` orders of the shop's variants (seed the catalog first) made on the fly, never stored."""
    from .seed import _customer_and_address

    variants = sorted(shop.variants.values(), key=lambda v: v.id)
    if not variants:
        raise ValueError("seed_catalog(shop) first: orders are made of the shop's variants")
    customer, address = _customer_and_address()
    table = [(v.id, v.product_id, v.sku or "", shop.products[v.product_id].title, v.price) for v in variants]
    shop.generated_orders = GeneratedOrders(
        count=count, start=start or datetime(2026, 10, 1, 9, 0, tzinfo=UTC), step=step, lines=lines,
        variants=table, first_id=10**13 + (shop.id % 10**5) * 16 * 10**7, currency=shop.currency,
        customer=customer, address=address)
    return shop.generated_orders


# ---------------------------------------------------------------- projecting a selection onto the fake's views
#
# A bulk query's selection is compiled once per operation into a plan (each field's output key, arguments
# and sub-plan), then every object is projected by walking the plan: the selection's AST is not re-read and
# its arguments not re-evaluated for each of 200,000 orders. What is projected is the views' own values, as
# the paged API answers them.


class _Info:
    """What the views' callables read of graphql-core's info: the field's name (for errors) and its parent
    type's name. One per field and parent type, made when first needed."""

    __slots__ = ("field_name", "parent_type", "field_nodes")

    class _Type:
        __slots__ = ("name",)

        def __init__(self, name: str) -> None:
            self.name = name

    def __init__(self, name: str, parent: str = "") -> None:
        self.field_name = name
        self.parent_type = _Info._Type(parent)
        self.field_nodes = ()


def _connection_nodes(selection: FieldNode) -> FieldNode | None:
    """The `node` (under `edges`) or `nodes` selection of a connection field, None when it is not one."""
    for sub in selection.selection_set.selections if selection.selection_set else ():
        if isinstance(sub, FieldNode) and sub.name.value == "nodes":
            return sub
        if isinstance(sub, FieldNode) and sub.name.value == "edges":
            for inner in sub.selection_set.selections if sub.selection_set else ():
                if isinstance(inner, FieldNode) and inner.name.value == "node":
                    return inner
    return None


class _Field:
    """One selected field: where it goes in the line, what it is called on the view, its arguments, the plan
    of its own selection (None for a leaf) and, when it is a connection, the plan of its nodes."""

    __slots__ = ("key", "name", "args", "plan", "nodes", "infos")

    def __init__(self, sub: FieldNode) -> None:
        self.name = sub.name.value
        self.key = sub.alias.value if sub.alias else self.name
        self.args = {a.name.value: value_from_ast_untyped(a.value) for a in sub.arguments or ()}
        self.plan = _Plan(sub) if sub.selection_set is not None else None
        nodes = _connection_nodes(sub)
        self.nodes = (nodes.name.value, _Plan(nodes)) if nodes is not None else None
        self.infos: dict[str, _Info] = {}

    def info(self, parent: Any) -> _Info:
        parent = str(parent)
        found = self.infos.get(parent)
        if found is None:
            found = self.infos[parent] = _Info(self.name, parent)
        return found


class _Plan:
    """A selection set compiled: its fields in order. A fragment is refused when an object is projected with
    it (as before plans: an operation whose query the fake cannot run fails when it meets an object)."""

    __slots__ = ("fields", "unsupported")

    def __init__(self, selection: FieldNode) -> None:
        subs = selection.selection_set.selections
        self.unsupported = any(not isinstance(sub, FieldNode) for sub in subs)
        self.fields = [] if self.unsupported else [_Field(sub) for sub in subs]


def _shape(value: Any, plan: _Plan | None) -> Any:
    if value is None or plan is None:
        return value
    if isinstance(value, list):
        return [_shape(v, plan) for v in value]
    line, children = _project(value, plan)
    if children:
        raise GraphQLError("Bulk queries support nested connections only on a connection's nodes.")
    return line


def _project(obj: dict, plan: _Plan) -> tuple[dict, list[tuple[str, _Plan, Callable, dict]]]:
    if plan.unsupported:
        raise GraphQLError("The Shopify fake's bulk queries do not model fragments.")
    out: dict[str, Any] = {}
    children = []
    for f in plan.fields:
        name = f.name
        if name == "__typename":
            out[f.key] = obj.get("__typename")
            continue
        try:
            value = obj[name]
        except KeyError:
            raise GraphQLError(f"The Shopify fake does not model {obj.get('__typename')}.{name} in bulk queries.") \
                from None
        if callable(value):
            if f.nodes is not None:
                children.append((f.nodes[0], f.nodes[1], value, f.args))
                continue
            value = value(f.info(obj.get("__typename")), **f.args)
        out[f.key] = value if f.plan is None or value is None else _shape(value, f.plan)
    return out, children


def _pages(resolve: Callable, args: dict, name: str) -> Iterator[dict]:
    """Every node of a connection, PAGE at a time (the views' connections want `first`)."""
    after = None
    info = _Info(name)
    while True:
        page = resolve(info, **{**args, "first": PAGE, "after": after})
        yield from page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]


def _emit(obj: dict, plan: _Plan, parent: str | None, write: Callable[[dict], None]) -> None:
    line, children = _project(obj, plan)
    if parent is not None:
        line["__parentId"] = parent
    write(line)
    for name, nodes, resolve, args in children:
        if "id" not in obj:
            raise GraphQLError("A nested connection's parent must select `id` in a bulk query.")
        for child in _pages(resolve, args, name):
            _emit(child, nodes, obj["id"], write)


# ---------------------------------------------------------------- the operations


def bulk_run(ctx: Any, info: Any, query: str, group_objects: bool) -> dict:
    """bulkOperationRunQuery."""
    from .graph import need

    fake = ctx.fake
    shop: ShopState = ctx.shop
    for op in shop.bulk_operations.values():
        if op.client_id == ctx.token.client_id and op.status in RUNNING:
            return {"bulkOperation": None, "userErrors": [{
                "field": ["query"], "code": "OPERATION_IN_PROGRESS",
                "message": f"A bulk query operation for this app and shop is already in progress: {op.gid}."}]}
    try:
        document = parse(query)
    except GraphQLError as error:
        return _invalid(f"Invalid bulk query: {error.message}")
    errors = validate(admin_schema(), document)
    if errors:
        return _invalid("Invalid bulk query: " + "; ".join(e.message for e in errors))
    operation = document.definitions[0]
    if getattr(operation, "operation", None) != OperationType.QUERY or len(document.definitions) != 1:
        return _invalid("Bulk queries must contain exactly one query operation.")
    roots = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    if len(roots) != 1 or _connection_nodes(roots[0]) is None:
        return _invalid("Bulk queries must contain at least one connection.")
    if roots[0].name.value == "orders":
        need(ctx, info, "read_orders")
    op = BulkOperation(id=new_id(), shop=shop.domain, client_id=ctx.token.client_id, query=query,
                       created_at=ctx.now_dt)
    shop.bulk_operations[op.id] = op
    thread = threading.Thread(target=_run, args=(fake, shop, ctx.token, op, roots[0]), daemon=True,
                              name=f"shopify-fake-bulk-{op.id}")
    thread.start()
    return {"bulkOperation": bulk_view(fake, op), "userErrors": []}


def _invalid(message: str) -> dict:
    return {"bulkOperation": None, "userErrors": [{"field": ["query"], "code": "INVALID", "message": message}]}


def _roots(ctx: Any, root: FieldNode) -> Iterator[dict]:
    from .graph import ORDER_SEARCH, build_root, order_view, visible_orders

    args = {a.name.value: value_from_ast_untyped(a.value) for a in root.arguments or ()}
    resolve = build_root(ctx)[root.name.value]
    yield from _pages(resolve, args, root.name.value)
    generated = getattr(ctx.shop, "generated_orders", None)
    if root.name.value == "orders" and generated is not None:
        yield from (order_view(ctx, o) for o in _generated_visible(ctx, generated, args.get("query"), ORDER_SEARCH,
                                                                   visible_orders))


def _generated_visible(ctx: Any, generated: GeneratedOrders, query: str | None, fields: dict,
                       visible: Callable) -> Iterator[FakeOrder]:
    from .graph import granted, parse_search

    terms = [(n, op, v) for n, op, v in parse_search(query) if n in fields]
    horizon = None if "read_all_orders" in granted(ctx.token) else ctx.now_dt - timedelta(days=60)
    for order in generated:
        if horizon is not None and order.created_at < horizon:
            continue
        if all(fields[n](order, op, v) for n, op, v in terms):
            yield order


def _run(fake: Any, shop: ShopState, token: Any, op: BulkOperation, root: FieldNode) -> None:
    from .graph import Context

    ctx = Context(shop=shop, token=token, now=fake.clock.time(), fake=fake)
    handle, path = tempfile.mkstemp(prefix=f"shopify-fake-bulk-{op.id}-", suffix=".jsonl")
    op.path = path
    op.status = "RUNNING"
    mode = fake.bulk_mode
    encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        lines: list[str] = []  # one root object's lines, written together

        def write(line: dict) -> None:
            lines.append(encode(line))
            op.object_count += 1
            if "__parentId" not in line:
                op.root_object_count += 1

        try:
            plan = _Plan(_connection_nodes(root))
            for obj in _roots(ctx, root):
                with fake.lock:
                    _emit(obj, plan, None, write)
                lines.append("")
                out.write("\n".join(lines))
                lines.clear()
                if mode == "failed" and op.partial_size == 0 and op.root_object_count * 2 >= _root_total(ctx, root):
                    out.flush()
                    op.partial_size = out.tell()
                    break
        except Exception:  # noqa: BLE001 - a query the fake cannot run fails the operation, as on Shopify
            op.error_code = "INTERNAL_SERVER_ERROR"
            mode = "failed"
            traceback.print_exc()
        out.flush()
        op.size = out.tell()
    gate = fake.bulk_gate
    if gate is not None:
        gate.wait()
    now = datetime.now(UTC)
    op.status = {"completed": "COMPLETED", "failed": "FAILED", "canceled": "CANCELED",
                 "expired": "COMPLETED"}[mode]
    if mode == "failed":
        op.error_code = op.error_code or "INTERNAL_SERVER_ERROR"
    if mode == "completed" or mode == "expired":
        op.completed_at = now
    if mode == "expired":  # as if nobody looked for the 7 days its URL lasts
        op.status = "EXPIRED"
    _finish_webhook(fake, shop, op)


def _root_total(ctx: Any, root: FieldNode) -> int:
    cached = getattr(ctx, "_bulk_total", None)
    if cached is None:
        cached = sum(1 for _ in _roots(ctx, root))
        ctx._bulk_total = cached
    return cached


def url_signature(op: BulkOperation) -> str:
    return hmac.new(_URL_KEY, f"{op.id}:{op.token}".encode(), hashlib.sha256).hexdigest()


def file_url(fake: Any, op: BulkOperation) -> str:
    return (f"{fake.base_url}/_fake/bulk/{op.token}/bulk-{op.id}.jsonl?X-Goog-Algorithm=GOOG4-RSA-SHA256"
            f"&X-Goog-Credential=fake-storage&X-Goog-Expires=604800&X-Goog-SignedHeaders=host"
            f"&X-Goog-Signature={url_signature(op)}")


def bulk_view(fake: Any, op: BulkOperation) -> dict:
    done = op.status == "COMPLETED"
    return {"__typename": "BulkOperation", "id": op.gid, "status": op.status, "errorCode": op.error_code,
            "createdAt": _iso(op.created_at), "completedAt": _iso(op.completed_at), "query": op.query,
            "type": "QUERY", "objectCount": str(op.object_count), "rootObjectCount": str(op.root_object_count),
            "fileSize": str(op.size) if done else None, "url": file_url(fake, op) if done else None,
            "partialDataUrl": file_url(fake, op) if op.status == "FAILED" and op.partial_size else None}


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _finish_webhook(fake: Any, shop: ShopState, op: BulkOperation) -> None:
    body = {"admin_graphql_api_id": op.gid, "completed_at": _iso(op.completed_at), "created_at": _iso(op.created_at),
            "error_code": op.error_code.lower() if op.error_code else None, "status": op.status.lower(),
            "type": "query"}
    raw = json.dumps(body).encode()
    from .webhooks import webhook_request

    app = fake.apps.get(op.client_id)
    secret = app.client_secret if app is not None else fake.webhook_secret
    for sub in list(shop.webhooks.values()):
        if sub.topic != FINISH_TOPIC:
            continue
        data, headers = webhook_request(topic="bulk_operations/finish", body=raw, secret=secret,
                                        shop_domain=shop.domain, event_id=str(uuid.uuid4()))
        try:
            fake.webhook_sink(sub.uri, data, headers)
        except Exception:  # noqa: BLE001,S110 - Shopify retries a failed delivery; the fake just drops it
            pass


def expire(op: BulkOperation) -> None:
    """Seven days later: the operation is EXPIRED and its URL answers 403."""
    op.status = "EXPIRED"


def bulk_lookup(fake: Any, shop: ShopState, gid_value: str) -> dict | None:
    from .state import gid_number

    number = gid_number(gid_value, "BulkOperation")
    op = shop.bulk_operations.get(number) if number is not None else None
    return bulk_view(fake, op) if op is not None else None


def bulk_current(fake: Any, shop: ShopState, client_id: str) -> dict | None:
    ours = [op for op in shop.bulk_operations.values() if op.client_id == client_id]
    return bulk_view(fake, max(ours, key=lambda op: op.id)) if ours else None


def bulk_cancel(fake: Any, shop: ShopState, gid_value: str) -> dict:
    from .state import gid_number

    number = gid_number(gid_value, "BulkOperation")
    op = shop.bulk_operations.get(number) if number is not None else None
    if op is None:
        return {"bulkOperation": None, "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}]}
    if op.status in RUNNING:
        op.status = "CANCELED"
    return {"bulkOperation": bulk_view(fake, op), "userErrors": []}


def orders_count(ctx: Any, info: Any, query: str | None, limit: int | None) -> dict:
    from .graph import ORDER_SEARCH, need, search, visible_orders

    need(ctx, info, "read_orders")
    count = len(search(ctx, info, visible_orders(ctx), query, ORDER_SEARCH))
    generated = getattr(ctx.shop, "generated_orders", None)
    if generated is not None:
        count += sum(1 for _ in _generated_visible(ctx, generated, query, ORDER_SEARCH, visible_orders))
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


def serve_file(fake: Any, path: str, query: dict[str, str], range_header: str | None,
               ) -> tuple[int, dict[str, str], str | None, int, int]:
    """(status, headers, file path or None, start, length) for GET /_fake/bulk/<token>/bulk-<id>.jsonl."""
    parts = path.strip("/").split("/")
    op = None
    if len(parts) == 4 and parts[3].startswith("bulk-") and parts[3].endswith(".jsonl"):
        number = parts[3][len("bulk-"):-len(".jsonl")]
        for shop in fake.shops.values():
            candidate = shop.bulk_operations.get(int(number)) if number.isdigit() else None
            if candidate is not None and candidate.token == parts[2]:
                op = candidate
    if op is None or not hmac.compare_digest(query.get("X-Goog-Signature", ""), url_signature(op)) \
            or op.status in ("EXPIRED",) or op.path is None:
        return 403, {"Content-Type": "application/xml"}, None, 0, 0
    size = op.size if op.status == "COMPLETED" else op.partial_size
    start = 0
    if range_header and range_header.startswith("bytes="):
        first = range_header[len("bytes="):].split("-", 1)[0]
        start = int(first) if first.isdigit() else 0
        if start >= size:
            return 416, {"Content-Range": f"bytes */{size}"}, None, 0, 0
        return 206, {"Content-Type": "application/jsonl", "Content-Range": f"bytes {start}-{size - 1}/{size}"}, \
            op.path, start, size - start
    return 200, {"Content-Type": "application/jsonl"}, op.path, 0, size
