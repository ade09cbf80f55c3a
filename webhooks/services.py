"""The webhook inbox: receipt, processing, retries, the dispatcher, replay and retention.

Receipt (`webhook_receive`) is the only thing between a source and a 200: find the endpoint by its token
(`WebhookEndpoint`: a store's, next a carrier account's), verify over the raw body through the receiver
registered for the endpoint's kind and slug (core.receivers), then `webhook_store`: insert the row (the
unique (endpoint, delivery_id) constraint settles duplicates, including concurrent ones). A delivery
verified elsewhere (a queue poller) goes to `webhook_store` directly. How processing is started depends on
WEBHOOK_DISPATCH (`webhook_dispatch_mode`):

- "dispatcher" (the default with a broker): the request publishes nothing. The row is inserted a dispatch
  lease ahead (`next_attempt_at`: its claim); the dispatcher process (`manage.py webhook_dispatcher`,
  webhooks.dispatcher) reads the new rows by id every tenth of a second and hands them to workers
  (`webhook_events_hand_over`), claiming nothing. Publishing a Celery task per request cost ~40% of the web
  process's CPU (BENCHMARKS.md "Webhook inbox").
- "inline" (the default when tasks run in-process: `make run`, the tests): processing is enqueued after the
  commit, i.e. run in the request, as before.

Everything else happens later, from the row:

- `webhook_event_process` (the task's body) claims the row (status `processing`, attempts + 1,
  `next_attempt_at` a lease ahead: all in the database, so a worker killed mid-event still used up
  an attempt), runs the receiver's handler for the topic, and records `processed` with its result,
  or `failed` with the next attempt after the shared backoff, or `dead` after the last attempt
  (the merchant is notified).
- `webhook_events_dispatch` (the dispatcher's sweep every few seconds, and beat every 30 s as the safety net
  when no dispatcher runs) hands out what is due: failed events whose retry time came, and events left
  `received` (the hand-over was lost) or `processing` (the worker died) past their lease. Rows are claimed
  with SELECT ... FOR UPDATE SKIP LOCKED (core.outbox.claim_due), so two dispatchers (or a dispatcher and
  beat) never hand out the same event within its lease.
- `webhook_events_prune` (beat) drops processed bodies after WEBHOOK_BODY_RETENTION_DAYS and whole
  rows (the identities that refuse late duplicates) after WEBHOOK_ROW_RETENTION_DAYS.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    models,
    transaction,
)
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import ngettext
from psycopg.types.json import Jsonb

from accounts.models import Merchant
from accounts.services.audit import audit_record
from accounts.tenancy import tenant_scope, unscoped
from core.backoff import backoff_until
from core.db import bound_cursor
from core.enqueue import enqueue_now, enqueue_on_commit
from core.outbox import claim_due
from core.receivers import KINDS, Delivery, PermanentFailure, webhook_receiver_get, webhook_receivers
from integrations.models import Integration
from labels.models import CarrierAccount
from notifications.services import notification_integration_failure
from webhooks.models import WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

PROCESS_TASK = "webhooks.event_process"
PROCESS_MANY_TASK = "webhooks.events_process"
DISPATCHER, INLINE = "dispatcher", "inline"
Status = WebhookEvent.Status
PENDING = (Status.RECEIVED, Status.PROCESSING, Status.FAILED)
ERROR_MAX = 4000


def _seconds(name: str, default: float) -> timedelta:
    return timedelta(seconds=float(getattr(settings, name, default)))


def max_attempts() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 10))


def webhook_dispatch_mode() -> str:
    """"dispatcher" (rows handed out by `manage.py webhook_dispatcher`, nothing published by the request) or
    "inline" (processing enqueued after the commit: run in-process under `make run` and in the tests)."""
    mode = getattr(settings, "WEBHOOK_DISPATCH", "") or (INLINE if settings.CELERY_TASK_ALWAYS_EAGER else DISPATCHER)
    if mode not in (DISPATCHER, INLINE):
        raise ValueError(f"WEBHOOK_DISPATCH must be {DISPATCHER!r} or {INLINE!r}, not {mode!r}")
    return mode


# ---------------------------------------------------------------- receipt


@dataclass(frozen=True)
class Receipt:
    """What the endpoint answers: `status` (HTTP) and `code` ("stored", "duplicate",
    "handshake", or why the delivery was refused), and the event's id when a row exists."""

    status: int
    code: str
    event_id: int | None = None

    @property
    def accepted(self) -> bool:
        return self.status == 200


def _rejected(channel: str, code: str, *, integration_id: int | None = None) -> Receipt:
    """401 for every refusal, whatever its reason (the sender learns nothing about our tokens): a counter
    per channel and reason, and a log line that names neither body nor signature."""
    key = f"webhooks:rejected:{channel[:16]}:{code}"
    try:
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)
    except Exception:  # noqa: BLE001 - a counter must never turn a refusal into a 500
        logger.warning("webhooks.counter_unavailable", exc_info=True)
    logger.warning("webhooks.delivery.rejected",
                   extra={"channel": channel[:16], "reason": code, "integration_id": integration_id})
    return Receipt(status=401, code=code)


def rejected_count(channel: str, code: str) -> int:
    """How many deliveries were refused for `code` (ops and tests)."""
    return int(cache.get(f"webhooks:rejected:{channel[:16]}:{code}") or 0)


# ---------------------------------------------------------------- endpoints


