"""The webhook inbox in a browser: the list and an event's page fit a phone; the replay button asks, then replays."""

from __future__ import annotations

from accounts.tenancy import tenant_scope, unscoped
from tests.browser.conftest import PHONE, assert_fits_width
from tests.integrations.helpers import make_integration
from tests.webhooks.helpers import make_event
from webhooks.models import WebhookEvent


def _inbox(tenant) -> WebhookEvent:
    with tenant_scope(tenant.merchant):
        shop = make_integration(tenant.merchant, name="A store with a rather long name for a phone screen")
        make_event(shop, status="processed")
        make_event(shop, status="failed", topic="inventory_levels/update",
                   last_error="ValueError: " + "a very long error message without spaces " * 6)
        return make_event(shop, status="dead", attempts=10, last_error="Traceback: " + "x" * 400,
                          body=b'{"id": 1, "note": "' + b"y" * 600 + b'"}')


def test_the_inbox_fits_a_phone_and_replays_an_event(signed_in, merchant_a):
    dead = _inbox(merchant_a)
    page = signed_in(merchant_a, viewport=PHONE)

    assert page.goto("/webhook-events/").status == 200
    assert_fits_width(page)
    assert page.locator("table.webhook-counts").inner_text().count("A store with a rather long name") == 1

    assert page.goto(f"/webhook-events/{dead.pk}/").status == 200
    assert_fits_width(page)
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Replay").click()
    page.wait_for_url(f"**/webhook-events/{dead.pk}/")

    assert questions and "again" in questions[0]
    assert "queued for processing again" in page.content()
    with unscoped("test check"):
        replayed = WebhookEvent.objects.get(pk=dead.pk)
    assert replayed.status != "dead" and replayed.last_error != dead.last_error


def test_declining_the_question_replays_nothing(signed_in, merchant_a):
    dead = _inbox(merchant_a)
    page = signed_in(merchant_a, viewport=PHONE)
    page.goto(f"/webhook-events/{dead.pk}/")
    page.on("dialog", lambda dialog: dialog.dismiss())
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)

    page.get_by_role("button", name="Replay").click()  # returns after any navigation the click started

    assert posts == []
    with unscoped("test check"):
        assert WebhookEvent.objects.get(pk=dead.pk).status == "dead"


def test_bulk_replay_by_filter_on_a_phone(signed_in, merchant_a):
    dead = _inbox(merchant_a)
    page = signed_in(merchant_a, viewport=PHONE)

    page.goto("/webhook-events/?status=dead")
    page.get_by_role("link", name="Replay filtered…").click()
    assert_fits_width(page)
    page.get_by_role("button", name="Replay 1 event").click()
    page.wait_for_url("**/webhook-events/?status=dead")

    assert "1 event queued for processing again" in page.content()
    with unscoped("test check"):
        assert WebhookEvent.objects.get(pk=dead.pk).status != "dead"
