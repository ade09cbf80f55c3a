"""Failure injection: a 500 (WordPress's critical error) and a 503 with Retry-After (maintenance mode)
answer the next calls without executing them; the log shows them."""

from __future__ import annotations

from .client_for_tests import oauth_call


def test_an_injected_500_executes_nothing(woo_fake, woo_key):
    product = woo_fake.store.add_product("MUG-1", stock_quantity=5)
    woo_fake.fail_next(1, status=500)

    failed = oauth_call(woo_fake, woo_key, "PUT", f"/products/{product['id']}", json={"stock_quantity": 1})
    untouched = woo_fake.store.products[product["id"]]["stock_quantity"]
    retried = oauth_call(woo_fake, woo_key, "PUT", f"/products/{product['id']}", json={"stock_quantity": 1})

    assert failed.status_code == 500
    assert failed.json()["code"] == "internal_server_error"
    assert untouched == 5
    assert retried.json()["stock_quantity"] == 1
    assert [c.injected for c in woo_fake.calls()] == [True, False]


def test_an_injected_503_carries_retry_after(woo_fake, woo_key):
    woo_fake.fail_next(2, status=503, retry_after=7)

    responses = [oauth_call(woo_fake, woo_key, "GET", "/orders") for _ in range(3)]

    assert [r.status_code for r in responses] == [503, 503, 200]
    assert [r.headers.get("Retry-After") for r in responses] == ["7", "7", None]
    assert responses[0].headers["Content-Type"].startswith("text/html")
    assert len(woo_fake.calls(injected=True)) == 2


def test_fail_after_lets_requests_through_then_fails_the_next(woo_fake, woo_key):
    woo_fake.fail_after(2, 1, status=500)

    statuses = [oauth_call(woo_fake, woo_key, "GET", "/orders").status_code for _ in range(4)]

    assert statuses == [200, 200, 500, 200]
    assert [c.injected for c in woo_fake.calls()] == [False, False, True, False]