_ENDPOINT_FIELDS = ("id", "merchant_id", "kind", "slug", "integration_id", "carrier_account_id")
_OWNER_FIELDS = ("id", "merchant_id", "channel", "status", "credentials", "settings")


@lru_cache(maxsize=1)
def _endpoint_query() -> tuple[str, tuple, tuple]:
    """One indexed lookup by the token (unique), joined to the merchant only for `is_active` and to the
    owning store, reading only what receipt needs. Written out because this runs on every delivery, and
    compiling the same ORM query each time cost more CPU than running it (0.39 ms against 0.10 ms,
    BENCHMARKS.md "Webhook inbox")."""
    endpoint, store, merchant = WebhookEndpoint._meta, Integration._meta, Merchant._meta
    quote = connection.ops.quote_name
    endpoint_fields = tuple(endpoint.get_field(name) for name in _ENDPOINT_FIELDS)
    owner_fields = tuple(store.get_field(name) for name in _OWNER_FIELDS)
    columns = ", ".join([*(f"e.{quote(f.column)}" for f in endpoint_fields),
                         *(f"i.{quote(f.column)}" for f in owner_fields)])
    sql = (f"SELECT {columns} FROM {quote(endpoint.db_table)} e "  # noqa: S608 - names from _meta
           f"JOIN {quote(merchant.db_table)} m ON m.id = e.merchant_id "
           f"LEFT JOIN {quote(store.db_table)} i ON i.id = e.integration_id "
           "WHERE e.token = %s AND m.is_active")
    return sql, endpoint_fields, owner_fields


def _from_db(model, names: tuple[str, ...], fields: tuple, values) -> models.Model:
    values = [field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
              for field, value in zip(fields, values, strict=True)]
    return model.from_db(connection.alias, names, values)


@dataclass(frozen=True)
class _Known:
    """A store's endpoint as this process last read it (`_endpoint_for`), with its owner attached, and the two
    columns of the store that receipt's verdict depends on as they were stored (`status`; `credentials`, the
    ciphertext: a new secret, or the same one saved again, is a new ciphertext).

    Why: the lookup (a round trip, a three-table join, the models built for the verification) was a fifth of the
    web process's CPU per delivery (BENCHMARKS.md "Webhook inbox"). With a known endpoint, receipt verifies
    against what it remembers and stores with one INSERT that re-checks all of it in the database in the same
    statement (`_event_insert(guarded=True)`: the token still names this endpoint and store, the merchant is
    active, status and credentials are unchanged), so a remembered endpoint can only ever lead to a row that a
    fresh read would have stored too. Anything else (the INSERT stored nothing: a duplicate or a changed store;
    a refusal; a handshake) is decided again from a fresh read, so a rotated secret, a disconnect or a
    deactivated merchant counts from the next delivery, as without it. Hence no expiry: nothing remembered is
    trusted without the database's word; the size is bounded (the oldest entry goes first)."""

    token: str
    endpoint: WebhookEndpoint
    status: str
    credentials: str | None


KNOWN_MAX = 4096  # remembered store endpoints per process
_known: dict[str, _Known] = {}
_known_lock = threading.Lock()  # a threaded server's requests remember at once (reads take no lock)


def _known_remember(token: str, endpoint: WebhookEndpoint, status: str, credentials: str | None) -> None:
    with _known_lock:
        _known.pop(token, None)
        while len(_known) >= KNOWN_MAX:
            del _known[next(iter(_known))]
        _known[token] = _Known(token=token, endpoint=endpoint, status=status, credentials=credentials)


def _endpoint_for(segment: str, token: str) -> WebhookEndpoint | None:
    """The endpoint the token names, with its owner attached, read fresh (a disconnect or a rotated secret counts
    at once); None for an unknown token, an inactive merchant, or a first URL segment that is neither the
    endpoint's kind nor its slug. Token lookups cross tenants by design: the token names the endpoint, and so
    the merchant. A store's endpoint is remembered for the next delivery (`_Known`)."""
    if not token or len(token) > 64:
        return None
    sql, endpoint_fields, owner_fields = _endpoint_query()
    with bound_cursor(prepare=True) as cursor:
        cursor.execute(sql, [token])
        row = cursor.fetchone()
    if row is None:
        return None
    endpoint = _from_db(WebhookEndpoint, _ENDPOINT_FIELDS, endpoint_fields, row[:len(endpoint_fields)])
    if segment not in (endpoint.kind, endpoint.slug):
        return None
    if endpoint.integration_id is not None:
        owner_row = row[len(endpoint_fields):]
        endpoint.integration = _from_db(Integration, _OWNER_FIELDS, owner_fields, owner_row)
        _known_remember(token, endpoint, owner_row[_OWNER_FIELDS.index("status")],
                        owner_row[_OWNER_FIELDS.index("credentials")])
    elif endpoint.carrier_account_id is not None:  # carriers deliver rarely: a second query is fine
        with unscoped("webhook token lookup"):
            endpoint.carrier_account = CarrierAccount.objects.filter(pk=endpoint.carrier_account_id).order_by().get()
    return endpoint


def endpoint_owner(endpoint: WebhookEndpoint) -> Integration | CarrierAccount | None:
    """Whose deliveries these are: the store for a channel, the carrier account for a carrier."""
    if endpoint.integration_id is not None:
        return endpoint.integration
    return endpoint.carrier_account if endpoint.carrier_account_id is not None else None


