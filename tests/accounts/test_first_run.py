"""Issue 18 item 1, the first run: sign-up asks for the business's name, currency and time zone; the home
page's setup checklist ticks each step from the facts other apps own; empty pages say what to do next."""

from __future__ import annotations

import re

import pytest

from accounts.models import Membership, Merchant, User
from accounts.services import invitation_create, merchant_create, merchant_update
from accounts.tenancy import tenant_scope, unscoped
from core.errors import ValidationFailed
from integrations.models import Integration
from inventory import services as inventory_services
from labels.models import CarrierAccount
from tests.integrations.helpers import make_integration

PASSWORD = "correct-horse-battery-staple-9"
SHIP_FROM = {"name": "Nia's Candles", "line1": "1 Wick Lane", "line2": "", "city": "Bristol", "region": "",
             "postcode": "BS1 4DJ", "country": "GB", "phone": "+44 117 496 0000"}


def _signup(client, **extra):
    return client.post("/accounts/signup/", {"email": "new@shop.example", "password1": PASSWORD,
                                             "password2": PASSWORD, **extra})


def _merchant_of(email: str) -> Merchant:
    with unscoped("test assertion"):
        return Membership.objects.select_related("merchant").get(user__email=email).merchant


@pytest.mark.django_db
def test_sign_up_creates_the_merchant_with_its_name_currency_and_time_zone(client):
    response = _signup(client, business_name="  Nia's   Candles ", currency="EUR", timezone="Europe/Berlin")

    assert response.status_code == 302
    merchant = _merchant_of("new@shop.example")
    assert (merchant.name, merchant.currency, merchant.timezone) == ("Nia's Candles", "EUR", "Europe/Berlin")


@pytest.mark.django_db
def test_sign_up_without_currency_or_zone_takes_the_server_defaults(client, settings):
    response = _signup(client, business_name="Plain shop")

    assert response.status_code == 302
    merchant = _merchant_of("new@shop.example")
    assert (merchant.currency, merchant.timezone) == ("USD", settings.TIME_ZONE)


@pytest.mark.django_db
@pytest.mark.parametrize("field,value", [("timezone", "Mars/Olympus_Mons"), ("currency", "XYZ")])
def test_sign_up_refuses_an_unknown_zone_or_currency_on_the_form(client, field, value):
    response = _signup(client, business_name="Odd shop", **{field: value})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not User.objects.filter(email="new@shop.example").exists()


@pytest.mark.django_db
def test_sign_up_page_asks_for_the_business_and_offers_the_browser_zone(client, settings):
    page = client.get("/accounts/signup/").content.decode()

    assert 'name="business_name"' in page
    currency = re.search(r'<select name="currency"[^>]*>', page)
    zone = re.search(r'<select name="timezone"[^>]*>', page)
    assert currency and zone
    assert "data-browser-zone" in zone.group(0) and "data-chosen" not in zone.group(0)
    assert re.search(rf'<option value="{settings.TIME_ZONE}" selected>', page)  # the server-side default
    assert '<option value="USD" selected>' in page
    # a form sent back with an error keeps the person's own zone rather than the browser's
    again = _signup(client, business_name="x", timezone="Asia/Tokyo", password2="not-the-same-1").content.decode()
    assert "data-chosen" in re.search(r'<select name="timezone"[^>]*>', again).group(0)
    assert '<option value="Asia/Tokyo" selected>' in again


@pytest.mark.django_db
def test_merchant_create_refuses_an_unknown_currency_or_zone():
    owner = User.objects.create_user("o@shop.example", PASSWORD)

    with pytest.raises(ValidationFailed) as caught:
        merchant_create(name="Shop", owner=owner, currency="ZZZ", timezone_name="Nowhere/Town")

    assert set(caught.value.details) == {"currency", "timezone"}
    assert Merchant.objects.count() == 0


def _progress(page: str) -> str:
    return re.search(r'data-checklist="progress">([^<]*)<', page).group(1)


def _step(page: str, key: str) -> str:
    return re.search(rf'<li data-step="{re.escape(key)}" class="(done|todo)"', page).group(1)


