"""The browser harness itself: a signed-in merchant reaches the orders page; a stranger is sent to sign in."""

from __future__ import annotations

from tests.browser.conftest import PHONE, assert_fits_width


def test_a_signed_in_merchant_sees_the_orders_page(signed_in, merchant_a):
    page = signed_in(merchant_a)
    response = page.goto("/orders/")
    assert response.status == 200
    assert "Merchant A" in page.content()


def test_a_stranger_is_sent_to_sign_in(new_page):
    page = new_page(viewport=PHONE)
    page.goto("/orders/")
    assert "/accounts/login/" in page.url
    assert_fits_width(page)