def _owner_is_disconnected(owner: object) -> bool:
    if isinstance(owner, CarrierAccount):
        return owner.status == CarrierAccount.Status.DISCONNECTED
    return isinstance(owner, Integration) and owner.status == Integration.Status.DISCONNECTED


def webhook_endpoint_path(*, kind: str, owner: Integration | CarrierAccount) -> str:
    """The inbox's path for `owner`, its endpoint made on first use (core.receivers.webhook_paths). The first
    segment is the slug, as the store's subscriptions have always named it; the kind is accepted as well."""
    if kind == WebhookEndpoint.Kind.CARRIER and isinstance(owner, CarrierAccount):
        return _carrier_endpoint_path(owner)
    if kind != WebhookEndpoint.Kind.CHANNEL or not isinstance(owner, Integration):
        raise ValueError(f"no webhook endpoint for a {kind!r} owned by {type(owner).__name__}")
    endpoint = WebhookEndpoint.objects.filter(integration_id=owner.pk).order_by().only("slug", "token").first()
    if endpoint is None:
        try:
            with transaction.atomic():
                endpoint = WebhookEndpoint.objects.create(merchant_id=owner.merchant_id, kind=kind, slug=owner.channel,
                                                          integration=owner)
        except IntegrityError:  # a concurrent first use made it: one endpoint per store (unique integration)
            endpoint = WebhookEndpoint.objects.filter(integration_id=owner.pk).order_by().get()
    return f"/webhooks/{endpoint.slug}/{endpoint.token}/"


def _carrier_endpoint_path(owner: CarrierAccount) -> str:
    """A carrier account's endpoint, made on first use (one per account: unique carrier_account)."""
    endpoint = WebhookEndpoint.objects.filter(carrier_account_id=owner.pk).order_by().only("slug", "token").first()
    if endpoint is None:
        try:
            with transaction.atomic():
                endpoint = WebhookEndpoint.objects.create(merchant_id=owner.merchant_id, kind=WebhookEndpoint.Kind.CARRIER,
                                                          slug=owner.carrier, carrier_account=owner)
        except IntegrityError:
            endpoint = WebhookEndpoint.objects.filter(carrier_account_id=owner.pk).order_by().get()
    return f"/webhooks/{endpoint.slug}/{endpoint.token}/"


# ---------------------------------------------------------------- receipt


def webhook_receive(*, segment: str, token: str, headers: Mapping[str, str], body: bytes,
                    now: datetime | None = None) -> Receipt:
    """Verify one delivery to /webhooks/<segment>/<token>/ and store it before it is acknowledged.

    `segment` is the endpoint's slug (every URL we have handed out) or its kind. A disconnected owner's
    deliveries are refused, except the topics its receiver still takes after a disconnect (privacy
    requests), which are verified as any other. Database errors propagate (the endpoint answers 5xx, the
    sender retries): there is never a 200 without a committed row. Too-large bodies are refused by the
    view before this is called. A store's endpoint this process read before (`_Known`) is verified from
    memory and stored by an INSERT that checks in the database what the verdict rested on; whatever that
    does not store is decided again from a fresh read.
    """
    now = now or timezone.now()
    known = _known.get(token)
    if known is not None and segment in (known.endpoint.kind, known.endpoint.slug):
        receiver = webhook_receiver_get(known.endpoint.kind, known.endpoint.slug)
        verdict = _verdict(receiver, known.endpoint, headers, body, now) if receiver is not None else None
        if isinstance(verdict, Delivery):
            receipt = _store(known.endpoint, verdict, body, now, guard=known)
            if receipt is not None:
                return receipt
    label = segment if segment in webhook_receiver_slugs() else "unknown"  # a URL must not mint counter keys
    endpoint = _endpoint_for(segment, token)
    if endpoint is None:
        return _rejected(label, "unknown_token")
    receiver = webhook_receiver_get(endpoint.kind, endpoint.slug)
    if receiver is None:
        return _rejected(label, "unknown_channel")
    verdict = _verdict(receiver, endpoint, headers, body, now)
    if verdict == "handshake":
        return Receipt(status=200, code="handshake")  # unsigned by design: answered, never stored
    if not isinstance(verdict, Delivery):
        return _rejected(endpoint.slug, verdict, integration_id=getattr(endpoint_owner(endpoint), "pk", None))
    return _store(endpoint, verdict, body, now, guard=None)


def _verdict(receiver, endpoint: WebhookEndpoint, headers: Mapping[str, str], body: bytes,
             now: datetime) -> Delivery | str:
    """The delivery, verified; or "handshake" (answered, never stored), or why it is refused."""
    owner = endpoint_owner(endpoint)
    if receiver.is_handshake is not None and receiver.is_handshake(headers, body):
        return "disconnected" if _owner_is_disconnected(owner) else "handshake"
    delivery = receiver.identify(headers, body)
    if _owner_is_disconnected(owner) and delivery.topic not in receiver.topics_after_disconnect:
        return "disconnected"
    if not receiver.verify(owner, headers, body, now):
        signed = not receiver.signature_header or headers.get(receiver.signature_header)
        return "signature_invalid" if signed else "signature_missing"
    return delivery


def webhook_receiver_slugs() -> set[str]:
    """Every registered receiver's slug and kind: the URL segments worth a counter of their own."""
    return {key.split(":", 1)[1] for key in webhook_receivers} | set(KINDS)


