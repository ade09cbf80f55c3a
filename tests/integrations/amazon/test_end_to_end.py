"""Amazon end to end through the sync engine on PostgreSQL: a backfill of 1,000 orders across pages, each
once with exact totals and nothing reserved for Pending or Amazon-fulfilled orders; Pending becoming
Unshipped reserves; failures and a throttling storm mid-backfill double nothing; quantities leave in the
fewest calls (patches for a few SKUs, one feed for many, its report read back later); shipments confirmed
with every item, once; a revoked authorization asks the merchant to reconnect."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from integrations.channels import adapter_for
from integrations.channels.base import TrackingPush
from integrations.models import Integration, Listing
from integrations.selectors import integration_doctor
from integrations.sync import listings_push
from integrations.sync.connect import integration_poll
from integrations.sync.stock import pushes_pending_read, stock_push
from inventory.services import stock_adjust
from notifications.models import NotificationLog
from orders.models import Order, OrderStatus
from tests.integrations.amazon.conftest import listings_import
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import level

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def _seed_backfill(amazon) -> None:
    fake, seller = amazon.fake, amazon.seller
    for n in range(1000):
        if n % 20 == 7:
            fake.add_order(seller, [("MUG", 2, "10.00")], status="PENDING")
        elif n % 20 == 13:
            fake.add_order(seller, [("MUG", 3, "10.00")], fulfilled_by="AMAZON", status="SHIPPED")
        else:
            fake.add_order(seller, [("MUG", 1, "10.00"), ("LID", 2, "1.25")], shipping="2.50")


def test_a_backfill_of_1000_orders_takes_each_once_with_exact_totals_and_reserves_only_what_ships(amazon, scope_a):
    m = scope_a.merchant
    mug, lid = make_product(m, "MUG", on_hand=5000), make_product(m, "LID", on_hand=5000)
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    _seed_backfill(amazon)

    outcome = integration_poll(merchant=m, integration_id=integration.pk)

    orders = Order.objects.filter(merchant=m)
    assert outcome == "ok orders=950"
    assert orders.count() == 950 and orders.values("external_id").distinct().count() == 950
    assert orders.filter(status=OrderStatus.AWAITING_PAYMENT).count() == 50
    assert orders.aggregate(total=Sum("total_amount"))["total"] == Decimal("900") * Decimal("15.00")
    assert (level(m, mug).reserved, level(m, lid).reserved) == (900, 1800)
    assert [c.status for c in amazon.fake.calls("searchOrders")] == [200] * 10

    # when a Pending order's payment is authorised on Amazon, the next poll reserves it
    pending = next(o for o in amazon.fake.orders.values() if o.status == "PENDING")
    amazon.fake.set_status(pending.order_id, "UNSHIPPED")
    integration.refresh_from_db()
    integration_poll(merchant=m, integration_id=integration.pk)

    assert Order.objects.get(merchant=m, external_id=pending.order_id).status == OrderStatus.UNFULFILLED
    assert level(m, mug).reserved == 902
    assert Order.objects.filter(merchant=m).count() == 950


def test_a_500_and_a_429_storm_mid_backfill_cost_nothing_and_double_nothing(amazon, scope_a):
    m = scope_a.merchant
    make_product(m, "MUG", on_hand=5000)
    make_product(m, "LID", on_hand=5000)
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    _seed_backfill(amazon)
    amazon.fake.fail_next(1, status=500, operation="searchOrders", after=3)
    amazon.fake.fail_next(3, status=429, operation="searchOrders", after=6)

    outcome = integration_poll(merchant=m, integration_id=integration.pk)

    assert outcome == "ok orders=950"
    assert Order.objects.filter(merchant=m).count() == 950
    assert [c.status for c in amazon.fake.calls("searchOrders")] == [200] * 3 + [500] + [200] * 3 + [429] * 3 + [200] * 4


def test_invalid_grant_moves_the_store_to_needs_reconnect(amazon, scope_a):
    m = scope_a.merchant
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    amazon.fake.revoke(amazon.seller)

    outcome = integration_poll(merchant=m, integration_id=integration.pk)
    again = integration_poll(merchant=m, integration_id=integration.pk)

    integration.refresh_from_db()
    assert (outcome, again) == ("needs_reconnect", "inactive")
    assert NotificationLog.objects.filter(merchant=m, kind="sync_failed").count() == 1
    assert integration.status == Integration.Status.NEEDS_RECONNECT
    assert "invalid_grant" in integration.last_error
    assert amazon.fake.calls("searchOrders") == []


def _listed(amazon, m, integration, count: int, on_hand: int = 7):
    for n in range(count):
        amazon.fake.add_listing(amazon.seller, f"SKU-{n:03d}", quantity=1)
        make_product(m, f"SKU-{n:03d}", on_hand=on_hand)
    listings_import(amazon, m, integration)


def test_a_few_skus_are_patched_one_call_each_with_their_product_type(amazon, scope_a):
    m = scope_a.merchant
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    _listed(amazon, m, integration, 3)

    pushed = listings_push(merchant=m, integration=integration)

    patches = amazon.fake.calls("patchListingsItem")
    assert pushed["pushed"] == 3 and len(patches) == 3
    assert {c.body["productType"] for c in patches} == {"HOME"}
    assert [amazon.fake.listings[(amazon.seller.seller_id, f"SKU-{n:03d}")].quantity for n in range(3)] == [7, 7, 7]
    assert amazon.fake.calls("createFeed") == []


def test_many_skus_go_in_one_feed_whose_report_is_read_back_and_names_the_refused(amazon, scope_a):
    m = scope_a.merchant
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    _listed(amazon, m, integration, 30)
    amazon.fake.refuse_sku(amazon.seller, "SKU-004")

    pushed = listings_push(merchant=m, integration=integration)
    first_read = pushes_pending_read(merchant=m, integration=integration)  # Amazon is still processing
    second_read = pushes_pending_read(merchant=m, integration=integration)

    assert pushed["pending"] == 30 and amazon.fake.calls("patchListingsItem") == []
    assert [len(amazon.fake.calls(op)) for op in ("createFeedDocument", "createFeed", "getFeedDocument")] == [1, 1, 1]
    assert (first_read["pending"], second_read["pushed"], second_read["failed"]) == (30, 29, 1)
    refused = Listing.objects.get(merchant=m, external_id="SKU-004")
    assert refused.error.startswith("90220: ") and refused.push_pending_ref == ""
    assert Listing.objects.filter(merchant=m, last_pushed_quantity=7).count() == 29
    assert amazon.fake.listings[(amazon.seller.seller_id, "SKU-005")].quantity == 7


def test_a_shipment_confirms_every_item_once_with_a_numeric_package_reference(amazon):
    order = amazon.fake.add_order(amazon.seller, [("MUG", 2, "10.00"), ("LID", 1, "1.00")])
    adapter = adapter_for("amazon", amazon.credentials(), budget_key="t", on_credentials_changed=lambda c: None)
    push = TrackingPush(order_external_id=order.order_id, lines=[], carrier="UPS", tracking_number="1Z999AA1",
                        service="Ground", is_final=True, channel_data={"marketplace_id": "ATVPDKIKX0DER"})

    first = adapter.push_tracking(push)
    again = adapter.push_tracking(push)

    confirm = amazon.fake.calls("confirmShipment")
    assert len(confirm) == 1 and first == again
    detail = confirm[0].body["packageDetail"]
    assert (detail["packageReferenceId"], detail["carrierCode"], detail["shippingMethod"]) == ("1", "UPS", "Ground")
    assert detail["orderItems"] == [{"orderItemId": i.order_item_id, "quantity": i.quantity} for i in order.items]
    assert order.status == "SHIPPED"


def test_a_carrier_amazon_does_not_know_is_other_with_its_name(amazon):
    order = amazon.fake.add_order(amazon.seller, [("MUG", 1, "10.00")])
    adapter = adapter_for("amazon", amazon.credentials(), budget_key="t", on_credentials_changed=lambda c: None)

    adapter.push_tracking(TrackingPush(order_external_id=order.order_id, lines=[], carrier="Speedy Parcels",
                                       tracking_number="SP1", is_final=True))

    detail = amazon.fake.calls("confirmShipment")[0].body["packageDetail"]
    assert (detail["carrierCode"], detail["carrierName"]) == ("Other", "Speedy Parcels")


def test_another_merchants_amazon_integration_is_404(amazon, merchant_a, merchant_b):
    body = {"channel": "amazon", "name": "Amazon US", "credentials": amazon.credentials()}
    created = merchant_a.api.post("/api/v1/integrations/", body, format="json")

    response = merchant_b.api.get(f"/api/v1/integrations/{created.json()['id']}/")

    assert created.status_code == 201, created.content
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_bad_amazon_credentials_are_400_naming_the_fields(merchant_a):
    body = {"channel": "amazon", "name": "Amazon", "credentials": {"seller_id": "nope", "marketplace_ids": "", "region": "mars"}}

    response = merchant_a.api.post("/api/v1/integrations/", body, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]["fields"]["credentials"]) == {
        "seller_id", "marketplace_ids", "region", "refresh_token", "lwa_client_id", "lwa_client_secret"}


def test_the_doctor_names_refused_listings_and_orders_without_an_address(amazon, scope_a):
    # given a seller whose app lacks the PII role, a SKU Amazon refuses, and a poll
    m = scope_a.merchant
    amazon.seller.pii_role = False
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    _listed(amazon, m, integration, 2)
    amazon.fake.refuse_sku(amazon.seller, "SKU-001")
    listings_push(merchant=m, integration=integration)
    amazon.fake.add_order(amazon.seller, [("SKU-000", 1, "5.00")])
    integration_poll(merchant=m, integration_id=integration.pk)
    integration.refresh_from_db()

    findings = {f.code: f for f in integration_doctor(merchant=m, integration=integration)}

    assert findings["listing_push_refused"].message.startswith("The channel refused the last push of 1 listing: "
                                                               "SKU-001: 90220: ")
    assert findings["orders_without_address"].message == "1 open order arrived without a ship-to address."


def test_an_invalid_sku_fails_alone_and_a_change_elsewhere_does_not_send_it_again(amazon, scope_a):
    m = scope_a.merchant
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    _listed(amazon, m, integration, 3)
    amazon.fake.refuse_sku(amazon.seller, "SKU-001")

    first = listings_push(merchant=m, integration=integration)
    other = Listing.objects.get(merchant=m, external_id="SKU-002").product
    stock_adjust(merchant=m, product_id=other.pk, delta=2, reason="received")  # marks SKU-002's product
    stock_push(merchant=m)

    refused = Listing.objects.get(merchant=m, external_id="SKU-001")
    assert (first["pushed"], first["failed"]) == (2, 1)
    assert refused.error.startswith("90220: ") and refused.last_pushed_quantity is None
    assert [c.path.rsplit("/", 1)[1] for c in amazon.fake.calls("patchListingsItem")] == [
        "SKU-000", "SKU-001", "SKU-002", "SKU-002"]


def _patched(amazon) -> list[str]:
    return [c.path.rsplit("/", 1)[1] for c in amazon.fake.calls("patchListingsItem")]


def _one_refused(amazon, m, count: int) -> tuple[Integration, Listing]:
    """`count` listed SKUs pushed once, the last refused by Amazon; (the store, the refused listing)."""
    from accounts.tenancy import tenant_scope

    with tenant_scope(m):
        integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
        _listed(amazon, m, integration, count)
        amazon.fake.refuse_sku(amazon.seller, f"SKU-{count - 1:03d}")
        listings_push(merchant=m, integration=integration)
        return integration, Listing.objects.get(merchant=m, external_id=f"SKU-{count - 1:03d}")


def test_a_refused_sku_is_not_resent_by_a_full_push_until_its_quantity_changes(amazon, scope_a):
    m = scope_a.merchant
    integration, refused = _one_refused(amazon, m, 3)

    full = listings_push(merchant=m, integration=integration)  # "sync now"'s stock step: every listing
    assert full == {"pushed": 0, "failed": 0, "unchanged": 3}
    assert _patched(amazon) == ["SKU-000", "SKU-001", "SKU-002"]

    stock_adjust(merchant=m, product_id=refused.product_id, delta=1, reason="received")
    stock_push(merchant=m)

    assert _patched(amazon) == ["SKU-000", "SKU-001", "SKU-002", "SKU-002"]
    refused.refresh_from_db()
    assert (refused.refused_quantity, refused.error.startswith("90220: ")) == (8, True)


def test_a_sku_refused_in_a_feed_report_is_held_too(amazon, scope_a):
    m = scope_a.merchant
    integration, refused = _one_refused(amazon, m, 12)  # twelve: one feed
    while pushes_pending_read(merchant=m, integration=integration).get("pending"):
        pass

    again = listings_push(merchant=m, integration=integration)

    assert again == {"pushed": 0, "failed": 0, "unchanged": 12}
    refused.refresh_from_db()
    assert (refused.refused_quantity, refused.error.startswith("90220: ")) == (7, True)
    assert len(amazon.fake.calls("createFeed")) == 1


def test_a_feed_that_dies_whole_holds_nothing_and_the_next_push_sends_it_again(amazon, scope_a):
    """FATAL says nothing about any one SKU (Amazon kept its old quantities): every SKU shows the error, none
    is held as refused, and the next push sends the quantities again."""
    m = scope_a.merchant
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    _listed(amazon, m, integration, 12)
    listings_push(merchant=m, integration=integration)
    for feed in amazon.fake.feeds.values():
        feed.status = "FATAL"

    pushes_pending_read(merchant=m, integration=integration)
    again = listings_push(merchant=m, integration=integration)

    listings = list(Listing.objects.filter(merchant=m, integration=integration))
    assert {lst.refused_quantity for lst in listings} == {None}
    assert all("ended FATAL" in lst.error for lst in listings)
    assert again.get("pending") == 12 and len(amazon.fake.calls("createFeed")) == 2


def test_the_merchant_retries_a_refused_sku_once_fixed_on_amazon(amazon, merchant_a,
                                                                   django_capture_on_commit_callbacks):
    from accounts.tenancy import tenant_scope

    m = merchant_a.merchant
    integration, refused = _one_refused(amazon, m, 2)
    with tenant_scope(m):
        fine = Listing.objects.get(merchant=m, external_id="SKU-000")
    amazon.fake.listings[(amazon.seller.seller_id, "SKU-001")].refuse = None  # the merchant fixed it in Seller Central
    url = f"/api/v1/integrations/{integration.pk}/listings/"

    with django_capture_on_commit_callbacks(execute=True):  # the store's push is queued on commit (eager here)
        retried = merchant_a.api.post(f"{url}{refused.pk}/retry-push/", format="json")
    not_refused = merchant_a.api.post(f"{url}{fine.pk}/retry-push/", format="json")

    assert retried.status_code == 202, retried.content
    assert not_refused.status_code == 409 and not_refused.json()["error"]["code"] == "listing_not_refused"
    assert _patched(amazon) == ["SKU-000", "SKU-001", "SKU-001"]
    refused.refresh_from_db()
    assert (refused.last_pushed_quantity, refused.refused_quantity, refused.error) == (7, None, "")
    assert amazon.fake.listings[(amazon.seller.seller_id, "SKU-001")].quantity == 7


def test_the_store_page_offers_push_again_on_a_refused_listing(amazon, merchant_a, django_capture_on_commit_callbacks):
    integration, refused = _one_refused(amazon, merchant_a.merchant, 1)

    page = merchant_a.web.get(f"/integrations/{integration.pk}/")
    with django_capture_on_commit_callbacks(execute=True):
        done = merchant_a.web.post(f"/integrations/{integration.pk}/listings/{refused.pk}/retry-push/", follow=True)

    assert f"/listings/{refused.pk}/retry-push/" in page.content.decode()
    assert "SKU-000 will be pushed again shortly." in done.content.decode()
    assert _patched(amazon) == ["SKU-000", "SKU-000"]  # refused again (still not fixed), as the merchant asked
