"""No dead ends (issue 18): every dashboard URL that only takes a form post answers a GET with a redirect to
a page (the one holding the form), never a 405 or a 500, so a reload after a failed post, a bookmark or a
typed address always lands somewhere. The routes are walked from the URL resolver, so a POST-only route
added later is checked without anyone listing it here."""

from __future__ import annotations

import re

import pytest

from tests.routes import walk_routes

pytestmark = pytest.mark.django_db

# What each path converter is given: an id no object has (so a view that looks its object up first answers
# 404, which is no dead end either) and plain words.
SAMPLES = {"id": "999999", "int": "999999", "slug": "ship", "str": "x", "uuid": "00000000-0000-0000-0000-000000000000",
           "path": "x"}


def _path(route: str) -> str | None:
    """A concrete path for a `path()` route; None for regex routes (the admin's, DRF's format suffixes)."""
    if "^" in route or "(?P" in route:
        return None
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], route)


def _post_only(callback) -> bool:
    """A dashboard form target: a class-based view with post and no get, protected by CSRF (the API's views
    and the webhook receivers are exempt: their callers are programs)."""
    view_class = getattr(callback, "view_class", None)
    return (view_class is not None and not getattr(callback, "csrf_exempt", False)
            and hasattr(view_class, "post") and not hasattr(view_class, "get"))


POST_ONLY = sorted({path for route, callback in walk_routes()
                    if _post_only(callback) and (path := _path(route)) is not None})


def test_the_walk_finds_the_form_targets():
    """The guard must not pass vacuously: the issue's examples are among the routes walked."""
    for example in ("/settings/api-tokens/", "/orders/bulk/", "/orders/999999/ship/"):
        assert example in POST_ONLY or any(re.fullmatch(p.replace("ship", r"\w+"), example) for p in POST_ONLY), example
    assert len(POST_ONLY) > 20


@pytest.mark.parametrize("path", POST_ONLY)
def test_a_get_on_a_form_target_redirects_to_a_page(path, merchant_a):
    response = merchant_a.web.get(path)
    assert response.status_code == 302, (path, response.status_code)
    target = response["Location"]
    assert target.startswith("/") and not path.startswith(target.rstrip("/") + "/x"), target
    assert target.rstrip("/") != path.rstrip("/")
    landed = merchant_a.web.get(target)  # the page itself: 404 only because the sample id is nobody's
    assert landed.status_code in (200, 404), (path, target, landed.status_code)


def test_the_redirect_lands_on_the_page_holding_the_form(merchant_a):
    """With a real object: the product's adjust form lives on the product's page, the token form on Settings."""
    from accounts.tenancy import tenant_scope
    from tests.inventory.helpers import make_product

    with tenant_scope(merchant_a.merchant):
        product = make_product(merchant_a.merchant, "MUG-1", on_hand=3)
    landed = merchant_a.web.get(f"/inventory/products/{product.pk}/adjust/", follow=True)
    assert landed.redirect_chain == [(f"/inventory/products/{product.pk}/", 302)] and landed.status_code == 200
    assert f'action="/inventory/products/{product.pk}/adjust/"' in landed.content.decode()
    settings_page = merchant_a.web.get("/settings/api-tokens/", follow=True)
    assert settings_page.redirect_chain == [("/settings/", 302)] and settings_page.status_code == 200


def test_the_api_and_the_webhook_receivers_keep_their_405(merchant_a):
    """Programs, not people, call these: a GET where only POST is allowed stays a 405."""
    assert merchant_a.web.get("/webhooks/shopify/sometoken/").status_code == 405
    assert merchant_a.api.get("/api/v1/auth/token/").status_code == 405


def test_a_failed_post_names_the_form_page_for_the_address_bar(merchant_a):
    """The token form posted empty is shown again with its error, and the page tells the browser the
    address to show (the Settings page), so a reload is not a re-post to a POST-only URL."""
    failed = merchant_a.web.post("/settings/api-tokens/", {"name": ""})
    body = failed.content.decode()
    assert failed.status_code == 400
    assert '<meta name="form-page" content="/settings/">' in body
    assert merchant_a.web.get("/settings/").content.decode().count('name="form-page"') == 0
