"""Team: invitations (create, mail, accept as an existing user or by signing up, expired,
revoked, used, wrong account), role changes with the last-owner rule, removal (tokens revoked,
pages gone), who may do what, and isolation between merchants."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import responses
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken, Invitation, Membership, Merchant, User
from accounts.tenancy import tenant_scope, unscoped
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

PASSWORD = "a-long-enough-password-1"
BASE = "http://testserver/"


def _invite(tenant, email="sam@staff.example", role="staff", capture=None) -> tuple[Invitation, str]:
    """Invite through the service and return the invitation and the link mailed for it."""
    before = len(mail.outbox)
    with tenant_scope(tenant.merchant):
        if capture is not None:
            with capture(execute=True):
                invitation = services.invitation_create(merchant=tenant.merchant, actor=tenant.user, email=email,
                                                        role=role, base_url=BASE)
        else:
            invitation = services.invitation_create(merchant=tenant.merchant, actor=tenant.user, email=email,
                                                    role=role, base_url=BASE)
    assert len(mail.outbox) == before + 1
    return invitation, _link(mail.outbox[-1])


def _link(message) -> str:
    match = re.search(r"http://testserver(/invitations/[A-Za-z0-9_-]+/)", message.body)
    assert match, message.body
    return match.group(1)


def _member(merchant, email) -> Membership | None:
    with unscoped("test assertion"):
        return Membership.objects.filter(merchant=merchant, user__email=email).first()


def _add_member(tenant, email, role=Membership.Role.STAFF) -> tuple[User, Membership, Client]:
    user = User.objects.create_user(email, PASSWORD)
    with tenant_scope(tenant.merchant):
        membership = Membership.objects.create(merchant=tenant.merchant, user=user, role=role)
    web = Client()
    web.force_login(user)
    return user, membership, web


def _api(raw: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


# --- creating and mailing -----------------------------------------------------------------------


@pytest.mark.django_db
def test_an_owner_invites_by_email_and_the_mail_carries_a_one_time_link(merchant_a,
                                                                         django_capture_on_commit_callbacks):
    invitation, link = _invite(merchant_a, email="  Sam@Staff.Example ", capture=django_capture_on_commit_callbacks)

    message = mail.outbox[-1]
    assert message.to == ["sam@staff.example"]
    assert "Merchant A" in message.subject and "alice@a.example" in message.subject
    assert "as staff" in message.body
    key = link.rstrip("/").rsplit("/", 1)[1]
    with unscoped("test assertion"):
        stored = Invitation.objects.get()
    assert stored.email == "sam@staff.example" and stored.role == "staff" and stored.invited_by == merchant_a.user
    assert key not in stored.key_hash  # only a hash of the key is kept
    assert stored.sent_at is not None
    assert timedelta(days=6, hours=23) < stored.expires_at - timezone.now() <= timedelta(days=7)
    assert services.invitation_find(key).pk == stored.pk


@pytest.mark.django_db
def test_inviting_the_same_address_again_reissues_the_open_invitation(merchant_a, django_capture_on_commit_callbacks):
    first, old_link = _invite(merchant_a, capture=django_capture_on_commit_callbacks)
    second, new_link = _invite(merchant_a, role="owner", capture=django_capture_on_commit_callbacks)

    assert second.pk == first.pk
    with unscoped("test assertion"):
        assert Invitation.objects.count() == 1
        assert Invitation.objects.get().role == "owner"
    assert Client().get(old_link).status_code == 404
    assert Client().get(new_link).status_code == 200


@pytest.mark.django_db
def test_inviting_a_member_or_a_bad_address_is_refused(merchant_a):
    with tenant_scope(merchant_a.merchant), pytest.raises(ValidationFailed) as member:
        services.invitation_create(merchant=merchant_a.merchant, actor=merchant_a.user, email="ALICE@a.example",
                                   role="staff", base_url=BASE)
    with tenant_scope(merchant_a.merchant), pytest.raises(ValidationFailed) as bad:
        services.invitation_create(merchant=merchant_a.merchant, actor=merchant_a.user, email="not-an-address",
                                   role="staff", base_url=BASE)
    with tenant_scope(merchant_a.merchant), pytest.raises(ValidationFailed) as role:
        services.invitation_create(merchant=merchant_a.merchant, actor=merchant_a.user, email="x@y.example",
                                   role="admin", base_url=BASE)

    assert (member.value.code, bad.value.code, role.value.code) == ("already_member", "invalid_email", "invalid_role")
    with unscoped("test assertion"):
        assert Invitation.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_failing_mail_server_keeps_the_invitation_unsent_for_a_resend(merchant_a, settings,
                                                                        django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.accounts.test_team.FailingBackend"
    with tenant_scope(merchant_a.merchant), django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(merchant=merchant_a.merchant, actor=merchant_a.user,
                                                email="sam@staff.example", role="staff", base_url=BASE)

    invitation.refresh_from_db()
    assert invitation.sent_at is None
    page = merchant_a.web.get("/settings/team/")
    assert "not sent" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        resent = merchant_a.web.post(f"/settings/team/invitations/{invitation.pk}/resend/", follow=True)
    assert "the email could not be sent" in resent.content.decode()


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")


# --- accepting --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_signed_in_user_with_the_address_joins_with_the_invited_role(merchant_a, merchant_b,
                                                                       django_capture_on_commit_callbacks):
    _, link = _invite(merchant_a, email="bob@b.example", capture=django_capture_on_commit_callbacks)

    page = merchant_b.web.get(link)
    assert page.status_code == 200 and "Join Merchant A" in page.content.decode()
    joined = merchant_b.web.post(link)

    assert joined.status_code == 302 and joined["Location"] == "/"
    assert _member(merchant_a.merchant, "bob@b.example").role == "staff"
    assert _member(merchant_b.merchant, "bob@b.example").role == "owner"  # still owns their own
    orders = merchant_b.web.get("/orders/")
    assert "Merchant A" in orders.content.decode()  # works in the merchant just joined
    with unscoped("test assertion"):
        invitation = Invitation.objects.get()
    assert invitation.accepted_at is not None and invitation.accepted_by == merchant_b.user


@pytest.mark.django_db
def test_a_new_person_signs_up_from_the_link_with_the_address_verified_and_joins(
        merchant_a, settings, django_capture_on_commit_callbacks):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    _, link = _invite(merchant_a, capture=django_capture_on_commit_callbacks)
    browser = Client()

    landing = browser.get(link)
    assert landing.status_code == 200 and ">Sign up</a>" in landing.content.decode()
    form = browser.get("/accounts/signup/")
    assert 'value="sam@staff.example"' in form.content.decode()
    assert 'name="business_name"' not in form.content.decode()  # they join a business, not start one
    signed_up = browser.post("/accounts/signup/", {"email": "sam@staff.example", "password1": PASSWORD,
                                                   "password2": PASSWORD})

    assert signed_up.status_code == 302 and signed_up["Location"] == "/", signed_up.content[:400]
    user = User.objects.get(email="sam@staff.example")
    assert EmailAddress.objects.get(user=user).verified is True
    assert mail.outbox[-1].to == ["sam@staff.example"] and len(mail.outbox) == 1  # no verification mail
    with unscoped("test assertion"):
        assert list(Membership.objects.filter(user=user).values_list("merchant__name", "role")) == [
            ("Merchant A", "staff")]
        assert Merchant.objects.count() == 1  # no merchant of their own
    assert "Merchant A" in browser.get("/orders/").content.decode()


@pytest.mark.django_db
def test_signing_up_from_the_link_with_another_address_gets_no_verified_address_and_no_membership(
        merchant_a, django_capture_on_commit_callbacks):
    _, link = _invite(merchant_a, capture=django_capture_on_commit_callbacks)
    browser = Client()
    browser.get(link)

    browser.post("/accounts/signup/", {"email": "other@else.example", "password1": PASSWORD, "password2": PASSWORD})

    user = User.objects.get(email="other@else.example")
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("other@else.example", False)]
    assert _member(merchant_a.merchant, "other@else.example") is None
    with unscoped("test assertion"):
        assert Invitation.objects.get().accepted_at is None


@pytest.mark.django_db
def test_an_existing_account_signed_out_is_sent_to_sign_in_and_back(merchant_a, merchant_b,
                                                                    django_capture_on_commit_callbacks):
    _, link = _invite(merchant_a, email="bob@b.example", capture=django_capture_on_commit_callbacks)
    browser = Client()

    landing = browser.get(link)
    assert "Sign in to join" in landing.content.decode()
    signed_in = browser.post(f"/accounts/login/?next={link}", {"login": "bob@b.example", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == link
    browser.post(link)

    assert _member(merchant_a.merchant, "bob@b.example").role == "staff"


@pytest.mark.django_db
def test_an_expired_link_says_so_and_joins_nobody(merchant_a, merchant_b, django_capture_on_commit_callbacks):
    invitation, link = _invite(merchant_a, email="bob@b.example", capture=django_capture_on_commit_callbacks)
    with unscoped("test set-up"):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    page = merchant_b.web.get(link)
    posted = merchant_b.web.post(link)
    with pytest.raises(Conflict) as exc:
        services.invitation_accept(invitation=invitation, user=merchant_b.user)

    assert page.status_code == 410 and "has expired" in page.content.decode()
    assert posted.status_code == 410
    assert exc.value.code == "invitation_expired"
    assert _member(merchant_a.merchant, "bob@b.example") is None


@pytest.mark.django_db
def test_a_revoked_link_says_so_and_joins_nobody(merchant_a, merchant_b, django_capture_on_commit_callbacks):
    invitation, link = _invite(merchant_a, email="bob@b.example", capture=django_capture_on_commit_callbacks)
    revoked = merchant_a.web.post(f"/settings/team/invitations/{invitation.pk}/revoke/")

    page = Client().get(link)
    with pytest.raises(Conflict) as exc:
        services.invitation_accept(invitation=invitation, user=merchant_b.user)

    assert revoked.status_code == 302
    assert page.status_code == 410 and "withdrawn" in page.content.decode()
    assert exc.value.code == "invitation_revoked"
    assert _member(merchant_a.merchant, "bob@b.example") is None


@pytest.mark.django_db
def test_a_used_link_cannot_be_used_again(merchant_a, merchant_b, django_capture_on_commit_callbacks):
    invitation, link = _invite(merchant_a, email="bob@b.example", capture=django_capture_on_commit_callbacks)
    services.invitation_accept(invitation=invitation, user=merchant_b.user)
    with tenant_scope(merchant_a.merchant):
        services.membership_remove(merchant=merchant_a.merchant, actor=merchant_a.user,
                                   membership=_member(merchant_a.merchant, "bob@b.example"))

    page = merchant_b.web.get(link)
    with pytest.raises(Conflict) as exc:
        services.invitation_accept(invitation=invitation, user=merchant_b.user)

    assert page.status_code == 410 and "already been used" in page.content.decode()
    assert exc.value.code == "invitation_accepted"
    assert _member(merchant_a.merchant, "bob@b.example") is None


@pytest.mark.django_db
def test_signed_in_as_someone_else_the_link_joins_nobody(merchant_a, merchant_b, django_capture_on_commit_callbacks):
    invitation, link = _invite(merchant_a, email="carol@c.example", capture=django_capture_on_commit_callbacks)

    page = merchant_b.web.get(link)
    posted = merchant_b.web.post(link)
    with pytest.raises(PermissionDenied) as exc:
        services.invitation_accept(invitation=invitation, user=merchant_b.user)

    assert page.status_code == 403 and "signed in as bob@b.example" in page.content.decode()
    assert posted.status_code == 403
    assert exc.value.code == "wrong_account"
    assert _member(merchant_a.merchant, "bob@b.example") is None
    with unscoped("test assertion"):
        assert Invitation.objects.get().accepted_at is None  # still usable by carol


@pytest.mark.django_db
def test_resending_rotates_the_link(merchant_a, merchant_b, django_capture_on_commit_callbacks):
    invitation, old_link = _invite(merchant_a, email="bob@b.example", capture=django_capture_on_commit_callbacks)
    with unscoped("test set-up"):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        resent = merchant_a.web.post(f"/settings/team/invitations/{invitation.pk}/resend/")
    new_link = _link(mail.outbox[-1])

    assert resent.status_code == 302 and len(mail.outbox) == 2 and new_link != old_link
    assert merchant_b.web.get(old_link).status_code == 404
    assert merchant_b.web.get(new_link).status_code == 200
    merchant_b.web.post(new_link)
    assert _member(merchant_a.merchant, "bob@b.example") is not None


@pytest.mark.django_db
def test_an_unknown_link_is_a_clear_404():
    page = Client().get("/invitations/not-a-real-key/")
    assert page.status_code == 404 and "not valid" in page.content.decode()


# --- the team page and who may do what -------------------------------------------------------


@pytest.mark.django_db
def test_the_team_page_lists_members_and_pending_invitations(merchant_a, django_capture_on_commit_callbacks):
    _add_member(merchant_a, "sam@staff.example")
    with django_capture_on_commit_callbacks(execute=True):
        created = merchant_a.web.post("/settings/team/invitations/", {"email": "new@staff.example", "role": "staff"})

    page = merchant_a.web.get("/settings/team/").content.decode()

    assert created.status_code == 302
    assert mail.outbox[-1].to == ["new@staff.example"]
    assert "sam@staff.example" in page and "new@staff.example" in page and "Send invitation" in page


@pytest.mark.django_db
def test_staff_see_the_team_but_cannot_invite_change_roles_or_remove(merchant_a):
    _, staff, web = _add_member(merchant_a, "sam@staff.example")
    with tenant_scope(merchant_a.merchant):
        owner = Membership.objects.get(user=merchant_a.user)

    page = web.get("/settings/team/")
    invite = web.post("/settings/team/invitations/", {"email": "friend@x.example", "role": "owner"})
    promote = web.post(f"/settings/team/members/{staff.pk}/role/", {"role": "owner"})
    remove = web.post(f"/settings/team/members/{owner.pk}/remove/")

    assert page.status_code == 200 and "alice@a.example" in page.content.decode()
    assert "Send invitation" not in page.content.decode()
    assert (invite.status_code, promote.status_code, remove.status_code) == (403, 403, 403)
    with unscoped("test assertion"):
        assert Invitation.objects.count() == 0
        assert Membership.objects.get(pk=staff.pk).role == "staff"
        assert Membership.objects.filter(pk=owner.pk).exists()
    with tenant_scope(merchant_a.merchant), pytest.raises(PermissionDenied):
        services.invitation_create(merchant=merchant_a.merchant, actor=staff.user, email="f@x.example",
                                   role="staff", base_url=BASE)


@pytest.mark.django_db
def test_the_last_owner_can_be_neither_demoted_nor_removed(merchant_a):
    with tenant_scope(merchant_a.merchant):
        owner = Membership.objects.get(user=merchant_a.user)
        with pytest.raises(Conflict) as demote:
            services.membership_role_change(merchant=merchant_a.merchant, actor=merchant_a.user, membership=owner,
                                            role="staff")
        with pytest.raises(Conflict) as remove:
            services.membership_remove(merchant=merchant_a.merchant, actor=merchant_a.user, membership=owner)
    page = merchant_a.web.post(f"/settings/team/members/{owner.pk}/role/", {"role": "staff"}, follow=True)

    assert demote.value.code == remove.value.code == "last_owner"
    assert "at least one owner" in page.content.decode()
    owner.refresh_from_db()
    assert owner.role == "owner"


@pytest.mark.django_db
def test_with_a_second_owner_an_owner_can_step_down_and_leave(merchant_a):
    _, second, _ = _add_member(merchant_a, "olga@a.example", role=Membership.Role.STAFF)
    with tenant_scope(merchant_a.merchant):
        owner = Membership.objects.get(user=merchant_a.user)
        services.membership_role_change(merchant=merchant_a.merchant, actor=merchant_a.user, membership=second,
                                        role="owner")
        services.membership_role_change(merchant=merchant_a.merchant, actor=merchant_a.user, membership=owner,
                                        role="staff")
        with pytest.raises(PermissionDenied):  # alice is staff now
            services.membership_remove(merchant=merchant_a.merchant, actor=merchant_a.user, membership=second)
        services.membership_remove(merchant=merchant_a.merchant, actor=second.user, membership=owner)

    with unscoped("test assertion"):
        assert list(Membership.objects.filter(merchant=merchant_a.merchant).values_list("user__email", "role")) == [
            ("olga@a.example", "owner")]


@pytest.mark.django_db
def test_removing_a_member_revokes_their_tokens_here_and_ends_their_pages(merchant_a, merchant_b):
    # bob owns merchant B and is also staff at A, with a token for each.
    with tenant_scope(merchant_a.merchant):
        membership = Membership.objects.create(merchant=merchant_a.merchant, user=merchant_b.user, role="staff")
        _, raw_at_a = services.api_token_create(merchant=merchant_a.merchant, user=merchant_b.user, name="at A")
    bob = merchant_b.web
    session = bob.session
    session["accounts_merchant_id"] = merchant_a.merchant.pk
    session.save()
    assert _api(raw_at_a).get("/api/v1/me/").status_code == 200
    assert "Merchant A" in bob.get("/orders/").content.decode()

    removed = merchant_a.web.post(f"/settings/team/members/{membership.pk}/remove/")

    assert removed.status_code == 302
    assert _api(raw_at_a).get("/api/v1/me/").status_code == 401
    with unscoped("test assertion"):
        assert ApiToken.objects.get(name="at A").revoked_at is not None
        assert ApiToken.objects.get(user=merchant_b.user, merchant=merchant_b.merchant).revoked_at is None
    assert _api(merchant_b.token).get("/api/v1/me/").status_code == 200  # their own merchant's token lives
    orders = bob.get("/orders/").content.decode()
    assert "Merchant A" not in orders and "Merchant B" in orders  # back in their own merchant


@pytest.mark.django_db
def test_a_removed_member_with_no_other_merchant_sees_no_merchant_pages(merchant_a):
    _, membership, web = _add_member(merchant_a, "sam@staff.example")
    assert web.get("/orders/").status_code == 200

    with tenant_scope(merchant_a.merchant):
        services.membership_remove(merchant=merchant_a.merchant, actor=merchant_a.user, membership=membership)

    page = web.get("/orders/")
    assert page.status_code == 403 and "not a member of any merchant" in page.content.decode()
    assert web.get("/settings/team/").status_code == 403


@pytest.mark.django_db
def test_the_remove_page_asks_first_and_names_the_tokens(merchant_a):
    user, membership, _ = _add_member(merchant_a, "sam@staff.example")
    with tenant_scope(merchant_a.merchant):
        services.api_token_create(merchant=merchant_a.merchant, user=user, name="erp")

    page = merchant_a.web.get(f"/settings/team/members/{membership.pk}/remove/")

    assert page.status_code == 200
    assert "1 active API token for this merchant will be revoked" in page.content.decode()
    assert _member(merchant_a.merchant, "sam@staff.example") is not None


# --- isolation ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_merchants_owner_cannot_touch_our_members_or_invitations(merchant_a, merchant_b,
                                                                         django_capture_on_commit_callbacks):
    _, staff, _ = _add_member(merchant_a, "sam@staff.example")
    invitation, _ = _invite(merchant_a, email="new@staff.example", capture=django_capture_on_commit_callbacks)
    sent = len(mail.outbox)

    responses = [
        merchant_b.web.post(f"/settings/team/members/{staff.pk}/role/", {"role": "owner"}),
        merchant_b.web.get(f"/settings/team/members/{staff.pk}/remove/"),
        merchant_b.web.post(f"/settings/team/members/{staff.pk}/remove/"),
        merchant_b.web.post(f"/settings/team/invitations/{invitation.pk}/resend/"),
        merchant_b.web.post(f"/settings/team/invitations/{invitation.pk}/revoke/"),
    ]
    team_b = merchant_b.web.get("/settings/team/").content.decode()

    assert [r.status_code for r in responses] == [404] * 5
    assert "sam@staff.example" not in team_b and "new@staff.example" not in team_b
    with unscoped("test assertion"):
        assert Membership.objects.get(pk=staff.pk).role == "staff"
        assert Invitation.objects.get(pk=invitation.pk).revoked_at is None
    assert len(mail.outbox) == sent
    with tenant_scope(merchant_b.merchant), pytest.raises(NotFound):
        services.membership_remove(merchant=merchant_b.merchant, actor=merchant_b.user, membership=staff)


@pytest.mark.django_db
def test_switching_merchants_only_among_ones_own_memberships(merchant_a, merchant_b):
    with tenant_scope(merchant_a.merchant):
        Membership.objects.create(merchant=merchant_a.merchant, user=merchant_b.user, role="staff")
    bob = merchant_b.web
    assert "Merchant B" in bob.get("/orders/").content.decode()  # the oldest membership by default

    bob.post("/settings/merchant/switch/", {"merchant": merchant_a.merchant.pk})
    in_a = bob.get("/orders/").content.decode()
    stranger = merchant_a.web.post("/settings/merchant/switch/", {"merchant": merchant_b.merchant.pk})

    assert "Merchant A" in in_a
    assert stranger.status_code == 302
    assert "Merchant A" in merchant_a.web.get("/orders/").content.decode()


@pytest.mark.django_db
def test_staff_admin_lists_invitations_without_their_keys(merchant_a, django_capture_on_commit_callbacks):
    invitation, _ = _invite(merchant_a, capture=django_capture_on_commit_callbacks)
    admin = User.objects.create_superuser("ops@switchboard.example", PASSWORD)
    web = Client()
    web.force_login(admin)

    listed = web.get("/admin/accounts/invitation/")
    detail = web.get(f"/admin/accounts/invitation/{invitation.pk}/change/")

    assert listed.status_code == 200 and "sam@staff.example" in listed.content.decode()
    assert detail.status_code == 200 and invitation.key_hash not in detail.content.decode()


@pytest.mark.django_db
@responses.activate
def test_a_new_person_signing_up_with_google_from_the_link_joins(merchant_a, settings,
                                                                  django_capture_on_commit_callbacks):
    from tests.accounts.test_google_sign_in import GOOGLE, _google_login

    settings.SOCIALACCOUNT_PROVIDERS = GOOGLE
    _, link = _invite(merchant_a, email="grace@gmail.example", capture=django_capture_on_commit_callbacks)
    browser = Client()
    browser.get(link)

    _google_login(browser, uid="1098", email="grace@gmail.example")

    user = User.objects.get(email="grace@gmail.example")
    with unscoped("test assertion"):
        assert list(Membership.objects.filter(user=user).values_list("merchant__name", "role")) == [
            ("Merchant A", "staff")]
        assert Merchant.objects.count() == 1
    assert "Merchant A" in browser.get("/orders/").content.decode()


@pytest.mark.django_db
def test_a_plain_sign_up_still_names_its_own_business(client):
    page = client.get("/accounts/signup/")
    assert 'name="business_name"' in page.content.decode()


@pytest.mark.django_db
def test_the_invite_form_shows_why_an_address_was_refused(merchant_a):
    _add_member(merchant_a, "sam@staff.example")

    member = merchant_a.web.post("/settings/team/invitations/", {"email": "SAM@staff.example", "role": "staff"})
    malformed = merchant_a.web.post("/settings/team/invitations/", {"email": "sam@", "role": "boss"})

    assert member.status_code == 400
    assert "sam@staff.example is already a member of this team." in member.content.decode()
    assert malformed.status_code == 400
    assert set(malformed.context["invite_form"].errors) == {"email", "role"}
    assert mail.outbox == []
