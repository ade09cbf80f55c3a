"""The webhook inbox dashboard: list with filters and 24-hour counts, detail, replay one and by filter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tenancy import tenant_scope, unscoped
from tests.integrations.helpers import make_integration
from tests.webhooks.helpers import make_event
from webhooks.models import WebhookEvent
from webhooks.selectors import webhook_event_counts

pytestmark = pytest.mark.django_db
LIST = "/webhook-events/"


@pytest.fixture
def inbox(merchant_a):
    now = timezone.now()
    with tenant_scope(merchant_a.merchant):
        main = make_integration(merchant_a.merchant, name="Main shop")
        quiet = make_integration(merchant_a.merchant, name="Quiet shop")
        events = {
            "processed": make_event(main, status="processed"),
            "failed": make_event(main, status="failed", topic="orders/updated", last_error="KeyError: 'line_items'",
                                 attempts=3, next_attempt_at=now + timedelta(minutes=5)),
            "dead": make_event(main, status="dead", attempts=10),
            "old_dead": make_event(main, status="dead", received_at=now - timedelta(hours=30)),
        }
    return merchant_a, main, quiet, events


def test_list_shows_events_and_counts_of_the_last_24_hours(inbox):
    tenant, main, quiet, events = inbox

    response = tenant.web.get(LIST)

    assert response.status_code == 200
    assert [e.pk for e in response.context["events"]] == [events[k].pk for k in ("dead", "failed", "processed",
                                                                                  "old_dead")]
    counts = {i.name: (i.received_24h, i.processed_24h, i.failed_24h, i.dead_24h) for i in response.context["counts"]}
    assert counts == {"Main shop": (3, 1, 1, 1), "Quiet shop": (0, 0, 0, 0)}  # the 30-hour-old one is out
    assert b"KeyError" in response.content


def test_list_filters_and_names_a_bad_value_instead_of_failing(inbox):
    tenant, _, _, events = inbox

    dead = tenant.web.get(LIST, {"status": "dead"})
    bad = tenant.web.get(LIST, {"status": "dead", "received_from": "2026-02-30", "integration": "x"})
    cursor = tenant.web.get(LIST, {"after": "garbage"})

    assert [e.pk for e in dead.context["events"]] == [events["dead"].pk, events["old_dead"].pk]
    assert bad.status_code == 200
    assert [e.pk for e in bad.context["events"]] == [events["dead"].pk, events["old_dead"].pk]  # status still applied
    assert len(list(bad.context["messages"])) == 2
    assert cursor.status_code == 200 and len(cursor.context["events"]) == 4


def test_counts_are_one_query_whatever_the_number_of_events(inbox):
    tenant, main, quiet, _ = inbox
    with tenant_scope(tenant.merchant):
        with CaptureQueriesContext(connection) as few:
            webhook_event_counts(merchant=tenant.merchant)
        for status in ("processed", "failed", "dead", "received") * 10:
            make_event(quiet, status=status)
        with CaptureQueriesContext(connection) as many:
            counts = webhook_event_counts(merchant=tenant.merchant)

    assert len(few) == len(many) == 1
    assert {i.name: i.received_24h for i in counts} == {"Main shop": 3, "Quiet shop": 40}


def test_detail_shows_headers_body_result_and_next_attempt(inbox):
    tenant, _, _, events = inbox
    event = events["failed"]
    with unscoped("test setup"):
        WebhookEvent.objects.filter(pk=event.pk).update(result={"order": 42, "outcome": "created"})

    response = tenant.web.get(f"{LIST}{event.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "X-Shopify-Event-Id" in html and event.delivery_id in html
    assert '&quot;name&quot;: &quot;#1001&quot;' in html  # pretty-printed JSON body
    assert "&quot;outcome&quot;: &quot;created&quot;" in html
    assert "KeyError" in html and "Next attempt" in html
    assert f'action="/webhook-events/{event.pk}/replay/"' in html


def test_replay_one_from_the_page(inbox, django_capture_on_commit_callbacks):
    tenant, _, _, events = inbox
    event = events["dead"]

    with django_capture_on_commit_callbacks() as sent:
        response = tenant.web.post(f"{LIST}{event.pk}/replay/")

    assert response.status_code == 302 and response["Location"] == f"{LIST}{event.pk}/"
    with unscoped("test check"):
        assert WebhookEvent.objects.get(pk=event.pk).status == "received"
    assert len(sent) == 1


def test_bulk_replay_confirms_then_replays_what_the_filter_matches(inbox, django_capture_on_commit_callbacks):
    tenant, _, _, events = inbox

    confirm = tenant.web.get(f"{LIST}replay/", {"status": "dead"})
    with django_capture_on_commit_callbacks() as sent:
        done = tenant.web.post(f"{LIST}replay/", {"status": "dead", "next": f"{LIST}?status=dead"})

    assert confirm.status_code == 200 and confirm.context["matched"] == 2
    assert b'name="status" value="dead"' in confirm.content
    assert done.status_code == 302 and done["Location"] == f"{LIST}?status=dead"
    with unscoped("test check"):
        statuses = dict(WebhookEvent.objects.filter(merchant=tenant.merchant).values_list("pk", "status"))
    assert statuses[events["dead"].pk] == statuses[events["old_dead"].pk] == "received"
    assert statuses[events["failed"].pk] == "failed" and statuses[events["processed"].pk] == "processed"
    assert len(sent) == 2


def test_bulk_replay_with_a_bad_filter_replays_nothing(inbox, django_capture_on_commit_callbacks):
    tenant = inbox[0]

    with django_capture_on_commit_callbacks() as sent:
        response = tenant.web.post(f"{LIST}replay/", {"status": "dead", "integration": "1 OR 1=1"})

    assert response.status_code == 302
    assert sent == []


def test_merchant_b_sees_none_of_a_and_cannot_replay(inbox, merchant_b, django_capture_on_commit_callbacks):
    tenant, main, _, events = inbox

    page = merchant_b.web.get(LIST)
    with django_capture_on_commit_callbacks() as sent:
        detail = merchant_b.web.get(f"{LIST}{events['dead'].pk}/")
        one = merchant_b.web.post(f"{LIST}{events['dead'].pk}/replay/")
        bulk = merchant_b.web.post(f"{LIST}replay/", {"integration": main.pk})

    assert list(page.context["events"]) == [] and page.context["counts"] == []
    assert detail.status_code == 404 and one.status_code == 404 and bulk.status_code == 302
    with unscoped("test check"):
        assert WebhookEvent.objects.get(pk=events["dead"].pk).status == "dead"
    assert sent == []


def test_nav_and_integration_page_link_the_inbox(inbox):
    tenant, main, _, _ = inbox

    html = tenant.web.get(f"/integrations/{main.pk}/").content.decode()

    assert 'href="/webhook-events/"' in html
    assert f'href="/webhook-events/?integration={main.pk}"' in html


def test_signed_out_is_sent_to_sign_in(client):
    assert client.get(LIST).status_code == 302
