"""Bill-of-materials changes racing each other on PostgreSQL: a bundle never ends up inside a bundle."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from accounts.tenancy import tenant_scope
from inventory import services
from inventory.errors import InvalidStockOperation
from inventory.models import BundleComponent, Product
from tests.inventory.helpers import make_bundle, make_product

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())")
        return cur.fetchone()[0] > 0


def test_making_a_component_a_bundle_while_it_is_added_to_a_bundle(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=5)
        y = make_product(m, "Y-1")
        z = make_product(m, "Z-1", on_hand=5)
        x = make_bundle(m, "KIT-X", [(a, 1)])
    added, commit, second_done = threading.Event(), threading.Event(), threading.Event()
    outcome: dict = {}

    def add_y_to_x() -> None:  # holds its transaction open until told to commit
        try:
            with tenant_scope(m), transaction.atomic():
                services.product_update(merchant=m, product=x, components=[(a.pk, 1), (y.pk, 1)])
                added.set()
                commit.wait()
            outcome["first"] = "ok"
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            outcome["first"] = exc
            added.set()
        finally:
            connection.close()

    def make_y_a_bundle() -> None:
        try:
            with tenant_scope(m):
                services.bundle_set_components(merchant=m, bundle=y, components=[(z.pk, 1)])
            outcome["second"] = "ok"
        except Exception as exc:  # noqa: BLE001
            outcome["second"] = exc
        finally:
            second_done.set()
            connection.close()

    first = threading.Thread(target=add_y_to_x)
    first.start()
    added.wait()
    second = threading.Thread(target=make_y_a_bundle)
    second.start()
    # the second change either finished already (no serialisation) or waits behind the first
    for _ in range(3000):
        if second_done.is_set() or _someone_waits_for_a_lock():
            break
        time.sleep(0.01)
    commit.set()
    first.join()
    second.join()
    assert outcome["first"] == "ok"
    assert isinstance(outcome["second"], InvalidStockOperation), outcome["second"]
    with tenant_scope(m):
        assert not BundleComponent.objects.filter(merchant=m, component__is_bundle=True).exists()
        assert Product.objects.get(merchant=m, pk=y.pk).is_bundle is False
