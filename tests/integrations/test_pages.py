"""Dashboard pages of integrations, through the signed-in web client (no scope held by the test): the
stores list, connecting (custom-app token with a test against the fake, our app's OAuth install and
callback), the integration page (doctor, jobs, listings, push rules, sync, disconnect), cross-merchant
404s, and the order list's store filter."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.utils import timezone

from accounts.tenancy import tenant_scope
from integrations.models import Integration, Listing
from integrations.views import INSTALL_SESSION_KEY
from inventory.models import Product
from jobs.models import WorkerJob
from orders import services as order_services
from orders.models import Order
from tests.fakes.shopify import oauth_query_hmac
from tests.integrations.helpers import CREDENTIALS, make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db

SHOP = "demo-store.myshopify.com"
APP_ID = "switchboard-test"
APP_SECRET = "shpss_our_app_secret_for_tests"


def _count(tenant, model=Integration) -> int:
    with tenant_scope(tenant.merchant):
        return model.objects.filter(merchant=tenant.merchant).count()


def _text(response) -> str:
    return response.content.decode()


@pytest.fixture
def fake_shop(shopify_fake, settings):
    """The fake with our app and one shop; SHOPIFY_API_BASE_URL points at it."""
    settings.SHOPIFY_API_BASE_URL = shopify_fake.base_url_template
    settings.SHOPIFY_CLIENT_ID = APP_ID
    settings.SHOPIFY_CLIENT_SECRET = APP_SECRET
    shopify_fake.add_app(APP_ID, APP_SECRET)
    shopify_fake.add_shop(SHOP, name="Demo Store")
    return shopify_fake


@pytest.fixture
def store(merchant_a):
    with tenant_scope(merchant_a.merchant):
        return make_integration(merchant_a.merchant, name="Main shop")


# --- the stores list -------------------------------------------------------------------------------


def test_list_shows_each_store_with_status_lag_and_last_error(merchant_a):
    with tenant_scope(merchant_a.merchant):
        make_integration(merchant_a.merchant, name="Main shop")
        broken = make_integration(merchant_a.merchant, name="Outlet shop")
        Integration.objects.filter(pk=broken.pk).update(
            status=Integration.Status.NEEDS_RECONNECT, last_error="401 Invalid API key or access token",
            last_order_seen_at=timezone.now() - timezone.timedelta(days=3))
    r = merchant_a.web.get("/integrations/")
    body = _text(r)
    assert r.status_code == 200
    assert "Main shop" in body and "Outlet shop" in body
    assert "Needs reconnecting" in body and "401 Invalid API key or access token" in body
    assert "3\xa0days</time>" in body and "last order" in body  # the lag as a duration
    assert "nothing synced yet" in body  # Main shop has no sync yet
    assert 'href="/integrations/connect/shopify/"' in body
    assert CREDENTIALS["access_token"] not in body and CREDENTIALS["client_secret"] not in body


# --- custom-app token --------------------------------------------------------------------------------


def test_connect_page_offers_install_only_when_our_app_is_configured(merchant_a, settings):
    settings.SHOPIFY_CLIENT_ID = ""
    body = _text(merchant_a.web.get("/integrations/connect/shopify/"))
    assert "Connect with your credentials" in body and "Install our app</button>" not in body
    assert "needs SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET" in body
    settings.SHOPIFY_CLIENT_ID, settings.SHOPIFY_CLIENT_SECRET = APP_ID, APP_SECRET
    body = _text(merchant_a.web.get("/integrations/connect/shopify/"))
    assert "Install our app</button>" in body
    assert merchant_a.web.get("/integrations/connect/nosuch/").status_code == 404


def test_token_form_with_a_bad_domain_is_refused_with_a_message(merchant_a):
    r = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "shop_domain": "shop.example.com", "access_token": "shpat_typed", "client_secret": "shpss_typed",
        "action": "save"})
    body = _text(r)
    assert r.status_code == 400
    assert "Enter the store&#x27;s myshopify.com domain" in body
    assert "shpat_typed" not in body and "shpss_typed" not in body
    assert _count(merchant_a) == 0


def test_test_connection_shows_the_shop_and_missing_scopes_and_stores_nothing(merchant_a, fake_shop):
    token = fake_shop.issue_token(SHOP, scopes=["read_orders", "read_products", "read_inventory", "read_locations"])
    r = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "shop_domain": "Demo-Store.myshopify.com", "access_token": token, "client_secret": "shpss_custom",
        "action": "test"})
    body = _text(r)
    assert r.status_code == 200
    assert "Connection works: Demo Store" in body
    assert "<code>write_inventory</code>" in body and "Main warehouse" in body
    assert token not in body and "shpss_custom" not in body
    assert 'value="Demo-Store.myshopify.com"' in body  # the shop stays as typed
    assert _count(merchant_a) == 0
    assert len(fake_shop.calls(kind="graphql", shop=SHOP)) >= 1


def test_a_refused_token_is_reported_and_not_saved(merchant_a, fake_shop):
    r = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "shop_domain": SHOP, "access_token": "shpat_not_a_real_token", "client_secret": "shpss_x", "action": "save"})
    body = _text(r)
    assert r.status_code == 400
    assert "The store refused the connection" in body
    assert "shpat_not_a_real_token" not in body
    assert _count(merchant_a) == 0


def test_a_successful_test_keeps_what_was_typed_so_save_needs_nothing_typed_again(merchant_a, fake_shop):
    # given a merchant who typed the shop, a name, the token and the secret, and tested them
    token = fake_shop.issue_token(SHOP)
    tested = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "name": "Flagship", "shop_domain": SHOP, "access_token": token, "client_secret": "shpss_typed",
        "action": "test"})
    body = _text(tested)

    # when they choose "Save and connect" on the page the test left (the secrets' inputs empty, as rendered)
    saved = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "name": "Flagship", "shop_domain": SHOP, "access_token": "", "client_secret": "", "action": "save"})

    # then the page kept the name and the shop, said the secrets are kept without rendering them, and the
    # store is connected with the tested credentials
    assert tested.status_code == 200
    assert 'value="Flagship"' in body and f'value="{SHOP}"' in body
    assert body.count("Kept from the test; leave empty to use it.") == 2
    assert token not in body and "shpss_typed" not in body
    assert "Enter the token and secret again" not in body
    assert saved.status_code == 302
    with tenant_scope(merchant_a.merchant):
        integration = Integration.objects.get(merchant=merchant_a.merchant)
    assert integration.name == "Flagship"
    assert dict(integration.credentials) == {"shop_domain": SHOP, "access_token": token, "client_secret": "shpss_typed"}
    assert merchant_a.web.session.get("integrations.tested.shopify") is None


def test_kept_secrets_are_not_used_for_another_shop(merchant_a, fake_shop):
    fake_shop.add_shop("other-store.myshopify.com", name="Other")
    token = fake_shop.issue_token(SHOP)
    merchant_a.web.post("/integrations/connect/shopify/token/", {
        "shop_domain": SHOP, "access_token": token, "client_secret": "shpss_typed", "action": "test"})

    r = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "shop_domain": "other-store.myshopify.com", "access_token": "", "client_secret": "", "action": "save"})

    assert r.status_code == 400
    assert "This field is required." in _text(r)
    assert _count(merchant_a) == 0


def test_test_connection_makes_one_short_attempt_and_says_what_failed_in_words(merchant_a, fake_shop):
    # given Shopify answering 503 (the background client would retry it several times)
    token = fake_shop.issue_token(SHOP)
    fake_shop.fail_next(1, status=503)

    # when the merchant tests the connection
    r = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "shop_domain": SHOP, "access_token": token, "client_secret": "shpss_x", "action": "test"})

    # then one request was made, and the page says so in words, not as an HTTP line
    body = _text(r)
    assert r.status_code == 400
    assert "Shopify did not answer in time; try again in a moment." in body
    assert "503" not in body and "graphql.json" not in body
    assert len(fake_shop.calls(kind="graphql", shop=SHOP)) == 1
    assert _count(merchant_a) == 0


def test_a_refused_token_is_told_in_the_packages_words(merchant_a, fake_shop):
    r = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "shop_domain": SHOP, "access_token": "shpat_not_a_real_token", "client_secret": "shpss_x", "action": "test"})

    body = _text(r)
    assert r.status_code == 400
    assert "Shopify refused the access token. Check that it was copied whole" in body
    assert "401" not in body
    assert len(fake_shop.calls(kind="graphql", shop=SHOP)) == 1


def test_save_and_connect_creates_the_integration_and_never_renders_the_token(merchant_a, fake_shop):
    token = fake_shop.issue_token(SHOP)
    r = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "name": "Demo", "shop_domain": SHOP, "access_token": token, "client_secret": "shpss_custom_secret",
        "action": "save"})
    assert r.status_code == 302
    with tenant_scope(merchant_a.merchant):
        integration = Integration.objects.get(merchant=merchant_a.merchant)
        assert (integration.name, integration.channel, integration.status) == ("Demo", "shopify", "active")
        assert dict(integration.credentials) == {"shop_domain": SHOP, "access_token": token,
                                                 "client_secret": "shpss_custom_secret"}
        assert WorkerJob.objects.filter(merchant=merchant_a.merchant, kind="integrations.connect").count() == 1
    assert r["Location"] == f"/integrations/{integration.pk}/"
    for url in ("/integrations/", f"/integrations/{integration.pk}/", "/integrations/connect/shopify/",
                f"/integrations/connect/shopify/?reconnect={integration.pk}", f"/integrations/{integration.pk}/disconnect/"):
        page = _text(merchant_a.web.get(url))
        assert token not in page and "shpss_custom_secret" not in page, url


def test_reconnect_with_a_new_token_replaces_the_credentials(merchant_a, fake_shop):
    with tenant_scope(merchant_a.merchant):
        integration = make_integration(merchant_a.merchant, credentials={
            "shop_domain": SHOP, "access_token": "shpat_revoked", "client_secret": "shpss_old"})
        Integration.objects.filter(pk=integration.pk).update(status=Integration.Status.NEEDS_RECONNECT)
    page = _text(merchant_a.web.get(f"/integrations/{integration.pk}/"))
    assert f'href="/integrations/connect/shopify/?reconnect={integration.pk}"' in page
    page = _text(merchant_a.web.get(f"/integrations/connect/shopify/?reconnect={integration.pk}"))
    assert f'value="{SHOP}"' in page and "shpat_revoked" not in page
    token = fake_shop.issue_token(SHOP)
    r = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "reconnect": str(integration.pk), "shop_domain": SHOP, "access_token": token, "client_secret": "shpss_new",
        "action": "save"})
    assert r.status_code == 302
    with tenant_scope(merchant_a.merchant):
        assert _count(merchant_a) == 1
        integration.refresh_from_db()
        assert integration.status == Integration.Status.ACTIVE
        assert integration.credentials["access_token"] == token


def test_reconnect_refuses_a_token_of_another_shop(merchant_a, fake_shop):
    with tenant_scope(merchant_a.merchant):
        integration = make_integration(merchant_a.merchant, credentials={
            "shop_domain": SHOP, "access_token": "shpat_revoked", "client_secret": "shpss_old"})
    fake_shop.add_shop("other-store.myshopify.com", name="Other")
    token = fake_shop.issue_token("other-store.myshopify.com")
    r = merchant_a.web.post("/integrations/connect/shopify/token/", {
        "reconnect": str(integration.pk), "shop_domain": "other-store.myshopify.com", "access_token": token,
        "client_secret": "shpss_new", "action": "save"})
    assert r.status_code == 400
    assert f"Main shop is {SHOP}; to connect another store, connect a new one." in _text(r)
    with tenant_scope(merchant_a.merchant):
        integration.refresh_from_db()
    assert integration.credentials["access_token"] == "shpat_revoked"


# --- our app's OAuth install -----------------------------------------------------------------------------


def _install(tenant, shop=SHOP, **extra):
    return tenant.web.post("/integrations/connect/shopify/install/", {"shop_domain": shop, **extra})


def _signed_callback(params: dict, secret: str = APP_SECRET) -> str:
    params = {**params, "hmac": oauth_query_hmac(params, secret)}
    return "/integrations/connect/shopify/callback/?" + urlencode(params)


def _approve(fake, authorize_location: str) -> str:
    """The merchant approves on the fake: its redirect back to our callback, as a path with query."""
    answer = requests.get(authorize_location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/integrations/connect/shopify/callback/"
    return f"{back.path}?{back.query}"


def test_install_redirects_to_the_authorize_page_with_a_state_kept_in_the_session(merchant_a, fake_shop):
    r = _install(merchant_a, "https://Demo-Store.myshopify.com/admin")
    assert r.status_code == 302
    url = urlsplit(r["Location"])
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{fake_shop.base_url}/{SHOP}/admin/oauth/authorize"
    assert query["client_id"] == [APP_ID]
    assert query["redirect_uri"] == ["http://testserver/integrations/connect/shopify/callback/"]
    assert "write_inventory" in query["scope"][0].split(",")
    assert query["state"] == [merchant_a.web.session[INSTALL_SESSION_KEY]["state"]]
    assert len(query["state"][0]) >= 24


def test_install_with_a_bad_domain_is_a_message(merchant_a, fake_shop):
    r = _install(merchant_a, "evil.example.com")
    assert r.status_code == 302 and r["Location"] == "/integrations/connect/shopify/"
    body = _text(merchant_a.web.get(r["Location"]))
    assert "Enter the store&#x27;s myshopify.com domain" in body
    assert INSTALL_SESSION_KEY not in merchant_a.web.session


def test_a_good_callback_creates_the_integration_with_the_exchanged_token(merchant_a, fake_shop):
    callback = _approve(fake_shop, _install(merchant_a, name="Flagship")["Location"])
    r = merchant_a.web.get(callback)
    assert r.status_code == 302
    with tenant_scope(merchant_a.merchant):
        integration = Integration.objects.get(merchant=merchant_a.merchant)
        credentials = dict(integration.credentials)
    assert r["Location"] == f"/integrations/{integration.pk}/"
    assert (integration.name, integration.status) == ("Flagship", "active")
    (grant,) = fake_shop.calls(kind="oauth_token")
    assert grant.grant_type == "authorization_code" and grant.status == 200
    token = fake_shop.tokens[credentials["access_token"]]  # the token the fake issued for this shop
    assert (token.shop, token.client_id, token.expires_at is not None) == (SHOP, APP_ID, True)
    assert credentials["refresh_token"].startswith("shprt_") and credentials["shop_domain"] == SHOP
    assert credentials["access_token_expires_at"] > time.time()
    page = _text(merchant_a.web.get(r["Location"]))
    assert "Flagship" in page and credentials["access_token"] not in page and credentials["refresh_token"] not in page


def test_reconnect_through_the_install_replaces_the_stores_credentials(merchant_a, fake_shop):
    with tenant_scope(merchant_a.merchant):
        integration = make_integration(merchant_a.merchant, credentials={
            "shop_domain": SHOP, "access_token": "shpat_revoked", "client_secret": "shpss_old"})
        Integration.objects.filter(pk=integration.pk).update(status=Integration.Status.NEEDS_RECONNECT)
    wrong = _install(merchant_a, "other-store.myshopify.com", reconnect=str(integration.pk))
    assert wrong["Location"] == f"/integrations/connect/shopify/?reconnect={integration.pk}"
    assert INSTALL_SESSION_KEY not in merchant_a.web.session
    r = merchant_a.web.get(_approve(fake_shop, _install(merchant_a, reconnect=str(integration.pk))["Location"]))
    assert r.status_code == 302 and r["Location"] == f"/integrations/{integration.pk}/"
    with tenant_scope(merchant_a.merchant):
        integration.refresh_from_db()
        assert _count(merchant_a) == 1
    assert integration.status == Integration.Status.ACTIVE
    assert fake_shop.tokens[integration.credentials["access_token"]].client_id == APP_ID
    assert "client_secret" not in integration.credentials and integration.credentials["refresh_token"]


def test_a_replayed_callback_is_refused(merchant_a, fake_shop):
    callback = _approve(fake_shop, _install(merchant_a)["Location"])
    assert merchant_a.web.get(callback).status_code == 302
    r = merchant_a.web.get(callback, follow=True)
    assert "The Shopify install was refused: no install was started from this session" in _text(r)
    assert _count(merchant_a) == 1
    assert len(fake_shop.calls(kind="oauth_token")) == 1


def test_a_callback_with_a_bad_hmac_is_refused_and_creates_nothing(merchant_a, fake_shop):
    callback = _approve(fake_shop, _install(merchant_a)["Location"])
    tampered = callback.replace("code=", "code=0", 1)
    r = merchant_a.web.get(tampered, follow=True)
    assert r.status_code == 200
    assert "The Shopify install was refused: the callback&#x27;s HMAC does not match" in _text(r)
    assert _count(merchant_a) == 0 and fake_shop.calls(kind="oauth_token") == []


def test_a_callback_with_a_wrong_state_is_refused(merchant_a, fake_shop):
    _install(merchant_a)
    callback = _signed_callback({"code": "abc", "shop": SHOP, "state": "not-the-state-we-issued",
                                 "timestamp": str(int(time.time()))})
    r = merchant_a.web.get(callback, follow=True)
    assert "the callback&#x27;s state is not the one we issued" in _text(r)
    assert _count(merchant_a) == 0 and fake_shop.calls(kind="oauth_token") == []
    # the state was spent by the refused attempt: a second try with the right state finds none
    assert INSTALL_SESSION_KEY not in merchant_a.web.session


def test_a_callback_without_an_install_in_this_session_is_refused(merchant_a, merchant_b, fake_shop):
    callback = _approve(fake_shop, _install(merchant_a)["Location"])  # started by A, opened by B
    r = merchant_b.web.get(callback, follow=True)
    assert "no install was started from this session" in _text(r)
    assert _count(merchant_b) == 0 and _count(merchant_a) == 0


def test_a_callback_for_a_foreign_shop_is_refused_even_when_signed(merchant_a, fake_shop):
    fake_shop.add_shop("other-store.myshopify.com", name="Other")
    _install(merchant_a)
    state = merchant_a.web.session[INSTALL_SESSION_KEY]["state"]
    callback = _signed_callback({"code": "abc", "shop": "other-store.myshopify.com", "state": state,
                                 "timestamp": str(int(time.time()))})
    r = merchant_a.web.get(callback, follow=True)
    assert "the callback names other-store.myshopify.com, not the store you started installing" in _text(r)
    _install(merchant_a)
    state = merchant_a.web.session[INSTALL_SESSION_KEY]["state"]
    callback = _signed_callback({"code": "abc", "shop": "evil.example.com", "state": state,
                                 "timestamp": str(int(time.time()))})
    r = merchant_a.web.get(callback, follow=True)
    assert "the callback names no valid myshopify.com shop" in _text(r)
    assert _count(merchant_a) == 0 and fake_shop.calls(kind="oauth_token") == []


def test_an_old_callback_is_refused(merchant_a, fake_shop):
    _install(merchant_a)
    state = merchant_a.web.session[INSTALL_SESSION_KEY]["state"]
    callback = _signed_callback({"code": "abc", "shop": SHOP, "state": state,
                                 "timestamp": str(int(time.time()) - 3 * 24 * 3600)})
    r = merchant_a.web.get(callback, follow=True)
    assert "the callback is too old" in _text(r)
    assert _count(merchant_a) == 0


def test_a_refused_code_exchange_is_a_message(merchant_a, fake_shop):
    _install(merchant_a)
    state = merchant_a.web.session[INSTALL_SESSION_KEY]["state"]
    callback = _signed_callback({"code": "never-issued", "shop": SHOP, "state": state,
                                 "timestamp": str(int(time.time()))})
    r = merchant_a.web.get(callback, follow=True)
    assert r.status_code == 200
    assert "Shopify did not exchange the code (AuthFailed)" in _text(r)
    assert _count(merchant_a) == 0


# --- the integration page --------------------------------------------------------------------------------


@pytest.fixture
def listed_store(merchant_a, store):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "SHIRT-S", on_hand=5)
        make_product(m, "SHIRT-M", on_hand=5)
        Listing.objects.create(merchant=m, integration=store, external_id="101", sku="shirt-s", title="Shirt S",
                               product=Product.objects.get(merchant=m, sku="SHIRT-S"), last_pushed_quantity=5)
        Listing.objects.create(merchant=m, integration=store, external_id="102", sku="MUG-1", title="Mug")
        Listing.objects.create(merchant=m, integration=store, external_id="103", sku="", title="Poster")
        Integration.objects.filter(pk=store.pk).update(
            checkpoints={"orders_updated_at": "2026-11-20T10:00:00+00:00", "job": {"id": 1, "done": ["connection"]},
                         "webhooks": {"ok": False, "topics": [], "missing": ["orders/create"], "reason": "no https"},
                         "scopes": ["read_orders", "write_inventory"]},
            last_error="Shopify answered 503")
    return store


def _listing(tenant, external_id: str) -> Listing:
    with tenant_scope(tenant.merchant):
        return Listing.objects.select_related("product").get(merchant=tenant.merchant, external_id=external_id)


def test_integration_page_shows_findings_jobs_checkpoints_and_listings(merchant_a, listed_store):
    merchant_a.web.post(f"/integrations/{listed_store.pk}/sync/")
    r = merchant_a.web.get(f"/integrations/{listed_store.pk}/")
    body = _text(r)
    assert r.status_code == 200
    assert "No channel location is mapped" in body and "Fix: Choose the store location" in body
    assert "1 listing has a SKU that matches no product: MUG-1" in body
    assert "The last sync failed: Shopify answered 503" in body
    assert "Orders fetched up to" in body and "20 Nov 2026, " in body  # the one date-time format (core.templatetags.when)
    # the sync engine's checkpoints read as sentences, not Python dicts
    assert "steps done: connection" in body and "0 topics registered, 1 missing (no https)" in body
    assert "read_orders, write_inventory" in body and "{&#x27;" not in body
    assert "Sync Main shop" in body  # the job
    assert "Shirt S" in body and "Mug" in body and "Poster" in body
    assert "Create product MUG-1" in body
    unmatched = _text(merchant_a.web.get(f"/integrations/{listed_store.pk}/?matched=false"))
    assert "Mug" in unmatched and "Shirt S" not in unmatched
    matched = _text(merchant_a.web.get(f"/integrations/{listed_store.pk}/?matched=true"))
    assert "Shirt S" in matched and "Mug" not in matched


def test_listings_are_keyset_paged(merchant_a, store):
    m = merchant_a.merchant
    with tenant_scope(m):
        Listing.objects.bulk_create([Listing(merchant=m, integration=store, external_id=str(1000 + i),
                                             sku=f"SKU-{i:03d}", title=f"Item {i:03d}") for i in range(55)])
    first = merchant_a.web.get(f"/integrations/{store.pk}/")
    assert "Item 049" in _text(first) and "Item 050" not in _text(first)
    cursor = first.context["next_cursor"]
    second = _text(merchant_a.web.get(f"/integrations/{store.pk}/?after={cursor}"))
    assert "Item 050" in second and "Item 054" in second and "Item 049" not in second
    bad = merchant_a.web.get(f"/integrations/{store.pk}/?after=!!!", follow=True)
    assert bad.status_code == 200 and "Bad page cursor." in _text(bad)


def test_map_a_listing_to_a_product(merchant_a, listed_store):
    listing = _listing(merchant_a, "102")
    r = merchant_a.web.post(f"/integrations/{listed_store.pk}/listings/{listing.pk}/map/", {"sku": "shirt-m"},
                            follow=True)
    assert "Mug is mapped to SHIRT-M." in _text(r)
    assert _listing(merchant_a, "102").product.sku == "SHIRT-M"
    r = merchant_a.web.post(f"/integrations/{listed_store.pk}/listings/{listing.pk}/map/", {"sku": "NOPE"},
                            follow=True)
    assert r.status_code == 200 and "NOPE" in _text(r)
    assert _listing(merchant_a, "102").product.sku == "SHIRT-M"


def test_create_a_product_from_a_listing(merchant_a, listed_store):
    listing = _listing(merchant_a, "102")
    r = merchant_a.web.post(f"/integrations/{listed_store.pk}/listings/{listing.pk}/create-product/", follow=True)
    assert "Product MUG-1 created and mapped." in _text(r)
    mapped = _listing(merchant_a, "102")
    assert (mapped.product.sku, mapped.product.title) == ("MUG-1", "Mug")
    before = _count(merchant_a, Product)
    r = merchant_a.web.post(f"/integrations/{listed_store.pk}/listings/{listing.pk}/create-product/", follow=True)
    assert "already mapped" in _text(r) and _count(merchant_a, Product) == before
    poster = _listing(merchant_a, "103")
    r = merchant_a.web.post(f"/integrations/{listed_store.pk}/listings/{poster.pk}/create-product/", follow=True)
    assert "This listing has no SKU." in _text(r)
    assert _listing(merchant_a, "103").product is None and _count(merchant_a, Product) == before


def test_push_rules_save_and_refuse_out_of_range_values(merchant_a, store):
    url = f"/integrations/{store.pk}/rules/"
    r = merchant_a.web.post(url, {"buffer_units": "2", "percent": "80", "max_quantity": "50",
                                  "zero_at_or_below": "", "location_external_id": "655441"}, follow=True)
    assert "Push rules saved" in _text(r)
    with tenant_scope(merchant_a.merchant):
        store.refresh_from_db()
    assert store.settings == {"backfill_days": 60, "buffer_units": 2, "percent": 80, "max_quantity": 50,
                              "location_external_id": "655441"}
    r = merchant_a.web.post(url, {"buffer_units": "1", "percent": "150", "max_quantity": ""}, follow=True)
    body = _text(r)
    assert "The settings are not valid. percent: A whole number from 0 to 100." in body
    r = merchant_a.web.post(url, {"percent": "lots"}, follow=True)
    assert "The push rules are whole numbers and locations from the list." in _text(r)
    with tenant_scope(merchant_a.merchant):
        store.refresh_from_db()
    assert store.settings["percent"] == 80 and store.settings["buffer_units"] == 2


def test_sync_now_starts_a_job(merchant_a, store):
    r = merchant_a.web.post(f"/integrations/{store.pk}/sync/", follow=True)
    with tenant_scope(merchant_a.merchant):
        job = WorkerJob.objects.get(merchant=merchant_a.merchant, kind="integrations.sync")
    assert f"Sync started (job {job.pk})." in _text(r)
    assert job.params == {"integration_id": store.pk}


def test_disconnect_asks_first_then_keeps_the_orders(merchant_a, store):
    m = merchant_a.merchant
    with tenant_scope(m):
        order = order_services.order_ingest(merchant=m, integration_id=store.pk, normalized=normalized("9")).order
    confirm = merchant_a.web.get(f"/integrations/{store.pk}/disconnect/")
    assert confirm.status_code == 200 and "Disconnect Main shop?" in _text(confirm)
    with tenant_scope(m):
        assert Integration.objects.get(pk=store.pk).status == Integration.Status.ACTIVE
    r = merchant_a.web.post(f"/integrations/{store.pk}/disconnect/", follow=True)
    assert "Main shop is disconnected. Its orders stay in your list." in _text(r)
    with tenant_scope(m):
        assert Integration.objects.get(pk=store.pk).status == Integration.Status.DISCONNECTED
        assert Order.objects.get(pk=order.pk).integration_id == store.pk
    r = merchant_a.web.post(f"/integrations/{store.pk}/sync/", follow=True)
    assert "This store is disconnected." in _text(r)
    assert _count(merchant_a, WorkerJob) == 0


def test_another_merchants_integration_pages_are_404(merchant_a, merchant_b, listed_store):
    listing = _listing(merchant_a, "102")
    pk = listed_store.pk
    for url in (f"/integrations/{pk}/", f"/integrations/{pk}/disconnect/",
                f"/integrations/connect/shopify/?reconnect={pk}"):
        assert merchant_b.web.get(url).status_code == 404, url
    for url, data in ((f"/integrations/{pk}/sync/", {}), (f"/integrations/{pk}/rules/", {"percent": "1"}),
                      (f"/integrations/{pk}/disconnect/", {}), (f"/integrations/{pk}/test/", {}),
                      (f"/integrations/{pk}/listings/{listing.pk}/map/", {"sku": "SHIRT-M"}),
                      (f"/integrations/{pk}/listings/{listing.pk}/create-product/", {})):
        assert merchant_b.web.post(url, data).status_code == 404, url
    with tenant_scope(merchant_a.merchant):
        listed_store.refresh_from_db()
        assert listed_store.status == Integration.Status.ACTIVE and "percent" not in listed_store.settings
        assert _listing(merchant_a, "102").product is None
    assert _count(merchant_a, WorkerJob) == 0
    assert "Main shop" not in _text(merchant_b.web.get("/integrations/"))


# --- the order list's store filter -----------------------------------------------------------------------


def test_order_list_filters_by_store_name(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        main = make_integration(m, name="Main shop")
        outlet = make_integration(m, name="Outlet shop")
        order_services.order_ingest(merchant=m, integration_id=main.pk, normalized=normalized("501"))
        order_services.order_ingest(merchant=m, integration_id=outlet.pk, normalized=normalized("502"))
    with tenant_scope(merchant_b.merchant):
        make_integration(merchant_b.merchant, name="Bob's shop")
    body = _text(merchant_a.web.get("/orders/"))
    assert f'<option value="{main.pk}">Main shop (Shopify)</option>' in body
    assert f'<option value="{outlet.pk}">Outlet shop (Shopify)</option>' in body
    assert "Bob&#x27;s shop" not in body
    filtered = _text(merchant_a.web.get(f"/orders/?store={outlet.pk}"))
    assert "#502" in filtered and "#501" not in filtered
    assert f'<option value="{outlet.pk}" selected>Outlet shop (Shopify)</option>' in filtered


def test_test_connection_on_the_integration_page_marks_a_refused_token(merchant_a, fake_shop):
    token = fake_shop.issue_token(SHOP)
    with tenant_scope(merchant_a.merchant):
        integration = make_integration(merchant_a.merchant, credentials={
            "shop_domain": SHOP, "access_token": token, "client_secret": "shpss_custom"})
    r = merchant_a.web.post(f"/integrations/{integration.pk}/test/", follow=True)
    assert "Connected to Demo Store." in _text(r)
    # the store's locations become the push rules' location choice, and choosing one saves its id
    location = fake_shop.shops[SHOP].primary_location()
    assert f'<option value="{location.id}">Main warehouse (primary)</option>' in _text(r)
    r = merchant_a.web.post(f"/integrations/{integration.pk}/rules/", {"location_external_id": str(location.id)},
                            follow=True)
    assert "Push rules saved" in _text(r)
    assert f'<option value="{location.id}" selected>Main warehouse (primary)</option>' in _text(r)
    with tenant_scope(merchant_a.merchant):
        integration.refresh_from_db()
    assert integration.settings["location_external_id"] == str(location.id)
    fake_shop.revoke(token)
    r = merchant_a.web.post(f"/integrations/{integration.pk}/test/", follow=True)
    body = _text(r)
    assert "The store refused the connection" in body and token not in body
    assert f'href="/integrations/connect/shopify/?reconnect={integration.pk}"' in body
    with tenant_scope(merchant_a.merchant):
        integration.refresh_from_db()
    assert integration.status == Integration.Status.NEEDS_RECONNECT


def test_an_unknown_action_is_404(merchant_a, listed_store):
    listing = _listing(merchant_a, "102")
    assert merchant_a.web.post(f"/integrations/{listed_store.pk}/explode/").status_code == 404
    assert merchant_a.web.post(f"/integrations/{listed_store.pk}/listings/{listing.pk}/explode/").status_code == 404


def test_the_page_lists_what_the_first_push_changed(merchant_a, listed_store):
    m = merchant_a.merchant
    with tenant_scope(m):
        Listing.objects.filter(merchant=m, external_id="101").update(
            first_push_from=52, first_push_to=5, first_pushed_at=timezone.now())
        Listing.objects.filter(merchant=m, external_id="102").update(  # the same quantity: nothing changed
            first_push_from=3, first_push_to=3, first_pushed_at=timezone.now())

    r = merchant_a.web.get(f"/integrations/{listed_store.pk}/")

    assert [(row.external_id, row.first_push_from, row.first_push_to) for row in r.context["first_push_changes"]] == [
        ("101", 52, 5)]
    assert "What the first push changed" in _text(r)


def test_import_unmatched_listings_from_the_page_starts_a_job(merchant_a, listed_store):
    mug = _listing(merchant_a, "102")

    chosen = merchant_a.web.post(f"/integrations/{listed_store.pk}/listings/import/",
                                 {"listing_ids": [str(mug.pk)], "chosen": "1"}, follow=True)
    everything = merchant_a.web.post(f"/integrations/{listed_store.pk}/listings/import/", {"all_unmatched": "1"},
                                     follow=True)
    bad = merchant_a.web.post(f"/integrations/{listed_store.pk}/listings/import/", {"listing_ids": ["x"]}, follow=True)

    with tenant_scope(merchant_a.merchant):
        jobs = list(WorkerJob.objects.filter(kind="integrations.listings_import").order_by("id"))
    assert [job.params.get("listing_ids") for job in jobs] == [[mug.pk], None]
    assert [job.params.get("all_unmatched") for job in jobs] == [None, True]
    assert f"Importing 1 listing as a product (job {jobs[0].pk})." in _text(chosen)
    assert f"Importing 2 listings as products (job {jobs[1].pk})." in _text(everything)
    assert "Choose listings from the list." in _text(bad)


def test_push_rules_choose_which_of_our_locations_feed_the_store(merchant_a, merchant_b, store):
    from inventory.services import location_create

    with tenant_scope(merchant_a.merchant):
        backroom = location_create(merchant=merchant_a.merchant, name="Back room", code="BACK")
    with tenant_scope(merchant_b.merchant):
        theirs = location_create(merchant=merchant_b.merchant, name="Theirs", code="THEIRS")
    url = f"/integrations/{store.pk}/rules/"

    page = _text(merchant_a.web.get(f"/integrations/{store.pk}/"))
    r = merchant_a.web.post(url, {"location_ids": [str(backroom.pk)]}, follow=True)
    with tenant_scope(merchant_a.merchant):
        store.refresh_from_db()

    assert "Our locations feeding this store" in page and "Back room" in page and "Theirs" not in page
    assert "Push rules saved" in _text(r)
    assert store.settings["location_ids"] == [backroom.pk]
    refused = merchant_a.web.post(url, {"location_ids": [str(theirs.pk)]}, follow=True)
    assert "locations from the list" in _text(refused)
    merchant_a.web.post(url, {}, follow=True)  # none ticked: all locations again
    with tenant_scope(merchant_a.merchant):
        store.refresh_from_db()
    assert "location_ids" not in store.settings


def test_the_api_refuses_another_merchants_location(merchant_a, merchant_b, store):
    from inventory.services import location_create

    with tenant_scope(merchant_b.merchant):
        theirs = location_create(merchant=merchant_b.merchant, name="Theirs", code="THEIRS")

    response = merchant_a.api.patch(f"/api/v1/integrations/{store.pk}/", {"settings": {"location_ids": [theirs.pk]}},
                                    format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"]["location_ids"] == [f"Unknown location id: {theirs.pk}."]


def test_the_product_page_lists_each_stores_listing_with_the_last_push(merchant_a, merchant_b, listed_store):
    m = merchant_a.merchant
    pushed_at = timezone.now()
    with tenant_scope(m):
        product = Product.objects.get(merchant=m, sku="SHIRT-S")
        other = make_integration(m, name="Outlet shop")
        Listing.objects.filter(merchant=m, external_id="101").update(last_pushed_at=pushed_at, channel_quantity=5)
        Listing.objects.create(merchant=m, integration=other, external_id="900", sku="SHIRT-S", title="Shirt S outlet",
                               product=product, error="Shopify refused the quantity")
    with tenant_scope(merchant_b.merchant):
        theirs = make_integration(merchant_b.merchant, name="Their shop")
        Listing.objects.create(merchant=merchant_b.merchant, integration=theirs, external_id="1", sku="SHIRT-S")

    r = merchant_a.web.get(f"/inventory/products/{product.pk}/")

    listings = r.context["listings"]
    assert [(x.store, x.title, x.last_pushed_quantity, x.last_pushed_at) for x in listings] == [
        ("Main shop", "Shirt S", 5, pushed_at), ("Outlet shop", "Shirt S outlet", None, None)]
    body = _text(r)
    assert "In your stores" in body and "Shopify refused the quantity" in body and "Their shop" not in body
    assert f'href="/integrations/{other.pk}/"' in body