@pytest.mark.django_db
def test_the_home_checklist_ticks_each_step_from_its_fact(merchant_a):
    merchant = merchant_a.merchant
    page = merchant_a.web.get("/").content.decode()
    # an empty account: six steps, none done, each a link saying what it does
    assert _progress(page) == "0 of 6 done"
    for title, url in [("Connect a store", "/integrations/"), ("Bring in the catalog", "/inventory/import/"),
                       ("Set stock", "/inventory/import/"), ("Set the ship-from address", "/settings/#ship-from"),
                       ("Add a carrier account", "/settings/carrier-accounts/"), ("Invite the team", "/settings/team/")]:
        assert f'<a href="{url}">{title}</a>' in page
    order = re.findall(r'<li data-step="([^"]+)"', page)
    assert order == ["integrations.store", "inventory.catalog", "inventory.stock", "accounts.ship_from",
                     "labels.carrier", "accounts.team"]

    with tenant_scope(merchant):
        make_integration(merchant, name="Main shop")
    page = merchant_a.web.get("/").content.decode()
    assert (_progress(page), _step(page, "integrations.store"), _step(page, "inventory.catalog")) == \
        ("1 of 6 done", "done", "todo")

    with tenant_scope(merchant):
        product = inventory_services.product_create(merchant=merchant, sku="CANDLE-1", title="Candle")
    page = merchant_a.web.get("/").content.decode()
    assert (_progress(page), _step(page, "inventory.catalog"), _step(page, "inventory.stock")) == \
        ("2 of 6 done", "done", "todo")  # a product with nothing on hand is not stock yet

    with tenant_scope(merchant):
        inventory_services.stock_adjust(merchant=merchant, product_id=product.pk, delta=5, reason="received")
        merchant_update(merchant=merchant, actor=merchant_a.user, name=merchant.name, currency="GBP",
                        timezone_name="Europe/London", default_ship_by_days=2, address=SHIP_FROM)
    page = merchant_a.web.get("/").content.decode()
    assert (_progress(page), _step(page, "inventory.stock"), _step(page, "accounts.ship_from")) == \
        ("4 of 6 done", "done", "done")

    with tenant_scope(merchant):
        CarrierAccount.objects.create(merchant=merchant, carrier="easypost", name="EasyPost", credentials={"api_key": "k"})
        invitation_create(merchant=merchant, actor=merchant_a.user, email="packer@a.example", role="staff",
                          base_url="http://testserver")
    page = merchant_a.web.get("/").content.decode()
    assert 'id="setup-checklist"' not in page  # all six done: the checklist steps aside


@pytest.mark.django_db
def test_a_disconnected_store_or_carrier_account_does_not_tick_its_step(merchant_a):
    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        store = make_integration(merchant, name="Gone shop")
        Integration.objects.filter(pk=store.pk).update(status=Integration.Status.DISCONNECTED)
        CarrierAccount.objects.create(merchant=merchant, carrier="easypost", name="Old", credentials={"api_key": "k"},
                                      status=CarrierAccount.Status.DISCONNECTED)

    page = merchant_a.web.get("/").content.decode()

    assert _progress(page) == "0 of 6 done"
    assert _step(page, "integrations.store") == _step(page, "labels.carrier") == "todo"


@pytest.mark.django_db
def test_one_merchants_facts_never_tick_anothers_checklist(merchant_a, merchant_b):
    with tenant_scope(merchant_b.merchant):
        make_integration(merchant_b.merchant, name="B's shop")
        inventory_services.product_create(merchant=merchant_b.merchant, sku="B-1", title="B's thing")

    assert _progress(merchant_a.web.get("/").content.decode()) == "0 of 6 done"
    assert _progress(merchant_b.web.get("/").content.decode()) == "2 of 6 done"


@pytest.mark.django_db
@pytest.mark.parametrize("path,link,words", [
    ("/orders/", "/integrations/", "Connect a store"),
    ("/inventory/", "/inventory/import/", "Import a catalog"),
    ("/inventory/", "/integrations/", "bring in a store's listings"),
    ("/shipments/", "/orders/?tab=awaiting", "Ship an order"),
    ("/shipments/", "/settings/carrier-accounts/", "add a carrier account"),
    ("/integrations/", "#connect", "Connect a store"),
])
def test_empty_pages_say_what_to_do_next_with_a_link(merchant_a, path, link, words):
    page = merchant_a.web.get(path).content.decode()

    assert f'<a href="{link}">{words}</a>' in page
