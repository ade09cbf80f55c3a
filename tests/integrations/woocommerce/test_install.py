"""WooCommerce's key-granting install (issue 15 §1) on the seam's pending installs: the connect page offers
it beside the key form; "Approve access in WooCommerce" sends the merchant to /wc-auth/v1/authorize with our
app name, read_write, an opaque install id and our https keys URL; the keys POSTed there server to server
(no session, no CSRF token) are stored encrypted for the merchant who started it, once; an unknown, expired
or reused id and a key without read_write are refused in the common error shape with nothing stored; the
browser coming back lands on the store's page, or reads why not. The last test runs the whole flow against
the fake store, which POSTs to our keys URL on a TLS live server as WooCommerce would."""

from __future__ import annotations

import json
import ssl
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from django.utils import timezone

from accounts.tenancy import tenant_scope, unscoped
from integrations.installs import PENDING_INSTALL_TTL
from integrations.models import Integration, PendingInstall
from tests.fakes.woocommerce.browser import wc_auth_approve, wc_auth_deny
from tests.fakes.woocommerce.server import _self_signed

BASE = "https://switchboard.example.test"
KEYS_PATH = "/webhooks/install/woocommerce/keys/"
INSTALL = "/integrations/connect/woocommerce/install/"
CALLBACK = "/integrations/connect/woocommerce/callback/"


@pytest.fixture
def base_url(settings):
    settings.WEBHOOK_BASE_URL = BASE
    return settings


def _start(client, store_url: str, **extra) -> dict[str, str]:
    response = client.post(INSTALL, {"store_url": store_url, **extra})
    assert response.status_code == 302, response.content[:500]
    location = urlsplit(response["Location"])
    query = {k: v[-1] for k, v in parse_qs(location.query).items()}
    return {"location": response["Location"], "path": location.path, **query}


def _keys(client, user_id: str, *, permissions: str = "read_write", key: str = "ck_" + "a" * 40,
          secret: str = "cs_" + "b" * 40):
    body = {"key_id": 7, "user_id": user_id, "consumer_key": key, "consumer_secret": secret,
            "key_permissions": permissions}
    return client.post(KEYS_PATH, data=json.dumps(body), content_type="application/json;charset=UTF-8")


def _integrations(merchant):
    with tenant_scope(merchant):
        return list(Integration.objects.filter(merchant=merchant, channel="woocommerce"))


@pytest.fixture
def server_client():
    """WooCommerce's side: no session, and CSRF enforced as for any browser-less POST."""
    return Client(enforce_csrf_checks=True)


# ---------------------------------------------------------------- the pages and the keys URL


@pytest.mark.django_db
def test_the_connect_page_offers_approval_beside_the_key_form(merchant_a, client, base_url):
    client.force_login(merchant_a.user)

    page = client.get("/integrations/connect/woocommerce/").content.decode()

    assert "Approve access in WooCommerce" in page and 'action="/integrations/connect/woocommerce/install/"' in page
    assert "Consumer key" in page and "Test connection" in page
    base_url.WEBHOOK_BASE_URL = ""
    assert "WooCommerce sends the key only over https" in client.get("/integrations/connect/woocommerce/").content.decode()


@pytest.mark.django_db
def test_approval_goes_to_wc_auth_with_our_app_read_write_an_opaque_id_and_our_https_keys_url(
        merchant_a, client, base_url, woo_fake):
    client.force_login(merchant_a.user)

    sent = _start(client, woo_fake.base_url.upper().replace("HTTP", "http") + "/", name="Main shop")

    assert sent["location"].startswith(f"{woo_fake.base_url}/wc-auth/v1/authorize?")
    assert (sent["app_name"], sent["scope"]) == ("Switchboard", "read_write")
    assert sent["return_url"] == "http://testserver" + CALLBACK
    assert sent["callback_url"] == BASE + KEYS_PATH
    with unscoped("test read"):
        [row] = PendingInstall.objects.all()
    assert len(sent["user_id"]) >= 40 and sent["user_id"] not in row.token_hash  # only its hash is stored
    assert (row.merchant_id, row.user_id, row.channel, row.used_at) == (
        merchant_a.merchant.pk, merchant_a.user.pk, "woocommerce", None)
    assert row.data["form"] == {"store_url": woo_fake.base_url} and row.data["name"] == "Main shop"
    assert timezone.now() < row.expires_at <= timezone.now() + PENDING_INSTALL_TTL


