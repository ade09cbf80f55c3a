"""Builders for labels tests: a merchant with a ship-from address, a pending shipment of weighed products,
an EasyPost account on the fake."""

from __future__ import annotations

from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Membership, Merchant, User
from accounts.services import api_token_create
from accounts.tenancy import tenant_scope
from inventory.models import Product
from labels.models import CarrierAccount
from orders import services as order_services
from orders.models import OrderLine, Shipment
from orders.normalized import NormalizedAddress
from tests.fakes.easypost.fixtures import EASYPOST_KEY
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

SHIP_FROM = {"name": "Acme Shop", "line1": "9 Depot Rd", "city": "Austin", "region": "TX", "postcode": "78701",
             "country": "US", "phone": "5550199999"}


def ship_from_set(merchant: Merchant) -> None:
    Merchant.objects.filter(pk=merchant.pk).update(address=SHIP_FROM)
    merchant.address = SHIP_FROM


def pending_shipment(merchant: Merchant, *, number: str = "1001", postcode: str = "97477", sku: str = "A-1",
                     qty: int = 2, grams: int = 500, on_hand: int = 50, country: str = "US", region: str = "OR",
                     **product_fields) -> Shipment:
    """An order of `qty` units of a product weighing `grams`, and one pending shipment of all of it."""
    ship_from_set(merchant)
    with tenant_scope(merchant):
        if not merchant_has_product(merchant, sku):
            make_product(merchant, sku, on_hand=on_hand, weight_grams=grams, length_mm=254, width_mm=203,
                         height_mm=102, **product_fields)
        order = order_services.order_ingest(merchant=merchant, integration_id=None, normalized=normalized(
            number, lines=(("L1", sku, qty),),
            shipping_address=NormalizedAddress(name="Ada Lovelace", line1="1 Example St", city="Springfield",
                                               region=region, postal_code=postcode, country=country))).order
        line = OrderLine.objects.get(merchant=merchant, order=order)
        return order_services.shipment_create(
            merchant=merchant, order=order, ship=False,
            lines=[order_services.ShipmentLineRequest(order_line_id=line.pk, quantity=qty)])


def merchant_has_product(merchant: Merchant, sku: str) -> bool:
    return Product.objects.filter(merchant=merchant, sku=sku).exists()


def easypost_account(merchant: Merchant, *, name: str = "EasyPost", key: str = EASYPOST_KEY) -> CarrierAccount:
    with tenant_scope(merchant):
        return CarrierAccount.objects.create(merchant=merchant, carrier="easypost", name=name,
                                             credentials={"api_key": key})


def shipstation_account(merchant: Merchant, *, name: str = "ShipStation", key: str = "TEST_fake_key") -> CarrierAccount:
    with tenant_scope(merchant):
        return CarrierAccount.objects.create(merchant=merchant, carrier="shipstation", name=name,
                                             credentials={"api_key": key})


def staff_clients(merchant: Merchant, email: str = "staff@a.example") -> tuple[APIClient, Client]:
    """An API client and a signed-in browser of a staff member (not an owner) of `merchant`."""
    user = User.objects.create_user(email, "a-long-enough-password-1")
    with tenant_scope(merchant):
        Membership.objects.create(merchant=merchant, user=user, role=Membership.Role.STAFF)
        _, raw = api_token_create(merchant=merchant, user=user, name="staff tests")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    web = Client()
    web.force_login(user)
    return api, web
