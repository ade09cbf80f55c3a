"""The shipping setup page: owners add and delete packages and rules (the services' errors on their
fields), staff see them without the forms; another merchant's are 404."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from labels.models import PackagePreset, ShippingRule
from tests.labels.helpers import staff_clients

pytestmark = pytest.mark.django_db


def test_an_owner_adds_and_deletes_a_package_and_a_rule(merchant_a):
    added = merchant_a.web.post("/shipments/setup/packages/", {"name": "Mailer", "length_mm": "350", "width_mm": "250",
                                                               "height_mm": "30", "empty_weight_grams": "40"})
    rule = merchant_a.web.post("/shipments/setup/rules/", {"channel": "", "country": "GB", "rule": "fastest"})

    assert (added.status_code, rule.status_code) == (302, 302)
    page = merchant_a.web.get("/shipments/setup/")
    assert b"Mailer" in page.content and b"350 \xc3\x97 250 \xc3\x97 30" in page.content
    with tenant_scope(merchant_a.merchant):
        preset = PackagePreset.objects.get()
        shipping_rule = ShippingRule.objects.get()
        assert (shipping_rule.country, shipping_rule.rule) == ("GB", "fastest")

    merchant_a.web.post(f"/shipments/setup/packages/{preset.pk}/delete/")
    merchant_a.web.post(f"/shipments/setup/rules/{shipping_rule.pk}/delete/")

    with tenant_scope(merchant_a.merchant):
        assert (PackagePreset.objects.count(), ShippingRule.objects.count()) == (0, 0)


def test_a_bad_rule_and_a_duplicate_package_are_shown_on_their_fields(merchant_a):
    box = {"name": "Box", "length_mm": "300", "width_mm": "200", "height_mm": "100", "empty_weight_grams": "0"}
    merchant_a.web.post("/shipments/setup/packages/", box)

    duplicate = merchant_a.web.post("/shipments/setup/packages/", {**box, "name": "BOX"})
    bad = merchant_a.web.post("/shipments/setup/rules/", {"channel": "", "country": "", "rule": "slowest"})

    assert duplicate.status_code == 400
    assert duplicate.context["package_form"].errors == {"name": ["Already used by another package."]}
    assert bad.status_code == 400
    assert list(bad.context["rule_form"].errors) == ["rule"]


def test_staff_see_the_setup_without_forms_and_cannot_change_it(merchant_a):
    with tenant_scope(merchant_a.merchant):
        preset = PackagePreset.objects.create(merchant=merchant_a.merchant, name="Box", length_mm=1, width_mm=1,
                                              height_mm=1)
    _api, staff_web = staff_clients(merchant_a.merchant)

    page = staff_web.get("/shipments/setup/")
    refused = staff_web.post(f"/shipments/setup/packages/{preset.pk}/delete/")

    assert page.status_code == 200 and b"Box" in page.content and b'id="new-package"' not in page.content
    assert refused.status_code == 302
    with tenant_scope(merchant_a.merchant):
        assert PackagePreset.objects.filter(pk=preset.pk).exists()


def test_another_merchants_package_is_404_on_delete(merchant_a, merchant_b):
    with tenant_scope(merchant_b.merchant):
        theirs = PackagePreset.objects.create(merchant=merchant_b.merchant, name="Theirs", length_mm=1, width_mm=1,
                                              height_mm=1)

    assert merchant_a.web.post(f"/shipments/setup/packages/{theirs.pk}/delete/").status_code == 404
    with tenant_scope(merchant_b.merchant):
        assert PackagePreset.objects.filter(pk=theirs.pk).exists()
