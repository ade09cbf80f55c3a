"""The fake's key granting keeps class-wc-auth.php's contract: the parameter checks and their 401 page,
https only for the callback, the key POSTed as JSON before the redirect with success=1, a callback that
answers anything but 200 costs the key and shows the error, Deny goes back with success=0."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from .browser import wc_auth_approve, wc_auth_deny
from .receiver import Receiver


@pytest.fixture
def tls_receiver():
    receiver = Receiver(tls=True)
    try:
        yield receiver
    finally:
        receiver.stop()


def _authorize(fake, **overrides):
    params = {"app_name": "Switchboard", "scope": "read_write", "user_id": "install-123",
              "return_url": "https://switchboard.example.test/back/", "callback_url": "https://example.test/keys/"}
    params.update(overrides)
    return f"{fake.base_url}/wc-auth/v1/authorize?{urlencode({k: v for k, v in params.items() if v is not None})}"


@pytest.mark.parametrize(("overrides", "error"), [
    ({"user_id": None}, "Error: Missing parameter user_id."),
    ({"scope": "admin"}, "Error: Invalid scope admin."),
    ({"callback_url": "http://example.test/keys/"}, "Error: The callback_url needs to be over SSL."),
    ({"return_url": "https://"}, "Error: The https:// is not a valid URL."),
])
def test_parameters_are_checked_before_anything(woo_fake, overrides, error):
    response = requests.get(_authorize(woo_fake, **overrides), timeout=10, allow_redirects=False)

    assert response.status_code == 401 and error in response.text


def test_a_callback_without_a_scheme_is_taken_as_https(woo_fake):
    response = requests.get(_authorize(woo_fake, callback_url="example.test/keys/"), timeout=10)

    assert response.status_code == 200 and "wc-auth-approve" in response.text


def test_approving_posts_the_key_as_json_then_sends_the_browser_back(woo_fake, tls_receiver):
    woo_fake.callback_ca_bundle = tls_receiver.ca_bundle

    response = wc_auth_approve(_authorize(woo_fake, callback_url=tls_receiver.url))

    [received] = tls_receiver.received
    body = json.loads(received.body)
    assert received.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert set(body) == {"key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions"}
    assert (body["user_id"], body["key_permissions"]) == ("install-123", "read_write")
    assert body["consumer_key"] in woo_fake.store.keys and body["consumer_key"].startswith("ck_")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.netloc, location.path) == ("switchboard.example.test", "/back/")
    assert parse_qs(location.query) == {"success": ["1"], "user_id": ["install-123"]}


def test_a_callback_that_does_not_answer_200_costs_the_key(woo_fake, tls_receiver):
    woo_fake.callback_ca_bundle = tls_receiver.ca_bundle
    tls_receiver.status = 201  # only an exact 200 counts

    response = wc_auth_approve(_authorize(woo_fake, callback_url=tls_receiver.url))

    assert response.status_code == 401 and "unable to send the consumer data" in response.text
    assert len(tls_receiver.received) == 1 and woo_fake.store.keys == {}


def test_a_reused_approval_link_is_refused(woo_fake, tls_receiver):
    woo_fake.callback_ca_bundle = tls_receiver.ca_bundle
    page = requests.get(_authorize(woo_fake, callback_url=tls_receiver.url), timeout=10).text
    first = wc_auth_approve(_authorize(woo_fake, callback_url=tls_receiver.url))
    granted = page.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")

    assert first.status_code == 302
    requests.get(granted, timeout=10, allow_redirects=False)  # this page's own nonce: used once
    again = requests.get(granted, timeout=10, allow_redirects=False)
    assert again.status_code == 401 and "Invalid nonce verification" in again.text


def test_deny_goes_back_with_success_0(woo_fake):
    back = urlsplit(wc_auth_deny(_authorize(woo_fake)))

    assert parse_qs(back.query) == {"success": ["0"], "user_id": ["install-123"]}
