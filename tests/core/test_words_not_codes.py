"""Words, not codes (issue 18): counts say "1 order" and "2 orders" (ngettext), a sync lag is a duration,
and a job's progress is a sentence that never says "of ?"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tenancy import tenant_scope
from integrations.models import Integration
from jobs.models import WorkerJob
from orders import services
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_job_pages_say_how_far_in_a_sentence_without_a_question_mark(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        counting = WorkerJob.objects.create(merchant=m, kind="inventory.stock_import", status=WorkerJob.Status.RUNNING,
                                            progress_done=25)
        known = WorkerJob.objects.create(merchant=m, kind="inventory.stock_import", status=WorkerJob.Status.RUNNING,
                                         progress_done=1250, progress_total=3000)
    first = _text(merchant_a.web.get(f"/jobs/{counting.pk}/").content.decode())
    second = _text(merchant_a.web.get(f"/jobs/{known.pk}/").content.decode())
    listed = _text(merchant_a.web.get("/jobs/").content.decode())
    assert "25 done" in first and "of ?" not in first
    assert "1,250 of 3,000 done" in second
    assert "25 done" in listed and "1,250 of 3,000 done" in listed and "?" not in listed.replace("?tab", "")


def test_a_job_that_finished_without_counting_says_finished_not_zero_done(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        job = WorkerJob.objects.create(merchant=m, kind="integrations.connect", status=WorkerJob.Status.SUCCEEDED)
    page = _text(merchant_a.web.get(f"/jobs/{job.pk}/").content.decode())
    assert "Finished" in page and "0 done" not in page


def test_sync_lag_reads_as_a_duration(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        store = make_integration(m, name="Main shop")
        Integration.objects.filter(pk=store.pk).update(last_order_seen_at=timezone.now() - timedelta(hours=3, minutes=5))
    listed = _text(merchant_a.web.get("/integrations/").content.decode())
    page = _text(merchant_a.web.get(f"/integrations/{store.pk}/").content.decode())
    assert "3 hours last order" in listed
    assert re.search(r"Sync lag \(last order\) 3 hours", page)


@pytest.mark.parametrize(("late", "words"), [(1, "1 open order late"), (2, "2 open orders late")])
def test_the_queue_counts_late_orders_in_the_right_number(merchant_a, late, words):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=10)
        for n in range(late):
            services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
                f"late-{n}", lines=(("L1", "A-1", 1),), placed_at=timezone.now() - timedelta(days=9)))
    queue = _text(merchant_a.web.get("/orders/").content.decode())
    assert words in queue
