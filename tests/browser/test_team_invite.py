"""Invite → accept → the new staff member signs up and sees the merchant's orders, in a real browser.

The invitation mail is read from Django's locmem outbox: the live server runs in this process.
"""

from __future__ import annotations

import re

from django.core import mail

from accounts.models import Membership
from accounts.tenancy import tenant_scope, unscoped
from orders import services as order_services
from tests.browser.conftest import PHONE, assert_fits_width
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

PASSWORD = "a-long-enough-password-1"


def test_an_invited_staff_member_signs_up_from_the_link_and_sees_the_orders(signed_in, new_page, merchant_a):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "A-1", on_hand=10)
        order_services.order_ingest(merchant=merchant_a.merchant, integration_id=None, normalized=normalized("4711"))

    mail.outbox.clear()  # the new-order email
    owner = signed_in(merchant_a)
    owner.goto("/settings/team/")
    owner.locator("#invite").get_by_label("Email address").fill("sam@staff.example")
    owner.locator("#invite").get_by_label("Role").select_option("staff")
    owner.get_by_role("button", name="Send invitation").click()
    owner.wait_for_url("**/settings/team/")
    assert "Invitation sent to sam@staff.example." in owner.content()
    assert "sam@staff.example" in owner.locator("#invitations").inner_text()

    assert [m.to for m in mail.outbox] == [["sam@staff.example"]]
    link = re.search(r"https?://\S+/invitations/[A-Za-z0-9_-]+/", mail.outbox[0].body).group(0)

    staff = new_page(viewport=PHONE)  # a browser of their own, signed out
    staff.goto(link)
    assert "Join Merchant A" in staff.content()
    assert_fits_width(staff)
    staff.get_by_role("link", name="Sign up", exact=True).click()
    assert staff.locator("input[name=email]").input_value() == "sam@staff.example"
    staff.locator("input[name=password1]").fill(PASSWORD)
    staff.locator("input[name=password2]").fill(PASSWORD)
    staff.locator("form[action*=signup] button[type=submit]").click()

    # signed up and joined: they land on the merchant's home page, and the orders are theirs to work
    staff.wait_for_url(lambda url: "/accounts/" not in url and "/invitations/" not in url)
    assert "Merchant A" in staff.content()
    staff.goto("/orders/")
    assert "#4711" in staff.content()
    with unscoped("test assertion"):
        member = Membership.objects.get(user__email="sam@staff.example")
    assert (member.merchant_id, member.role) == (merchant_a.merchant.pk, "staff")

    owner.reload()
    assert "No pending invitations." in owner.locator("#invitations").inner_text()
    assert "sam@staff.example" in owner.locator("#members").inner_text()


def test_the_team_settings_and_invitation_pages_fit_a_phone(signed_in, new_page, merchant_a):
    from accounts import services

    with tenant_scope(merchant_a.merchant):
        services.invitation_create(merchant=merchant_a.merchant, actor=merchant_a.user,
                                   email="a-rather-long-address-for-a-phone@staff.example", role="staff",
                                   base_url="http://testserver/")
    owner = signed_in(merchant_a, viewport=PHONE)
    for path in ("/settings/", "/settings/team/"):
        owner.goto(path)
        owner.screenshot(path=f"/tmp/team/{path.strip('/').replace('/', '-')}.png", full_page=True)
        assert_fits_width(owner)
    link = re.search(r"https?://\S+/invitations/[A-Za-z0-9_-]+/", mail.outbox[-1].body).group(0)
    stranger = new_page(viewport=PHONE)
    stranger.goto(link.replace("http://testserver", ""))
    assert_fits_width(stranger)
