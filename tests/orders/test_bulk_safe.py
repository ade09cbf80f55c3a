"""Safe bulk actions: no destructive default, cancel and "mark fulfilled" confirmed with a reason and saying
what the channel is told, results by order number and status label, every failure listed, big selections as a
job with progress."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from accounts.tenancy import tenant_scope
from inventory.models import Product
from jobs.models import WorkerJob
from orders import services
from orders.models import Order, OrderEvent
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


def _orders(tenant, n: int, *, channel: str = "shopify", prefix: str = "") -> list[Order]:
    m = tenant.merchant
    with tenant_scope(m):
        if not Product.objects.filter(merchant=m, sku="A-1").exists():
            make_product(m, "A-1", on_hand=10_000)
        return [services.order_ingest(merchant=m, integration_id=None,
                                      normalized=normalized(f"{prefix}{i}", channel=channel)).order
                for i in range(1, n + 1)]


def _statuses(tenant, orders) -> list[str]:
    with tenant_scope(tenant.merchant):
        return list(Order.objects.filter(merchant=tenant.merchant, pk__in=[o.pk for o in orders])
                    .order_by("pk").values_list("status", flat=True))


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_bulk_bar_starts_on_a_neutral_choice(merchant_a):
    orders = _orders(merchant_a, 1)
    html = merchant_a.web.get("/orders/").content.decode()
    select = html.split('name="action"')[1].split("</select>")[0]
    assert '<option value="" selected>Choose an action…</option>' in select
    assert select.index('value=""') < select.index('value="cancel"')
    # and posting the bar untouched does nothing
    r = merchant_a.web.post("/orders/bulk/", {"ids": [o.pk for o in orders], "action": ""})
    assert r.status_code == 302 and _messages(r) == ["Choose an action first."]
    assert _statuses(merchant_a, orders) == ["unfulfilled"]


def test_cancel_asks_for_confirmation_and_a_reason_before_changing_anything(merchant_a):
    orders = _orders(merchant_a, 2)
    ids = [o.pk for o in orders]
    # when: the bar is posted → the confirmation page, nothing cancelled
    r = merchant_a.web.post("/orders/bulk/", {"ids": ids, "action": "cancel", "next": "/orders/"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "Cancel: 2 orders?" in html
    assert "Cancelled here only: Shopify is not told." in html
    assert "#1, #2" in html
    assert _statuses(merchant_a, orders) == ["unfulfilled", "unfulfilled"]
    # when: confirmed without a reason → the page again (400), nothing cancelled
    r = merchant_a.web.post("/orders/bulk/", {"ids": ids, "action": "cancel", "confirmed": "yes", "reason": "  "})
    assert r.status_code == 400 and "Give a reason" in r.content.decode()
    assert _statuses(merchant_a, orders) == ["unfulfilled", "unfulfilled"]
    # when: a reason without the confirmation step (a forged post) → still the confirmation page
    r = merchant_a.web.post("/orders/bulk/", {"ids": ids, "action": "cancel", "reason": "fraud"})
    assert r.status_code == 200
    assert _statuses(merchant_a, orders) == ["unfulfilled", "unfulfilled"]


def test_a_confirmed_cancel_records_the_reason_and_reports_by_number_and_label(merchant_a):
    orders = _orders(merchant_a, 2)
    r = merchant_a.web.post("/orders/bulk/", {"ids": [o.pk for o in orders], "action": "cancel", "confirmed": "yes",
                                              "reason": "Customer asked by phone", "next": "/orders/?status=unfulfilled"})
    assert (r.status_code, r["Location"]) == (302, "/orders/?status=unfulfilled")
    assert _messages(r) == ["2 orders cancelled — #1, #2."]
    assert _statuses(merchant_a, orders) == ["cancelled", "cancelled"]
    with tenant_scope(merchant_a.merchant):
        assert sorted(OrderEvent.objects.filter(merchant=merchant_a.merchant, kind=OrderEvent.Kind.CANCELLED)
                      .values_list("order_id", "message")) == [(o.pk, "Customer asked by phone") for o in orders]


def test_mark_fulfilled_without_tracking_is_confirmed_says_what_the_channel_is_told_and_records_the_reason(
        merchant_a):
    shopify, manual = _orders(merchant_a, 1)[0], None
    with tenant_scope(merchant_a.merchant):
        manual = services.order_create_manual(merchant=merchant_a.merchant,
                                              lines=[services.ManualLine(sku="A-1", quantity=1)])
    ids = [shopify.pk, manual.pk]
    html = merchant_a.web.post("/orders/bulk/", {"ids": ids, "action": "fulfill"}).content.decode()
    assert "Shopify is told the order shipped, with no tracking number" in html
    assert "Entered by hand: no channel is told." in html
    assert _statuses(merchant_a, [shopify, manual]) == ["unfulfilled", "unfulfilled"]
    r = merchant_a.web.post("/orders/bulk/", {"ids": ids, "action": "fulfill", "confirmed": "yes",
                                              "reason": "Shipped from the shop counter"})
    assert _messages(r) == [f"2 orders marked fulfilled without tracking — #1, {manual.number}."]
    with tenant_scope(merchant_a.merchant):
        assert OrderEvent.objects.filter(merchant=merchant_a.merchant, order=shopify, kind=OrderEvent.Kind.STATUS,
                                         message="Marked fulfilled without tracking: Shipped from the shop counter"
                                         ).count() == 1


def test_every_failure_is_listed_by_number_with_status_labels(merchant_a):
    orders = _orders(merchant_a, 17)
    m = merchant_a.merchant
    with tenant_scope(m):
        for o in orders[:15]:
            services.order_cancel(merchant=m, order=o, reason="before")
    r = merchant_a.web.post("/orders/bulk/", {"ids": [o.pk for o in orders], "action": "hold"})
    msgs = _messages(r)
    assert msgs[0] == "2 orders put on hold — #16, #17."
    assert msgs[1:] == ["15 orders skipped: An order that is cancelled cannot become on hold — "
                        + ", ".join(f"#{i}" for i in range(1, 16)) + "."]  # grouped by why, every number kept
    assert not any("on_hold" in s for s in msgs)  # labels, not slugs


def test_the_api_refuses_cancel_and_fulfill_without_a_reason_and_names_orders_by_number(merchant_a):
    orders = _orders(merchant_a, 2)
    ids = [o.pk for o in orders]
    for action in ("cancel", "fulfill"):
        r = merchant_a.api.post("/api/v1/orders/bulk/", {"ids": ids, "action": action}, format="json")
        assert (r.status_code, r.json()["error"]["code"]) == (400, "reason_required")
    assert _statuses(merchant_a, orders) == ["unfulfilled", "unfulfilled"]
    r = merchant_a.api.post("/api/v1/orders/bulk/", {"ids": ids, "action": "cancel", "reason": "duplicate"},
                            format="json")
    assert r.status_code == 200
    assert r.json()["done_orders"] == [{"id": o.pk, "number": o.number, "status": "cancelled",
                                        "status_label": "Cancelled"} for o in orders]
    r = merchant_a.api.post("/api/v1/orders/bulk/", {"ids": ids, "action": "cancel", "reason": "again"}, format="json")
    assert r.json()["failed"] == [{"id": o.pk, "number": o.number, "code": "illegal_transition",
                                   "message": "An order that is cancelled cannot become cancelled."} for o in orders]


def test_all_matching_the_filter_runs_as_a_job_with_progress_and_a_result_page(
        merchant_a, django_capture_on_commit_callbacks):
    orders = _orders(merchant_a, 4)
    m = merchant_a.merchant
    with tenant_scope(m):
        services.order_cancel(merchant=m, order=orders[0], reason="before")
        services.order_hold(merchant=m, order=orders[1])
    other = _orders(merchant_a, 1, channel="woocommerce", prefix="w")[0]
    form = {"action": "cancel", "scope": "all", "filter": "channel=shopify", "next": "/orders/?channel=shopify"}
    # the confirmation counts what the filter matches, and carries the filter, not ids
    html = merchant_a.web.post("/orders/bulk/", form).content.decode()
    assert "Cancel: 4 orders?" in html and 'name="filter" value="channel=shopify"' in html
    assert 'name="ids"' not in html
    with django_capture_on_commit_callbacks(execute=True):
        r = merchant_a.web.post("/orders/bulk/", {**form, "confirmed": "yes", "reason": "store closed"})
    with tenant_scope(m):
        job = WorkerJob.objects.get(merchant=m, kind="orders.bulk_action")
    assert (r.status_code, r["Location"]) == (302, f"/orders/bulk/{job.pk}/")
    assert (job.status, job.percent, job.progress_done, job.progress_total) == ("succeeded", 100, 4, 4)
    assert _statuses(merchant_a, orders + [other]) == ["cancelled"] * 4 + ["unfulfilled"]
    page = merchant_a.web.get(f"/orders/bulk/{job.pk}/").content.decode()
    assert "3 orders cancelled" in page and "Now Cancelled" not in page  # what was done, not the status now
    assert all(f">{o.number}</a>" in page for o in orders)
    assert "1 order skipped: An order that is cancelled cannot become cancelled." in page


def test_more_than_a_page_of_ticked_orders_is_a_job(merchant_a, django_capture_on_commit_callbacks):
    orders = _orders(merchant_a, 101)
    with django_capture_on_commit_callbacks(execute=True):
        r = merchant_a.web.post("/orders/bulk/", {"ids": [o.pk for o in orders], "action": "tag", "tag": "big"})
    with tenant_scope(merchant_a.merchant):
        job = WorkerJob.objects.get(merchant=merchant_a.merchant, kind="orders.bulk_action")
    assert r["Location"] == f"/orders/bulk/{job.pk}/"
    assert (job.status, job.percent, len(job.result["done"]), job.result["failed"]) == ("succeeded", 100, 101, [])


def test_a_bulk_job_page_is_another_merchants_404(merchant_a, merchant_b, django_capture_on_commit_callbacks):
    orders = _orders(merchant_a, 1)
    with django_capture_on_commit_callbacks(execute=True):
        merchant_a.web.post("/orders/bulk/", {"action": "hold", "scope": "all", "filter": ""})
    with tenant_scope(merchant_a.merchant):
        job = WorkerJob.objects.get(merchant=merchant_a.merchant, kind="orders.bulk_action")
    assert merchant_b.web.get(f"/orders/bulk/{job.pk}/").status_code == 404
    assert _statuses(merchant_a, orders) == ["on_hold"]
    # and merchant B's "all matching" never reaches A's orders
    with django_capture_on_commit_callbacks(execute=True):
        merchant_b.web.post("/orders/bulk/", {"action": "release_hold", "scope": "all", "filter": ""})
    assert _statuses(merchant_a, orders) == ["on_hold"]


def test_the_api_runs_all_matching_as_a_job(merchant_a, django_capture_on_commit_callbacks):
    orders = _orders(merchant_a, 3)
    body = {"action": "cancel", "reason": "closing", "all_matching": {"channel": "shopify"}}
    with django_capture_on_commit_callbacks(execute=True):
        r = merchant_a.api.post("/api/v1/orders/bulk/", body, format="json")
    assert r.status_code == 202
    job = merchant_a.api.get(f"/api/v1/jobs/{r.json()['job']}/").json()
    assert (r.json()["orders"], job["status"], job["percent"]) == (3, "succeeded", 100)
    assert [o["number"] for o in job["result"]["done_orders"]] == ["#1", "#2", "#3"]
    assert _statuses(merchant_a, orders) == ["cancelled"] * 3
    # bad filters and ambiguous requests are 400, nothing queued
    for bad in ({"action": "hold", "all_matching": {"status": "lost"}},
                {"action": "hold", "all_matching": {}, "ids": [orders[0].pk]}):
        assert merchant_a.api.post("/api/v1/orders/bulk/", bad, format="json").status_code == 400
    with tenant_scope(merchant_a.merchant):
        assert WorkerJob.objects.filter(merchant=merchant_a.merchant).count() == 1


def test_the_order_pages_cancel_asks_first_with_a_reason_like_the_bulk_cancel(merchant_a, merchant_b):
    order = _orders(merchant_a, 1)[0]
    url = f"/orders/{order.pk}/cancel/"
    assert f'action="{url}"' in merchant_a.web.get(f"/orders/{order.pk}/").content.decode()
    # when: the order page's button is posted (a reason typed or not) → the confirmation page, nothing changed
    r = merchant_a.web.post(url, {"reason": "Customer called"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "Cancel: 1 order?" in html and "#1" in html
    assert "Cancelled here only: Shopify is not told." in html  # the channel registry's sentence
    assert f'action="{url}"' in html and 'value="Customer called"' in html
    # when: confirmed without a reason → the page again (400), nothing changed
    r = merchant_a.web.post(url, {"confirmed": "yes", "reason": " "})
    assert r.status_code == 400 and "Give a reason" in r.content.decode()
    assert _statuses(merchant_a, [order]) == ["unfulfilled"]
    # another merchant cannot reach it even confirmed
    assert merchant_b.web.post(url, {"confirmed": "yes", "reason": "x"}).status_code == 404
    assert _statuses(merchant_a, [order]) == ["unfulfilled"]
    # when: confirmed with a reason → cancelled, the reason on the order's event
    r = merchant_a.web.post(url, {"confirmed": "yes", "reason": "Customer called to cancel"})
    assert (r.status_code, r["Location"]) == (302, f"/orders/{order.pk}/")
    assert _statuses(merchant_a, [order]) == ["cancelled"]
    with tenant_scope(merchant_a.merchant):
        assert list(OrderEvent.objects.filter(merchant=merchant_a.merchant, order=order,
                                              kind=OrderEvent.Kind.CANCELLED).values_list("message", flat=True)
                    ) == ["Customer called to cancel"]


def test_bulk_results_group_by_what_was_done_and_skipped_orders_by_why(merchant_a):
    """Not by the status the orders ended in: an order cancelled before is "skipped", not "now Cancelled"."""
    orders = _orders(merchant_a, 5)
    m = merchant_a.merchant
    with tenant_scope(m):
        services.order_cancel(merchant=m, order=orders[0], reason="before")
        services.order_hold(merchant=m, order=orders[1])
        services.order_fulfill_all(merchant=m, order=orders[2], reason="counter")
    result = merchant_a.api.post("/api/v1/orders/bulk/", {"ids": [o.pk for o in orders], "action": "cancel",
                                                          "reason": "closing"}, format="json").json()

    groups = services.bulk_outcome_groups(action="cancel", result=result)

    assert [(g.done, g.words, [o["number"] for o in g.orders]) for g in groups] == [
        (True, "3 orders cancelled", ["#2", "#4", "#5"]),  # the held one too: it was cancelled now
        (False, "1 order skipped: An order that is cancelled cannot become cancelled.", ["#1"]),
        (False, "1 order skipped: An order that is fulfilled cannot become cancelled.", ["#3"]),
    ]
    one = services.bulk_outcome_groups(action="hold", result={"done_orders": [{"id": 1, "number": "#9"}]})
    assert one[0].words == "1 order put on hold"