def webhook_store(*, endpoint: WebhookEndpoint, delivery: Delivery, body: bytes,
                  now: datetime | None = None) -> Receipt:
    """Store one delivery that was verified already (by `webhook_receive`, or elsewhere: a queue poller that
    trusts its queue): in "dispatcher" mode the row alone (the dispatcher reads it within a tenth of a second),
    in "inline" mode with its processing enqueued after the commit.

    The unique (endpoint, delivery_id) constraint settles duplicates, concurrent ones included: the second
    is answered `duplicate` with the first one's id. The body is not parsed here: a body that is not JSON is
    refused by its first processing attempt (`_run`: PermanentFailure, so stored `failed` with the reason and
    never retried), as a body that is not its topic's payload is. Parsing a 7 KB order here cost ~0.1-0.25 ms
    of the web process's CPU on every delivery to decide a case no signed sender produces (BENCHMARKS.md
    "Webhook inbox", 2026-12-08). Database errors propagate."""
    return _store(endpoint, delivery, body, now or timezone.now(), guard=None)


def _store(endpoint: WebhookEndpoint, delivery: Delivery, body: bytes, now: datetime,
           guard: _Known | None) -> Receipt | None:
    """webhook_store's work. With `guard` (receipt verified against a remembered endpoint), the INSERT stores the
    row only if the database still holds what `guard` remembers, and None means it stored nothing (a duplicate,
    or the store changed): the caller decides afresh."""
    # Handed over at once, the dispatch lease ahead: by the dispatcher's read of the new rows (dispatcher mode),
    # or enqueued below (inline); due again, for the dispatcher's and beat's sweep, only if that hand-over is lost.
    due = now + _seconds("WEBHOOK_DISPATCH_LEASE_SECONDS", 60)
    event_id = None
    try:
        # One INSERT in autocommit: durable when it returns, one round trip instead of BEGIN, INSERT, COMMIT; an
        # inline enqueue is then sent at once, after that commit. ON CONFLICT DO NOTHING: a duplicate aborts no
        # caller's transaction, so no savepoint either.
        sql, prep = _event_insert(guarded=guard is not None)
        headers, payload = prep["headers"](delivery.headers, connection), prep["body"](body, connection)
        due, at = prep["next_attempt_at"](due, connection), prep["received_at"](now, connection)
        if guard is not None:  # the endpoint's own columns come from its row (_event_insert)
            params = [delivery.topic, delivery.delivery_id, headers, payload, due, at,
                      guard.token, endpoint.kind, endpoint.slug, guard.status, guard.credentials, delivery.delivery_id]
        else:
            params = [endpoint.merchant_id, endpoint.pk, endpoint.integration_id, endpoint.kind, endpoint.slug,
                      delivery.topic, delivery.delivery_id, headers, payload, due, at, endpoint.pk, delivery.delivery_id]
        row = _insert_returning(sql, params)
        if row is None and guard is not None:
            return None  # nothing stored: decided again from a fresh read (a duplicate is found there)
        if row is None:
            # The unique (endpoint, delivery_id) constraint: the same delivery is stored already (or was being
            # stored by a concurrent request, whose commit the INSERT waited for).
            with tenant_scope(endpoint.merchant_id):
                existing = (WebhookEvent.objects.filter(endpoint_id=endpoint.pk, delivery_id=delivery.delivery_id)
                            .order_by().values_list("pk", flat=True).first())  # unique: no sort needed
            if existing is None:  # deleted in between (retention): nothing stored, the sender retries
                raise IntegrityError(f"webhook delivery {delivery.delivery_id!r} neither stored nor found")
            logger.info("webhooks.delivery.duplicate", extra={"merchant_id": endpoint.merchant_id,
                                                              "event_id": existing, "topic": delivery.topic})
            return Receipt(status=200, code="duplicate", event_id=existing)
        event_id = row[0]
        if webhook_dispatch_mode() == INLINE:
            webhook_event_enqueue(WebhookEvent(pk=event_id, merchant_id=endpoint.merchant_id))
    except DatabaseError:
        raise
    except Exception:
        # Raised after the commit, by the enqueue (the broker is down): the row is durable, so the delivery is
        # acknowledged and the dispatcher's sweep sends it once its lease runs out. If the row is not there
        # after all, this was no after-commit failure: re-raise.
        with tenant_scope(endpoint.merchant_id):
            if event_id is None or not WebhookEvent.objects.filter(pk=event_id).exists():
                raise
        logger.warning("webhooks.delivery.enqueue_failed", exc_info=True,
                       extra={"merchant_id": endpoint.merchant_id, "event_id": event_id})
    logger.info("webhooks.delivery.stored", extra={"merchant_id": endpoint.merchant_id, "event_id": event_id,
                                                   "topic": delivery.topic})
    return Receipt(status=200, code="stored", event_id=event_id)


