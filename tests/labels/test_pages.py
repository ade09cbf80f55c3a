"""The labels dashboard through its pages (Django's test client, the carriers' loopback fakes): buy a label
from the rates of every account, void it through its confirmation, a batch from the order list, the
paperwork bulk actions, carrier accounts in settings, tracking history on the order page; each page is
the owner's, 404 to another merchant, and staff may do what the API lets them."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Membership, User
from accounts.tenancy import tenant_scope
from inventory.models import Product
from labels.models import CarrierAccount, Label, LabelBatch
from orders import services as order_services
from orders.models import Order, Shipment
from tests.fakes.easypost.fixtures import EASYPOST_KEY
from tests.fakes.easypost.server import UNDELIVERABLE_ZIP
from tests.labels.helpers import easypost_account, pending_shipment, ship_from_set, shipstation_account
from tests.orders.helpers import level

pytestmark = pytest.mark.django_db

UNDELIVERABLE_WORDS = (f"USPS: Unable to retrieve rates for this address: the destination ZIP code "
                       f"{UNDELIVERABLE_ZIP} does not exist.")


def _staff(tenant) -> Client:
    with tenant_scope(tenant.merchant):
        user = User.objects.create_user("packer@a.example", "a-long-enough-password-1")
        Membership.objects.create(merchant=tenant.merchant, user=user, role=Membership.Role.STAFF)
    client = Client()
    client.force_login(user)
    return client


def _rate_id(merchant, shipment, service: str) -> int:
    from labels.models import LabelRate

    with tenant_scope(merchant):
        return LabelRate.objects.get(merchant=merchant, shipment=shipment, service=service).pk


# ------------------------------------------------------------------ buying


def test_the_rates_page_shows_every_accounts_rates_and_a_failing_carriers_words(
        merchant_a, easypost_fake, shipstation_fake):
    easypost_account(merchant_a.merchant, name="EP main")
    shipstation_account(merchant_a.merchant, name="SS warehouse")
    shipstation_fake.failing_carrier = "se-1000002"
    shipment = pending_shipment(merchant_a.merchant)

    page = merchant_a.web.get(f"/shipments/{shipment.pk}/label/")

    assert page.status_code == 200
    html = page.content.decode()
    for words in ("Stamps.com", "USPS Ground Advantage", "8.52 USD", "GroundAdvantage", "8.53 USD", "13.23 USD",
                  "EP main", "SS warehouse", "SS warehouse:</strong> <span class=\"carrier-words\">UPS could not be "
                  "reached: the carrier connection timed out.</span>"):
        assert words in html, words
    assert html.index("8.52 USD") < html.index("8.53 USD") < html.index("13.23 USD")  # cheapest first


def test_buying_the_chosen_rate_lands_on_the_order_with_tracking_file_and_cost_and_a_second_post_buys_nothing(
        merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    merchant_a.web.get(f"/shipments/{shipment.pk}/label/")
    rate = _rate_id(merchant_a.merchant, shipment, "Priority")

    bought = merchant_a.web.post(f"/shipments/{shipment.pk}/label/", {"rate_id": rate, "buy": "rate"})
    again = merchant_a.web.post(f"/shipments/{shipment.pk}/label/", {"rate_id": rate, "buy": "rate"})
    order_page = merchant_a.web.get(f"/orders/{shipment.order_id}/")

    assert bought.status_code == 302 and bought["Location"].startswith(f"/orders/{shipment.order_id}/")
    assert again.status_code == 302
    assert len(easypost_fake.purchases) == 1
    with tenant_scope(merchant_a.merchant):
        label = Label.objects.get(shipment=shipment, status="bought")
    html = order_page.content.decode()
    assert label.service == "Priority" and str(label.cost_amount) == "13.29"
    assert label.tracking_number in html
    assert f"/api/v1/shipments/{shipment.pk}/label/" in html and "13.29 USD" in html
    assert f"Label bought: USPS Priority, tracking {label.tracking_number}, cost 13.29." in html
    file = merchant_a.web.get(f"/api/v1/shipments/{shipment.pk}/label/")
    assert file.status_code == 200 and b"".join(file.streaming_content).startswith(b"%PDF")


def test_buying_by_rule_takes_the_cheapest(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)

    response = merchant_a.web.post(f"/shipments/{shipment.pk}/label/", {"rule": "cheapest"})

    assert response.status_code == 302
    with tenant_scope(merchant_a.merchant):
        assert Label.objects.get(shipment=shipment).service == "GroundAdvantage"


def test_an_address_no_carrier_can_rate_shows_the_carriers_words_and_buys_nothing(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant, postcode=UNDELIVERABLE_ZIP)

    page = merchant_a.web.get(f"/shipments/{shipment.pk}/label/")
    refused = merchant_a.web.post(f"/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, follow=True)

    assert UNDELIVERABLE_WORDS in page.content.decode()
    assert "No carrier offered a rate" in page.content.decode()
    assert f"No label was bought: No carrier could rate this shipment: {UNDELIVERABLE_WORDS}" in \
        refused.content.decode()
    assert easypost_fake.purchases == []


def test_without_a_carrier_account_the_page_says_how_to_connect_one(merchant_a):
    shipment = pending_shipment(merchant_a.merchant)

    page = merchant_a.web.get(f"/shipments/{shipment.pk}/label/")

    assert page.status_code == 200
    assert b"Connect a carrier account (Settings" in page.content
    assert b"/settings/carrier-accounts/new/" in page.content


def test_buy_label_on_an_order_without_a_pending_shipment_makes_one_of_everything_left(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant, qty=3)
    with tenant_scope(merchant_a.merchant):
        order = Order.objects.get(pk=shipment.order_id)
        order_services.shipment_cancel(merchant=merchant_a.merchant, shipment=shipment)
    order_page = merchant_a.web.get(f"/orders/{order.pk}/")

    started = merchant_a.web.post(f"/shipments/for-order/{order.pk}/")

    assert f"/shipments/for-order/{order.pk}/".encode() in order_page.content
    with tenant_scope(merchant_a.merchant):
        new = Shipment.objects.get(order=order, status="pending")
        assert [sl.quantity for sl in new.lines.all()] == [3]
    assert started["Location"] == f"/shipments/{new.pk}/label/"


def test_the_order_page_offers_buy_label_and_the_packing_slip(merchant_a):
    shipment = pending_shipment(merchant_a.merchant)

    page = merchant_a.web.get(f"/orders/{shipment.order_id}/")
    slip = merchant_a.web.get(f"/api/v1/orders/{shipment.order_id}/packing-slip/")

    assert f'href="/shipments/{shipment.pk}/label/"'.encode() in page.content
    assert f'href="/api/v1/orders/{shipment.order_id}/packing-slip/"'.encode() in page.content
    assert slip.status_code == 200 and slip.content.startswith(b"%PDF")


# ------------------------------------------------------------------ void


def test_void_asks_first_then_restores_stock_and_the_shipment_is_pending(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    merchant_a.web.post(f"/shipments/{shipment.pk}/label/", {"rule": "cheapest"})

    confirm = merchant_a.web.get(f"/shipments/{shipment.pk}/void/")
    with tenant_scope(merchant_a.merchant):
        assert Shipment.objects.get(pk=shipment.pk).status == "shipped"
    voided = merchant_a.web.post(f"/shipments/{shipment.pk}/void/")

    text = confirm.content.decode()
    assert "stock returns to the shelf" in text and "the channel gets the new tracking number" in text
    assert voided.status_code == 302 and voided["Location"] == f"/orders/{shipment.order_id}/"
    assert easypost_fake.refunds == easypost_fake.purchases
    with tenant_scope(merchant_a.merchant):
        assert Shipment.objects.get(pk=shipment.pk).status == "pending"
        assert level(merchant_a.merchant, Product.objects.get(sku="A-1")).on_hand == 50
    assert b"Label voided" in merchant_a.web.get(f"/orders/{shipment.order_id}/").content


def test_a_shipment_without_a_label_has_nothing_to_void(merchant_a):
    shipment = pending_shipment(merchant_a.merchant)

    page = merchant_a.web.get(f"/shipments/{shipment.pk}/void/")
    refused = merchant_a.web.post(f"/shipments/{shipment.pk}/void/", follow=True)

    assert b"no bought label to void" in page.content
    assert b"The label was not voided: This shipment has no bought label to void." in refused.content


# ------------------------------------------------------------------ shipments list


def test_the_shipments_list_shows_cost_label_and_void_and_filters(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    bought = pending_shipment(merchant_a.merchant, number="2001")
    waiting = pending_shipment(merchant_a.merchant, number="2002")
    merchant_a.web.post(f"/shipments/{bought.pk}/label/", {"rule": "cheapest"})

    page = merchant_a.web.get("/shipments/").content.decode()
    usps = merchant_a.web.get("/shipments/?carrier=USPS").content.decode()
    pending = merchant_a.web.get("/shipments/?status=pending").content.decode()

    assert "8.53 USD" in page and f"/api/v1/shipments/{bought.pk}/label/" in page
    assert f"/shipments/{bought.pk}/void/" in page and f"/shipments/{waiting.pk}/label/" in page
    assert f'id="shipment-{bought.pk}"' in usps and f'id="shipment-{waiting.pk}"' not in usps
    assert f'id="shipment-{waiting.pk}"' in pending and f'id="shipment-{bought.pk}"' not in pending


# ------------------------------------------------------------------ batches and paperwork


def test_buy_labels_from_the_order_list_runs_a_batch_whose_page_names_each_failure(
        merchant_a, easypost_fake, django_capture_on_commit_callbacks):
    easypost_account(merchant_a.merchant)
    good = pending_shipment(merchant_a.merchant, number="3001")
    bad = pending_shipment(merchant_a.merchant, number="3002", postcode=UNDELIVERABLE_ZIP)
    ids = [good.order_id, bad.order_id]

    confirm = merchant_a.web.post("/orders/bulk/", {"action": "buy_labels", "ids": ids, "next": "/orders/"})
    with django_capture_on_commit_callbacks(execute=True):
        started = merchant_a.web.post("/label-batches/new/", {"ids": ids, "rule": "fastest"})
    page = merchant_a.web.get(started["Location"]).content.decode()

    assert confirm.status_code == 200 and b"Buy labels for 2 orders?" in confirm.content
    with tenant_scope(merchant_a.merchant):
        batch = LabelBatch.objects.get()
        numbers = dict(Order.objects.values_list("pk", "number"))
    assert f"Orders: {numbers[good.order_id]}, {numbers[bad.order_id]}." in confirm.content.decode()
    assert started["Location"] == f"/label-batches/{batch.pk}/" and batch.rule == "fastest"
    assert "Succeeded" in page and "2 of 2 orders · 1 label bought · 1 failed" in page
    assert f'<a href="/orders/{bad.order_id}/">{numbers[bad.order_id]}</a>' in page
    assert f"No carrier could rate this shipment: {UNDELIVERABLE_WORDS}" in page
    assert f"/api/v1/label-batches/{batch.pk}/merged-pdf/" in page
    assert 'http-equiv="refresh"' not in page  # finished: no more refreshing
    assert len(easypost_fake.purchases) == 1


def test_a_running_batch_page_refreshes_itself(merchant_a):
    from jobs.services import job_create

    with tenant_scope(merchant_a.merchant):
        job = job_create(merchant=merchant_a.merchant, kind="labels.label_batch", total=3)
        batch = LabelBatch.objects.create(merchant=merchant_a.merchant, job=job, order_ids=[1, 2, 3])

    page = merchant_a.web.get(f"/label-batches/{batch.pk}/").content.decode()

    assert '<meta http-equiv="refresh" content="2">' in page and "0 of 3 orders" in page


def test_packing_slips_and_pick_list_bulk_actions_are_pdf_downloads(merchant_a):
    one = pending_shipment(merchant_a.merchant, number="4001")
    two = pending_shipment(merchant_a.merchant, number="4002")
    ids = [one.order_id, two.order_id]

    slips = merchant_a.web.post("/orders/bulk/", {"action": "packing_slips", "ids": ids})
    picks = merchant_a.web.post("/orders/bulk/", {"action": "pick_list", "ids": ids})
    listing = merchant_a.web.get("/orders/").content.decode()

    for response, name in ((slips, "packing-slips.pdf"), (picks, "pick-list.pdf")):
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF") and name in response["Content-Disposition"]
    assert '<option value="buy_labels">Buy labels…</option>' in listing
    assert '<option value="packing_slips">' in listing and '<option value="pick_list">' in listing


# ------------------------------------------------------------------ carrier accounts


def test_an_account_is_added_after_test_connection_without_typing_the_key_again(merchant_a, easypost_fake):
    new = merchant_a.web.get("/settings/carrier-accounts/new/?carrier=easypost")
    tested = merchant_a.web.post("/settings/carrier-accounts/new/", {
        "carrier": "easypost", "name": "EP", "api_key": EASYPOST_KEY, "action": "test"})
    with tenant_scope(merchant_a.merchant):
        assert not CarrierAccount.objects.exists()  # a test stores nothing
    saved = merchant_a.web.post("/settings/carrier-accounts/new/", {
        "carrier": "easypost", "name": "EP", "api_key": "", "action": "save"})

    assert new.status_code == 200 and b"Test connection" in new.content
    assert b"Connection works" in tested.content and EASYPOST_KEY.encode() not in tested.content
    assert saved.status_code == 302 and saved["Location"] == "/settings/carrier-accounts/"
    with tenant_scope(merchant_a.merchant):
        account = CarrierAccount.objects.get()
    assert account.credentials == {"api_key": EASYPOST_KEY}
    listing = merchant_a.web.get("/settings/carrier-accounts/").content
    assert b"EP" in listing and EASYPOST_KEY.encode() not in listing


def test_a_refused_key_is_shown_in_the_carriers_words_and_nothing_is_saved(merchant_a, easypost_fake):
    response = merchant_a.web.post("/settings/carrier-accounts/new/", {
        "carrier": "easypost", "name": "EP", "api_key": "EZTK_wrong", "action": "save"})

    assert response.status_code == 400
    assert b"EasyPost refused the API key." in response.content
    with tenant_scope(merchant_a.merchant):
        assert not CarrierAccount.objects.exists()


def test_rename_rotate_key_and_remove_with_confirmation(merchant_a, easypost_fake):
    account = easypost_account(merchant_a.merchant, key="EZTK_old")
    easypost_fake.api_keys.add("EZTK_new")

    edit = merchant_a.web.get(f"/settings/carrier-accounts/{account.pk}/")
    refused = merchant_a.web.post(f"/settings/carrier-accounts/{account.pk}/", {"name": "Renamed", "api_key": "nope",
                                                                                 "action": "save"})
    saved = merchant_a.web.post(f"/settings/carrier-accounts/{account.pk}/", {"name": "Renamed",
                                                                              "api_key": "EZTK_new", "action": "save"})
    confirm = merchant_a.web.get(f"/settings/carrier-accounts/{account.pk}/remove/")
    with tenant_scope(merchant_a.merchant):
        account.refresh_from_db()
        assert (account.name, account.credentials) == ("Renamed", {"api_key": "EZTK_new"})
    removed = merchant_a.web.post(f"/settings/carrier-accounts/{account.pk}/remove/")

    assert edit.status_code == 200 and b"EZTK_old" not in edit.content
    assert refused.status_code == 400 and b"EasyPost refused the API key." in refused.content
    assert saved.status_code == 302
    assert b"Remove Renamed?" in confirm.content
    assert removed.status_code == 302
    with tenant_scope(merchant_a.merchant):
        account.refresh_from_db()
        assert (account.status, account.credentials) == ("disconnected", {})
    assert b"Renamed is removed" in merchant_a.web.get("/settings/carrier-accounts/").content
    assert b"Renamed" not in merchant_a.web.get("/settings/carrier-accounts/").content


# ------------------------------------------------------------------ tracking history


def test_the_order_page_shows_where_the_parcel_is_and_its_history(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    merchant_a.web.post(f"/shipments/{shipment.pk}/label/", {"rule": "cheapest"})
    with tenant_scope(merchant_a.merchant):
        for status, words in (("in_transit", "Arrived at sort facility"), ("out_for_delivery", "On the van")):
            order_services.shipment_tracking_update(merchant=merchant_a.merchant, shipment=shipment, status=status,
                                                    description=words, source="easypost")

    html = merchant_a.web.get(f"/orders/{shipment.order_id}/").content.decode()

    assert "Where it is:</strong>" in html and "Out for delivery</span>" in html
    assert html.index("On the van") < html.index("Arrived at sort facility")  # newest first
    assert f'aria-label="Tracking history of shipment {shipment.pk}"' in html


def test_tracking_history_names_the_carrier_in_words_not_its_slug(merchant_a, easypost_fake):
    from labels.services.tracking import label_tracking_event

    account = easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    merchant_a.web.post(f"/shipments/{shipment.pk}/label/", {"rule": "cheapest"})
    with tenant_scope(merchant_a.merchant):
        label = Label.objects.get(shipment=shipment, status=Label.Status.BOUGHT)
        got = label_tracking_event(merchant=merchant_a.merchant, account=account,
                                   tracking_number=label.tracking_number, status="in_transit",
                                   description="Arrived at sort facility")
    assert got["action"] == "updated"

    html = merchant_a.web.get(f"/orders/{shipment.order_id}/").content.decode()
    history = html[html.index('aria-label="Tracking history'):]
    assert "EasyPost ·" in history and "easypost ·" not in history


# ------------------------------------------------------------------ isolation and roles


def test_another_merchants_pages_are_404(merchant_a, merchant_b, easypost_fake):
    account = easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    with tenant_scope(merchant_a.merchant):
        from jobs.services import job_create

        batch = LabelBatch.objects.create(merchant=merchant_a.merchant, job=job_create(
            merchant=merchant_a.merchant, kind="labels.label_batch", total=1), order_ids=[shipment.order_id])

    gets = [f"/shipments/{shipment.pk}/label/", f"/shipments/{shipment.pk}/void/", f"/label-batches/{batch.pk}/",
            f"/settings/carrier-accounts/{account.pk}/", f"/settings/carrier-accounts/{account.pk}/remove/"]
    posts = gets[:2] + [f"/shipments/for-order/{shipment.order_id}/", gets[3], gets[4]]

    assert [merchant_b.web.get(p).status_code for p in gets] == [404] * len(gets)
    assert [merchant_b.web.post(p, {"rule": "cheapest", "name": "x"}).status_code for p in posts] == [404] * 5
    assert easypost_fake.requests == []
    for path in gets:
        assert merchant_a.web.get(path).status_code == 200, path


def test_staff_buy_labels_but_only_owners_change_carrier_accounts(merchant_a, easypost_fake):
    account = easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    staff = _staff(merchant_a)

    bought = staff.post(f"/shipments/{shipment.pk}/label/", {"rule": "cheapest"})
    listing = staff.get("/settings/carrier-accounts/")
    new_page = staff.get("/settings/carrier-accounts/new/")
    create = staff.post("/settings/carrier-accounts/new/", {"carrier": "easypost", "name": "Mine",
                                                            "api_key": EASYPOST_KEY, "action": "save"})
    rename = staff.post(f"/settings/carrier-accounts/{account.pk}/", {"name": "Staff's", "action": "save"})
    remove = staff.post(f"/settings/carrier-accounts/{account.pk}/remove/")

    assert bought.status_code == 302 and len(easypost_fake.purchases) == 1
    assert listing.status_code == 200 and b"Only an owner can add" in listing.content
    assert new_page.status_code == 200 and b"Only an owner can connect" in new_page.content
    assert [create.status_code, rename.status_code, remove.status_code] == [403, 403, 403]
    with tenant_scope(merchant_a.merchant):
        assert list(CarrierAccount.objects.values_list("name", "status")) == [("EasyPost", "active")]


def test_pages_without_a_ship_from_address_say_where_to_set_it(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    ship_from_set(merchant_a.merchant)
    from accounts.models import Merchant

    Merchant.objects.filter(pk=merchant_a.merchant.pk).update(address={})

    page = merchant_a.web.get(f"/shipments/{shipment.pk}/label/")

    assert b"Set the ship-from address in Settings" in page.content
    assert easypost_fake.requests == []


def test_the_package_chosen_makes_the_rates_and_the_label(merchant_a, easypost_fake):
    from labels.services import package_preset_create

    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)  # 2 × 500 g
    with tenant_scope(merchant_a.merchant):
        box = package_preset_create(merchant=merchant_a.merchant, actor=merchant_a.user, name="Shoe box",
                                    length_mm=300, width_mm=200, height_mm=100, empty_weight_grams=150)

    page = merchant_a.web.get(f"/shipments/{shipment.pk}/label/?package={box.pk}").content.decode()
    parcel = easypost_fake.requests[-1][2]["shipment"]["parcel"]
    bought = merchant_a.web.post(f"/shipments/{shipment.pk}/label/", {
        "rate_id": _rate_id(merchant_a.merchant, shipment, "Priority"), "package_preset_id": box.pk})

    assert f'<option value="{box.pk}" selected>Shoe box (300×200×100 mm, 150 g empty)</option>' in page
    assert f'<input type="hidden" name="package_preset_id" value="{box.pk}">' in page
    assert (parcel["length"], parcel["weight"]) == (11.8, 40.57)  # inches and ounces of 300 mm and 1,150 g
    assert bought.status_code == 302 and len(easypost_fake.purchases) == 1
    with tenant_scope(merchant_a.merchant):
        assert Label.objects.get(shipment=shipment).package_preset_id == box.pk


def test_a_carrier_base_url_we_may_not_call_is_that_accounts_words_not_a_500(merchant_a, easypost_fake,
                                                                            shipstation_fake, settings):
    easypost_account(merchant_a.merchant, name="EP main")
    shipstation_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    settings.EASYPOST_API_BASE_URL = "http://easypost.invalid/v2"  # plain http, not an allowed private host

    page = merchant_a.web.get(f"/shipments/{shipment.pk}/label/")
    tested = merchant_a.web.post("/settings/carrier-accounts/new/", {
        "carrier": "easypost", "name": "EP", "api_key": EASYPOST_KEY, "action": "test"})
    api = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "plain http:// is refused" in html and "USPS Ground Advantage" in html  # ShipStation still rated
    assert tested.status_code == 400 and b"plain http:// is refused" in tested.content
    assert api.status_code == 200 and api.json()["rates"]
    assert {r["carrier_account"] for r in api.json()["rates"]} == {api.json()["rates"][0]["carrier_account"]}
    assert [e["message"] for e in api.json()["errors"] if "plain http:// is refused" in e["message"]]


def test_paperwork_of_another_merchants_order_is_refused_and_sends_back_only_to_our_pages(merchant_a, merchant_b):
    theirs = pending_shipment(merchant_b.merchant, number="7001")

    response = merchant_a.web.post("/orders/bulk/", {"action": "pick_list", "ids": [theirs.order_id],
                                                     "next": "https://evil.example/"}, follow=False)
    page = merchant_a.web.get("/orders/")

    assert response.status_code == 302 and response["Location"] == "/orders/"
    assert b"Some of these orders do not exist." in page.content
