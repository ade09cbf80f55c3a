"""Low stock: listed, and one email per product until it recovers (sent by a task after commit),
through the notifications app: to the merchant's chosen recipients, unless it turned them off."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.tenancy import tenant_scope
from inventory import selectors, services
from inventory.models import Product
from inventory.registry import low_stock_notifiers
from inventory.services import ReserveRequest
from inventory.tasks import low_stock_notify_task
from notifications.models import NotificationLog
from notifications.services import notification_settings_update
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_email_per_episode_until_recovery(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        p = make_product(m, "MUG-1", on_hand=10, low_stock_threshold=3)
        make_product(m, "FINE-1", on_hand=10, low_stock_threshold=3)
        assert mail.outbox == []
        # going low sends one email
        services.stock_reserve(merchant=m, requests=[ReserveRequest(p.pk, 7, "r1")])
        assert [e.subject for e in mail.outbox] == ["Low stock: MUG-1 (3 left)"]
        assert mail.outbox[0].to == ["alice@a.example"]
        assert [x.sku for x in selectors.low_stock_list(merchant=m)] == ["MUG-1"]
        # further changes while low send nothing more
        services.stock_adjust(merchant=m, product_id=p.pk, delta=-1)
        services.stock_release(merchant=m, reference="r1", quantity=1)
        assert len(mail.outbox) == 1
    # a retried or duplicated task does not send again
    assert low_stock_notify_task(merchant_id=m.pk, product_ids=[p.pk]) == "already-done"
    assert len(mail.outbox) == 1
    with tenant_scope(m):
        # recovering re-arms; going low again sends a second email
        services.stock_adjust(merchant=m, product_id=p.pk, delta=20)
        assert Product.objects.get(pk=p.pk).low_stock_since is None
        assert selectors.low_stock_list(merchant=m).count() == 0
        services.stock_adjust(merchant=m, product_id=p.pk, delta=-21)
        assert len(mail.outbox) == 2


def test_rolled_back_change_sends_no_email(merchant_a):
    from django.db import transaction

    m = merchant_a.merchant
    with tenant_scope(m):
        p = make_product(m, "MUG-1", on_hand=10, low_stock_threshold=3)
        with pytest.raises(RuntimeError), transaction.atomic():
            services.stock_adjust(merchant=m, product_id=p.pk, delta=-8)
            raise RuntimeError("caller failed after the stock change")
        assert mail.outbox == []
        assert Product.objects.get(pk=p.pk).low_stock_since is None


def test_an_import_that_makes_many_products_low_sends_one_email(merchant_a):
    from inventory.services import AdjustLine, stock_adjust_many

    m = merchant_a.merchant
    with tenant_scope(m):
        products = [make_product(m, f"CUP-{i}", on_hand=10, low_stock_threshold=5) for i in range(3)]
        stock_adjust_many(merchant=m, lines=[AdjustLine(product_id=p.pk, on_hand=2) for p in products])
    assert [e.subject for e in mail.outbox] == ["Low stock: 3 products"]
    assert "CUP-0 · Product CUP-0: 2 available (threshold 5)" in mail.outbox[0].body



def test_low_stock_mail_goes_to_the_recipients_the_merchant_chose(merchant_a):
    # given a merchant who chose who gets its mail
    m = merchant_a.merchant
    with tenant_scope(m):
        notification_settings_update(merchant=m, recipients="stock@shop.example, ops@shop.example")
        p = make_product(m, "MUG-1", on_hand=10, low_stock_threshold=3)
        # when a product goes low
        services.stock_adjust(merchant=m, product_id=p.pk, delta=-8)
        # then they are emailed, not the owner, and the log keeps it as one low-stock notification
        assert [(e.to, e.subject) for e in mail.outbox] == [
            (["stock@shop.example", "ops@shop.example"], "Low stock: MUG-1 (2 left)")]
        assert list(NotificationLog.objects.filter(merchant=m).values_list("kind", "reference", "status")) == [
            ("low_stock", f"product:{p.pk}", "sent")]


def test_no_low_stock_mail_when_the_merchant_turned_it_off(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        notification_settings_update(merchant=m, notify_low_stock=False)
        p = make_product(m, "MUG-1", on_hand=10, low_stock_threshold=3)
        services.stock_adjust(merchant=m, product_id=p.pk, delta=-8)
        # the product is still listed as low, and the episode counts as told (no email later for it)
        assert [x.sku for x in selectors.low_stock_list(merchant=m)] == ["MUG-1"]
        assert Product.objects.get(pk=p.pk).low_stock_notified_at is not None
    assert mail.outbox == []


NOTIFIED: list = []


def record_notifier(*, merchant, products) -> str:
    """A notifier another app would register (inventory.registry.low_stock_notifiers); records what it was told."""
    NOTIFIED.append((merchant.pk, products))
    return "ok"


def test_a_registered_notifier_replaces_the_email_and_keeps_the_debounce(merchant_a):
    NOTIFIED.clear()
    m = merchant_a.merchant
    with low_stock_notifiers.registered("test", record_notifier), tenant_scope(m):
        p = make_product(m, "MUG-1", on_hand=10, low_stock_threshold=3)
        services.stock_adjust(merchant=m, product_id=p.pk, delta=-8)
        services.stock_adjust(merchant=m, product_id=p.pk, delta=-1)
    assert mail.outbox == []
    assert NOTIFIED == [(m.pk, [{"product_id": p.pk, "sku": "MUG-1", "title": "Product MUG-1", "available": 2,
                                 "threshold": 3}])]


def test_a_low_stock_email_whose_task_was_lost_is_sent_by_the_sweeper_once(merchant_a):
    from datetime import timedelta

    from django.utils import timezone

    m = merchant_a.merchant
    with tenant_scope(m):
        lost = make_product(m, "MUG-1", on_hand=2, low_stock_threshold=3)
        stale = make_product(m, "OLD-1", on_hand=2, low_stock_threshold=3)
        # Given: both went low, but the notify task sent after each commit never reached a worker
        now = timezone.now()
        Product.objects.filter(pk=lost.pk).update(low_stock_since=now, low_stock_notified_at=None)
        Product.objects.filter(pk=stale.pk).update(low_stock_since=now - timedelta(days=2), low_stock_notified_at=None)
        mail.outbox.clear()
    # When: the sweeper runs before the grace period, after it, and again
    early = services.low_stock_sweep(now=now + timedelta(minutes=1))
    swept = services.low_stock_sweep(now=now + timedelta(minutes=6))
    again = services.low_stock_sweep(now=now + timedelta(minutes=7))
    # Then: one email for the recent episode only, and nothing re-sent once it went out
    assert (early, swept, again) == (0, 1, 0)
    assert [e.subject for e in mail.outbox] == ["Low stock: MUG-1 (2 left)"]
