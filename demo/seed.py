"""Demo data for `make run`, so a new user sees every page alive. Safe to run again."""

from __future__ import annotations

from accounts.models import Merchant, User
from accounts.services import membership_for_user, merchant_create
from accounts.tenancy import tenant_scope

DEMO_EMAIL = "demo@switchboard.local"
DEMO_PASSWORD = "switchboard-demo-2026"
DEMO_MERCHANT = "Northwind Goods"

# Each app that wants demo data adds a function here, called as seed(merchant=..., user=...)
# inside the merchant's scope; it must be idempotent (make run calls it at every start).
SEEDERS: list[str] = ["inventory.demo.seed", "orders.demo.seed"]


def seed() -> tuple[User, Merchant, bool]:
    """Returns the demo user, their merchant, and whether they were created now."""
    from django.utils.module_loading import import_string

    user = User.objects.filter(email=DEMO_EMAIL).first()
    created = user is None
    if created:
        user = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, first_name="Demo")
        _verify_email(user)
    membership = membership_for_user(user)
    merchant = membership.merchant if membership else merchant_create(name=DEMO_MERCHANT, owner=user)
    with tenant_scope(merchant):
        for path in SEEDERS:
            import_string(path)(merchant=merchant, user=user)
    return user, merchant, created


def _verify_email(user: User) -> None:
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
