"""No dead ends in a real browser: a failed form post leaves the form's own page in the address bar, so a
reload opens that page (never a 405 or a re-post); a typed POST-only address redirects to the form's page."""

from __future__ import annotations


def test_a_failed_post_then_a_reload_lands_on_the_form_page(signed_in, merchant_a):
    page = signed_in(merchant_a)
    page.goto("/settings/")
    form = page.locator('form[action="/settings/api-tokens/"]')
    form.locator("input[name=name]").evaluate("e => { e.removeAttribute('required'); e.value = ''; }")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "This field is required." in page.content()  # the error shown where the form was posted
    assert page.url.endswith("/settings/")  # but the address is the form's page
    reloaded = page.reload()
    assert reloaded.status == 200 and page.url.endswith("/settings/")


def test_a_typed_post_only_address_opens_the_page_holding_the_form(signed_in, merchant_a):
    page = signed_in(merchant_a)
    response = page.goto("/orders/bulk/")
    assert response.status == 200 and page.url.endswith("/orders/")
