from __future__ import annotations

import pytest

from accounts.models import Membership, Merchant, User
from accounts.tenancy import unscoped

PASSWORD = "correct-horse-battery-staple-9"


@pytest.mark.django_db
def test_sign_up_creates_a_merchant_owned_by_the_new_user(client):
    response = client.post("/accounts/signup/", {
        "email": "new@shop.example", "password1": PASSWORD, "password2": PASSWORD,
        "first_name": "Nia", "business_name": "Nia's Candles",
    })

    assert response.status_code == 302
    user = User.objects.get(email="new@shop.example")
    with unscoped("test assertion"):
        membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.merchant.name == "Nia's Candles"
    assert user.first_name == "Nia"
    assert client.get("/", follow=True).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("password,reason", [
    ("short-pw-1", "too short"),
    ("password1234", "too common"),
    ("new@shop.example1", "too similar"),
])
def test_weak_passwords_are_refused(client, password, reason):
    response = client.post("/accounts/signup/", {"email": "new@shop.example", "password1": password,
                                                 "password2": password})

    assert response.status_code == 200, reason
    assert not User.objects.filter(email="new@shop.example").exists()
    assert Merchant.objects.count() == 0


@pytest.mark.django_db
def test_login_and_logout_with_email_and_password(client):
    User.objects.create_user("owner@shop.example", PASSWORD)

    bad = client.post("/accounts/login/", {"login": "owner@shop.example", "password": "wrong-password-123"})
    assert bad.status_code == 200
    assert "_auth_user_id" not in client.session

    good = client.post("/accounts/login/", {"login": "OWNER@shop.example", "password": PASSWORD})
    assert good.status_code == 302
    assert client.session.get("_auth_user_id")
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_password_reset_sends_an_email(client, mailoutbox):
    User.objects.create_user("owner@shop.example", PASSWORD)

    response = client.post("/accounts/password/reset/", {"email": "owner@shop.example"})

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "owner@shop.example" in mailoutbox[0].to
    assert "/accounts/password/reset/key/" in mailoutbox[0].body


@pytest.mark.django_db
def test_dashboard_requires_sign_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_login_page_renders_with_our_layout(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b"/static/css/app.css" in response.content
    assert b"https://cdn" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/orders/", "/inventory/", "/settings/", "/jobs/", "/integrations/", "/shipments/"])
def test_dashboard_pages_render_with_navigation(merchant_a, path):
    response = merchant_a.web.get(path)

    assert response.status_code == 200
    for section in (b"Orders", b"Inventory", b"Integrations", b"Shipments", b"Jobs", b"Settings"):
        assert section in response.content
    assert b"Merchant A" in response.content


@pytest.mark.django_db
def test_user_without_a_merchant_sees_an_explanation_not_data(client):
    user = User.objects.create_user("lonely@x.example", PASSWORD)
    client.force_login(user)

    response = client.get("/settings/")

    assert response.status_code == 403
    assert b"not a member of any merchant" in response.content


@pytest.mark.django_db
def test_staff_admin_lists_every_merchants_rows(client, merchant_a, merchant_b):
    admin = User.objects.create_superuser("staff@switchboard.example", PASSWORD)
    client.force_login(admin)

    tokens = client.get("/admin/accounts/apitoken/")
    jobs = client.get("/admin/jobs/workerjob/")

    assert tokens.status_code == 200 and jobs.status_code == 200
    assert b"Merchant A" in tokens.content and b"Merchant B" in tokens.content
    assert b"key_hash" not in tokens.content


def test_email_verification_is_mandatory_in_production_only():
    from django.conf import settings

    from config.env import read_env  # noqa: F401 - settings module decides from DJANGO_ENV

    assert settings.ACCOUNT_EMAIL_VERIFICATION == ("mandatory" if settings.IS_PRODUCTION else "optional")