def _insert_returning(sql: str, params: list) -> tuple | None:
    """Run receipt's INSERT (prepared, server-side binding) and return its row, without Django's per-request
    connection health check (`SELECT 1` before the first statement of a request, CONN_HEALTH_CHECKS): in
    autocommit the INSERT is that check. A connection found broken by it (the server restarted, the network
    dropped it while idle) is closed and the INSERT runs once more on a new one, as the health check would have
    reconnected; if the first one did commit before its connection broke, the second finds the row (NOT EXISTS,
    ON CONFLICT: nothing inserted, the caller answers `duplicate` from a fresh read). Inside a caller's
    transaction nothing is retried: the transaction is lost with its connection. Why: the health check was a
    round trip and ~60 µs of the web process's and its backend's CPU per delivery (BENCHMARKS.md "Webhook
    inbox", 2026-12-08)."""
    conn = connections[DEFAULT_DB_ALIAS]
    retry = conn.connection is not None and not conn.in_atomic_block
    if retry:
        conn.health_check_done = True  # this statement checks it
    try:
        with bound_cursor(prepare=True) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except (OperationalError, InterfaceError):
        if not retry or conn.is_usable():
            raise  # not a broken connection (a timeout, a cancel): the caller's 5xx
        logger.warning("webhooks.delivery.reconnect", exc_info=True)
        conn.close()
    with bound_cursor(prepare=True) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


_INSERTED = ("merchant", "endpoint", "integration", "kind", "channel", "topic", "delivery_id", "headers", "body",
             "status", "next_attempt_at", "last_error", "received_at")


@lru_cache(maxsize=2)
def _event_insert(*, guarded: bool = False) -> tuple[str, dict]:
    """`INSERT ... SELECT <values> WHERE NOT EXISTS (the same delivery) ON CONFLICT (endpoint_id, delivery_id) DO
    NOTHING RETURNING id` of a new event, written once per process from the model's fields, and the
    get_db_prep_save of the fields whose values need the database's form (JSON, bytes, times); it replaces
    `WebhookEvent(...).save(force_insert=True)` (in a savepoint inside a caller's transaction) and its
    IntegrityError. Building the instance and compiling the ORM's INSERT on every delivery cost more of the web
    process's CPU than anything else in receipt (BENCHMARKS.md "Webhook inbox"). The columns not named are written
    as the model's defaults would be (`attempts` 0, `result` {}, the rest NULL); a new NOT NULL field fails here,
    in every receipt test, until it is added. `status` is `received` and `last_error` empty: receipt stores
    nothing else (webhook_store).

    NOT EXISTS: a duplicate takes no id from the table's sequence (ON CONFLICT alone takes one before it finds the
    conflict), so a storm of re-sent deliveries leaves no run of never-committed ids for the dispatcher's read of
    the new rows to wait on (webhooks.dispatcher.NewRows); two copies of one delivery racing each other still
    meet in the constraint, and the loser's id is the only one skipped. It probes the unique index (~10-30 µs of the
    backend's CPU) once the table has statistics; a plan prepared while the table was empty and never analyzed reads
    the whole table instead, until the statistics change (autovacuum's first ANALYZE, after ~50 rows) or the
    connection is replaced (CONN_MAX_AGE).

    Not guarded: the values are parameters (merchant, endpoint, integration, kind, channel, topic, delivery_id,
    headers, body, next_attempt_at, received_at, then endpoint and delivery_id again for NOT EXISTS).
    `guarded`: the row is inserted only if the endpoint a delivery was verified against from memory (`_Known`)
    still is what the store lookup would read (`_endpoint_query`): the same token, kind and slug, the merchant
    active, the store's status and credentials unchanged; the endpoint's own columns (merchant, endpoint,
    integration, kind, channel) are taken from that row instead of being sent. Parameters: topic, delivery_id,
    headers, body, next_attempt_at, received_at, then token, kind, slug, status, credentials (`_Known`'s), and
    delivery_id again: 12, where sending the endpoint's columns and comparing each cost 21."""
    meta, quote = WebhookEvent._meta, connection.ops.quote_name
    fields = {name: meta.get_field(name) for name in _INSERTED}
    unique = next(c for c in meta.constraints if c.name == "webhooks_event_delivery_uniq")
    conflict = ", ".join(quote(meta.get_field(name).column) for name in unique.fields)
    table = quote(meta.db_table)
    columns = [quote(f.column) for f in fields.values()] + [quote(meta.get_field("attempts").column),
                                                            quote(meta.get_field("result").column)]
    # On PostgreSQL the body travels in binary (`%b`): as text it would go as hex, twice its size, encoded here and
    # decoded by the server.
    body = "%b" if connection.vendor == "postgresql" else "%s"
    delivery = quote(fields["delivery_id"].column)
    endpoint_column = quote(fields["endpoint"].column)
    received = f"'{Status.RECEIVED}'"
    tail = f"%s, %s, %s, {body}, {received}, %s, '', %s, 0, '{{}}'"  # topic .. received_at, attempts, result
    if guarded:
        endpoint, store, merchant = WebhookEndpoint._meta, Integration._meta, Merchant._meta
        column = {name: quote(endpoint.get_field(name).column) for name in
                  ("id", "token", "merchant", "kind", "slug", "integration")}
        source = (f"SELECT e.{column['merchant']}, e.{column['id']}, e.{column['integration']}, "  # noqa: S608
                  f"e.{column['kind']}, e.{column['slug']}, {tail} "  # names from _meta
                  f"FROM {quote(endpoint.db_table)} e "
                  f"JOIN {quote(merchant.db_table)} m ON m.id = e.merchant_id "
                  f"JOIN {quote(store.db_table)} i ON i.id = e.integration_id "
                  f"WHERE e.{column['token']} = %s AND e.{column['kind']} = %s AND e.{column['slug']} = %s "
                  f"AND m.is_active AND i.{quote(store.get_field('status').column)} = %s "
                  f"AND i.{quote(store.get_field('credentials').column)} = %s "
                  f"AND NOT EXISTS (SELECT 1 FROM {table} d WHERE d.{endpoint_column} = e.{column['id']} "
                  f"AND d.{delivery} = %s)")
    else:
        source = (f"SELECT %s, %s, %s, %s, %s, {tail} "  # noqa: S608 - names from _meta
                  f"WHERE NOT EXISTS (SELECT 1 FROM {table} d WHERE d.{endpoint_column} = %s AND d.{delivery} = %s)")
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) {source} "  # noqa: S608
           f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote(meta.pk.column)}")
    prep = {name: fields[name].get_db_prep_save for name in ("headers", "body", "next_attempt_at", "received_at")}
    if connection.vendor == "postgresql":
        # What those hand psycopg there, without the fields' own steps (~50 µs a delivery): bytes and aware times
        # as they are, the headers as Jsonb (json.dumps: the field has no encoder of its own).
        as_is = lambda value, _connection: value  # noqa: E731
        prep = {"headers": lambda value, _connection: Jsonb(value), "body": as_is, "next_attempt_at": as_is,
                "received_at": as_is}
    return sql, prep