@pytest.mark.django_db
def test_the_keys_are_stored_encrypted_once_and_a_reused_or_unknown_id_stores_nothing(
        merchant_a, client, server_client, base_url, woo_fake):
    client.force_login(merchant_a.user)
    user_id = _start(client, woo_fake.base_url)["user_id"]

    first = _keys(server_client, user_id)
    again = _keys(server_client, user_id, key="ck_" + "c" * 40)
    unknown = _keys(server_client, "no-such-install")

    assert (first.status_code, again.status_code, unknown.status_code) == (200, 409, 404)
    assert again.json()["error"]["code"] == "install_already_used"
    assert unknown.json()["error"]["code"] == "install_not_found"
    [store] = _integrations(merchant_a.merchant)
    assert first.json()["integration"] == store.pk
    assert (store.account_ref, store.credentials["consumer_key"], store.credentials["key_id"]) == (
        woo_fake.base_url, "ck_" + "a" * 40, 7)
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials::text FROM integrations_integration WHERE id = %s", [store.pk])
        stored = cursor.fetchone()[0]
    assert "cs_" + "b" * 40 not in stored and "ck_" not in stored  # encrypted at rest


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "status", "code"), [
    ("read-only key", 400, "install_credentials_refused"),
    ("write-only key", 400, "install_credentials_refused"),
    ("expired", 400, "install_expired"),
    ("not json", 400, "install_body_invalid"),
])
def test_refused_deliveries_store_nothing_and_say_why(merchant_a, client, server_client, base_url, woo_fake, case,
                                                     status, code):
    client.force_login(merchant_a.user)
    user_id = _start(client, woo_fake.base_url)["user_id"]
    if case == "expired":
        with unscoped("test"):
            PendingInstall.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    if case == "not json":
        response = server_client.post(KEYS_PATH, data=f"user_id={user_id}",
                                      content_type="application/x-www-form-urlencoded")
    else:
        response = _keys(server_client, user_id,
                         permissions={"read-only key": "read", "write-only key": "write"}.get(case, "read_write"))

    body = response.json()
    assert response.status_code == status and body["error"]["code"] == code and body["error"]["message"]
    assert _integrations(merchant_a.merchant) == []
    back = client.get(CALLBACK, {"success": "1", "user_id": user_id}, follow=True)
    assert back.redirect_chain[-1][0] == "/integrations/connect/woocommerce/"
    if case != "not json":  # a body we cannot read names no install to mark
        assert "was refused" in back.content.decode()


@pytest.mark.django_db
def test_a_get_or_another_channel_at_the_keys_url_is_refused(server_client):
    assert server_client.get(KEYS_PATH).status_code == 405
    other = server_client.post("/webhooks/install/shopify/keys/", data="{}", content_type="application/json")
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_the_browser_back_lands_on_the_store_or_reads_why_not(merchant_a, merchant_b, client, server_client,
                                                              base_url, woo_fake):
    client.force_login(merchant_a.user)
    approved = _start(client, woo_fake.base_url)["user_id"]
    declined = _start(client, woo_fake.base_url + "/other")["user_id"]
    _keys(server_client, approved)
    [store] = _integrations(merchant_a.merchant)

    landed = client.get(CALLBACK, {"success": "1", "user_id": approved})
    denied = client.get(CALLBACK, {"success": "0", "user_id": declined}, follow=True)

    assert landed.status_code == 302 and landed["Location"] == f"/integrations/{store.pk}/"
    assert "you did not approve the access in WooCommerce" in denied.content.decode()
    other = Client()
    other.force_login(merchant_b.user)
    foreign = other.get(CALLBACK, {"success": "1", "user_id": approved}, follow=True)
    assert "no install was started with this id from your account" in foreign.content.decode()


# ---------------------------------------------------------------- end to end against the fake store


class _TlsLiveServerThread(LiveServerThread):
    """Django's live server behind TLS (a self-signed certificate): WooCommerce posts keys only over https."""

    cert: Path
    key: Path

    def _create_server(self, connections_override=None):
        server = super()._create_server(connections_override=connections_override)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        return server


@pytest.fixture
def tls_live_server(transactional_db, tmp_path, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    thread = _TlsLiveServerThread("127.0.0.1", _StaticFilesHandler)
    thread.cert, thread.key = _self_signed(tmp_path)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    thread.url = f"https://127.0.0.1:{thread.port}"
    try:
        yield thread
    finally:
        thread.terminate()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_approving_at_the_fake_store_connects_it(merchant_a, woo_fake, tls_live_server, settings):
    settings.WEBHOOK_BASE_URL = tls_live_server.url
    woo_fake.callback_ca_bundle = str(tls_live_server.cert)
    browser = Client()
    browser.force_login(merchant_a.user)

    sent = _start(browser, woo_fake.base_url, name="Woo via approval")
    declined = urlsplit(wc_auth_deny(sent["location"]))
    approved = wc_auth_approve(sent["location"])

    assert approved.status_code == 302, approved.text[:300]
    [(callback, delivered, status)] = woo_fake.key_deliveries
    assert (callback, status) == (tls_live_server.url + KEYS_PATH, 200)
    back = urlsplit(approved.headers["Location"])
    assert back.path == CALLBACK and parse_qs(back.query) == {"success": ["1"], "user_id": [sent["user_id"]]}
    landed = browser.get(back.path, {k: v[-1] for k, v in parse_qs(back.query).items()})
    [store] = _integrations(merchant_a.merchant)
    assert landed["Location"] == f"/integrations/{store.pk}/"
    assert (store.name, store.account_ref) == ("Woo via approval", woo_fake.base_url)
    assert store.credentials["consumer_key"] == delivered["consumer_key"]
    assert woo_fake.store.keys[delivered["consumer_key"]].permissions == "read_write"
    assert browser.get(landed["Location"]).status_code == 200  # the store's own page
    # The Deny link of the same install, followed late, only says it was approved already.
    assert browser.get(declined.path, {k: v[-1] for k, v in parse_qs(declined.query).items()})["Location"] == \
        f"/integrations/{store.pk}/"
