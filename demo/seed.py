"""Demo data for `make run`, so a new user sees every page alive. Safe to run again."""

from __future__ import annotations

from collections.abc import Callable

from allauth.account.models import EmailAddress

from accounts.models import Merchant, User
from accounts.services import membership_for_user, merchant_create, merchant_update
from accounts.tenancy import tenant_scope
from inventory import demo as inventory_demo
from orders import demo as orders_demo

DEMO_EMAIL = "demo@switchboard.local"
DEMO_PASSWORD = "switchboard-demo-2026"
DEMO_MERCHANT = "Northwind Goods"
# Where the demo merchant ships from: labels need it, and the settings page shows it filled in.
DEMO_SHIP_FROM = {"name": "Northwind Goods", "line1": "2200 NW Front Avenue", "line2": "Unit 4", "city": "Portland",
                  "region": "OR", "postcode": "97209", "country": "US"}

# The demo app sits above every app it seeds, so it names their seeders directly (no registry
# needed: dependencies point down). Each is called as seed(merchant=..., user=...) inside the
# merchant's scope and must be idempotent (make run calls it at every start). Products first:
# the orders seeder sells them.
SEEDERS: tuple[Callable[..., object], ...] = (inventory_demo.seed, orders_demo.seed)


def seed() -> tuple[User, Merchant, bool]:
    """Returns the demo user, their merchant, and whether they were created now."""
    user = User.objects.filter(email=DEMO_EMAIL).first()
    created = user is None
    if created:
        user = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, first_name="Demo")
        _verify_email(user)
    membership = membership_for_user(user)
    merchant = membership.merchant if membership else merchant_create(name=DEMO_MERCHANT, owner=user)
    if not merchant.address:
        merchant = merchant_update(merchant=merchant, actor=user, name=merchant.name, currency=merchant.currency,
                                   timezone_name=merchant.timezone, default_ship_by_days=merchant.default_ship_by_days,
                                   address=DEMO_SHIP_FROM)
    with tenant_scope(merchant):
        for seeder in SEEDERS:
            seeder(merchant=merchant, user=user)
    return user, merchant, created


def _verify_email(user: User) -> None:
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
