"""The webhook inbox API: list filters, detail with headers and body, replay one and in bulk, isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tenancy import tenant_scope, unscoped
from tests.integrations.helpers import make_integration
from tests.webhooks.helpers import ORDER_BODY, make_event
from webhooks.models import WebhookEvent

URL = "/api/v1/webhook-events/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(merchant_a):
    """Merchant A: two stores, events of every status, one old, one pruned."""
    now = timezone.now()
    with tenant_scope(merchant_a.merchant):
        main = make_integration(merchant_a.merchant, name="Main")
        other = make_integration(merchant_a.merchant, name="Other")
        events = {
            "processed": make_event(main, status="processed"),
            "failed": make_event(main, status="failed", topic="orders/updated", last_error="KeyError: 'line_items'"),
            "dead": make_event(other, status="dead", attempts=10),
            "old": make_event(main, status="processed", received_at=now - timedelta(days=40)),
            "pruned": make_event(main, status="failed", pruned=True, received_at=now - timedelta(days=35)),
        }
    return merchant_a, main, other, events


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_list_newest_first_with_every_event(inbox):
    tenant, _, _, events = inbox

    rows = tenant.api.get(URL).json()["results"]

    assert [r["id"] for r in rows] == [events[k].pk for k in ("dead", "failed", "processed", "pruned", "old")]
    assert "body" not in rows[0] and rows[0]["integration_name"] == "Other"


@pytest.mark.parametrize("params,expected", [
    ({"status": "failed"}, {"failed", "pruned"}),
    ({"status": "dead"}, {"dead"}),
    ({"topic": "orders/updated"}, {"failed"}),
    ({"status": "failed", "topic": "orders/create"}, {"pruned"}),
])
def test_list_filters(inbox, params, expected):
    tenant, _, _, events = inbox

    assert _ids(tenant.api.get(URL, params)) == {events[k].pk for k in expected}


def test_list_filters_by_integration_and_received_days(inbox):
    tenant, main, other, events = inbox
    today = timezone.localdate()

    assert _ids(tenant.api.get(URL, {"integration": other.pk})) == {events["dead"].pk}
    assert _ids(tenant.api.get(URL, {"received_from": (today - timedelta(days=1)).isoformat()})) == {
        events[k].pk for k in ("processed", "failed", "dead")}
    assert _ids(tenant.api.get(URL, {"received_to": (today - timedelta(days=36)).isoformat()})) == {events["old"].pk}


def test_list_pages_by_cursor(inbox):
    tenant, _, _, events = inbox

    first = tenant.api.get(URL, {"page_size": 2}).json()
    second = tenant.api.get(first["next"]).json()

    assert [r["id"] for r in first["results"]] == [events["dead"].pk, events["failed"].pk]
    assert [r["id"] for r in second["results"]] == [events["processed"].pk, events["pruned"].pk]


@pytest.mark.parametrize("params,field", [
    ({"status": "exploded"}, "status"),
    ({"integration": "abc"}, "integration"),
    ({"integration": "99999999999999999999"}, "integration"),
    ({"integration": "٣"}, "integration"),
    ({"topic": "orders\x00create"}, "topic"),
    ({"topic": "x" * 129}, "topic"),
    ({"received_from": "2026-13-01"}, "received_from"),
    ({"received_from": "0001-01-01"}, "received_from"),
    ({"received_from": "2026-02-01", "received_to": "2026-01-01"}, "received_from"),
    ({"cursor": "not-a-cursor"}, "cursor"),
])
def test_bad_filter_values_are_400_in_the_error_shape(inbox, params, field):
    tenant = inbox[0]

    response = tenant.api.get(URL, params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in ("validation_failed", "invalid_cursor")
    assert error["details"]["field"] == field


def test_detail_has_headers_and_the_body_as_text(inbox):
    tenant, _, _, events = inbox
    event = events["failed"]

    body = tenant.api.get(f"{URL}{event.pk}/").json()

    assert body["headers"] == {"X-Shopify-Topic": "orders/updated", "X-Shopify-Event-Id": event.delivery_id}
    assert body["body"] == ORDER_BODY.decode() and body["body_encoding"] == "utf-8"
    assert body["body_size"] == len(ORDER_BODY) and body["is_body_pruned"] is False
    assert body["last_error"] == "KeyError: 'line_items'" and body["status"] == "failed"


def test_detail_of_a_body_that_is_not_utf8_is_base64(merchant_a):
    with tenant_scope(merchant_a.merchant):
        event = make_event(make_integration(merchant_a.merchant), body=b"\xff\xfe\x00binary")

    body = merchant_a.api.get(f"{URL}{event.pk}/").json()

    assert body["body_encoding"] == "base64" and body["body"] == "//4AYmluYXJ5"


def test_detail_of_a_pruned_event_says_so(inbox):
    tenant, _, _, events = inbox

    body = tenant.api.get(f"{URL}{events['pruned'].pk}/").json()

    assert body["body"] is None and body["body_encoding"] is None and body["is_body_pruned"] is True


def test_replay_one_queues_it_again(inbox, django_capture_on_commit_callbacks):
    tenant, _, _, events = inbox
    event = events["dead"]

    with django_capture_on_commit_callbacks() as sent:
        response = tenant.api.post(f"{URL}{event.pk}/replay/")

    assert response.status_code == 202
    assert response.json()["status"] == "received"
    with unscoped("test check"):
        event.refresh_from_db()
    assert (event.status, event.attempts) == ("received", 0)
    assert len(sent) == 1


def test_replay_of_an_event_a_worker_is_processing_now_is_409_in_progress(merchant_a,
                                                                           django_capture_on_commit_callbacks):
    with tenant_scope(merchant_a.merchant):
        event = make_event(make_integration(merchant_a.merchant), status="processing", attempts=2,
                           next_attempt_at=timezone.now() + timedelta(minutes=5))

    with django_capture_on_commit_callbacks() as sent:
        response = merchant_a.api.post(f"{URL}{event.pk}/replay/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "in_progress"
    with unscoped("test check"):
        assert WebhookEvent.objects.get(pk=event.pk).attempts == 2
    assert sent == []


def test_replay_of_a_pruned_event_is_409_and_changes_nothing(inbox, django_capture_on_commit_callbacks):
    tenant, _, _, events = inbox
    event = events["pruned"]

    with django_capture_on_commit_callbacks() as sent:
        response = tenant.api.post(f"{URL}{event.pk}/replay/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "body_pruned"
    with unscoped("test check"):
        assert WebhookEvent.objects.get(pk=event.pk).status == "failed"
    assert sent == []


def test_bulk_replay_by_filter_counts_replayed_and_skipped(inbox, django_capture_on_commit_callbacks):
    tenant, _, _, events = inbox

    with django_capture_on_commit_callbacks() as sent:
        response = tenant.api.post(f"{URL}replay/", {"status": "failed"}, format="json")

    assert response.status_code == 202
    assert response.json() == {"matched": 2, "replayed": 1, "skipped": 1, "remaining": 0}
    with unscoped("test check"):
        statuses = dict(WebhookEvent.objects.filter(merchant=tenant.merchant).values_list("pk", "status"))
    assert statuses[events["failed"].pk] == "received"
    assert statuses[events["pruned"].pk] == "failed"  # nothing to replay
    assert statuses[events["dead"].pk] == "dead" and statuses[events["processed"].pk] == "processed"
    assert len(sent) == 1


def test_bulk_replay_is_capped_and_says_how_many_remain(inbox, monkeypatch):
    tenant = inbox[0]
    monkeypatch.setattr("webhooks.replay.BULK_REPLAY_MAX", 2)

    response = tenant.api.post(f"{URL}replay/", {}, format="json")

    assert response.json() == {"matched": 5, "replayed": 1, "skipped": 1, "remaining": 3}  # oldest two: old, pruned


@pytest.mark.parametrize("data", [{"status": "nope"}, {"integration": "x"}, {"integration": 0},
                                  {"received_to": "yesterday"}, {"topic": "a\x00b"}])
def test_bulk_replay_refuses_bad_filters(inbox, data, django_capture_on_commit_callbacks):
    tenant = inbox[0]

    with django_capture_on_commit_callbacks() as sent:
        response = tenant.api.post(f"{URL}replay/", data, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_failed"
    assert sent == []


def test_merchant_b_sees_none_of_a_and_cannot_replay_them(inbox, merchant_b, django_capture_on_commit_callbacks):
    tenant, main, _, events = inbox
    event = events["failed"]

    assert _ids(merchant_b.api.get(URL)) == set()
    assert _ids(merchant_b.api.get(URL, {"integration": main.pk})) == set()
    assert merchant_b.api.get(f"{URL}{event.pk}/").status_code == 404
    with django_capture_on_commit_callbacks() as sent:
        one = merchant_b.api.post(f"{URL}{event.pk}/replay/")
        bulk = merchant_b.api.post(f"{URL}replay/", {"integration": main.pk}, format="json")

    assert one.status_code == 404 and one.json()["error"]["code"] == "not_found"
    assert bulk.status_code == 202 and bulk.json() == {"matched": 0, "replayed": 0, "skipped": 0, "remaining": 0}
    with unscoped("test check"):
        assert WebhookEvent.objects.get(pk=event.pk).status == "failed"
    assert sent == []


def test_staff_may_replay(inbox, django_capture_on_commit_callbacks):
    """Owners and staff alike: replay re-runs idempotent processing of what the channel sent."""
    from rest_framework.test import APIClient

    from accounts.models import Membership, User
    from accounts.services import api_token_create

    tenant, _, _, events = inbox
    staff = User.objects.create_user("staff@a.example", "a-long-enough-password-1")
    with tenant_scope(tenant.merchant):
        Membership.objects.create(merchant=tenant.merchant, user=staff, role=Membership.Role.STAFF)
        _, raw = api_token_create(merchant=tenant.merchant, user=staff, name="staff")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    with django_capture_on_commit_callbacks():
        response = client.post(f"{URL}{events['dead'].pk}/replay/")

    assert response.status_code == 202
