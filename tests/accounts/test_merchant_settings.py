"""Merchant settings: owners edit name, currency, time zone, default ship-by days and the
ship-from address through merchant_update (every bad field named); staff read them."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services
from accounts.models import Membership, Merchant, User
from accounts.tenancy import tenant_scope
from core.errors import PermissionDenied, ValidationFailed

ADDRESS = {"name": "A Ltd", "line1": " 1 High  Street ", "line2": "", "city": "Leeds", "region": "",
           "postcode": "LS1 1AA", "country": "gb"}


def _update(tenant, actor=None, **overrides):
    values = {"name": "Merchant A", "currency": "GBP", "timezone_name": "Europe/London", "default_ship_by_days": 3,
              "address": ADDRESS}
    values.update(overrides)
    with tenant_scope(tenant.merchant):
        return services.merchant_update(merchant=tenant.merchant, actor=actor or tenant.user, **values)


def _form(**overrides) -> dict:
    data = {"name": "Alpha Goods", "currency": "EUR", "timezone": "Europe/Berlin", "default_ship_by_days": "1",
            "address_name": "", "address_line1": "Hauptstr. 5", "address_line2": "", "address_city": "Berlin",
            "address_region": "", "address_postcode": "10115", "address_country": "DE"}
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_an_owner_updates_every_setting_and_the_address_is_tidied(merchant_a):
    merchant = _update(merchant_a, name="  Alpha   Goods ")

    merchant = Merchant.objects.get(pk=merchant.pk)
    assert (merchant.name, merchant.currency, merchant.timezone, merchant.default_ship_by_days) == (
        "Alpha Goods", "GBP", "Europe/London", 3)
    assert merchant.address == {"name": "A Ltd", "line1": "1 High Street", "line2": "", "city": "Leeds",
                                "region": "", "postcode": "LS1 1AA", "country": "GB", "phone": ""}


@pytest.mark.django_db
def test_the_ship_from_phone_is_kept_tidied_and_a_bad_one_is_named(merchant_a):
    assert _update(merchant_a, address={**ADDRESS, "phone": " +44  113 496 0000 "}).address["phone"] == "+44 113 496 0000"

    with pytest.raises(ValidationFailed) as exc:
        _update(merchant_a, address={**ADDRESS, "phone": "call me"})

    assert exc.value.details == {"address": {"phone": "Digits, spaces and + ( ) - . only, at least 5 digits."}}


@pytest.mark.django_db
def test_the_label_format_is_one_of_pdf_png_zpl(merchant_a):
    assert _update(merchant_a, label_format="ZPL").label_format == "ZPL"
    assert _update(merchant_a).label_format == "ZPL"  # None: unchanged

    with pytest.raises(ValidationFailed) as exc:
        _update(merchant_a, label_format="EPL2")

    assert exc.value.details == {"label_format": "One of: PDF, PNG, ZPL."}


@pytest.mark.django_db
def test_an_empty_address_is_allowed_but_a_half_filled_one_is_not(merchant_a):
    assert _update(merchant_a, address={}).address == {}

    with pytest.raises(ValidationFailed) as exc:
        _update(merchant_a, address={"line1": "1 High Street", "country": "GB"})

    assert exc.value.details == {"address": {"city": "Required.", "postcode": "Required."}}


@pytest.mark.parametrize(("field", "value", "error_key"), [
    ("timezone_name", "Mars/Olympus_Mons", "timezone"),
    ("timezone_name", "", "timezone"),
    ("currency", "ABC", "currency"),
    ("currency", "XAU", "currency"),  # gold is ISO 4217 but not money a shop prices in
    ("default_ship_by_days", 31, "default_ship_by_days"),
    ("default_ship_by_days", -1, "default_ship_by_days"),
    ("name", "   ", "name"),
])
@pytest.mark.django_db
def test_each_bad_setting_is_named_and_nothing_changes(merchant_a, field, value, error_key):
    with pytest.raises(ValidationFailed) as exc:
        _update(merchant_a, **{field: value})

    assert exc.value.code == "invalid_settings"
    assert list(exc.value.details) == [error_key]
    merchant = Merchant.objects.get(pk=merchant_a.merchant.pk)
    assert (merchant.currency, merchant.timezone, merchant.address) == ("USD", "UTC", {})


@pytest.mark.django_db
def test_a_bad_address_names_each_field(merchant_a):
    with pytest.raises(ValidationFailed) as exc:
        _update(merchant_a, address={"line1": "", "city": "x" * 101, "postcode": "1\x00", "country": "XX",
                                     "planet": "Earth"})

    assert exc.value.details == {"address": {
        "planet": "Not an address field.", "line1": "Required.", "city": "At most 100 characters.",
        "postcode": "Contains a NUL character.", "country": "Not an ISO 3166-1 alpha-2 country code (e.g. GB, US, DE).",
    }}


@pytest.mark.django_db
def test_the_address_follows_its_countrys_rule(merchant_a):
    us = {"line1": "1 Main St", "city": "Springfield", "country": "US"}
    with pytest.raises(ValidationFailed) as exc:
        _update(merchant_a, address={**us, "region": "IL", "postcode": "6270"})
    assert exc.value.details == {"address": {"postcode": "ZIP code should look like 94103 or 94103-1234."}}

    with pytest.raises(ValidationFailed) as exc:
        _update(merchant_a, address={**us, "postcode": "62701"})
    assert exc.value.details == {"address": {"region": "Required."}}

    saved = _update(merchant_a, address={**us, "region": "IL", "postcode": "62701-1234"})
    assert (saved.address["region"], saved.address["postcode"]) == ("IL", "62701-1234")
    page = merchant_a.web.post("/settings/", _form(address_country="US", address_postcode="ABC"))
    assert page.status_code == 400
    assert page.context["merchant_form"].errors == {
        "address_region": ["Required."], "address_postcode": ["ZIP code should look like 94103 or 94103-1234."]}


@pytest.mark.django_db
def test_staff_cannot_change_settings(merchant_a):
    staff = User.objects.create_user("sam@staff.example", "a-long-enough-password-1")
    with tenant_scope(merchant_a.merchant):
        Membership.objects.create(merchant=merchant_a.merchant, user=staff, role="staff")
    web = Client()
    web.force_login(staff)

    with pytest.raises(PermissionDenied):
        _update(merchant_a, actor=staff)
    page = web.get("/settings/")
    posted = web.post("/settings/", _form())

    assert page.status_code == 200
    html = page.content.decode()
    assert "Only an owner can change these settings." in html and "Save settings" not in html
    assert 'name="name"' in html and "disabled" in html
    assert posted.status_code == 403
    assert Merchant.objects.get(pk=merchant_a.merchant.pk).name == "Merchant A"


@pytest.mark.django_db
def test_the_settings_page_saves_and_shows_the_values(merchant_a):
    saved = merchant_a.web.post("/settings/", _form())
    page = merchant_a.web.get("/settings/").content.decode()

    assert saved.status_code == 302
    merchant = Merchant.objects.get(pk=merchant_a.merchant.pk)
    assert (merchant.name, merchant.currency, merchant.timezone, merchant.default_ship_by_days) == (
        "Alpha Goods", "EUR", "Europe/Berlin", 1)
    assert merchant.address["country"] == "DE" and merchant.address["city"] == "Berlin"
    assert 'value="Alpha Goods"' in page and '<option value="Europe/Berlin" selected>' in page
    assert '<option value="EUR" selected>' in page


@pytest.mark.django_db
def test_the_settings_page_puts_errors_on_their_fields(merchant_a):
    bad_choice = merchant_a.web.post("/settings/", _form(timezone="Mars/Base", currency="ABC", default_ship_by_days="99"))
    missing = merchant_a.web.post("/settings/", _form(address_postcode="", address_city=""))

    assert bad_choice.status_code == 400
    errors = bad_choice.context["merchant_form"].errors
    assert set(errors) == {"timezone", "currency", "default_ship_by_days"}
    assert missing.status_code == 400
    assert missing.context["merchant_form"].errors == {"address_postcode": ["Required."], "address_city": ["Required."]}
    assert Merchant.objects.get(pk=merchant_a.merchant.pk).name == "Merchant A"


@pytest.mark.django_db
def test_settings_change_only_the_requesting_merchant(merchant_a, merchant_b):
    merchant_b.web.post("/settings/", _form(name="B renamed"))

    assert Merchant.objects.get(pk=merchant_a.merchant.pk).name == "Merchant A"
    assert Merchant.objects.get(pk=merchant_b.merchant.pk).name == "B renamed"


@pytest.mark.django_db
def test_a_zone_alias_saved_earlier_is_shown_and_kept_not_replaced(merchant_a):
    Merchant.objects.filter(pk=merchant_a.merchant.pk).update(timezone="GB")

    page = merchant_a.web.get("/settings/").content.decode()
    saved = merchant_a.web.post("/settings/", _form(timezone="GB"))

    assert '<option value="GB" selected>' in page
    assert '<option value="localtime"' not in page and '<option value="Factory"' not in page
    assert saved.status_code == 302
    assert Merchant.objects.get(pk=merchant_a.merchant.pk).timezone == "GB"
    with pytest.raises(ValidationFailed):
        _update(merchant_a, timezone_name="localtime")