def webhook_event_enqueue(event: WebhookEvent) -> None:
    """Processing is sent after the commit; if the send is lost, the dispatcher finds the row anyway."""
    enqueue_on_commit(PROCESS_TASK, merchant_id=event.merchant_id, event_id=event.pk)


# ---------------------------------------------------------------- processing


def _claim(merchant: Merchant, event_id: int, now: datetime) -> tuple[WebhookEvent | None, str]:
    """Take the event for one attempt, or say why not. One short transaction, committed before the
    handler runs, so the attempt is counted even if this worker never comes back."""
    with transaction.atomic():
        event = (WebhookEvent.objects.select_for_update(of=("self",)).select_related("integration")
                 .filter(merchant=merchant, pk=event_id).order_by().first())
        if event is None:
            return None, "missing"
        if event.status in (Status.PROCESSED, Status.DEAD):
            return None, event.status
        due = event.next_attempt_at is None or event.next_attempt_at <= now
        if event.status == Status.PROCESSING and not due:
            return None, "running"  # another worker holds it (its lease has not run out)
        if event.status == Status.FAILED and (event.next_attempt_at is None or not due):
            return None, "not-due"
        if event.body is None:
            event.status, event.last_error, event.next_attempt_at = Status.FAILED, "The body was pruned.", None
            event.save(update_fields=["status", "last_error", "next_attempt_at"])
            return None, "pruned"
        if event.attempts >= max_attempts():
            # Its last attempt never reported back (the worker died, perhaps because of this very event).
            _dead(event, event.last_error or f"The worker was lost during attempt {event.attempts}.")
            return None, "dead"
        event.status = Status.PROCESSING
        event.attempts += 1
        event.next_attempt_at = now + _seconds("WEBHOOK_PROCESSING_LEASE_SECONDS", 600)
        event.save(update_fields=["status", "attempts", "next_attempt_at"])
    return event, "claimed"


def _dead(event: WebhookEvent, error: str) -> None:
    event.status, event.last_error, event.next_attempt_at = Status.DEAD, error[:ERROR_MAX], None
    event.save(update_fields=["status", "last_error", "next_attempt_at"])
    logger.error("webhooks.event.dead", extra={"merchant_id": event.merchant_id, "event_id": event.pk,
                                               "topic": event.topic, "attempts": event.attempts})
    notification_integration_failure(
        merchant=event.merchant, kind="webhook_dead", reference=f"webhook-event:{event.pk}",
        summary=f"{event.channel} {event.topic} (delivery {event.delivery_id[:60]})",
        detail=f"Gave up after {event.attempts} attempts. Last error: {error}")


def _finish(event: WebhookEvent, **changes) -> bool:
    """Write the outcome of this attempt, unless the row moved on meanwhile (our lease ran out and
    another attempt took it): the latest attempt owns the row."""
    return bool(WebhookEvent.objects.filter(pk=event.pk, status=Status.PROCESSING, attempts=event.attempts)
                .update(**changes))


