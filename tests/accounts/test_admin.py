"""Our staff in the Django admin change accounts through the same services as owners do."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services
from accounts.models import ApiToken, Membership, User
from accounts.tenancy import tenant_scope, unscoped
from core.errors import PermissionDenied

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password-1"


def _staff() -> Client:
    admin = User.objects.create_superuser("ops@switchboard.example", PASSWORD)
    web = Client()
    web.force_login(admin)
    return web


def _member_with_token(tenant) -> Membership:
    user = User.objects.create_user("sam@staff.example", PASSWORD)
    with tenant_scope(tenant.merchant):
        membership = Membership.objects.create(merchant=tenant.merchant, user=user, role=Membership.Role.STAFF)
        services.api_token_create(merchant=tenant.merchant, user=user, name="sam's script")
    return membership


def test_removing_a_member_in_the_admin_revokes_their_tokens_for_that_merchant(merchant_a):
    membership = _member_with_token(merchant_a)
    staff = _staff()

    response = staff.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    with unscoped("test: read what the admin did"):
        assert not Membership.objects.filter(pk=membership.pk).exists()
        tokens = list(ApiToken.objects.filter(user=membership.user).values_list("name", "revoked_at"))
    assert len(tokens) == 1 and tokens[0][0] == "sam's script" and tokens[0][1] is not None


def test_the_admin_cannot_remove_the_last_owner(merchant_a):
    with unscoped("test"):
        owner = Membership.objects.get(merchant=merchant_a.merchant, user=merchant_a.user)
    staff = _staff()

    response = staff.post(f"/admin/accounts/membership/{owner.pk}/delete/", {"post": "yes"})
    page = staff.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == f"/admin/accounts/membership/{owner.pk}/change/"
    assert "The last owner cannot be removed" in page.content.decode()
    with unscoped("test"):
        assert Membership.objects.filter(pk=owner.pk).exists()
        assert ApiToken.objects.filter(user=merchant_a.user, revoked_at__isnull=True).count() == 1


def test_the_admin_offers_no_removal_that_bypasses_the_service(merchant_a):
    membership = _member_with_token(merchant_a)
    staff = _staff()

    merchant_page = staff.get(f"/admin/accounts/merchant/{merchant_a.merchant.pk}/change/").content.decode()
    changelist = staff.get("/admin/accounts/membership/").content.decode()

    assert f'value="{membership.pk}"' in merchant_page  # the inline lists the member ...
    assert "memberships-0-DELETE" not in merchant_page and "membership_set-0-DELETE" not in merchant_page
    assert 'value="delete_selected"' not in changelist  # ... and neither it nor the list deletes in bulk


def test_a_dashboard_user_cannot_claim_to_be_staff(merchant_a):
    membership = _member_with_token(merchant_a)

    with pytest.raises(PermissionDenied) as err:
        with tenant_scope(merchant_a.merchant):
            services.membership_remove(merchant=merchant_a.merchant, actor=membership.user, membership=membership,
                                       by_staff=True)

    assert err.value.code == "not_staff"
