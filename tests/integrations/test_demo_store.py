"""`make demo-store` (python -m tests.fakes.shopify.demo) as a person uses it: a separate process that serves,
prints the lines to connect it, and streams new orders; Switchboard connected with exactly those lines
imports its orders, and a shipped order's fulfilment shows on the store's status page."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from accounts.tenancy import tenant_scope
from integrations.models import Integration
from integrations.tasks import integration_connect_task, tracking_push_task
from jobs.models import WorkerJob
from orders.models import Order
from orders.services import order_fulfill_all
from tests.fakes.shopify.demo import CATALOG
from tests.inventory.helpers import make_product

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0  # seconds a line may take on a loaded machine: a bound on hanging, not a speed assertion


class DemoStore:
    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def line_matching(self, pattern: str) -> re.Match:
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; saw {seen}") from None
            seen.append(line)
            if match := re.search(pattern, line):
                return match


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo_store() -> Iterator[DemoStore]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.shopify.demo", "--port", str(_free_port()), "--every", "0.3",
         "--backlog", "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield DemoStore(process)
    finally:
        process.terminate()
        process.wait(timeout=WAIT)


def test_the_demo_store_prints_how_to_connect_it_and_streams_orders(demo_store, merchant_a, settings):
    # given the demo store started as `make demo-store` starts it
    base = demo_store.line_matching(r"export SHOPIFY_API_BASE_URL=(\S+)").group(1)
    allowed = demo_store.line_matching(r"export OUTBOUND_ALLOWED_PRIVATE_HOSTS=(\S+)").group(1)
    domain = demo_store.line_matching(r"Shop domain:\s+(\S+)").group(1)
    token = demo_store.line_matching(r"Access token:\s+(\S+)").group(1)
    secret = demo_store.line_matching(r"Client secret:\s+(\S+)").group(1)
    status_url = demo_store.line_matching(r"Fulfilments Switchboard pushed: (\S+)").group(1)

    # then it serves its catalog and its waiting orders, and a new order arrives while it runs
    first = requests.get(status_url, timeout=10).json()["shops"][0]
    assert (first["domain"], first["products"]) == (domain, len(CATALOG))
    assert len(first["orders"]) >= 2
    demo_store.line_matching(r"^New order #\d+")
    demo_store.line_matching(r"^New order #\d+")
    later = requests.get(status_url, timeout=10).json()["shops"][0]
    assert len(later["orders"]) > len(first["orders"])

    # when a merchant who stocks its SKUs starts Switchboard with the printed lines and connects with them
    settings.SHOPIFY_API_BASE_URL = base
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = allowed.split(",")
    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        for _title, variants in CATALOG:
            for _variant, sku, _price in variants:
                make_product(merchant, sku, on_hand=500)
    tested = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "name": "Demo store", "shop_domain": domain, "access_token": token, "client_secret": secret,
        "action": "test"})
    assert "Connection works: Demo Store" in tested.content.decode()
    saved = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "name": "Demo store", "shop_domain": domain, "access_token": token, "client_secret": secret,
        "action": "save"})
    assert saved.status_code == 302
    with tenant_scope(merchant):  # the connect job the save started, run as a worker runs it
        job = WorkerJob.objects.get(merchant=merchant, kind="integrations.connect")
        integration_connect_task.apply(kwargs={"merchant_id": merchant.pk, "integration_id": job.params["integration_id"],
                                               "job_id": job.pk}, throw=False)

    # then the store's orders are in the queue, ready to ship, and shipping one fulfils it at the store
    with tenant_scope(merchant):
        integration = Integration.objects.get(merchant=merchant)
        orders = Order.objects.filter(merchant=merchant, integration=integration).order_by("number")
        assert orders.count() >= len(later["orders"])
        order = orders.first()
        assert not order.is_short and not order.needs_attention
        order_fulfill_all(merchant=merchant, order=order, carrier="UPS", tracking_number="1Z999AA10123456784")
        tracking_push_task.apply(kwargs={"merchant_id": merchant.pk})
    shipped = {o["name"]: o for o in requests.get(status_url, timeout=10).json()["shops"][0]["orders"]}[order.number]
    assert shipped["fulfillment_status"] == "FULFILLED", shipped
    assert [t["number"] for f in shipped["fulfillments"] for t in f["tracking"]] == ["1Z999AA10123456784"]