def webhook_event_process(*, merchant: Merchant, event_id: int, now: datetime | None = None) -> str:
    """One attempt at one event (the task's body); returns what happened, for the task's result."""
    event, outcome = _claim(merchant, event_id, now or timezone.now())
    if event is None:
        return outcome
    try:
        result = _run(merchant, event)
    except PermanentFailure as exc:
        _finish(event, status=Status.FAILED, last_error=str(exc)[:ERROR_MAX] or "Refused by the handler.",
                next_attempt_at=None)
        logger.warning("webhooks.event.refused", extra={"merchant_id": merchant.pk, "event_id": event.pk})
        return "refused"
    except Exception as exc:  # noqa: BLE001 - any other failure is retried, then dead-lettered
        error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
        logger.warning("webhooks.event.failed", exc_info=True,
                       extra={"merchant_id": merchant.pk, "event_id": event.pk, "attempt": event.attempts})
        if event.attempts >= max_attempts():
            with transaction.atomic():
                row = (WebhookEvent.objects.select_for_update(of=("self",))
                       .filter(pk=event.pk, status=Status.PROCESSING, attempts=event.attempts).order_by().first())
                if row is not None:
                    _dead(row, error)
            return "dead"
        retry_at = backoff_until(event.attempts, base=float(getattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", 30)),
                                 cap=float(getattr(settings, "WEBHOOK_RETRY_CAP_SECONDS", 6 * 3600)))
        _finish(event, status=Status.FAILED, last_error=error, next_attempt_at=retry_at)
        return "failed"
    _finish(event, status=Status.PROCESSED, result=result, last_error="", next_attempt_at=None,
            processed_at=timezone.now())
    return "processed"


def _run(merchant: Merchant, event: WebhookEvent) -> dict:
    receiver = webhook_receiver_get(event.kind, event.channel)
    if receiver is None:
        raise PermanentFailure(f"No webhook receiver for {event.kind} {event.channel!r}.")
    # Receipt stores the body unparsed (webhook_store): a body that is not JSON is refused here, on its first attempt.
    try:
        payload = json.loads(bytes(event.body))
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise PermanentFailure(f"The body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # signed, but nested deeper than the parser goes
        raise PermanentFailure("The body is not valid JSON: nested too deeply to parse.") from exc
    handler = receiver.handlers.get(event.topic)
    if handler is None:
        return {"action": "ignored", "reason": f"no handler for topic {event.topic!r}"}
    # A channel's event carries its store already; a carrier's owner is its endpoint's account.
    owner = event.integration if event.integration_id is not None else endpoint_owner(event.endpoint)
    result = handler(merchant=merchant, owner=owner, payload=payload, headers=event.headers)
    return json.loads(json.dumps(result or {}, default=str))


# ---------------------------------------------------------------- dispatcher


def webhook_events_dispatch(*, limit: int = 500, now: datetime | None = None, waiting: bool = False,
                            waiting_since: datetime | None = None) -> int:
    """Hand every event that is due to the workers, at most `limit` per call; returns how many were claimed.

    The sweep behind the hand-over of the new rows (`webhook_events_hand_over`): run by the dispatcher every
    `--poll-seconds`, and by beat every 30 s as the safety net when no dispatcher runs. Due means a failed event
    whose retry time came, or an event still `received` or `processing` past its lease (a new event is inserted
    a dispatch lease ahead: the dispatcher's read of the new rows hands it over). `waiting` (a dispatcher that
    starts reading the new rows) takes every `received` event whatever its lease: those delivered while no
    dispatcher read them are handed out at once instead of a lease later, at the price of a second hand-over of any still
    queued from a dispatcher before (the worker's claim makes that a no-op). Claimed rows are put back to
    `received` with the dispatch lease ahead, so the task's own claim takes them and a lost hand-over is found
    again once the lease runs out; a hand-over the broker refused is due again after
    WEBHOOK_DISPATCH_RETRY_SECONDS. `waiting_since` (the moment that pass began; default now): a waiting pass
    takes the rows received before it, each once: a row it claims is leased from a later moment, past the
    pass's bound, so the dispatcher's repeated calls move on instead of handing the same batch out again.
    """
    now = now or timezone.now()
    lease = _seconds("WEBHOOK_DISPATCH_LEASE_SECONDS", 60)
    # Strictly before (waiting_since + lease): what this pass claimed is leased from `now` >= waiting_since.
    waiting_bound = (waiting_since or now) + lease - timedelta(microseconds=1)
    pending = Q(status=Status.RECEIVED) if waiting else Q(status__in=PENDING)
    with unscoped("webhook dispatcher: every merchant's due events"):
        rows = claim_due(
            # An inactive merchant's tasks do not run (TenantTask): its events wait instead of cycling.
            WebhookEvent.objects.filter(pending, next_attempt_at__isnull=False, merchant__is_active=True)
            .only("pk", "merchant_id"),
            limit=limit, order_by=("next_attempt_at", "pk"), now=now, due_by=waiting_bound if waiting else now,
            lease=lease, updates={"status": Status.RECEIVED},
        )
    if rows:
        # After the claim commits (at once in autocommit, as in the dispatcher and beat): a task sent sooner
        # could meet a row still locked by a caller's transaction.
        events = [(row.pk, row.merchant_id) for row in rows]
        transaction.on_commit(lambda: webhook_events_hand_over(events, now=now))
    return len(rows)


def webhook_events_hand_over(events: Iterable[tuple[int, int]], *, now: datetime | None = None) -> int:
    """Send these (event id, merchant id) to the workers: one task per merchant and WEBHOOK_DISPATCH_TASK_EVENTS
    events (a burst costs a few publishes, not one each; small enough that a burst still spreads over the
    workers). The dispatcher calls it with the new rows it read, claiming nothing: a new row is inserted
    a dispatch lease ahead, which is its claim. Events the broker refused are due again after
    WEBHOOK_DISPATCH_RETRY_SECONDS instead of the whole lease. Returns how many were sent."""
    now = now or timezone.now()
    size = max(1, int(getattr(settings, "WEBHOOK_DISPATCH_TASK_EVENTS", 10)))
    by_merchant: dict[int, list[int]] = {}
    for event_id, merchant_id in events:
        by_merchant.setdefault(merchant_id, []).append(event_id)
    refused: list[int] = []
    sent = 0
    for merchant_id, ids in by_merchant.items():
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            if enqueue_now(PROCESS_MANY_TASK, merchant_id=merchant_id, event_ids=chunk):
                sent += len(chunk)
            else:
                refused += chunk
    if refused:
        with unscoped("webhook dispatcher: hand-overs the broker refused"):
            WebhookEvent.objects.filter(pk__in=refused, status=Status.RECEIVED).update(
                next_attempt_at=now + _seconds("WEBHOOK_DISPATCH_RETRY_SECONDS", 5))
    logger.info("webhooks.dispatch", extra={"enqueued": sent, "refused": len(refused)})
    return sent


def webhook_events_process(*, merchant: Merchant, event_ids: Iterable[int]) -> dict[str, int]:
    """One attempt at each of these events, in order (the batch task's body); counts by outcome. One event
    failing in an unexpected way (a lost database connection) does not take the others down: it is logged,
    and the dispatcher hands it out again after its lease."""
    outcomes: dict[str, int] = {}
    for event_id in event_ids:
        try:
            outcome = webhook_event_process(merchant=merchant, event_id=int(event_id))
        except Exception:  # noqa: BLE001 - the row's lease brings it back; the batch goes on
            logger.exception("webhooks.event.crashed", extra={"merchant_id": merchant.pk, "event_id": event_id})
            outcome = "crashed"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


# ---------------------------------------------------------------- replay

REPLAY_IDS_AUDITED = 50  # the audit event of a bulk replay names its first 50 events and counts them all


def webhook_events_replay(*, merchant: Merchant, events: QuerySet[WebhookEvent] | Iterable[WebhookEvent]) -> int:
    """Process these events again from scratch; returns how many were queued.

    Any status may be replayed (processed included: handlers are idempotent, so a replay of a
    processed event changes nothing unless the code that handles it changed). Skipped, and not
    counted: events whose body was pruned (nothing left to process), and events a worker is
    processing right now (`processing` within their lease): replaying those would run a second
    handler beside the first and reset the attempts a poison event is counting towards its death. Events of another
    merchant are ignored: the ids are re-read under `merchant`. Each row goes back to `received`
    with attempts 0 and is enqueued after the commit; its `next_attempt_at` is the dispatch lease
    ahead (not now), so the dispatcher only sends it again if that enqueue is lost.
    """
    ids = list(events.values_list("pk", flat=True)) if isinstance(events, QuerySet) else [e.pk for e in events]
    if not ids:
        return 0
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            WebhookEvent.objects.filter(merchant=merchant, pk__in=ids, body__isnull=False)
            .exclude(status=Status.PROCESSING, next_attempt_at__gt=now)
            .select_for_update(of=("self",)).order_by("pk").only("pk", "merchant_id")
        )
        if not rows:
            return 0
        WebhookEvent.objects.filter(merchant=merchant, pk__in=[r.pk for r in rows]).update(
            status=Status.RECEIVED, attempts=0, last_error="", processed_at=None,
            next_attempt_at=now + _seconds("WEBHOOK_DISPATCH_LEASE_SECONDS", 60),
        )
        for row in rows:
            webhook_event_enqueue(row)
        audit_record(merchant=merchant, action="webhook.replayed", object_type="webhooks.WebhookEvent",
                     object_id=rows[0].pk if len(rows) == 1 else "",
                     object_repr=ngettext("%(n)s webhook event", "%(n)s webhook events", len(rows)) % {"n": len(rows)},
                     changes={"events": {"count": len(rows), "ids": [r.pk for r in rows[:REPLAY_IDS_AUDITED]]}})
    logger.info("webhooks.replay", extra={"merchant_id": merchant.pk, "events": len(rows)})
    return len(rows)


# ---------------------------------------------------------------- retention


def webhook_events_prune(*, now: datetime | None = None, batch: int = 1000, max_batches: int = 100) -> dict[str, int]:
    """Beat: drop the bodies of events processed more than WEBHOOK_BODY_RETENTION_DAYS ago, and delete
    whole rows received more than WEBHOOK_ROW_RETENTION_DAYS ago that are finished (processed, failed
    or dead). Short batches, each its own statement, so no long lock is held."""
    now = now or timezone.now()
    body_before = now - timedelta(days=int(getattr(settings, "WEBHOOK_BODY_RETENTION_DAYS", 30)))
    row_before = now - timedelta(days=int(getattr(settings, "WEBHOOK_ROW_RETENTION_DAYS", 90)))
    pruned = deleted = 0
    with unscoped("webhook retention: every merchant's old events"):
        for _ in range(max_batches):
            ids = list(WebhookEvent.objects.filter(status=Status.PROCESSED, processed_at__lt=body_before,
                                                   body__isnull=False).values_list("pk", flat=True)[:batch])
            if not ids:
                break
            pruned += WebhookEvent.objects.filter(pk__in=ids).update(body=None, body_pruned_at=now)
        finished = Q(status__in=[Status.PROCESSED, Status.FAILED, Status.DEAD])
        for _ in range(max_batches):
            ids = list(WebhookEvent.objects.filter(finished, received_at__lt=row_before)
                       .values_list("pk", flat=True)[:batch])
            if not ids:
                break
            deleted += WebhookEvent.objects.filter(pk__in=ids).delete()[0]
    if pruned or deleted:
        logger.info("webhooks.prune", extra={"bodies": pruned, "rows": deleted})
    return {"bodies_pruned": pruned, "rows_deleted": deleted}


__all__ = ["Receipt", "rejected_count", "webhook_endpoint_path", "webhook_event_enqueue", "webhook_event_process",
           "webhook_dispatch_mode", "webhook_events_dispatch", "webhook_events_hand_over", "webhook_events_process", "webhook_events_prune",
           "webhook_events_replay", "webhook_receive", "webhook_store"]
