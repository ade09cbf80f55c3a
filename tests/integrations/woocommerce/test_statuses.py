"""WooCommerce's word on what happened outside Switchboard (issue 15 §2, §5), through ingest and through a
signed delivery: `completed` of an order we did not ship ships it here on the channel's word (stock leaves,
nothing is told back); `refunded` after it shipped makes it returned, before it cancels; our own completion
coming back as `order.updated` changes nothing, not even the timeline."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from integrations.channels.woocommerce.mapping import order_from_wc
from orders import services
from orders.models import Order, OrderEvent, OrderStatus, Shipment, TrackingOutbox
from tests.fakes.woocommerce import webhook_request
from tests.integrations.woocommerce.conftest import woo_store
from tests.integrations.woocommerce.test_receiver import SECRET, _post
from tests.orders.helpers import level
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(scope_a, woo_fake):
    found = woo_store(woo_fake, scope_a.merchant, stock=10)
    found.integration.credentials = {**found.integration.credentials, "webhook_secret": SECRET}
    found.integration.save(update_fields=["credentials"])
    return found


def _mug(store):
    return next(p for p in store.fake.store.products.values() if p["sku"] == "MUG-1")


def _place(store, status="processing", quantity=2):
    return store.fake.store.add_order([(_mug(store), quantity)], status=status)


def _ingest(store, body, *, notify=True):
    return services.order_ingest(merchant=store.integration.merchant, integration_id=store.integration.pk,
                                 normalized=order_from_wc(body), notify=notify)


def _stock(store):
    from inventory.models import Product
    product = Product.objects.get(merchant=store.integration.merchant, sku="MUG-1")
    found = level(store.integration.merchant, product)
    return found.on_hand, found.reserved


def _timeline(order):
    return list(OrderEvent.objects.filter(order=order).order_by("id").values_list("kind", "message"))


# ---------------------------------------------------------------- through ingest


def test_completed_on_the_channel_ships_what_we_did_not_and_tells_nobody(store):
    body = _place(store)
    _ingest(store, body)
    assert _stock(store) == (10, 2)

    store.fake.store.set_order_status(body, "completed")
    result = _ingest(store, body)

    order = Order.objects.get(pk=result.order.pk)
    [shipment] = Shipment.objects.filter(order=order)
    assert (result.order.status, order.status, shipment.status) == (
        OrderStatus.FULFILLED, OrderStatus.FULFILLED, Shipment.Status.SHIPPED)
    assert _stock(store) == (8, 0)  # the two mugs left through inventory, their reservation consumed
    assert not TrackingOutbox.objects.filter(order=order).exists()  # nothing to tell WooCommerce
    kinds = [kind for kind, _ in _timeline(order)]
    assert OrderEvent.Kind.UPDATED not in kinds
    assert ("status", "Unfulfilled → Fulfilled (shipped on the channel)") in _timeline(order)

    assert _ingest(store, body).outcome == "unchanged"
    assert _stock(store) == (8, 0)


def test_a_new_order_arriving_completed_ships_on_arrival_but_history_moves_no_stock(store):
    news = _place(store, status="completed")
    history = _place(store, status="completed", quantity=3)

    fresh = _ingest(store, news)
    old = _ingest(store, history, notify=False)  # placed before the store was connected (the backfill's flag)

    assert (fresh.order.status, old.order.status) == (OrderStatus.FULFILLED, OrderStatus.FULFILLED)
    assert _stock(store) == (8, 0)  # only the new order's two mugs left; the store's count lacked the old three
    assert Shipment.objects.filter(order=fresh.order).count() == 1
    assert not Shipment.objects.filter(order=old.order).exists()
    assert [li.quantity_fulfilled for li in old.order.lines.all()] == [3]


def test_refunded_after_it_shipped_is_returned_and_before_is_cancelled(store):
    shipped, unshipped = _place(store), _place(store, quantity=1)
    first = _ingest(store, shipped).order
    _ingest(store, unshipped)
    services.order_fulfill_all(merchant=store.integration.merchant, order=first, carrier="UPS",
                               tracking_number="1Z999")
    assert _stock(store) == (8, 1)

    for body in (shipped, unshipped):
        store.fake.store.set_order_status(body, "refunded")
        _ingest(store, body)

    statuses = dict(Order.objects.values_list("external_id", "status"))
    assert statuses == {str(shipped["id"]): OrderStatus.RETURNED, str(unshipped["id"]): OrderStatus.CANCELLED}
    assert _stock(store) == (8, 0)  # the refund does not say the mugs came back: restocking is the merchant's
    returned = Order.objects.get(external_id=str(shipped["id"]))
    assert any("refunded on the channel after it shipped" in message for _, message in _timeline(returned))


def test_our_own_completion_coming_back_changes_nothing(store):
    body = _place(store)
    order = _ingest(store, body).order
    services.order_fulfill_all(merchant=store.integration.merchant, order=order, carrier="UPS",
                               tracking_number="1Z999")
    before = _timeline(order)
    stock = _stock(store)

    store.fake.store.set_order_status(body, "completed")  # what our tracking push did at the store
    result = _ingest(store, body)

    assert result.order.status == OrderStatus.FULFILLED
    assert _timeline(order) == before  # no "details changed"
    assert _stock(store) == stock
    assert Shipment.objects.filter(order=order).count() == 1


# ---------------------------------------------------------------- through a signed delivery


def _deliver(client, store, topic, body, capture):
    raw, headers = webhook_request(topic=topic, body=body, secret=SECRET)
    with capture(execute=True):
        response = _post(client, store.integration, raw, headers)
    assert response.status_code == 200


def _processed(merchant):
    with tenant_scope(merchant):
        return [e.status for e in WebhookEvent.objects.filter(merchant=merchant).order_by("id")]


def test_by_webhook_completed_elsewhere_ships_refunded_after_returns_and_our_echo_is_silent(
        scope_a, store, client, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    elsewhere, ours, refunded, early = _place(store), _place(store), _place(store, quantity=1), _place(store, quantity=1)
    for body in (elsewhere, ours, refunded, early):
        _deliver(client, store, "order.created", body, capture)
    with tenant_scope(scope_a.merchant):
        assert _stock(store) == (10, 6)
        for body in (ours, refunded):
            services.order_fulfill_all(merchant=scope_a.merchant, carrier="UPS", tracking_number="1Z1",
                                       order=Order.objects.get(external_id=str(body["id"])))
        echo_before = _timeline(Order.objects.get(external_id=str(ours["id"])))

    for body, status in ((elsewhere, "completed"), (ours, "completed"), (refunded, "refunded"), (early, "refunded")):
        store.fake.store.set_order_status(body, status)
        _deliver(client, store, "order.updated", body, capture)

    assert set(_processed(scope_a.merchant)) == {WebhookEvent.Status.PROCESSED}
    with tenant_scope(scope_a.merchant):
        statuses = {key: Order.objects.get(external_id=str(body["id"])).status
                    for key, body in (("elsewhere", elsewhere), ("ours", ours), ("refunded", refunded),
                                      ("early", early))}
        assert statuses == {"elsewhere": OrderStatus.FULFILLED, "ours": OrderStatus.FULFILLED,
                            "refunded": OrderStatus.RETURNED, "early": OrderStatus.CANCELLED}
        assert _stock(store) == (5, 0)  # 2 ours + 1 refunded shipped by us, 2 shipped on WooCommerce's word
        assert _timeline(Order.objects.get(external_id=str(ours["id"]))) == echo_before
        elsewhere_order = Order.objects.get(external_id=str(elsewhere["id"]))
        assert not TrackingOutbox.objects.filter(order=elsewhere_order).exists()
